package tool

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/refstore/refstore/repo"

	"github.com/refstore/refstore/filesrefs"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/vfs"
)

var cmdImport = &Command{
	Name:  "import",
	Usage: "[-dry-run] [-no-peeled] SRC DST",
	Short: "convert a files-backend repository's refs and reflogs into a new stack",
	Long: `Import reads the refs and reflogs of SRC, a repository using git's
"files" ref backend (working tree or git directory, or a directory
'reftable export' wrote), and writes them as one table of a new
reftable stack in the directory DST, the way 'git refs migrate
--ref-format=reftable' does:

  - every ref under refs/, loose or in packed-refs (a loose ref wins),
    with the peeled id of a packed annotated tag; symbolic refs stay
    symbolic;
  - the root refs HEAD, ORIG_HEAD and the like, but not the pseudorefs
    FETCH_HEAD and MERGE_HEAD;
  - every reflog under logs/, entries normalised as git does (white
    space in messages, stray punctuation around names and emails), each
    entry with its own update index, in git's order; an empty reflog
    file becomes nothing, as git's migration writes no existence marker
    for it.

The object format comes from SRC's extensions.objectFormat; without a
config file (as 'reftable export' writes none) it is SHA-256 if the
object ids have 64 hex digits. The table is written with SRC's
reftable.blockSize, reftable.restartInterval and reftable.indexObjects,
as git's migration writes it (see 'reftable help update'); messages are
cut at half the block size. With SRC's core.sharedRepository, DST and
its files get the modes git's migration gives them, whatever the umask
(set-group-ID and the group's bits on DST). SRC is only read; DST must not exist or
be an empty directory. The table is published through the stack's lock
and rename, so a failure leaves no stack behind. Import then reopens
DST and compares the digest of its refs (see 'reftable help digest')
with that of SRC's; if they differ, or the number of reflog entries
does, it removes DST and fails. It prints:

	imported <n> refs and <m> reflog entries from SRC into DST
	sha256:<hex> <n> refs

A malformed loose ref, packed-refs line or reflog line is an error
naming the file and the line; git would skip such a reflog line.
Repositories with linked worktrees are refused, as git refuses them.

-dry-run reads and checks SRC and DST, and prints the refs that would
be written (as 'reftable refs' prints them) and the summary, writing
nothing. -no-peeled leaves out the peeled ids of annotated tags, as
'git refs migrate' does; git then peels the tag object when it needs to.

DST is a stack, not yet a repository. To switch a repository to it, as
'git refs migrate' would: stop all writers, import into .git/reftable of
a copy, remove packed-refs, logs/, ORIG_HEAD and the like, replace
refs/ by a directory holding only a file "heads", write
"ref: refs/heads/.invalid" to HEAD, and set core.repositoryformatversion
to 1 and extensions.refStorage to reftable.

Examples:

	reftable import -dry-run ~/src/project /tmp/project-refs
	reftable import ~/src/project /tmp/project-refs
	reftable refs /tmp/project-refs`,
	Flags: convertFlagSet,
	Run:   runImport,
}

// convertFlags are the flags of import and export.
type convertFlags struct {
	dryRun, noPeeled bool
}

func convertFlagSet(fs *flag.FlagSet) any {
	f := &convertFlags{}
	fs.BoolVar(&f.dryRun, "dry-run", false, "read and check SRC, print what would be written, write nothing")
	fs.BoolVar(&f.noPeeled, "no-peeled", false, "leave out the peeled ids of annotated tags, as git refs migrate does")
	return f
}

