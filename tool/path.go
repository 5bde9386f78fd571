package tool

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/refstore/refstore/objstore"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/repo"
	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/stack/storage"
)

// A PATH argument names s3://bucket/prefix (a stack on S3, see
// s3path.go), a single table file, a stack directory (one with
// tables.list), or else a place in a git repository, which package repo
// finds and reads as git does; without PATH, the repository of the
// current directory, or the stack directory it is.

// An openMode says what a command does with its PATH.
type openMode int

const (
	// readOnly commands read: a store on S3 is not probed, and a
	// repository's reftable.* settings are not parsed (only writing
	// uses them).
	readOnly openMode = iota
	// maintain commands change files but write no table (clean,
	// unlock): a store on S3 is probed.
	maintain
	// write commands write tables with the repository's settings.
	write
)

// A target is what a PATH argument names, opened.
type target struct {
	file string        // a single table file; nothing else is set
	dir  string        // the stack's directory ("" on S3)
	s3   string        // s3://bucket/prefix of a stack on S3
	hash reftable.Hash // the object format
	// repo is the repository PATH is in; dir is its worktree's stack.
	repo *repo.Repository
	// common is the common git directory of the repository PATH is in
	// or whose stack it names directly (.git/reftable), objects its
	// objects directory; "" when none.
	common, objects string
	// policy is the reflog policy of transactions on a stack that is
	// not opened through its repository.
	policy stack.ReflogPolicy
	// opts are the options of the stacks opened, the repository's
	// settings applied.
	opts stack.Options
	// stackCfg is the config of the repository whose stack is written
	// directly (.git/reftable); zero otherwise (see config).
	stackCfg repo.Config
	mode     openMode

	st *stack.Stack // opened by stack; a repository's is the repository's
	// cfg opens the store of an s3:// target, store, at the first need.
	cfg   *Config
	store objstore.Store
}

// errNoStack reports a PATH that is neither a repository nor a stack.
var errNoStack = errors.New("not a git repository or reftable stack directory")

// openArg opens the optional PATH argument of a command that takes at
// most that one argument (see openPath).
func (e *Env) openArg(args []string, mode openMode, opts stack.Options) (*target, error) {
	path, err := onePath(args)
	if err != nil {
		return nil, err
	}
	return e.openPath(path, mode, opts)
}

// onePath returns the optional PATH argument of a command that takes at
// most that one argument: "" when it is not given.
func onePath(args []string) (string, error) {
	if err := maxArgs(args, 1); err != nil {
		return "", err
	}
	if len(args) == 1 {
		return args[0], nil
	}
	return "", nil
}

// openReader opens what path names (see openPath) to read its refs and
// reflogs; closing the reader closes what it opened.
func (e *Env) openReader(path string) (reader, error) {
	t, err := e.openPath(path, readOnly, stack.Options{})
	if err != nil {
		return nil, err
	}
	rd, err := t.reader(e.ctx)
	if err != nil {
		t.Close()
		return nil, err
	}
	return targetReader{rd, t}, nil
}

// targetReader is a reader that closes its target with it.
type targetReader struct {
	reader
	t *target
}

func (r targetReader) Close() error { return errors.Join(r.reader.Close(), r.t.Close()) }

// openPath opens what path names, with the interrupt cleanup of e.
func (e *Env) openPath(path string, mode openMode, opts stack.Options) (*target, error) {
	opts.Cleanup = e.held
	t, err := openPath(path, mode, opts)
	if t != nil {
		t.cfg = e.cfg
	}
	return t, err
}

// openPath opens what path names ("" for the current directory) for
// mode; stacks are opened with opts, what a repository's config says
// filling in what they leave zero.
func openPath(path string, mode openMode, opts stack.Options) (*target, error) {
	if mode == readOnly {
		opts.DisableAutoCompaction = true
	}
	t := &target{opts: opts, mode: mode, hash: reftable.SHA1, policy: stack.ReflogNormal}
	if strings.HasPrefix(path, "s3://") {
		t.s3 = path
		return t, nil
	}
	searched := path == ""
	if searched {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		path = wd
	} else {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			t.file = path
			return t, nil
		}
	}
	if exists(filepath.Join(path, "tables.list")) {
		return t, t.atStack(path)
	}
	// A directory is looked up as git -C PATH does: the repository
	// whose working tree or git directory holds it.
	r, err := repo.Open(path, repo.Options{Stack: opts, ReadOnly: mode != write})
	switch {
	case errors.Is(err, repo.ErrNotRepository) && !searched:
		return nil, fmt.Errorf("%s: %w", path, errNoStack)
	case errors.Is(err, repo.ErrFilesBackend):
		return nil, fmt.Errorf("%w (convert it with 'reftable import')", err)
	case err != nil:
		return nil, err
	}
	cfg := r.Config()
	t.repo, t.dir, t.hash, t.opts = r, r.StackDir(), cfg.ObjectFormat, cfg.Options(opts)
	t.setObjects(r.CommonDir())
	return t, nil
}

