package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/refstore/refstore/stack"
)

// fixtureTables lists the table files of every git fixture.
func fixtureTables(t *testing.T) []string {
	t.Helper()
	var paths []string
	for _, name := range fixtureNames(t) {
		dir := filepath.Join(fixtures, name, "reftable")
		for _, n := range strings.Fields(readFile(t, filepath.Join(dir, "tables.list"))) {
			paths = append(paths, filepath.Join(dir, n))
		}
	}
	return paths
}

// tableContents is what a table holds, read through the library: its
// header values, every record and the shape of every block.
type tableContents struct {
	Header string
	Refs   []string
	Logs   []string
	Blocks []string
}

// readContents reads a table's contents. With shapes it also describes
// every block: all fields before the log section, the type only within
// it (compressed sizes, and the offsets the log index holds, depend on
// the zlib implementation).
func readContents(t *testing.T, path string, shapes bool) tableContents {
	t.Helper()
	tbl, f, err := openTableFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := tableContents{Header: fmt.Sprintf("version=%d block_size=%d hash=%s update_index=%d..%d",
		tbl.Version(), tbl.BlockSize(), tbl.Hash(), tbl.MinUpdateIndex(), tbl.MaxUpdateIndex())}
	for r, err := range tbl.Refs(nil) {
		if err != nil {
			t.Fatal(err)
		}
		c.Refs = append(c.Refs, fmt.Sprintf("%s update_index=%d", refText(&r), r.UpdateIndex))
	}
	for l, err := range tbl.Logs(nil) {
		if err != nil {
			t.Fatal(err)
		}
		c.Logs = append(c.Logs, fmt.Sprintf("%d %s %q", l.UpdateIndex, logText(&l), l.Message))
	}
	if !shapes {
		return c
	}
	logStart := int64(-1)
	if l := tbl.Layout(); l.HasLogs {
		logStart = l.LogOffset
	}
	for b, err := range tbl.Blocks() {
		if err != nil {
			t.Fatal(err)
		}
		if logStart >= 0 && b.Offset >= logStart {
			c.Blocks = append(c.Blocks, fmt.Sprintf("%c in log section", b.Type))
			continue
		}
		c.Blocks = append(c.Blocks, fmt.Sprintf("%c offset=%d len=%d size=%d records=%d restarts=%d",
			b.Type, b.Offset, b.Len, b.Size, b.Records, b.Restarts))
	}
	return c
}

// TestRewriteSameOptions rewrites every git fixture table with git's
// options: tables without logs come out byte for byte; for tables with
// logs the bytes before the log section are identical and the records
// and block shapes are equal.
func TestRewriteSameOptions(t *testing.T) {
	withLogs, withoutLogs := 0, 0
	for _, in := range fixtureTables(t) {
		t.Run(filepath.Base(filepath.Dir(filepath.Dir(in)))+"/"+filepath.Base(in), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), filepath.Base(in))
			mustRun(t, "", "rewrite", in, out)
			orig, got := readFile(t, in), readFile(t, out)
			tbl, f, err := openTableFile(in)
			if err != nil {
				t.Fatal(err)
			}
			layout := tbl.Layout()
			f.Close()
			if !layout.HasLogs {
				withoutLogs++
				if orig != got {
					t.Errorf("rewritten table differs from git's (%d vs %d bytes)", len(got), len(orig))
				}
				return
			}
			withLogs++
			if n := layout.LogOffset; len(got) < int(n) || got[:n] != orig[:n] {
				t.Errorf("bytes before the log section (offset %d) differ", n)
			}
			if diff := cmp.Diff(readContents(t, in, true), readContents(t, out, true)); diff != "" {
				t.Errorf("contents (-git +rewritten):\n%s", diff)
			}
		})
	}
	t.Logf("%d tables with logs, %d without", withLogs, withoutLogs)
}

