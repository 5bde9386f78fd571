package tool

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/refstore/refstore/internal/testutil/gittest"
	"github.com/refstore/refstore/reftable"
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
		c.Refs = append(c.Refs, fmt.Sprintf("%s update_index=%d", RefText(&r), r.UpdateIndex))
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
		{"bad-restart", []string{"-restart-interval", "70000", in, filepath.Join(dir, "x.ref")}},
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
// interrupt's handler (stack.Cleanup.Remove) removes it; the rewrite then
// fails without creating OUT, and nothing is left in the directory. On
// success nothing stays registered.
func TestWriteFileAtomicHeld(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ref")
	held := stack.NewCleanup()
	_, err := writeFileAtomic(held, out, func(w *os.File) (int, error) {
		if _, err := w.WriteString("partial"); err != nil {
			return 0, err
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("directory while writing: %v, want the temporary file", entries)
		}
		held.Remove() // what the interrupt handler does
		return 0, nil
	})
	if err == nil {
		t.Fatal("rewrite succeeded after its temporary file was removed")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("left after the interrupt: %v", entries)
	}

	if _, err := writeFileAtomic(held, out, func(w *os.File) (int, error) { return w.WriteString("table") }); err != nil {
		t.Fatal(err)
	}
	held.Remove()
	if b, err := os.ReadFile(out); err != nil || string(b) != "table" {
		t.Fatalf("OUT after a later interrupt: %q, %v", b, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("directory after success: %v, want OUT alone", entries)
	}
}

// writeTable writes refs and logs into a table file at path with opts.
func writeTable(t *testing.T, path string, opts reftable.WriterOptions, refs []reftable.RefRecord, logs []reftable.LogRecord) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := reftable.NewWriter(&buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range refs {
		if err := w.AddRef(&refs[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i := range logs {
		if err := w.AddLog(&logs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, buf.String())
	return buf.Bytes()
}

// rewriteRecords returns n branches and a reflog entry for each.
func rewriteRecords(n int) ([]reftable.RefRecord, []reftable.LogRecord) {
	var refs []reftable.RefRecord
	var logs []reftable.LogRecord
	for i := range n {
		name := fmt.Appendf(nil, "refs/heads/topic-%05d", i)
		id := sha1.Sum(name)
		refs = append(refs, reftable.RefRecord{Name: name, UpdateIndex: 1, Type: reftable.RefVal1, Value: id[:]})
		logs = append(logs, reftable.LogRecord{RefName: name, UpdateIndex: 1, Type: reftable.LogUpdate,
			Old: make([]byte, 20), New: id[:], Name: []byte("A U Thor"), Email: []byte("author@example.com"),
			Time: 1700000000, TZOffset: 100, Message: []byte("branch: Created from main\n")})
	}
	return refs, logs
}

// TestRewriteKeepsInputOptions: without flags, rewrite writes the table
// as its input is written, byte for byte, whatever the input's restart
// interval, padding, object index and block size. Issue 17, writer 7:
// rewrite used git's options, and a table with restart interval 1 or 64
// came out different.
func TestRewriteKeepsInputOptions(t *testing.T) {
	refs, logs := rewriteRecords(500)
	for _, opts := range []reftable.WriterOptions{
		{RestartInterval: 1},
		{RestartInterval: 64},
		{RestartInterval: 64, BlockSize: 1024},
		{RestartInterval: 3, Unpadded: true},
		{BlockSize: 2000, Unpadded: true, UnalignedHeader: true},
		{SkipIndexObjects: true},
		{BlockSize: 512, RestartInterval: 100, SkipIndexObjects: true, Unpadded: true},
	} {
		name := fmt.Sprintf("bs=%d,ri=%d,unpadded=%v,header0=%v,noobj=%v", opts.BlockSize, opts.RestartInterval, opts.Unpadded, opts.UnalignedHeader, opts.SkipIndexObjects)
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			in, out := filepath.Join(dir, "in.ref"), filepath.Join(dir, "out.ref")
			opts.MinUpdateIndex, opts.MaxUpdateIndex = 1, 1
			orig := writeTable(t, in, opts, refs, logs)
			mustRun(t, "", "rewrite", in, out)
			if got := readFile(t, out); got != string(orig) {
				t.Errorf("rewritten table differs from its input (%d vs %d bytes)", len(got), len(orig))
			}
		})
	}
}

// TestRewriteFlagsOverride: flags override what the input shows, both
// ways, and -unpadded declares block size 0 in header and footer. Issue
// 17, writer 9: -unpadded declared 4096, which JGit does not read.
func TestRewriteFlagsOverride(t *testing.T) {
	refs, logs := rewriteRecords(500)
	dir := t.TempDir()
	unpadded := filepath.Join(dir, "unpadded.ref")
	writeTable(t, unpadded, reftable.WriterOptions{RestartInterval: 3, Unpadded: true, SkipIndexObjects: true, MinUpdateIndex: 1, MaxUpdateIndex: 1}, refs, logs)
	padded := filepath.Join(dir, "padded.ref")
	writeTable(t, padded, reftable.WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 1}, refs, logs)
	for _, tc := range []struct {
		in   string
		args []string
		want reftable.WriterOptions
	}{
		{unpadded, nil, reftable.WriterOptions{BlockSize: 4096, RestartInterval: 3, Unpadded: true, SkipIndexObjects: true}},
		{unpadded, []string{"-unpadded=false", "-no-obj-index=false", "-restart-interval", "16"}, reftable.WriterOptions{BlockSize: 4096, RestartInterval: 16}},
		{unpadded, []string{"-unpadded"}, reftable.WriterOptions{BlockSize: 4096, RestartInterval: 3, Unpadded: true, UnalignedHeader: true, SkipIndexObjects: true}},
		{padded, []string{"-unpadded", "-block-size", "1024"}, reftable.WriterOptions{BlockSize: 1024, RestartInterval: 16, Unpadded: true, UnalignedHeader: true}},
		{padded, []string{"-no-obj-index"}, reftable.WriterOptions{BlockSize: 4096, RestartInterval: 16, SkipIndexObjects: true}},
	} {
		t.Run(strings.Join(append([]string{filepath.Base(tc.in)}, tc.args...), " "), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.ref")
			mustRun(t, "", append(append([]string{"rewrite"}, tc.args...), tc.in, out)...)
			tbl, f, err := openTableFile(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := tbl.WriterOptions()
			if err != nil {
				t.Fatal(err)
			}
			if tc.want.UnalignedHeader {
				// The longest block of a table declaring 0 is all
				// that shows its block size.
				if got.BlockSize > tc.want.BlockSize || got.BlockSize < tc.want.BlockSize/2 {
					t.Errorf("longest block %d, want at most %d", got.BlockSize, tc.want.BlockSize)
				}
				tc.want.BlockSize = got.BlockSize
				data := readFile(t, out)
				if tbl.BlockSize() != 0 || data[5:8] != "\x00\x00\x00" || data[len(data)-68+5:len(data)-68+8] != "\x00\x00\x00" {
					t.Errorf("block size declared %d, want 0 in header and footer", tbl.BlockSize())
				}
			}
			tc.want.MinUpdateIndex, tc.want.MaxUpdateIndex, tc.want.Hash = 1, 1, reftable.SHA1
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("options of OUT (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(readContents(t, tc.in, false), readContents(t, out, false), cmp.FilterPath(func(p cmp.Path) bool {
				return p.String() == "Header"
			}, cmp.Ignore())); diff != "" {
				t.Errorf("records (-in +out):\n%s", diff)
			}
		})
	}
}

