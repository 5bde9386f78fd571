package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/refstore/refstore/internal/storepipe"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/stack/storage"
	"github.com/refstore/refstore/vfs"
)

// A target is what a PATH argument names, resolved.
type target struct {
	// Dir is the stack directory; empty for a single table file.
	Dir string
	// File is the table file when PATH names one; empty for a stack.
	File string
	// GitDir is the repository's git directory (a linked worktree's own
	// one), empty for a bare stack directory or a table file.
	GitDir string
	// MainDir is the shared (main) stack of a linked worktree, whose Dir
	// then holds only the per-worktree refs; empty otherwise.
	MainDir string
	// Common is the repository's common git directory (the main
	// worktree's), empty for a bare stack directory or a table file.
	Common string
	// Hash is the object format: from extensions.objectFormat for a
	// repository, from the first table for a bare stack.
	Hash reftable.Hash
	// Policy is the reflog policy from core.logAllRefUpdates.
	Policy stack.ReflogPolicy
	// Config is the repository's config (readConfig's map), whose
	// reftable.* settings the commands that write honour (see
	// config.go); ConfigPath is its file. Both are empty for a stack
	// outside a repository.
	Config     map[string]string
	ConfigPath string
	// S3 is the s3://bucket/prefix URL of a stack on S3 (see s3path.go).
	S3 string
	// helper serves the S3 stack this process opened last (closing that
	// stack stops it).
	helper *storepipe.Client
}

// errFilesBackend reports a repository whose refs are not in reftable.
var errFilesBackend = errors.New(`uses the "files" ref backend, not reftable (convert it with 'reftable import')`)

// resolveArg resolves the optional PATH argument of a command that takes
// at most that one argument.
func resolveArg(args []string) (*target, error) {
	if err := maxArgs(args, 1); err != nil {
		return nil, err
	}
	path := ""
	if len(args) == 1 {
		path = args[0]
	}
	return resolve(path)
}

// resolve finds what path names; an empty path means the repository of
// the current directory or one of its parents.
func resolve(path string) (*target, error) {
	if path == "" {
		return discover()
	}
	if strings.HasPrefix(path, "s3://") {
		return resolveS3(path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return &target{File: path}, nil
	}
	if t, ok, err := atDir(path); ok || err != nil {
		return t, err
	}
	return nil, fmt.Errorf("%s: not a git repository or reftable stack directory", path)
}

// discover walks up from the current directory to a repository.
func discover() (*target, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	for dir := wd; ; {
		if t, ok, err := atDir(dir); ok || err != nil {
			return t, err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, fmt.Errorf("not a git repository (or any parent up to /): %s", wd)
		}
		dir = parent
	}
}

// atDir recognizes dir as a stack directory, a working tree or a git
// directory. ok is false when dir is none of them.
func atDir(dir string) (t *target, ok bool, err error) {
	if exists(filepath.Join(dir, "tables.list")) {
		t := &target{Dir: dir, Hash: stackHash(dir)}
		if parent := filepath.Dir(dir); filepath.Base(dir) == "reftable" && isGitDir(parent) {
			// A repository's stack, named directly: its settings apply.
			common, _ := commonDir(parent)
			t.ConfigPath = filepath.Join(common, "config")
			cfg, err := readConfig(t.ConfigPath)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, true, err
			}
			t.Config = cfg
		}
		return t, true, nil
	}
	dotgit := filepath.Join(dir, ".git")
	if fi, err := os.Stat(dotgit); err == nil {
		gitDir := dotgit
		if !fi.IsDir() {
			if gitDir, err = readGitFile(dotgit); err != nil {
				return nil, true, err
			}
		}
		t, err := atGitDir(gitDir)
		return t, true, err
	}
	if isGitDir(dir) {
		t, err := atGitDir(dir)
		return t, true, err
	}
	return nil, false, nil
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
		return "", fmt.Errorf("%s: not a gitdir file", path)
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

// atGitDir resolves a git directory to its reftable stack and settings.
func atGitDir(gitDir string) (*target, error) {
	common, linked := commonDir(gitDir)
	cfgPath := filepath.Join(common, "config")
	cfg, err := readConfig(cfgPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	t := &target{GitDir: gitDir, Common: common, Hash: reftable.SHA1, Policy: stack.ReflogNormal, Config: cfg, ConfigPath: cfgPath}
	if v, ok := cfg["extensions.objectformat"]; ok {
		h, err := reftable.ParseHash(strings.ToLower(v))
		if err != nil {
			return nil, fmt.Errorf("%s: extensions.objectFormat: %w", common, err)
		}
		t.Hash = h
	}
	switch strings.ToLower(cfg["core.logallrefupdates"]) {
	case "always":
		t.Policy = stack.ReflogAlways
	case "false", "no", "off", "0":
		t.Policy = stack.ReflogExisting
	case "":
		if isTrue(cfg["core.bare"]) {
			t.Policy = stack.ReflogExisting
		}
	}
	dir := filepath.Join(gitDir, "reftable")
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		t.Dir = dir
		if linked {
			t.MainDir = filepath.Join(common, "reftable")
			if !exists(t.MainDir) {
				return nil, fmt.Errorf("%s: linked worktree whose main stack %s is missing", gitDir, t.MainDir)
			}
		}
		return t, nil
	}
	if strings.EqualFold(cfg["extensions.refstorage"], "reftable") {
		return nil, fmt.Errorf("%s: repository uses reftable but has no reftable directory", gitDir)
	}
	return nil, fmt.Errorf("%s %w", gitDir, errFilesBackend)
}

// commonDir returns the common git directory of gitDir: the one its
// commondir file names (linked is then true), else gitDir itself.
func commonDir(gitDir string) (common string, linked bool) {
	data, err := vfs.ReadFile(vfs.OS, filepath.Join(gitDir, "commondir"))
	if err != nil {
		return gitDir, false
	}
	c := strings.TrimSpace(string(data))
	if !filepath.IsAbs(c) {
		c = filepath.Join(gitDir, c)
	}
	return c, true
}

func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "yes", "on", "1":
		return true
	}
	return false
}

