package filesrefs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/vfs"
)

// dirFS adds Mkdir to a vfs.FS over the operating system; failMkdir, if
// not nil, can fail it.
type dirFS struct {
	vfs.FS
	failMkdir func(name string) error
}

func (d dirFS) Mkdir(name string, perm fs.FileMode) error {
	if d.failMkdir != nil {
		if err := d.failMkdir(name); err != nil {
			return err
		}
	}
	return os.Mkdir(name, perm)
}

// readTree returns the files under dir (slash-separated relative path ->
// contents) and its directories (path -> "/").
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	tree := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			tree[filepath.ToSlash(rel)] = "/"
			return nil
		}
		data, err := os.ReadFile(path)
		tree[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func rec(h reftable.Hash, name string, typ reftable.RefValueType, v ...string) reftable.RefRecord {
	r := reftable.RefRecord{Name: []byte(name), Type: typ}
	switch typ {
	case reftable.RefSymref:
		r.Target = []byte(v[0])
	case reftable.RefVal2:
		r.Peeled = mustHex(v[1])
		fallthrough
	case reftable.RefVal1:
		r.Value = mustHex(v[0])
	}
	return r
}

func mustHex(s string) []byte {
	b, err := decodeHex([]byte(s))
	if err != nil {
		panic(err)
	}
	return b
}

func logRec(name, old, new, who, email string, time uint64, tz int16, msg string) reftable.LogRecord {
	return reftable.LogRecord{RefName: []byte(name), Type: reftable.LogUpdate, Old: mustHex(old), New: mustHex(new),
		Name: []byte(who), Email: []byte(email), Time: time, TZOffset: tz, Message: []byte(msg)}
}

// sample returns contents with every kind of ref and reflog entry.
func sample(h reftable.Hash) *Contents {
	a, b, c, z := id(h, 'a'), id(h, 'b'), id(h, 'c'), id(h, '0')
	return &Contents{
		Refs: []reftable.RefRecord{
			rec(h, "HEAD", reftable.RefSymref, "refs/heads/main"),
			rec(h, "ORIG_HEAD", reftable.RefVal1, a),
			rec(h, "refs/heads/feature/x", reftable.RefVal1, b),
			rec(h, "refs/heads/main", reftable.RefVal1, a),
			rec(h, "refs/remotes/origin/HEAD", reftable.RefSymref, "refs/remotes/origin/main"),
			rec(h, "refs/tags/v1", reftable.RefVal2, c, a),
		},
		Logs: []reftable.LogRecord{
			logRec("HEAD", z, a, "C O Mitter", "c@example.com", 1700000000, 0, "commit (initial): one\n"),
			logRec("HEAD", a, b, "C O Mitter", "c@example.com", 1700000060, -800, "\n"),
			logRec("refs/heads/feature/x", z, b, "A", "a@x", 5, 530, "branch: Created from main\n"),
		},
	}
}

func TestWrite(t *testing.T) {
	h := reftable.SHA1
	a, b, c, z := id(h, 'a'), id(h, 'b'), id(h, 'c'), id(h, '0')
	dir := t.TempDir()
	in := sample(h)
	if err := Write(dirFS{FS: vfs.OS}, dir, h, in); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"HEAD":      "ref: refs/heads/main\n",
		"ORIG_HEAD": a + "\n",
		"packed-refs": "# pack-refs with: peeled fully-peeled sorted \n" +
			b + " refs/heads/feature/x\n" + a + " refs/heads/main\n" + c + " refs/tags/v1\n^" + a + "\n",
		"refs":                     "/",
		"refs/heads":               "/",
		"refs/tags":                "/",
		"refs/remotes":             "/",
		"refs/remotes/origin":      "/",
		"refs/remotes/origin/HEAD": "ref: refs/remotes/origin/main\n",
		"logs":                     "/",
		"logs/HEAD": z + " " + a + " C O Mitter <c@example.com> 1700000000 +0000\tcommit (initial): one\n" +
			a + " " + b + " C O Mitter <c@example.com> 1700000060 -0800\n",
		"logs/refs":                 "/",
		"logs/refs/heads":           "/",
		"logs/refs/heads/feature":   "/",
		"logs/refs/heads/feature/x": z + " " + b + " A <a@x> 5 +0530\tbranch: Created from main\n",
	}
	if diff := cmp.Diff(want, readTree(t, dir)); diff != "" {
		t.Errorf("layout (-want +got):\n%s", diff)
	}
	out, err := Read(vfs.OS, dir, h)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(refLines(in.Refs), refLines(out.Refs)); diff != "" {
		t.Errorf("refs read back (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(logLines(in.Logs), logLines(out.Logs)); diff != "" {
		t.Errorf("logs read back (-want +got):\n%s", diff)
	}
}

// TestWriteNormalizes checks that what Write writes reads back as git's
// migration would normalise it: messages on one line, identities
// without crud.
func TestWriteNormalizes(t *testing.T) {
	h := reftable.SHA256
	a, b := id(h, 'a'), id(h, 'b')
	dir := t.TempDir()
	in := &Contents{Logs: []reftable.LogRecord{
		logRec("refs/heads/m", a, b, " <Jo>, ", "<j@x>\n", 7, 1400, "  two\nlines\t\ttab \n\n"),
	}}
	if err := Write(dirFS{FS: vfs.OS}, dir, h, in); err != nil {
		t.Fatal(err)
	}
	want := a + " " + b + " Jo <j@x> 7 +1400\ttwo lines tab\n"
	if got := readTree(t, dir)["logs/refs/heads/m"]; got != want {
		t.Errorf("reflog %q, want %q", got, want)
	}
}

// TestWriteSkipsMarkers: git's reflog existence markers are no entries
// (regression: Write refused them as entries at time 0); as git's
// migration, a reflog that holds only a marker gets no file, and the
// markers of others no line.
func TestWriteSkipsMarkers(t *testing.T) {
	h := reftable.SHA1
	a, z := id(h, 'a'), id(h, '0')
	marker := func(name string) reftable.LogRecord {
		return reftable.LogRecord{RefName: []byte(name), Type: reftable.LogUpdate, Old: mustHex(z), New: mustHex(z), Message: []byte("\n")}
	}
	in := &Contents{
		Refs: []reftable.RefRecord{rec(h, "refs/heads/main", reftable.RefVal1, a)},
		Logs: []reftable.LogRecord{
			marker("refs/heads/lonely"),
			marker("refs/heads/main"),
			logRec("refs/heads/main", z, a, "C", "c@x", 1700000000, 0, "commit: one\n"),
		},
	}
	if err := Check(in, h); err != nil {
		t.Fatalf("Check: %v", err)
	}
	dir := t.TempDir()
	if err := Write(dirFS{FS: vfs.OS}, dir, h, in); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"packed-refs":          "# pack-refs with: peeled fully-peeled sorted \n" + a + " refs/heads/main\n",
		"logs/refs/heads/main": z + " " + a + " C <c@x> 1700000000 +0000\tcommit: one\n",
	}
	got := readTree(t, dir)
	for k, v := range got {
		if v == "/" {
			delete(got, k)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func TestWriteRejects(t *testing.T) {
	h := reftable.SHA1
	a := id(h, 'a')
	for _, tc := range []struct {
		name string
		c    *Contents
		want string
	}{
		{"file and directory", &Contents{Refs: []reftable.RefRecord{
			rec(h, "refs/heads/a", reftable.RefSymref, "refs/heads/b"),
			rec(h, "refs/heads/a/b", reftable.RefSymref, "refs/heads/b"),
		}}, "refs/heads/a and refs/heads/a/b: a file cannot also be a directory"},
		{"reflog file and directory", &Contents{Logs: []reftable.LogRecord{
			logRec("refs/heads/a", a, a, "n", "e", 1, 0, "m"),
			logRec("refs/heads/a/b", a, a, "n", "e", 1, 0, "m"),
		}}, "logs/refs/heads/a and logs/refs/heads/a/b: a file cannot also be a directory"},
		{"time 0", &Contents{Logs: []reftable.LogRecord{logRec("HEAD", a, a, "n", "e", 0, 0, "m")}}, "reflog entry of HEAD at time 0"},
		{"zone", &Contents{Logs: []reftable.LogRecord{logRec("HEAD", a, a, "n", "e", 1, 10000, "m")}}, "zone offset 10000"},
		{"not a root ref", &Contents{Refs: []reftable.RefRecord{rec(h, "worktrees/w/HEAD", reftable.RefVal1, a)}}, "ref worktrees/w/HEAD: neither under refs/ nor a root ref"},
		{"bad name", &Contents{Refs: []reftable.RefRecord{rec(h, "refs/heads/a..b", reftable.RefVal1, a)}}, "contains .."},
		{"unsorted", &Contents{Refs: []reftable.RefRecord{rec(h, "refs/heads/b", reftable.RefVal1, a), rec(h, "refs/heads/a", reftable.RefVal1, a)}}, "refs not sorted"},
		{"short id", &Contents{Refs: []reftable.RefRecord{{Name: []byte("refs/heads/a"), Type: reftable.RefVal1, Value: []byte{1}}}}, "object id not of 20 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			err := Write(dirFS{FS: vfs.OS}, dir, h, tc.c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if tree := readTree(t, dir); len(tree) != 0 {
				t.Errorf("rejected contents left %v", tree)
			}
		})
	}
}

// TestWriteFaults fails every file operation and every directory
// creation of Write in turn: each failure is reported and leaves the
// directory empty.
func TestWriteFaults(t *testing.T) {
	h := reftable.SHA1
	in := sample(h)
	n := 0
	for i := 0; ; i++ {
		dir := t.TempDir()
		efs := vfs.NewErrorFS(vfs.OS, vfs.Injection{Index: i, Fault: vfs.FaultError})
		err := Write(dirFS{FS: efs}, dir, h, in)
		if len(efs.Injected()) == 0 {
			if err != nil {
				t.Fatalf("no fault injected at %d, but: %v", i, err)
			}
			n = i
			break
		}
		if !errors.Is(err, vfs.ErrInjected) {
			t.Fatalf("fault %v: error %v, want the injected fault", efs.Hits(), err)
		}
		if tree := readTree(t, dir); len(tree) != 0 {
			t.Fatalf("fault %v left %v", efs.Hits(), tree)
		}
	}
	if n < 20 {
		t.Fatalf("only %d operations", n)
	}
	for i := 0; ; i++ {
		dir := t.TempDir()
		count := 0
		errMkdir := errors.New("mkdir fault")
		err := Write(dirFS{FS: vfs.OS, failMkdir: func(string) error {
			count++
			if count == i+1 {
				return errMkdir
			}
			return nil
		}}, dir, h, in)
		if count <= i {
			if err != nil {
				t.Fatal(err)
			}
			break
		}
		if !errors.Is(err, errMkdir) {
			t.Fatalf("mkdir %d failed: error %v", i, err)
		}
		if tree := readTree(t, dir); len(tree) != 0 {
			t.Fatalf("mkdir %d failing left %v", i, tree)
		}
	}
}
