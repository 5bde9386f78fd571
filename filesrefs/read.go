package filesrefs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/vfs"
)

// Read reads the refs and reflogs of the files-backend git directory dir
// (a .git directory or a bare repository) whose object ids use hash. It
// reads dir only: the refs of linked worktrees, which live in their own
// git directories, are not included.
func Read(fsys vfs.FS, dir string, hash reftable.Hash) (*Contents, error) {
	refs := map[string]reftable.RefRecord{}
	packedPath := filepath.Join(dir, "packed-refs")
	data, err := readFile(fsys, packedPath)
	switch {
	case err == nil:
		packed, err := parsePacked(packedPath, data, hash)
		if err != nil {
			return nil, err
		}
		for _, r := range packed {
			refs[string(r.Name)] = r
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !isRootRef(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		if err := readLoose(fsys, refs, filepath.Join(dir, e.Name()), e.Name(), hash); err != nil {
			return nil, err
		}
	}
	if err := walk(fsys, filepath.Join(dir, "refs"), "refs/", func(path, name string, e fs.DirEntry) error {
		if strings.HasPrefix(e.Name(), ".") || strings.HasSuffix(e.Name(), ".lock") {
			return nil
		}
		if !e.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file or directory (%v)", path, e.Type())
		}
		return readLoose(fsys, refs, path, name, hash)
	}); err != nil {
		return nil, err
	}
	c := &Contents{Refs: make([]reftable.RefRecord, 0, len(refs))}
	for _, r := range refs {
		c.Refs = append(c.Refs, r)
	}
	slices.SortFunc(c.Refs, func(a, b reftable.RefRecord) int { return bytes.Compare(a.Name, b.Name) })

	err = walk(fsys, filepath.Join(dir, "logs"), "", func(path, name string, e fs.DirEntry) error {
		// git migrates the regular files whose last component is a valid
		// ref name component, and refuses pseudoref and invalid names.
		if !e.Type().IsRegular() || stack.CheckRefName("refs/"+e.Name()) != nil {
			return nil
		}
		if isPseudoRef(name) {
			return fmt.Errorf("%s: reflog of the pseudoref %s, which git refuses to migrate", path, name)
		}
		if err := stack.CheckRefName(name); err != nil {
			return fmt.Errorf("%s: reflog of an invalid ref name: %w", path, err)
		}
		data, err := readFile(fsys, path)
		if err != nil {
			return err
		}
		c.Logs, err = parseReflog(c.Logs, path, name, data, hash)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// walk calls fn for every entry under dir that is not a directory, in a
// sorted depth-first walk, with its path and its name relative to dir
// prefixed by prefix. A missing dir is empty.
func walk(fsys vfs.FS, dir, prefix string, fn func(path, name string, e fs.DirEntry) error) error {
	entries, err := fsys.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		path, name := filepath.Join(dir, e.Name()), prefix+e.Name()
		if e.IsDir() {
			err = walk(fsys, path, name+"/", fn)
		} else {
			err = fn(path, name, e)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readLoose reads the loose ref file path of ref name into refs,
// replacing a packed value.
func readLoose(fsys vfs.FS, refs map[string]reftable.RefRecord, path, name string, hash reftable.Hash) error {
	if err := stack.CheckRefName(name); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	data, err := readFile(fsys, path)
	if err != nil {
		return err
	}
	r, err := parseLoose(bytes.TrimRight(data, " \t\n\v\f\r"), hash)
	if err != nil {
		return &SyntaxError{File: path, Msg: err.Error()}
	}
	r.Name = []byte(name)
	refs[name] = r
	return nil
}

// parseLoose parses the contents of a loose ref, trailing white space
// removed: "ref: <target>" or an object id, which white space and
// anything else may follow (as in FETCH_HEAD).
func parseLoose(data []byte, hash reftable.Hash) (reftable.RefRecord, error) {
	if target, ok := bytes.CutPrefix(data, []byte("ref:")); ok {
		target = bytes.TrimLeft(target, " \t\n\v\f\r")
		if err := stack.CheckRefName(string(target)); err != nil {
			return reftable.RefRecord{}, fmt.Errorf("symbolic ref to an invalid name: %w", err)
		}
		return reftable.RefRecord{Type: reftable.RefSymref, Target: target}, nil
	}
	hs := 2 * hash.Size()
	if len(data) < hs || len(data) > hs && !isSpace(data[hs]) {
		return reftable.RefRecord{}, fmt.Errorf("neither \"ref: <target>\" nor an object id of %d hex digits", hs)
	}
	id, err := decodeHex(data[:hs])
	if err != nil {
		return reftable.RefRecord{}, err
	}
	if bytes.Count(id, []byte{0}) == len(id) {
		return reftable.RefRecord{}, fmt.Errorf("the null object id (a broken ref)")
	}
	return reftable.RefRecord{Type: reftable.RefVal1, Value: id}, nil
}

// readFile reads the whole file path.
func readFile(fsys vfs.FS, path string) ([]byte, error) {
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

// isPseudoRef reports git's pseudorefs, which are not refs git migrates.
func isPseudoRef(name string) bool { return name == "FETCH_HEAD" || name == "MERGE_HEAD" }

// isRootRef reports whether a file in the git directory is a root ref
// git migrates: capitals, '-' and '_', ending in _HEAD or one of git's
// irregular root refs, and not a pseudoref.
func isRootRef(name string) bool {
	if name == "" || isPseudoRef(name) {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; (c < 'A' || c > 'Z') && c != '-' && c != '_' {
			return false
		}
	}
	switch name {
	case "HEAD", "AUTO_MERGE", "BISECT_EXPECTED_REV", "NOTES_MERGE_PARTIAL", "NOTES_MERGE_REF", "MERGE_AUTOSTASH":
		return true
	}
	return strings.HasSuffix(name, "_HEAD")
}
