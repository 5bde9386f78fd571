package repo

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/vfs"
)

// Errors of this package; match them with errors.Is. Errors of the
// stacks beneath (stack.ErrLocked, stack.ErrRefConflict, ...) pass
// through as they are.
var (
	// ErrNotRepository reports a path that is in no git repository.
	ErrNotRepository = errors.New("not a git repository")

	// ErrFilesBackend reports a repository whose refs are not in
	// reftable but in git's "files" backend (see package filesrefs).
	ErrFilesBackend = errors.New(`uses the "files" ref backend, not reftable`)

	// ErrConfig reports a config file git refuses, or an invalid
	// setting in one, named with its file.
	ErrConfig = errors.New("invalid config")

	// ErrReadOnly reports a write to a repository opened with
	// Options.ReadOnly.
	ErrReadOnly = errors.New("repository opened read-only")
)

// Options configures Open. The zero value opens the repository at or
// above the path given to read and write it, with git's defaults.
type Options struct {
	// Stack is the base of the options the repository's stacks are
	// opened with; what the config sets fills in the fields left zero
	// (see Config.Options), and its Hash is the repository's.
	Stack stack.Options

	// NoParents looks for the repository at the path given only, not
	// in the directories above it.
	NoParents bool

	// ReadOnly opens the repository only to read it: the reftable.*
	// settings, which shape only what is written, are not parsed (an
	// invalid one does not fail Open), the stacks do not compact, and
	// transactions fail with ErrReadOnly.
	ReadOnly bool
}

// Repository is a git repository whose refs are in reftable, opened at
// one of its worktrees. A linked worktree keeps its per-worktree refs
// (HEAD and the other root refs, refs/bisect/, refs/worktree/,
// refs/rewritten/) in its own stack, .git/worktrees/<id>/reftable, and
// shares every other ref through the main stack, .git/reftable; reads
// and transactions route each ref to the stack its name belongs to, as
// git does. A name main-worktree/X or worktrees/<id>/X, X a per-worktree
// ref, is another worktree's X.
//
// A Repository is safe for concurrent use; several processes (this
// package's and git's) may use one repository at once.
type Repository struct {
	gitDir, commonDir string
	workTree          string // "" for none
	cfg               Config
	readOnly          bool
	opts              stack.Options // of every stack opened

	mu     sync.Mutex
	own    *stack.Stack            // gitDir/reftable, once opened
	main   *stack.Stack            // commonDir/reftable for a linked worktree, once opened
	others map[string]*stack.Stack // other worktrees' stacks by directory, opened when first routed to
	closed bool
}

// Open opens the repository at path (see Find) and reads its config (see
// Config). A repository whose refs are in git's "files" backend fails
// with an error matching ErrFilesBackend. The stacks are opened, and
// their lists read, when first used: a tool that checks a damaged stack
// file by file can open its repository.
func Open(path string, opts Options) (*Repository, error) {
	gitDir, commonDir, workTree, err := find(path, opts)
	if err != nil {
		return nil, err
	}
	cfg, err := readConfig(gitDir, commonDir, !opts.ReadOnly)
	if err != nil {
		return nil, err
	}
	r := &Repository{gitDir: gitDir, commonDir: commonDir, workTree: workTree, cfg: cfg, readOnly: opts.ReadOnly}
	if r.workTree == "" {
		r.workTree = impliedWorkTree(gitDir, r.linked(), cfg.Bare)
	}
	r.opts = cfg.Options(opts.Stack)
	if opts.ReadOnly {
		r.opts.DisableAutoCompaction = true
	}
	if fi, err := vfs.OS.Stat(r.StackDir()); err != nil || !fi.IsDir() {
		if cfg.RefStorage == "reftable" {
			return nil, fmt.Errorf("%s: repository uses reftable but has no reftable directory", gitDir)
		}
		return nil, fmt.Errorf("%s %w", gitDir, ErrFilesBackend)
	}
	if r.linked() {
		if mainDir := r.mainDir(); !exists(mainDir) {
			return nil, fmt.Errorf("%s: linked worktree whose main stack %s is missing", gitDir, mainDir)
		}
	}
	return r, nil
}

