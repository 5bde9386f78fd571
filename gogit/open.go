package gogit

import (
	"errors"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Options configures Open. The zero value opens the repository at the
// path given, as git.PlainOpen does.
type Options struct {
	// DetectDotGit looks for the repository in the parent directories
	// of the path too, as git does and git.PlainOpenOptions.DetectDotGit.
	DetectDotGit bool

	// Filesystem configures go-git's filesystem storage of objects,
	// config, index and shallow.
	Filesystem filesystem.Options
}

// Open opens the git repository at path, as git.PlainOpen does, whatever
// its ref storage: a reftable repository gets a Storage, which keeps its
// refs in its reftable stacks; a repository of git's files backend is
// opened by go-git itself (with linked worktrees' common directory
// honoured). path is a working tree, a bare repository, a git directory
// or a linked worktree; a path with no repository gives
// git.ErrRepositoryNotExists.
//
// The Storage holds the stacks' files open: close it with
// repo.Storer.(io.Closer).Close() when done (go-git's storage of a
// files-backend repository is an io.Closer too), or let the garbage
// collector do so once the repository is unreachable.
func Open(path string) (*git.Repository, error) {
	return OpenWithOptions(path, Options{})
}

// OpenWithOptions is Open with options.
func OpenWithOptions(path string, o Options) (*git.Repository, error) {
	st, wt, err := openStorage(path, o)
	switch {
	case errors.Is(err, ErrNotReftable):
		return git.PlainOpenWithOptions(path, &git.PlainOpenOptions{DetectDotGit: o.DetectDotGit, EnableDotGitCommonDir: true})
	case errors.Is(err, errNoRepository):
		return nil, git.ErrRepositoryNotExists
	case err != nil:
		return nil, err
	}
	r, err := git.Open(st, wt)
	if err != nil {
		st.Close()
		return nil, err
	}
	return r, nil
}