// TestRewriteBlockSizes rewrites tables to 256-byte blocks and back to
// 4096: the records stay the same.
func TestRewriteBlockSizes(t *testing.T) {
	for _, in := range fixtureTables(t) {
		if !strings.Contains(in, "many-refs") && !strings.Contains(in, "compacted") && !strings.Contains(in, "small-blocks") {
			continue
		}
		t.Run(filepath.Base(filepath.Dir(filepath.Dir(in))), func(t *testing.T) {
			dir := t.TempDir()
			small, back := filepath.Join(dir, "small.ref"), filepath.Join(dir, "back.ref")
			mustRun(t, "", "rewrite", "-block-size", "256", in, small)
			mustRun(t, "", "rewrite", "-block-size", "4096", small, back)
			want := readContents(t, in, false)
			for _, p := range []string{small, back} {
				got := readContents(t, p, false)
				if diff := cmp.Diff(want.Refs, got.Refs); diff != "" {
					t.Errorf("%s refs (-want +got):\n%s", filepath.Base(p), diff)
				}
				if diff := cmp.Diff(want.Logs, got.Logs); diff != "" {
					t.Errorf("%s logs (-want +got):\n%s", filepath.Base(p), diff)
				}
			}
			if h := readContents(t, small, false).Header; !strings.Contains(h, "block_size=256 ") {
				t.Errorf("small header %s", h)
			}
		})
	}
}

// TestRewriteOptions checks the flags and the refusal to overwrite
// against golden files.
func TestRewriteOptions(t *testing.T) {
	in := filepath.Join(fixtures, "compacted", "reftable", "0x000000000001-0x00000000000f-5c22e66e.ref")
	dir := t.TempDir()
	exists := filepath.Join(dir, "exists.ref")
	writeFile(t, exists, "keep me")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"defaults", []string{in, filepath.Join(dir, "defaults.ref")}},
		{"unpadded", []string{"-unpadded", "-restart-interval", "1", in, filepath.Join(dir, "unpadded.ref")}},
		{"no-obj-index", []string{"-no-obj-index", "-block-size", "1024", in, filepath.Join(dir, "noobj.ref")}},
		{"exists", []string{in, exists}},
		{"one-arg", []string{in}},
		{"bad-restart", []string{"-restart-interval", "0", in, filepath.Join(dir, "x.ref")}},
		{"missing-in", []string{filepath.Join("testdata", "no-such.ref"), filepath.Join(dir, "y.ref")}},
		{"not-a-table", []string{filepath.Join("testdata", "usage", "none.golden"), filepath.Join(dir, "z.ref")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runTool(t, "", append([]string{"rewrite"}, tc.args...)...)
			r.stderr = strings.ReplaceAll(r.stderr, dir, "$DIR")
			checkGolden(t, filepath.Join("rewrite", tc.name), r.String())
		})
	}
	if got := readFile(t, exists); got != "keep me" {
		t.Errorf("existing OUT was changed: %q", got)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"defaults.ref", "exists.ref", "noobj.ref", "unpadded.ref"}, names); diff != "" {
		t.Errorf("files left (-want +got):\n%s", diff)
	}
	want := readContents(t, in, false)
	for _, n := range []string{"defaults.ref", "noobj.ref", "unpadded.ref"} {
		got := readContents(t, filepath.Join(dir, n), false)
		if !cmp.Equal(want.Refs, got.Refs) || !cmp.Equal(want.Logs, got.Logs) {
			t.Errorf("%s: records differ", n)
		}
	}
}

// TestWriteFileAtomicHeld: the temporary file of a rewrite is held, so an
// interrupt's handler (stack.RemoveHeldFiles) removes it; the rewrite then
// fails without creating OUT, and nothing is left in the directory. On
// success nothing stays registered.
func TestWriteFileAtomicHeld(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ref")
	_, err := writeFileAtomic(out, func(w *os.File) (int, error) {
		if _, err := w.WriteString("partial"); err != nil {
			return 0, err
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("directory while writing: %v, want the temporary file", entries)
		}
		stack.RemoveHeldFiles() // what the interrupt handler does
		return 0, nil
	})
	if err == nil {
		t.Fatal("rewrite succeeded after its temporary file was removed")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("left after the interrupt: %v", entries)
	}

	if _, err := writeFileAtomic(out, func(w *os.File) (int, error) { return w.WriteString("table") }); err != nil {
		t.Fatal(err)
	}
	stack.RemoveHeldFiles()
	if b, err := os.ReadFile(out); err != nil || string(b) != "table" {
		t.Fatalf("OUT after a later interrupt: %q, %v", b, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("directory after success: %v, want OUT alone", entries)
	}
}