// linked reports whether the repository was opened at a linked worktree.
func (r *Repository) linked() bool { return r.gitDir != r.commonDir }

// mainDir returns the directory of the main (shared) stack.
func (r *Repository) mainDir() string { return filepath.Join(r.commonDir, "reftable") }

// stacks returns the stacks of the worktree's own refs and of the shared
// ones (the same stack but in a linked worktree), opening them at the
// first call.
func (r *Repository) stacks() (own, shared *stack.Stack, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, nil, stack.ErrClosed
	}
	if r.own == nil {
		own, err := stack.Open(r.StackDir(), r.opts)
		if err != nil {
			return nil, nil, err
		}
		r.own = own
	}
	if !r.linked() {
		return r.own, r.own, nil
	}
	if r.main == nil {
		main, err := stack.Open(r.mainDir(), r.opts)
		if err != nil {
			return nil, nil, err
		}
		r.main = main
	}
	return r.own, r.main, nil
}

// Close closes the repository's stacks.
func (r *Repository) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	var errs []error
	for _, st := range []*stack.Stack{r.own, r.main} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	for _, st := range r.others {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// GitDir returns the git directory of the worktree the repository was
// opened at.
func (r *Repository) GitDir() string { return r.gitDir }

// CommonDir returns the repository's common git directory, which its
// worktrees share: GitDir but in a linked worktree.
func (r *Repository) CommonDir() string { return r.commonDir }

// WorkTree returns the working tree of the worktree the repository was
// opened at, "" for none: the directory whose .git (a directory, or a
// file naming the git directory) led to the repository; for a git
// directory opened directly, a linked worktree's working tree (which its
// gitdir file names) or the parent of the .git directory of a repository
// that is not bare (core.bare); for a bare repository, none. Programs
// that also read the working tree, as go-git does, take it from here;
// core.worktree and GIT_WORK_TREE are not read.
func (r *Repository) WorkTree() string { return r.workTree }

// Config returns the repository's config.
func (r *Repository) Config() Config { return r.cfg }

// Stack returns the stack of the worktree the repository was opened at,
// for maintenance (compaction, cleanup, locks) and reading at the level
// of the format: StackDir, which in a linked worktree holds only its
// per-worktree refs (as git pack-refs there compacts it). Its options are
// the repository's (see Config.Options). The Repository owns it: do not
// close it.
func (r *Repository) Stack() (*stack.Stack, error) {
	own, _, err := r.stacks()
	return own, err
}

// StackDir returns the directory of the worktree's own stack,
// GitDir/reftable.
func (r *Repository) StackDir() string { return filepath.Join(r.gitDir, "reftable") }

// Ref returns the ref named name, read as git reads it in this worktree,
// or an error matching reftable.ErrNotFound (see Snapshot.Ref).
func (r *Repository) Ref(ctx context.Context, name string) (stack.Ref, error) {
	s, err := r.Snapshot(ctx)
	if err != nil {
		return stack.Ref{}, err
	}
	defer s.Close()
	return s.Ref(name)
}

// Resolve follows symbolic refs from name through the repository's
// stacks (see Snapshot.Resolve).
func (r *Repository) Resolve(ctx context.Context, name string) (stack.Ref, []string, error) {
	s, err := r.Snapshot(ctx)
	if err != nil {
		return stack.Ref{}, nil, err
	}
	defer s.Close()
	return s.Resolve(name)
}

// Refs iterates the live refs whose names start with prefix, in name
// order, as git lists them in this worktree (see Snapshot.Refs).
func (r *Repository) Refs(ctx context.Context, prefix string) iter.Seq2[stack.Ref, error] {
	return snapshotSeq(ctx, r, func(s *Snapshot) iter.Seq2[stack.Ref, error] { return s.Refs(prefix) })
}

// Reflog iterates the reflog entries of the ref name, newest first,
// without git's existence markers (see Snapshot.Reflog).
func (r *Repository) Reflog(ctx context.Context, name string) iter.Seq2[reftable.LogRecord, error] {
	return snapshotSeq(ctx, r, func(s *Snapshot) iter.Seq2[reftable.LogRecord, error] { return s.Reflog(name) })
}

// snapshotSeq yields what seq yields of a snapshot taken when the
// iteration starts and closed when it ends.
func snapshotSeq[R any](ctx context.Context, r *Repository, seq func(*Snapshot) iter.Seq2[R, error]) iter.Seq2[R, error] {
	return func(yield func(R, error) bool) {
		s, err := r.Snapshot(ctx)
		if err != nil {
			var zero R
			yield(zero, err)
			return
		}
		defer s.Close()
		for x, err := range seq(s) {
			if !yield(x, err) {
				return
			}
		}
	}
}

// routeRef applies git's worktree prefixes to name: main-worktree/X is
// the main worktree's X and worktrees/<id>/X worktree <id>'s X, when X is
// a per-worktree ref (otherwise the whole name is an ordinary shared
// ref). It returns the stack directory holding X, and X; ok is false for
// other names.
func (r *Repository) routeRef(name string) (dir, bare string, ok bool) {
	if rest, found := strings.CutPrefix(name, "main-worktree/"); found && perWorktree(rest) {
		return filepath.Join(r.commonDir, "reftable"), rest, true
	}
	if rest, found := strings.CutPrefix(name, "worktrees/"); found {
		if id, rest, found := strings.Cut(rest, "/"); found && id != "" && perWorktree(rest) {
			return filepath.Join(r.commonDir, "worktrees", id, "reftable"), rest, true
		}
	}
	return "", "", false
}

// perWorktree reports whether name is a per-worktree ref, as git's
// parse_worktree_ref decides for the current worktree.
func perWorktree(name string) bool {
	if strings.HasPrefix(name, "refs/worktree/") || strings.HasPrefix(name, "refs/bisect/") ||
		strings.HasPrefix(name, "refs/rewritten/") {
		return true
	}
	for _, c := range []byte(name) {
		if !('A' <= c && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return name != ""
}

// stackFor returns the stack holding the ref name and its name there:
// routed by git's worktree prefixes, else the worktree's own stack for
// a per-worktree ref and the shared one for the others. A name routed to
// a worktree that has no stack yields a nil stack.
func (r *Repository) stackFor(name string) (*stack.Stack, string, error) {
	if dir, bare, ok := r.routeRef(name); ok {
		st, err := r.stackAt(dir)
		return st, bare, err
	}
	own, shared, err := r.stacks()
	if err != nil {
		return nil, name, err
	}
	if perWorktree(name) {
		return own, name, nil
	}
	return shared, name, nil
}

// stackAt returns the stack in the directory dir, one of the
// repository's: the own or main one, or another worktree's, opened when
// first asked for; nil when dir holds no stack.
func (r *Repository) stackAt(dir string) (*stack.Stack, error) {
	own, shared, err := r.stacks()
	if err != nil {
		return nil, err
	}
	if sameDir(dir, r.StackDir()) {
		return own, nil
	}
	if r.linked() && sameDir(dir, r.mainDir()) {
		return shared, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, stack.ErrClosed
	}
	if st, ok := r.others[dir]; ok {
		return st, nil
	}
	var st *stack.Stack
	if exists(filepath.Join(dir, "tables.list")) {
		var err error
		if st, err = stack.Open(dir, r.opts); err != nil {
			return nil, err
		}
	}
	if r.others == nil {
		r.others = map[string]*stack.Stack{}
	}
	r.others[dir] = st
	return st, nil
}

// dirOf returns the absolute directory of st, one of the repository's
// stacks, for ordering locks.
func (r *Repository) dirOf(st *stack.Stack) string {
	dir := ""
	r.mu.Lock()
	own, main := r.own, r.main
	r.mu.Unlock()
	switch {
	case st == own:
		dir = r.StackDir()
	case st == main:
		dir = r.mainDir()
	default:
		r.mu.Lock()
		for d, o := range r.others {
			if o == st {
				dir = d
			}
		}
		r.mu.Unlock()
	}
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// sameDir reports whether the directory paths a and b name the same
// directory: equal once absolute, or the same file.
func sameDir(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	if errA == nil && errB == nil && absA == absB {
		return true
	}
	fa, errA := vfs.OS.Stat(a)
	fb, errB := vfs.OS.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}
