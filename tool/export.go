package tool

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/refstore/refstore/stack"

	"github.com/refstore/refstore/filesrefs"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/vfs"
)

var cmdExport = &Command{
	Name:  "export",
	Usage: "[-dry-run] [-no-peeled] SRC DST",
	Short: "write a stack's refs and reflogs as a files-backend layout",
	Long: `Export reads the live refs and reflogs of SRC (a reftable repository,
stack directory or table file) and writes them into the new directory
DST laid out as git's "files" ref backend keeps them, the way
'git refs migrate --ref-format=files' does:

  - HEAD, ORIG_HEAD and other root refs, and every symbolic ref, as
    loose files ("ref: <target>" or an object id);
  - every other ref in packed-refs, with git's header
    "# pack-refs with: peeled fully-peeled sorted " and a "^<peeled>"
    line after each annotated tag whose peeled id the stack records;
  - each reflog as logs/<refname>, oldest entry first, one line each:
    <old> <new> <name> <<email>> <time> <zone> TAB <message>; git's
    reflog existence markers are not entries (see 'reftable help logs'),
    and a reflog holding only a marker gets no file, as git writes none;
  - the directories refs/heads and refs/tags.

DST must not exist. Everything is written and synced into a temporary
directory next to DST, read back and compared with SRC by digest (see
'reftable help digest') and by the number of reflog entries, and only
then renamed to DST; on any failure nothing is left behind. It prints:

	exported <n> refs and <m> reflog entries from SRC into DST
	sha256:<hex> <n> refs

Records the files backend cannot hold are refused before anything is
written: a ref or reflog whose name is also a directory of another
(refs/heads/a and refs/heads/a/b), a reflog entry at time 0 (git skips
such lines), a ref neither under refs/ nor a root ref.

-dry-run reads and checks SRC, and prints the refs that would be written
and the summary, writing nothing. -no-peeled leaves out the "^" lines,
as 'git refs migrate' does.

DST holds only refs and reflogs. To switch a repository to it: stop all
writers, copy DST's files into the .git directory of a copy, remove its
reftable/ directory and the refs/heads file, and set
extensions.refStorage to files.

Examples:

	reftable export -dry-run ~/src/project /tmp/project-files
	reftable export .git/reftable /tmp/project-files
	cat /tmp/project-files/packed-refs`,
	Flags: convertFlagSet,
	Run:   runExport,
}

func runExport(e *Env, flags any, args []string) error {
	f := flags.(*convertFlags)
	if err := wantArgs(args, "SRC", "DST"); err != nil {
		return err
	}
	src, dst := args[0], args[1]
	if err := checkNew(dst); err != nil {
		return err
	}
	t, err := e.openPath(src, readOnly, stack.Options{})
	if err != nil {
		return err
	}
	defer t.Close()
	v, err := t.view(e.ctx)
	if err != nil {
		return err
	}
	defer v.Close()
	hash := v.Hash()
	c, err := stackContents(v.Merged)
	if err != nil {
		return err
	}
	if f.noPeeled {
		dropPeeled(c.Refs)
	}
	want, err := Digest(records(c.Refs))
	if err != nil {
		return err
	}
	if err := filesrefs.Check(c, hash); err != nil {
		return err
	}
	if f.dryRun {
		for i := range c.Refs {
			fprintf(e.stdout, "%s\n", RefText(&c.Refs[i]))
		}
		fprintf(e.stdout, "would export %d refs and %d reflog entries from %s into %s\n%s\n", len(c.Refs), len(c.Logs), src, dst, want)
		return nil
	}
	if err := exportFiles(dst, hash, c, want); err != nil {
		return err
	}
	fprintf(e.stdout, "exported %d refs and %d reflog entries from %s into %s\n%s\n", len(c.Refs), len(c.Logs), src, dst, want)
	return nil
}

// checkNew checks that path does not exist.
func checkNew(path string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: already exists; export writes a new directory", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// stackContents returns the live refs of m and its reflog entries, each
// ref's oldest first. Existence markers are not entries: as git's
// migration to the files backend, export writes no logs/ file for a
// reflog that holds only a marker.
func stackContents(m *reftable.Merged) (*filesrefs.Contents, error) {
	c := &filesrefs.Contents{}
	for r, err := range m.Refs(nil) {
		if err != nil {
			return nil, err
		}
		if !r.IsDeletion() {
			c.Refs = append(c.Refs, r.Clone())
		}
	}
	start := 0 // the first entry of the current ref
	for l, err := range m.Logs(nil) {
		if err != nil {
			return nil, err
		}
		if l.IsDeletion() || l.IsExistenceMarker() {
			continue // git's migration writes nothing for a marker either
		}
		if n := len(c.Logs); n > 0 && !bytes.Equal(c.Logs[n-1].RefName, l.RefName) {
			slices.Reverse(c.Logs[start:])
			start = n
		}
		c.Logs = append(c.Logs, l.Clone())
	}
	slices.Reverse(c.Logs[start:])
	return c, nil
}

// exportFiles writes c into a temporary directory next to dst, checks
// that it reads back with digest want and as many reflog entries, and
// renames it to dst.
func exportFiles(dst string, hash reftable.Hash, c *filesrefs.Contents, want string) (err error) {
	parent := filepath.Dir(dst)
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dst)+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, os.RemoveAll(tmp))
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := filesrefs.Write(osDirFS{vfs.OS}, tmp, hash, c); err != nil {
		return err
	}
	back, err := filesrefs.Read(vfs.OS, tmp, hash)
	if err != nil {
		return fmt.Errorf("reading back what was written: %w", err)
	}
	got, err := Digest(records(back.Refs))
	if err != nil {
		return err
	}
	if got != want || len(back.Logs) != len(c.Logs) {
		return fmt.Errorf("verification failed: the stack has %s and %d reflog entries, the files written %s and %d",
			want, len(c.Logs), got, len(back.Logs))
	}
	if err := checkNew(dst); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	return syncDir(parent)
}

// osDirFS is the operating system's file system with directory creation,
// as filesrefs.Write needs it.
type osDirFS struct{ vfs.FS }

func (osDirFS) Mkdir(name string, perm fs.FileMode) error { return os.Mkdir(name, perm) }
