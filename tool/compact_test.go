package tool

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refstore/refstore/stack"
)

// TestCompactProgress checks when compact shows its progress line: only
// on a terminal and for a large stack; tests never see it.
func TestCompactProgress(t *testing.T) {
	for _, tc := range []struct {
		tty             bool
		tables, records int
		want            bool
	}{
		{false, 100, 1_000_000, false},
		{true, 7, 99_999, false},
		{true, 8, 0, true},
		{true, 1, 100_000, true},
		{true, 1, 10, false},
	} {
		if got := showProgress(tc.tty, tc.tables, tc.records); got != tc.want {
			t.Errorf("showProgress(%v, %d, %d) = %v, want %v", tc.tty, tc.tables, tc.records, got, tc.want)
		}
	}

	dir := filepath.Join(t.TempDir(), "reftable")
	copyDir(t, filepath.Join(fixtures, "sha1-basic", "reftable"), dir)
	st, err := stack.Open(dir, stack.Options{DisableAutoCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	tables, records, err := stackSize(ctx, st)
	st.Close()
	// stats: 15 tables, 15 refs and 14 logs.
	if err != nil || tables != 15 || records != 29 {
		t.Errorf("stackSize = %d tables, %d records, %v; want 15, 29", tables, records, err)
	}
	r := runTool(t, "", "compact", dir)
	if r.code != 0 || r.stdout != "tables 15 -> 1\n" || r.stderr != "" {
		t.Errorf("compact of 15 tables, stderr not a terminal: %v", r)
	}
}

// TestIsTerminal checks that files that are not terminals are not taken
// for one, /dev/null included (a character device).
func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "file"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for _, w := range []io.Writer{f, null, &strings.Builder{}} {
		if IsTerminal(w) {
			t.Errorf("IsTerminal(%T %v) = true", w, w)
		}
	}
}
