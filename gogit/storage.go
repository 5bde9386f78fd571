package gogit

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/hash"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"
)

// Storage is a go-git storage.Storer for a reftable repository: objects,
// the index, shallow and modules are go-git's filesystem storage's; the
// config is too, shown to go-git without the extensions it cannot judge
// (see Config); references are in the repository's reftable stacks,
// read and written through refstore (see SetReference).
//
// The reference methods are safe for concurrent use by several
// goroutines, and other processes, git's among them, may read and write
// the same repository meanwhile; the rest is as safe as go-git's
// filesystem storage.
type Storage struct {
	*filesystem.Storage
	refs refBackend
	info repoInfo
}

var _ storage.Storer = (*Storage)(nil)

// Errors of this package, besides go-git's own.
var (
	// ErrNotReftable reports, from OpenStorage, a repository whose refs
	// are in git's files backend: go-git opens those by itself (Open
	// does so).
	ErrNotReftable = errors.New("repository does not use the reftable ref backend")

	// ErrObjectFormat reports a repository whose object format is not the
	// one this build of go-git handles: go-git v5 chooses SHA-1 or SHA-256
	// when it is compiled (SHA-256 with -tags sha256).
	ErrObjectFormat = errors.New("object format not supported by this build of go-git")
)

// OpenStorage opens the storage of the reftable repository at path, as
// Open does, for callers that build the *git.Repository themselves
// (git.Open(st, worktree)). Close it when done.
func OpenStorage(path string, o Options) (*Storage, error) {
	st, _, err := openStorage(path, o)
	return st, err
}

// openStorage opens the storage of the repository at path, and returns
// the file system of its working tree (nil for a bare repository).
func openStorage(path string, o Options) (*Storage, billy.Filesystem, error) {
	info, refs, err := openRepo(path, o.DetectDotGit)
	if err != nil {
		return nil, nil, err
	}
	if want := formatOfBuild(); info.objectFormat != want {
		refs.close()
		return nil, nil, fmt.Errorf("%s: %w: the repository's is %s, this build's %s", info.gitDir, ErrObjectFormat, info.objectFormat, want)
	}
	var fsys billy.Filesystem = osfs.New(info.gitDir)
	if info.linked {
		// The index and HEAD are the worktree's own; objects, config
		// and shallow are shared.
		fsys = dotgit.NewRepositoryFilesystem(fsys, osfs.New(info.commonDir))
	}
	st := &Storage{
		Storage: filesystem.NewStorageWithOptions(fsys, cache.NewObjectLRUDefault(), o.Filesystem),
		refs:    refs,
		info:    info,
	}
	// The stacks hold files open: a Storage dropped without Close lets
	// them go when it is collected.
	runtime.AddCleanup(st, func(b refBackend) { b.close() }, refs)
	var wt billy.Filesystem
	if info.workTree != "" {
		wt = osfs.New(info.workTree)
	}
	return st, wt, nil
}

// formatOfBuild returns the object format go-git was compiled for.
func formatOfBuild() string {
	if hash.Size == 32 {
		return "sha256"
	}
	return "sha1"
}

// Close releases the reftable stacks and whatever go-git's filesystem
// storage holds open. The storage must not be used afterwards.
func (s *Storage) Close() error {
	return errors.Join(s.refs.close(), s.Storage.Close())
}

// GitDir returns the repository's git directory: a linked worktree's own
// (.git/worktrees/<id>), where its per-worktree refs are.
func (s *Storage) GitDir() string { return s.info.gitDir }

// CommonDir returns the repository's main git directory, which holds the
// objects, the config and the shared refs; GitDir unless in a linked
// worktree.
func (s *Storage) CommonDir() string { return s.info.commonDir }