// atStack makes t the stack directory dir. A repository's stack named
// directly (<git dir>/reftable) is written with its settings, and its
// object ids checked against the repository's objects.
func (t *target) atStack(dir string) error {
	t.dir, t.hash = dir, stackHash(dir)
	if filepath.Base(filepath.Clean(dir)) != "reftable" {
		return nil
	}
	parent := filepath.Dir(filepath.Clean(dir))
	gitDir, commonDir, err := repo.Find(parent, repo.Options{NoParents: true})
	if err != nil || filepath.Clean(gitDir) != parent {
		return nil
	}
	t.setObjects(commonDir)
	if t.mode == write {
		cfg, err := repo.ReadConfig(commonDir)
		if err != nil {
			return err
		}
		t.opts = cfg.Options(t.opts)
		t.opts.Hash = t.hash
		t.stackCfg = cfg
	}
	return nil
}

// config returns the config of the repository t writes to: its
// repository's, or that of the repository whose stack it names; zero for
// a stack outside a repository.
func (t *target) config() repo.Config {
	if t.repo != nil {
		return t.repo.Config()
	}
	return t.stackCfg
}

// setObjects records the common directory of a repository, and its
// objects directory if it has one: GIT_OBJECT_DIRECTORY when set, as git
// takes it, else the common directory's objects.
func (t *target) setObjects(common string) {
	t.common = common
	dir := filepath.Join(common, "objects")
	if env := os.Getenv("GIT_OBJECT_DIRECTORY"); env != "" {
		dir = env
	}
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		t.objects = dir
	}
}

// Close closes what t opened.
func (t *target) Close() error {
	var errs []error
	if t.repo != nil {
		errs = append(errs, t.repo.Close()) // its stack with it
	} else if t.st != nil {
		errs = append(errs, t.st.Close())
	}
	return errors.Join(errs...)
}

// stack returns the target's stack, opened at the first call: a
// repository's own (its worktree's), a stack directory's or the one on
// S3. A single table file has none.
func (t *target) stack() (*stack.Stack, error) {
	if t.st != nil {
		return t.st, nil
	}
	var err error
	switch {
	case t.file != "":
		return nil, fmt.Errorf("%s: a single table file cannot be changed; give a stack or repository", t.file)
	case t.repo != nil:
		t.st, err = t.repo.Stack()
	case t.s3 != "":
		t.st, err = t.openS3(t.opts, t.mode != readOnly)
	default:
		opts := t.opts
		opts.Hash = t.hash
		t.st, err = stack.Open(t.dir, opts)
	}
	return t.st, err
}

// A reader reads the refs and reflogs of a target as git reads them: a
// repository's as its worktree sees them (see package repo), a stack's
// or a table's as they are.
type reader interface {
	Ref(name string) (stack.Ref, error)
	Resolve(name string) (stack.Ref, []string, error)
	// RefRecords and Logs yield the ref and reflog records of the refs
	// under prefix, each valid until the next step, reflog existence
	// markers included.
	RefRecords(prefix string) iter.Seq2[reftable.RefRecord, error]
	Logs(prefix string) iter.Seq2[reftable.LogRecord, error]
	Close() error
}

// reader returns a reader of the target at one moment.
func (t *target) reader(ctx context.Context) (reader, error) {
	switch {
	case t.file != "":
		v, err := t.view(ctx)
		if err != nil {
			return nil, err
		}
		return mergedReader{v.Merged, v}, nil
	case t.repo != nil:
		return t.repo.Snapshot(ctx)
	}
	st, err := t.stack()
	if err != nil {
		return nil, err
	}
	snap, err := st.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return snapshotReader{snap}, nil
}

// snapshotReader reads a stack's snapshot.
type snapshotReader struct{ *stack.Snapshot }

func (r snapshotReader) RefRecords(prefix string) iter.Seq2[reftable.RefRecord, error] {
	return r.Merged().Refs([]byte(prefix))
}

