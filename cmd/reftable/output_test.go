package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestFixtureOutput checks the text and the JSON output of every command
// that prints results, on every git fixture, against golden files
// testdata/<fixture>/<command>[-json].golden; run with -rewrite to
// regenerate them. Every JSON line must be one JSON object.
func TestFixtureOutput(t *testing.T) {
	for _, fixture := range fixtureNames(t) {
		dir := filepath.Join(fixtures, fixture, "reftable")
		// The big fixtures get a prefix and one reflog, and no records
		// in dump, to keep the golden files readable.
		big := fixture == "many-refs" || fixture == "small-blocks"
		refsArgs, logsArgs, dumpArgs := []string{dir}, []string{dir}, []string{"-records", dir}
		if big {
			refsArgs = []string{dir, "refs/tags/"}
			logsArgs = []string{"-ref", "HEAD", dir}
			dumpArgs = []string{dir}
		}
		for _, tc := range []struct {
			name string
			args []string
		}{
			{"refs", append([]string{"refs"}, refsArgs...)},
			{"show", []string{"show", dir, "HEAD"}},
			{"logs", append([]string{"logs"}, logsArgs...)},
			{"dump", append([]string{"dump"}, dumpArgs...)},
			{"stats", []string{"stats", dir}},
			{"digest", []string{"digest", dir}},
			{"verify", []string{"verify", "-v", dir}},
			{"locks", []string{"locks", dir}},
		} {
			for _, asJSON := range []bool{false, true} {
				name, args := tc.name, tc.args
				if asJSON {
					name += "-json"
					args = append([]string{args[0], "-json"}, args[1:]...)
				}
				t.Run(fixture+"/"+name, func(t *testing.T) {
					r := runTool(t, "", args...)
					if r.code != 0 {
						t.Errorf("exit %d: %s", r.code, r.stderr)
					}
					if asJSON {
						checkJSONLines(t, r.stdout)
					}
					checkGolden(t, filepath.Join(fixture, name), r.String())
				})
			}
		}
	}
}

// TestLocksOutput checks locks and stats on a stack with a lock of an
// unrecorded holder and one held on another host, in text and JSON; ages
// are replaced by AGE and the directory by DIR.
func TestLocksOutput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reftable")
	copyDir(t, filepath.Join(fixtures, "compacted", "reftable"), dir)
	writeFile(t, filepath.Join(dir, "tables.list.lock"), "pid 4242\nhost elsewhere.example\nstart 1\n")
	tables := strings.Fields(readFile(t, filepath.Join(dir, "tables.list")))
	writeFile(t, filepath.Join(dir, tables[0]+".lock"), "")
	age := regexp.MustCompile(`age=[0-9a-zµ.]+|"age_seconds":[0-9.e+-]+`)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"locks/held", []string{"locks", dir}},
		{"locks/held-json", []string{"locks", "-json", dir}},
		{"locks/stats-json", []string{"stats", "-json", dir}},
		{"locks/verify-json", []string{"verify", "-json", dir}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runTool(t, "", tc.args...)
			if strings.HasSuffix(tc.name, "-json") {
				checkJSONLines(t, r.stdout)
			}
			got := strings.ReplaceAll(r.String(), dir, "DIR")
			got = age.ReplaceAllStringFunc(got, func(s string) string {
				if strings.HasPrefix(s, "age=") {
					return "age=AGE"
				}
				return `"age_seconds":AGE`
			})
			checkGolden(t, tc.name, got)
		})
	}
}

// checkJSONLines fails unless every line of out is one JSON object.
func checkJSONLines(t *testing.T, out string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("not a JSON object: %q: %v", line, err)
		}
	}
}