func runImport(e *Env, flags any, args []string) error {
	f := flags.(*convertFlags)
	if err := wantArgs(args, "SRC", "DST"); err != nil {
		return err
	}
	src, dst := args[0], args[1]
	gitDir, hash, cfg, err := filesRepo(src)
	if err != nil {
		return err
	}
	// As git's migration, which writes the new stack with the
	// repository's settings.
	opts := cfg.Options(stack.Options{DisableAutoCompaction: true, Cleanup: e.held})
	c, err := filesrefs.Read(vfs.OS, gitDir, hash)
	if err != nil && !exists(filepath.Join(gitDir, "config")) && errors.Is(err, filesrefs.ErrSyntax) {
		// A layout export wrote has no config to name the object
		// format: object ids of one length parse only as one.
		if c2, err2 := filesrefs.Read(vfs.OS, gitDir, reftable.SHA256); err2 == nil {
			c, hash, err = c2, reftable.SHA256, nil
		}
	}
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
	existed, err := checkImportDst(dst)
	if err != nil {
		return err
	}
	if f.dryRun {
		for i := range c.Refs {
			fprintf(e.stdout, "%s\n", RefText(&c.Refs[i]))
		}
		fprintf(e.stdout, "would import %d refs and %d reflog entries from %s into %s\n%s\n", len(c.Refs), len(c.Logs), src, dst, want)
		return nil
	}
	if !existed {
		if err := mkdirShared(dst, cfg); err != nil {
			return err
		}
	}
	opts.Hash = hash
	if err := importStack(e.ctx, dst, opts, c); err != nil {
		return errors.Join(err, removeDst(dst, existed))
	}
	got, logs, err := stackDigest(e.ctx, dst)
	if err == nil && (got != want || logs != len(c.Logs)) {
		err = fmt.Errorf("verification failed: %s has %s and %d reflog entries, %s has %s and %d; removed %s",
			src, want, len(c.Logs), dst, got, logs, dst)
	}
	if err != nil {
		return errors.Join(err, removeDst(dst, existed))
	}
	fprintf(e.stdout, "imported %d refs and %d reflog entries from %s into %s\n%s\n", len(c.Refs), len(c.Logs), src, dst, got)
	return nil
}

// mkdirShared makes the directory dir with the mode git gives it in a
// repository of config cfg (core.sharedRepository: group bits and
// set-group-ID, whatever the umask).
func mkdirShared(dir string, cfg repo.Config) error {
	if err := os.Mkdir(dir, 0o777); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err == nil {
		if m := cfg.DirMode(fi.Mode().Perm()); m != fi.Mode().Perm() {
			err = os.Chmod(dir, m)
		}
	}
	if err != nil {
		os.Remove(dir)
	}
	return err
}

// filesRepo finds the git directory of the files-backend repository at
// path (package repo finds it as git does), its object format and its
// config, whose reftable.* settings import writes with. A directory
// export wrote (HEAD and refs, no objects, no config) is taken as a git
// directory without a config.
func filesRepo(path string) (string, reftable.Hash, repo.Config, error) {
	var cfg repo.Config
	fi, err := os.Stat(path)
	if err != nil {
		return "", 0, cfg, err
	}
	gitDir, commonDir, err := repo.Find(path, repo.Options{NoParents: true})
	switch {
	case !fi.IsDir():
		return "", 0, cfg, fmt.Errorf("%s: not a git repository", path)
	case errors.Is(err, repo.ErrNotRepository):
		if !exists(filepath.Join(path, "HEAD")) || !exists(filepath.Join(path, "refs")) {
			return "", 0, cfg, fmt.Errorf("%s: not a git repository", path)
		}
		gitDir, commonDir = path, path
	case err != nil:
		return "", 0, cfg, err
	}
	if gitDir != commonDir {
		return "", 0, cfg, fmt.Errorf("%s: a linked worktree; import its main repository", gitDir)
	}
	if cfg, err = repo.ReadConfig(gitDir); err != nil {
		return "", 0, cfg, err
	}
	if cfg.RefStorage == "reftable" || exists(filepath.Join(gitDir, "reftable")) {
		return "", 0, cfg, fmt.Errorf("%s: already uses the reftable ref backend; nothing to import", gitDir)
	}
	if wts, err := repo.LinkedWorktrees(gitDir); err != nil {
		return "", 0, cfg, err
	} else if len(wts) > 0 {
		return "", 0, cfg, fmt.Errorf("%s: has linked worktrees, whose refs import cannot convert (git refs migrate refuses them too)", gitDir)
	}
	return gitDir, cfg.ObjectFormat, cfg, nil
}

