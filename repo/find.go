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
	if path == "" {
		path = "."
	}
	fi, err := vfs.OS.Stat(path)
	if err != nil {
		return "", "", err
	}
	if !fi.IsDir() {
		return "", "", fmt.Errorf("%s: %w", path, ErrNotRepository)
	}
	for dir := path; ; {
		gitDir, ok, err := gitDirAt(dir)
		if err != nil {
			return "", "", err
		}
		if ok {
			common, err := commonDirOf(gitDir)
			return gitDir, common, err
		}
		if opts.NoParents {
			return "", "", fmt.Errorf("%s: %w", path, ErrNotRepository)
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", "", err
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			start, _ := filepath.Abs(path)
			return "", "", fmt.Errorf("%w (or any parent up to %s): %s", ErrNotRepository, abs, start)
		}
		dir = parent
	}
}

// gitDirAt recognizes dir as a working tree (with a .git directory or
// file) or a git directory, and returns its git directory; ok is false
// when dir is neither.
func gitDirAt(dir string) (gitDir string, ok bool, err error) {
	dotgit := filepath.Join(dir, ".git")
	if fi, err := vfs.OS.Stat(dotgit); err == nil {
		if fi.IsDir() {
			return dotgit, true, nil
		}
		gitDir, err := readGitFile(dotgit)
		return gitDir, true, err
	}
	if isGitDir(dir) {
		return dir, true, nil
	}
	return "", false, nil
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