// readConfig reads the plain "section.key" settings of a git config file,
// keys lowercased; settings of subsections ([remote "origin"]) are
// skipped, as are includes. A key without value is "true".
func readConfig(path string) (map[string]string, error) {
	f, err := vfs.OS.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg := map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				continue
			}
			section = strings.ToLower(strings.TrimSpace(line[1:end]))
			if strings.ContainsAny(section, " \"") {
				section = "" // a subsection
			}
			line = strings.TrimSpace(line[end+1:])
			if line == "" {
				continue
			}
		}
		if section == "" {
			continue
		}
		key, val, found := strings.Cut(line, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		val = stripComment(strings.TrimSpace(val))
		if !found {
			val = "true"
		}
		cfg[section+"."+key] = val
	}
	return cfg, sc.Err()
}

// stripComment removes a trailing comment and surrounding quotes.
func stripComment(v string) string {
	inQuote := false
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			inQuote = !inQuote
		case '#', ';':
			if !inQuote {
				v = strings.TrimSpace(v[:i])
			}
		}
	}
	return strings.ReplaceAll(v, `"`, "")
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

// openStack opens the stack of a target that is not a table file, to
// change it.
func (t *target) openStack(opts stack.Options) (*stack.Stack, error) {
	return t.openStackTo(opts, true)
}

// openReadOnly opens the stack of a target that is not a table file only
// to read it: a store on S3 is not probed (the probe writes).
func (t *target) openReadOnly(opts stack.Options) (*stack.Stack, error) {
	return t.openStackTo(opts, false)
}

func (t *target) openStackTo(opts stack.Options, write bool) (*stack.Stack, error) {
	if t.S3 != "" {
		return t.openS3(opts, write)
	}
	if t.Dir == "" {
		return nil, fmt.Errorf("%s: a single table file cannot be changed; give a stack or repository", t.File)
	}
	opts.Hash = t.Hash
	return stack.Open(t.Dir, opts)
}