// checkImportDst checks that dst does not exist or is an empty
// directory, and reports whether it exists.
func checkImportDst(dst string) (bool, error) {
	entries, err := os.ReadDir(dst)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("%s: exists and is not an empty directory", dst)
	case len(entries) > 0:
		return false, fmt.Errorf("%s: exists and is not empty; import writes a new stack", dst)
	}
	return true, nil
}

// removeDst undoes a failed import: it removes dst, or only its contents
// if it existed (empty) before.
func removeDst(dst string, existed bool) error {
	if !existed {
		return os.RemoveAll(dst)
	}
	entries, err := os.ReadDir(dst)
	for _, e := range entries {
		err = errors.Join(err, os.RemoveAll(filepath.Join(dst, e.Name())))
	}
	return err
}

// dropPeeled turns every RefVal2 into a RefVal1.
func dropPeeled(refs []reftable.RefRecord) {
	for i := range refs {
		if refs[i].Type == reftable.RefVal2 {
			refs[i].Type, refs[i].Peeled = reftable.RefVal1, nil
		}
	}
}

// importStack writes c as one table of the stack in dir opened with
// opts, as git's migration does: refs at the table's first update index,
// each reflog entry at its own one, counting up in the order of c.Logs;
// messages longer than half a block are cut.
func importStack(ctx context.Context, dir string, opts stack.Options, c *filesrefs.Contents) error {
	st, err := stack.Open(dir, opts)
	if err != nil {
		return err
	}
	defer st.Close()
	return st.AddTable(ctx, func(w *reftable.Writer) error {
		first, _ := w.Limits()
		last := first
		if n := len(c.Logs); n > 0 {
			last += uint64(n) - 1
		}
		if err := w.SetLimits(first, last); err != nil {
			return err
		}
		for i := range c.Refs {
			c.Refs[i].UpdateIndex = first
			if err := w.AddRef(&c.Refs[i]); err != nil {
				return err
			}
		}
		logs := slices.Clone(c.Logs)
		maxMsg := reftable.DefaultBlockSize / 2
		if opts.Write.BlockSize > 0 {
			maxMsg = opts.Write.BlockSize / 2
		}
		for i := range logs {
			logs[i].UpdateIndex = first + uint64(i)
			if msg := bytes.TrimSuffix(logs[i].Message, []byte("\n")); len(msg) > maxMsg {
				logs[i].Message = append(msg[:maxMsg:maxMsg], '\n')
			}
		}
		slices.SortFunc(logs, func(x, y reftable.LogRecord) int {
			if c := bytes.Compare(x.RefName, y.RefName); c != 0 {
				return c
			}
			return cmp.Compare(y.UpdateIndex, x.UpdateIndex) // newest first
		})
		for i := range logs {
			if err := w.AddLog(&logs[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// stackDigest reopens the stack in dir and returns the digest of its refs
// and the number of its reflog entries (existence markers are none).
func stackDigest(ctx context.Context, dir string) (string, int, error) {
	t, err := openPath(dir, readOnly, stack.Options{})
	if err != nil {
		return "", 0, err
	}
	defer t.Close()
	rd, err := t.reader(ctx)
	if err != nil {
		return "", 0, err
	}
	defer rd.Close()
	d, err := Digest(rd.RefRecords(""))
	if err != nil {
		return "", 0, err
	}
	n := 0
	for l, err := range rd.Logs("") {
		if err != nil {
			return "", 0, err
		}
		if !l.IsExistenceMarker() {
			n++
		}
	}
	return d, n, nil
}
