package tool

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// markersFixture is a stack in which git wrote reflog existence markers
// (git gc, git reflog expire, a reflog created without an entry); see its
// README.md and make-markers.sh.
const markersFixture = "testdata/markers"

// TestLogsMarkers: logs hides git's reflog existence markers, as git
// reflog does (regression: it printed each as an entry from the zero id
// to the zero id at time 0); -markers lists them, and -json marks them.
func TestLogsMarkers(t *testing.T) {
	stack := filepath.Join(markersFixture, "reftable")
	// git's own reading of the reflogs, through its migration.
	if diff := cmp.Diff(readFile(t, filepath.Join(markersFixture, "expected-logs.txt")), mustRun(t, "", "logs", stack)); diff != "" {
		t.Errorf("logs (-git +ours):\n%s", diff)
	}
	// Every reflog git lists, markers included, and no other.
	var names []string
	for _, line := range strings.Split(strings.TrimSuffix(mustRun(t, "", "logs", "-markers", stack), "\n"), "\n") {
		name, _, _ := strings.Cut(line, "\t")
		if len(names) == 0 || names[len(names)-1] != name {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if diff := cmp.Diff(readFile(t, filepath.Join(markersFixture, "git-list.txt")), strings.Join(names, "\n")+"\n"); diff != "" {
		t.Errorf("reflogs of logs -markers (-git reflog list +ours):\n%s", diff)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"logs/markers", []string{"logs", "-markers", stack}},
		{"logs/markers-json", []string{"logs", "-markers", "-json", stack}},
		{"logs/markers-hidden-json", []string{"logs", "-json", stack}},
		{"logs/marker-only", []string{"logs", "-ref", "refs/heads/lonely", stack}},
		{"logs/marker-only-shown", []string{"logs", "-markers", "-ref", "refs/heads/lonely", stack}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGolden(t, tc.name, runTool(t, "", tc.args...).String())
		})
	}
}

// TestExportMarkers: export of a stack where git wrote existence markers
// writes what git's migration to the files backend wrote of it, byte for
// byte (regression: export failed, exit 1, refusing each marker as an
// entry at time 0).
func TestExportMarkers(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "files")
	out := mustRun(t, "", "export", "-no-peeled", filepath.Join(markersFixture, "reftable"), dst)
	if !strings.HasPrefix(out, "exported 4 refs and 3 reflog entries ") {
		t.Errorf("export printed %q, want 4 refs and 3 entries", out)
	}
	want := filesOnly(tree(t, filepath.Join(markersFixture, "migrated")))
	for name := range want {
		if strings.HasSuffix(name, "/.keep") {
			delete(want, name)
		}
	}
	if diff := cmp.Diff(want, filesOnly(tree(t, dst))); diff != "" {
		t.Errorf("exported files (-git refs migrate +ours):\n%s", diff)
	}
	for _, d := range []string{"refs/heads", "refs/tags"} {
		if tree(t, dst)[d] != "/" {
			t.Errorf("no directory %s, which git makes", d)
		}
	}
}

// TestCompactMarkersAsGit: compact merges a stack holding git's markers
// into what git pack-refs made of it, record for record.
func TestCompactMarkersAsGit(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, filepath.Join(markersFixture, "reftable"), dir)
	mustRun(t, "", "compact", dir)
	if diff := cmp.Diff(dumpRecords(t, filepath.Join(markersFixture, "packed", "reftable")), dumpRecords(t, dir)); diff != "" {
		t.Errorf("records after compact (-git pack-refs +ours):\n%s", diff)
	}
	if diff := cmp.Diff(mustRun(t, "", "logs", "-markers", filepath.Join(markersFixture, "reftable")), mustRun(t, "", "logs", "-markers", dir)); diff != "" {
		t.Errorf("logs -markers after compact (-before +after):\n%s", diff)
	}
}

// TestMarkersElsewhere: the other commands that read reflogs take git's
// markers as git does: verify finds nothing wrong with them, digest
// (refs only) agrees with git's refs, and dump shows every marker record
// as it is, its JSON marked.
func TestMarkersElsewhere(t *testing.T) {
	stack := filepath.Join(markersFixture, "reftable")
	if got := mustRun(t, "", "verify", stack); got != "" {
		t.Errorf("verify: %s", got)
	}
	if got, want := mustRun(t, "", "digest", stack), expectedDigest(t, readFile(t, filepath.Join(markersFixture, "expected.txt"))); got != want {
		t.Errorf("digest %q, git's refs %q", got, want)
	}
	// HEAD, feature, gone (then deleted), main and lonely.
	if n := strings.Count(mustRun(t, "", "dump", "-json", "-records", stack), `"marker":true`); n != 5 {
		t.Errorf("dump -json -records marks %d records, want the 5 markers", n)
	}
}