// TestGitReadsRewrite replaces the one table of a repository git wrote
// with what rewrite makes of it, by default and with flags (block size 0
// declared with -unpadded among them): git sees the same refs and
// reflogs, looks refs up, and its refs verify is clean.
func TestGitReadsRewrite(t *testing.T) {
	r := &gitRepo{Repo: gittest.Init(t, "sha1")}
	r.Run("commit", "-q", "--allow-empty", "-m", "c1")
	r.Run("tag", "-a", "v1", "-m", "tag v1")
	r.Run("commit", "-q", "--allow-empty", "-m", "c2")
	var stdin strings.Builder
	for i := range 300 {
		fmt.Fprintf(&stdin, "create refs/heads/bulk/b%03d HEAD~%d\n", i, i%2)
	}
	if _, err := r.RunInput(stdin.String(), "update-ref", "-m", "bulk", "--stdin"); err != nil {
		t.Fatal(err)
	}
	r.Run("symbolic-ref", "refs/remotes/origin/HEAD", "refs/heads/bulk/b007")
	r.Run("pack-refs", "--all")
	dir := r.ReftableDir()
	names := strings.Fields(readFile(t, filepath.Join(dir, "tables.list")))
	if len(names) != 1 {
		t.Fatalf("tables after pack-refs: %v", names)
	}
	table := filepath.Join(dir, names[0])
	orig := readFile(t, table)
	wantRefs, wantLogs := r.gitRefs(r.Dir), r.gitLogs(r.Dir)
	for _, flags := range [][]string{
		nil,
		{"-unpadded"},
		{"-restart-interval", "1"},
		{"-restart-interval", "64", "-block-size", "1024"},
		{"-unpadded", "-block-size", "512", "-no-obj-index", "-restart-interval", "3"},
	} {
		t.Run(strings.Join(append([]string{"rewrite"}, flags...), " "), func(t *testing.T) {
			in, out := filepath.Join(t.TempDir(), "in.ref"), filepath.Join(t.TempDir(), "out.ref")
			writeFile(t, in, orig)
			mustRun(t, "", append(append([]string{"rewrite"}, flags...), in, out)...)
			if flags != nil && readFile(t, out) == orig {
				t.Fatal("rewrite with flags kept git's table as it was")
			}
			writeFile(t, table, readFile(t, out))
			if diff := cmp.Diff(wantRefs, r.gitRefs(r.Dir)); diff != "" {
				t.Errorf("git for-each-ref (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(wantLogs, r.gitLogs(r.Dir)); diff != "" {
				t.Errorf("git reflogs (-before +after):\n%s", diff)
			}
			for _, name := range []string{"refs/heads/bulk/b000", "refs/heads/bulk/b150", "refs/heads/bulk/b299", "refs/tags/v1"} {
				r.Run("show-ref", "--verify", "-q", name)
			}
			r.Run("refs", "verify")
		})
	}
}