func (r snapshotReader) Logs(prefix string) iter.Seq2[reftable.LogRecord, error] {
	return r.Merged().Logs([]byte(prefix))
}

// mergedReader reads a single table: the view of a table file.
type mergedReader struct {
	m *reftable.Merged
	v *view
}

func (r mergedReader) Ref(name string) (stack.Ref, error) {
	var rec reftable.RefRecord
	found, err := r.m.LookupRef([]byte(name), &rec)
	if err != nil {
		return stack.Ref{}, err
	}
	if !found {
		return stack.Ref{}, fmt.Errorf("%s: %w", name, reftable.ErrNotFound)
	}
	return stack.RefOf(&rec), nil
}

func (r mergedReader) Resolve(name string) (stack.Ref, []string, error) {
	return stack.Follow(name, func(name string) (stack.Ref, error) {
		ref, err := r.Ref(name)
		if errors.Is(err, reftable.ErrNotFound) {
			return stack.Ref{}, nil
		}
		return ref, err
	})
}

func (r mergedReader) RefRecords(prefix string) iter.Seq2[reftable.RefRecord, error] {
	return r.m.Refs([]byte(prefix))
}

func (r mergedReader) Logs(prefix string) iter.Seq2[reftable.LogRecord, error] {
	return r.m.Logs([]byte(prefix))
}

func (r mergedReader) Close() error { return r.v.Close() }

// A view is a read-only merged view of a target's own tables, for the
// commands that look at tables (dump, stats, export): a repository's
// worktree stack (in a linked worktree, its per-worktree stack, as git
// pack-refs compacts it), a stack, or one table.
type view struct {
	*reftable.Merged
	Names []string // table names, oldest first
	Paths []string // table file paths, oldest first
	close func() error
}

// Close releases the view's tables.
func (v *view) Close() error { return v.close() }

// view opens the target's view.
func (t *target) view(ctx context.Context) (*view, error) {
	if t.file != "" {
		tbl, f, err := openTableFile(t.file)
		if err != nil {
			return nil, err
		}
		m, err := reftable.NewMerged([]*reftable.Table{tbl}, reftable.MergedOptions{})
		if err != nil {
			f.Close()
			return nil, err
		}
		return &view{Merged: m, Names: []string{tbl.Name()}, Paths: []string{t.file}, close: f.Close}, nil
	}
	st, err := t.stack()
	if err != nil {
		return nil, err
	}
	snap, err := st.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	names := snap.TableNames()
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = filepath.Join(t.dir, n)
	}
	return &view{Merged: snap.Merged(), Names: names, Paths: paths, close: snap.Close}, nil
}

// stackHash guesses the object format of a bare stack directory from its
// first table; SHA-1 when it has none or it cannot be read (opening the
// stack then reports the problem).
func stackHash(dir string) reftable.Hash {
	data, err := os.ReadFile(filepath.Join(dir, "tables.list"))
	if err != nil {
		return reftable.SHA1
	}
	first, _, _ := strings.Cut(string(data), "\n")
	if first == "" {
		return reftable.SHA1
	}
	t, f, err := openTableFile(filepath.Join(dir, first))
	if err != nil {
		return reftable.SHA1
	}
	defer f.Close()
	return t.Hash()
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// openTableFile opens one table file for reading.
func openTableFile(path string) (*reftable.Table, storage.TableFile, error) {
	return openTable(dirSource(filepath.Dir(path)), filepath.Base(path))
}

// lockTimeoutFlag is the -lock-timeout flag of the commands that write: a
// duration that remembers whether it was given.
type lockTimeoutFlag struct {
	d   time.Duration
	set bool
}

func (f *lockTimeoutFlag) String() string { return f.d.String() }

func (f *lockTimeoutFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("not a duration such as 500ms or 2s")
	}
	f.d, f.set = d, true
	return nil
}

// apply sets opts.LockTimeout to the flag's value if it was given: the
// flag wins over reftable.lockTimeout, and its 0 tries once, as the
// setting's 0 does.
func (f lockTimeoutFlag) apply(opts *stack.Options) {
	switch {
	case !f.set:
	case f.d == 0:
		opts.LockTimeout = stack.NoWait
	default:
		opts.LockTimeout = f.d
	}
}

// lockTimeoutUsage is the help of -lock-timeout.
const lockTimeoutUsage = "wait at most `duration` for tables.list.lock, instead of reftable.lockTimeout (0: try once, negative: forever)"
