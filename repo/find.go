package repo

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/refstore/refstore/vfs"
)

// Find finds the repository at path as git does, without opening it: it
// returns the git directory of the worktree path is in (a working tree's
// .git directory, the directory its .git file names, a bare repository,
// or path itself when it is a git directory, such as a linked worktree's
// .git/worktrees/<id>) and the repository's common directory, which its
// worktrees share (the git directory itself but for a linked worktree).
// Unless opts.NoParents is set, it looks in path's parent directories
// too. When there is none it fails with an error matching
// ErrNotRepository.
func Find(path string, opts Options) (gitDir, commonDir string, err error) {
	gitDir, commonDir, _, err = find(path, opts)
	return gitDir, commonDir, err
}

// find is Find, and returns as workTree the directory whose .git led to
// the git directory, "" when path is a git directory itself.
func find(path string, opts Options) (gitDir, commonDir, workTree string, err error) {
	if path == "" {
		path = "."
	}
	fi, err := vfs.OS.Stat(path)
	if err != nil {
		return "", "", "", err
	}
	if !fi.IsDir() {
		return "", "", "", fmt.Errorf("%s: %w", path, ErrNotRepository)
	}
	for dir := path; ; {
		gitDir, dotgit, err := gitDirAt(dir)
		if err != nil {
			return "", "", "", err
		}
		if gitDir != "" {
			if dotgit {
				workTree = dir
			}
			common, err := commonDirOf(gitDir)
			return gitDir, common, workTree, err
		}
		if opts.NoParents {
			return "", "", "", fmt.Errorf("%s: %w", path, ErrNotRepository)
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", "", "", err
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			start, _ := filepath.Abs(path)
			return "", "", "", fmt.Errorf("%w (or any parent up to %s): %s", ErrNotRepository, abs, start)
		}
		dir = parent
	}
}

// gitDirAt recognizes dir as a working tree (with a .git directory or
// file: dotgit is then true) or a git directory, and returns its git
// directory; "" when dir is neither.
func gitDirAt(dir string) (gitDir string, dotgit bool, err error) {
	path := filepath.Join(dir, ".git")
	if fi, err := vfs.OS.Stat(path); err == nil {
		if fi.IsDir() {
			return path, true, nil
		}
		gitDir, err := readGitFile(path)
		return gitDir, true, err
	}
	if isGitDir(dir) {
		return dir, false, nil
	}
	return "", false, nil
}

// impliedWorkTree returns the working tree of a git directory found
// without one: a linked worktree's, which its gitdir file names (the
// path of the worktree's .git file), or the parent of a .git directory
// of a repository that is not bare; else "".
func impliedWorkTree(gitDir string, linked, bare bool) string {
	if linked {
		data, err := vfs.ReadFile(vfs.OS, filepath.Join(gitDir, "gitdir"))
		if err != nil {
			return ""
		}
		if dotgit := strings.TrimSpace(string(data)); dotgit != "" {
			return filepath.Dir(dotgit)
		}
		return ""
	}
	if !bare && filepath.Base(filepath.Clean(gitDir)) == ".git" {
		return filepath.Dir(filepath.Clean(gitDir))
	}
	return ""
}

// readGitFile reads a ".git" file ("gitdir: <path>") of a linked worktree
// or submodule.
func readGitFile(path string) (string, error) {
	data, err := vfs.ReadFile(vfs.OS, path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	dir, ok := strings.CutPrefix(strings.TrimSpace(line), "gitdir:")
	if !ok {
		return "", fmt.Errorf("%s: not a gitdir file: %w", path, ErrNotRepository)
	}
	dir = strings.TrimSpace(dir)
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(filepath.Dir(path), dir)
	}
	return dir, nil
}

// isGitDir reports whether dir looks like a git directory: a HEAD file and
// an objects directory, or a commondir file (linked worktree).
func isGitDir(dir string) bool {
	if !exists(filepath.Join(dir, "HEAD")) {
		return false
	}
	return exists(filepath.Join(dir, "objects")) || exists(filepath.Join(dir, "commondir"))
}

// commonDirOf returns the common git directory of gitDir: the one its
// commondir file names, else gitDir itself.
func commonDirOf(gitDir string) (string, error) {
	data, err := vfs.ReadFile(vfs.OS, filepath.Join(gitDir, "commondir"))
	if errors.Is(err, fs.ErrNotExist) {
		return gitDir, nil
	}
	if err != nil {
		return "", err
	}
	c := strings.TrimSpace(string(data))
	if !filepath.IsAbs(c) {
		c = filepath.Join(gitDir, c)
	}
	return c, nil
}

func exists(path string) bool {
	_, err := vfs.OS.Stat(path)
	return err == nil
}
