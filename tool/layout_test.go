package tool

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// layouts is the directory of tables laid out as JGit lays them out.
const layouts = "../reftable/testdata/layouts"

// TestLayoutTables runs dump, verify and logs on each table laid out as
// JGit lays it out (an index block longer than the block size, log
// blocks of several block sizes, a log-only table whose header stands
// alone) and compares their output with golden files; rewrite keeps
// every record. Issue 17: dump, verify, logs and refs called these
// tables corrupt.
func TestLayoutTables(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(layouts, "*.ref"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no tables in %s: %v", layouts, err)
	}
	for _, path := range files {
		base := strings.TrimSuffix(filepath.Base(path), ".ref")
		t.Run(base, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				args []string
			}{
				{"dump", []string{"dump", path}},
				{"verify", []string{"verify", "-v", path}},
				{"logs-ref", []string{"logs", "-ref", "refs/heads/branch-0001", path}},
			} {
				r := runTool(t, "", tc.args...)
				checkGolden(t, filepath.Join("layouts", base+"-"+tc.name), r.String())
			}
			for _, args := range [][]string{{"refs", path}, {"logs", path}, {"dump", "-json", "-records", path}} {
				mustRun(t, "", args...)
			}
			out := filepath.Join(t.TempDir(), "out.ref")
			mustRun(t, "", "rewrite", path, out)
			want, got := readContents(t, path, false), readContents(t, out, false)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rewritten records (-want +got):\n%s", diff)
			}
		})
	}
}
