package tool

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/refstore/refstore/reftable"
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

// TestJSONExactBytes: names, targets, identities and messages that are
// not valid UTF-8 come out of every -json listing with their exact bytes
// in a _bytes field, so that two names differing only in invalid bytes
// stay apart. Issue 17, writer 8: refs/heads/\xff\xfe and
// refs/heads/\xfe\xff both printed as "refs/heads/\ufffd\ufffd".
func TestJSONExactBytes(t *testing.T) {
	id := func(b byte) []byte { return bytes.Repeat([]byte{b}, 20) }
	refs := []reftable.RefRecord{
		{Name: []byte("HEAD"), UpdateIndex: 1, Type: reftable.RefSymref, Target: []byte("refs/heads/\xff\xfe")},
		{Name: []byte("refs/heads/caf\xc3\xa9"), UpdateIndex: 1, Type: reftable.RefVal1, Value: id(1)},
		{Name: []byte("refs/heads/\xfe\xff"), UpdateIndex: 1, Type: reftable.RefVal1, Value: id(2)},
		{Name: []byte("refs/heads/\xff\xfe"), UpdateIndex: 1, Type: reftable.RefVal1, Value: id(3)},
	}
	logs := []reftable.LogRecord{
		{RefName: []byte("refs/heads/\xfe\xff"), UpdateIndex: 1, Type: reftable.LogUpdate, Old: id(0), New: id(2),
			Name: []byte("C O Mitter"), Email: []byte("committer@example.com"), Time: 1700000000, Message: []byte("plain\n")},
		{RefName: []byte("refs/heads/\xff\xfe"), UpdateIndex: 1, Type: reftable.LogUpdate, Old: id(0), New: id(3),
			Name: []byte("J\xf6rg"), Email: []byte("j\xf6rg@example.com"), Time: 1700000000, TZOffset: 100, Message: []byte("caf\xe9\n")},
	}
	path := filepath.Join(t.TempDir(), "names.ref")
	writeTable(t, path, reftable.WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 1, ExactLogMessage: true}, refs, logs)

	// exact returns field f of object o, from f_bytes when o has it.
	exact := func(t *testing.T, o map[string]any, f string) string {
		t.Helper()
		b64, ok := o[f+"_bytes"].(string)
		if !ok {
			s, _ := o[f].(string)
			if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
				t.Errorf("%s %q without %s_bytes", f, s, f)
			}
			return s
		}
		b, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			t.Fatalf("%s_bytes %q: %v", f, b64, err)
		}
		if s, _ := o[f].(string); s != string([]rune(string(b))) { // U+FFFD for each invalid byte
			t.Errorf("%s %q does not show %q", f, s, b)
		}
		return string(b)
	}
	objects := func(t *testing.T, args ...string) []map[string]any {
		t.Helper()
		var out []map[string]any
		for line := range strings.Lines(mustRun(t, "", args...)) {
			var o map[string]any
			if err := json.Unmarshal([]byte(line), &o); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			out = append(out, o)
		}
		return out
	}
	refLines := func(t *testing.T, objs []map[string]any) []string {
		var got []string
		for _, o := range objs {
			line := exact(t, o, "name")
			if _, ok := o["target"]; ok {
				line += " -> " + exact(t, o, "target")
			}
			got = append(got, line)
		}
		return got
	}
	logLines := func(t *testing.T, objs []map[string]any) []string {
		var got []string
		for _, o := range objs {
			got = append(got, strings.Join([]string{exact(t, o, "name"), exact(t, o, "committer"), exact(t, o, "email"), exact(t, o, "message")}, "|"))
		}
		return got
	}
	wantRefs := []string{"HEAD -> refs/heads/\xff\xfe", "refs/heads/caf\xc3\xa9", "refs/heads/\xfe\xff", "refs/heads/\xff\xfe"}
	wantLogs := []string{"refs/heads/\xfe\xff|C O Mitter|committer@example.com|plain", "refs/heads/\xff\xfe|J\xf6rg|j\xf6rg@example.com|caf\xe9"}

	if diff := cmp.Diff(wantRefs, refLines(t, objects(t, "refs", "-json", path))); diff != "" {
		t.Errorf("refs -json (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantLogs, logLines(t, objects(t, "logs", "-json", path))); diff != "" {
		t.Errorf("logs -json (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{wantRefs[0], wantRefs[3]}, refLines(t, objects(t, "show", "-json", path, "HEAD"))); diff != "" {
		t.Errorf("show -json HEAD (-want +got):\n%s", diff)
	}
	var dumpRefs, dumpLogs []map[string]any
	for _, o := range objects(t, "dump", "-json", "-records", path) {
		if r, ok := o["ref"].(map[string]any); ok {
			dumpRefs = append(dumpRefs, r)
		}
		if l, ok := o["log"].(map[string]any); ok {
			dumpLogs = append(dumpLogs, l)
		}
	}
	if diff := cmp.Diff(wantRefs, refLines(t, dumpRefs)); diff != "" {
		t.Errorf("dump -json -records refs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantLogs, logLines(t, dumpLogs)); diff != "" {
		t.Errorf("dump -json -records logs (-want +got):\n%s", diff)
	}
	checkGolden(t, filepath.Join("json", "exact-bytes-refs"), runTool(t, "", "refs", "-json", path).String())
	checkGolden(t, filepath.Join("json", "exact-bytes-logs"), runTool(t, "", "logs", "-json", path).String())
}