// A view is a read-only merged view of a target, with its tables.
type view struct {
	// Merged is the view of the target's own stack or table: in a linked
	// worktree, of its per-worktree stack (as git pack-refs compacts).
	*reftable.Merged
	Names []string // table names, oldest first
	Paths []string // table file paths, oldest first
	// Reader reads refs and reflogs as git does: Merged, or in a linked
	// worktree its own refs merged with the shared ones.
	Reader refReader
	close  func() error
}

// Close releases the view's tables.
func (v *view) Close() error { return v.close() }

// openTarget resolves path and opens its merged view.
func openTarget(path string) (*target, *view, error) {
	t, err := resolve(path)
	if err != nil {
		return nil, nil, err
	}
	return t.openWithView()
}

// openArg resolves the optional PATH argument and opens its merged view.
func openArg(args []string) (*target, *view, error) {
	t, err := resolveArg(args)
	if err != nil {
		return nil, nil, err
	}
	return t.openWithView()
}

func (t *target) openWithView() (*target, *view, error) {
	v, err := t.openView()
	if err != nil {
		return nil, nil, err
	}
	return t, v, nil
}

// openView opens a read-only view of a stack or a single table.
func (t *target) openView() (*view, error) {
	if t.File != "" {
		tbl, f, err := openTableFile(t.File)
		if err != nil {
			return nil, err
		}
		m, err := reftable.NewMerged([]*reftable.Table{tbl}, reftable.MergedOptions{})
		if err != nil {
			f.Close()
			return nil, err
		}
		return &view{Merged: m, Names: []string{tbl.Name()}, Paths: []string{t.File}, Reader: m, close: f.Close}, nil
	}
	ro := stack.Options{DisableAutoCompaction: true}
	snap, closeSnap, err := openSnapshot(t.openReadOnly(ro))
	if err != nil {
		return nil, err
	}
	names := snap.TableNames()
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = filepath.Join(t.Dir, n)
	}
	v := &view{Merged: snap.Merged(), Names: names, Paths: paths, Reader: snap.Merged(), close: closeSnap}
	if t.MainDir != "" {
		main, closeMain, err := openSnapshot(stack.Open(t.MainDir, stack.Options{Hash: t.Hash, DisableAutoCompaction: true}))
		if err != nil {
			closeSnap()
			return nil, err
		}
		v.Reader = worktreeView{wt: snap.Merged(), main: main.Merged()}
		v.close = func() error { return errors.Join(closeMain(), closeSnap()) }
	}
	if t.Common != "" {
		r := &routedReader{refReader: v.Reader, t: t, own: snap.Merged(), byDir: map[string]*reftable.Merged{}}
		if wt, ok := v.Reader.(worktreeView); ok {
			r.main = wt.main
		}
		closeStacks := v.close
		v.Reader = r
		v.close = func() error { return errors.Join(r.close(), closeStacks()) }
	}
	return v, nil
}

// routeRef applies git's worktree prefixes to name: main-worktree/X is
// the main worktree's X and worktrees/<id>/X worktree <id>'s X, when X is
// a per-worktree ref (otherwise the whole name is an ordinary shared
// ref). It returns the stack directory holding X, and X; ok is false for
// other names and for targets that are not git repositories.
func (t *target) routeRef(name string) (dir, bare string, ok bool) {
	if t.Common == "" {
		return "", "", false
	}
	if rest, found := strings.CutPrefix(name, "main-worktree/"); found && perWorktree(rest) {
		return filepath.Join(t.Common, "reftable"), rest, true
	}
	if rest, found := strings.CutPrefix(name, "worktrees/"); found {
		if id, rest, found := strings.Cut(rest, "/"); found && id != "" && perWorktree(rest) {
			return filepath.Join(t.Common, "worktrees", id, "reftable"), rest, true
		}
	}
	return "", "", false
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
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// openSnapshot takes a snapshot of a stack just opened and returns it
// with the function that closes it and the stack.
func openSnapshot(st *stack.Stack, err error) (*stack.Snapshot, func() error, error) {
	if err != nil {
		return nil, nil, err
	}
	snap, err := st.Snapshot(context.Background())
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return snap, func() error { return errors.Join(snap.Close(), st.Close()) }, nil
}
