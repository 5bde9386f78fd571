package filesrefs

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/vfs"
)

// Write writes c into the empty directory dir as git's migration to the
// files backend lays it out: root refs (HEAD, ORIG_HEAD...) and symbolic
// refs as loose files, every other ref in packed-refs with git's header
// and a peeled line for each RefVal2, each reflog under logs/, and the
// directories refs/heads and refs/tags. Every file is synced (several at
// a time), then every directory.
//
// Reflog existence markers (see reftable.LogRecord.IsExistenceMarker)
// are skipped, as git's migration skips them: a reflog that holds only a
// marker gets no file.
//
// Write checks c first (ids of hash's size, valid names, no ref or reflog
// named like a directory of another, no entry git could not read back) and
// writes nothing if that fails. If writing fails, it removes what it
// created, so dir is empty again unless removing fails too; callers
// that need all or nothing write into a temporary directory and rename it.
func Write(fsys FS, dir string, hash reftable.Hash, c *Contents) (err error) {
	files, err := layout(c, hash)
	if err != nil {
		return err
	}
	w := &writer{fsys: fsys, created: map[string]bool{}}
	defer func() {
		if err != nil {
			err = errors.Join(err, w.undo())
		}
	}()
	for _, d := range []string{"refs", "refs/heads", "refs/tags"} {
		if err := w.mkdir(filepath.Join(dir, d)); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := w.writeFile(dir, f.path, f.data); err != nil {
			return err
		}
	}
	if err := syncFiles(fsys, w.files); err != nil {
		return err
	}
	// Sync directories deepest first, so that each is durable before the
	// entry naming it is.
	dirs := append([]string{dir}, w.dirs...)
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := fsys.SyncDir(dirs[i]); err != nil {
			return err
		}
	}
	return nil
}

// Check reports whether Write would accept c: the checks Write makes
// before it writes anything.
func Check(c *Contents, hash reftable.Hash) error {
	_, err := layout(c, hash)
	return err
}

// A file is one file of a layout: its slash-separated path relative to
// the layout's directory and its contents.
type file struct {
	path string
	data []byte
}

// layout checks c and returns the files of its layout in path order.
func layout(c *Contents, hash reftable.Hash) ([]file, error) {
	var files []file
	var packed []*reftable.RefRecord
	for i := range c.Refs {
		r := &c.Refs[i]
		name := string(r.Name)
		if err := stack.CheckRefName(name); err != nil {
			return nil, err
		}
		if i > 0 && bytes.Compare(c.Refs[i-1].Name, r.Name) >= 0 {
			return nil, fmt.Errorf("refs not sorted: %s after %s", r.Name, c.Refs[i-1].Name)
		}
		inRefs := strings.HasPrefix(name, "refs/")
		if !inRefs && !isRootRef(name) {
			return nil, fmt.Errorf("ref %s: neither under refs/ nor a root ref: %w", name, ErrUnrepresentable)
		}
		var data []byte
		switch r.Type {
		case reftable.RefSymref:
			if err := stack.CheckRefName(string(r.Target)); err != nil {
				return nil, fmt.Errorf("symbolic ref %s: target: %w", name, err)
			}
			data = append(append([]byte("ref: "), r.Target...), '\n')
		case reftable.RefVal1, reftable.RefVal2:
			if len(r.Value) != hash.Size() || r.Type == reftable.RefVal2 && len(r.Peeled) != hash.Size() {
				return nil, fmt.Errorf("ref %s: object id not of %d bytes (%v)", name, hash.Size(), hash)
			}
			if inRefs {
				packed = append(packed, r)
				continue
			}
			data = append(hex.AppendEncode(nil, r.Value), '\n')
		default:
			continue // a deletion is no ref
		}
		files = append(files, file{path: name, data: data})
	}
	if len(packed) > 0 {
		files = append(files, file{path: "packed-refs", data: appendPacked(nil, packed)})
	}
	logs := map[string][]byte{}
	for i := range c.Logs {
		l := &c.Logs[i]
		if l.IsDeletion() || l.IsExistenceMarker() {
			continue // git's migration writes no line for a marker
		}
		name := string(l.RefName)
		if err := stack.CheckRefName(name); err != nil {
			return nil, fmt.Errorf("reflog: %w", err)
		}
		if err := checkLogWritable(l, hash); err != nil {
			return nil, err
		}
		logs[name] = appendLogLine(logs[name], l)
	}
	for _, name := range slices.Sorted(maps.Keys(logs)) {
		files = append(files, file{path: "logs/" + name, data: logs[name]})
	}
	slices.SortFunc(files, func(a, b file) int { return strings.Compare(a.path, b.path) })
	// A path that is also a directory of another path cannot exist.
	seen := map[string]bool{}
	for _, f := range files {
		seen[f.path] = true
	}
	for _, f := range files {
		for d := filepath.Dir(f.path); d != "."; d = filepath.Dir(d) {
			if seen[d] {
				return nil, fmt.Errorf("%s and %s: a file cannot also be a directory: %w", d, f.path, ErrUnrepresentable)
			}
		}
	}
	return files, nil
}

// A writer creates files and directories and remembers them, to sync
// the directories and to undo on failure.
type writer struct {
	fsys    FS
	dirs    []string // directories created, parents first
	created map[string]bool
	files   []string // files created
}

// mkdir creates dir, which must not exist.
func (w *writer) mkdir(dir string) error {
	if err := w.fsys.Mkdir(dir, 0o777); err != nil {
		return err
	}
	w.dirs = append(w.dirs, dir)
	w.created[dir] = true
	return nil
}

// writeFile creates root/rel (rel slash-separated) with data and syncs
// it, creating the directories on the way.
func (w *writer) writeFile(root, rel string, data []byte) error {
	root = filepath.Clean(root)
	path := filepath.Join(root, filepath.FromSlash(rel))
	var missing []string
	for d := filepath.Dir(path); d != root && !w.created[d]; d = filepath.Dir(d) {
		if len(d) <= len(root) {
			return fmt.Errorf("%s: not inside %s", path, root)
		}
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := w.mkdir(missing[i]); err != nil {
			return err
		}
	}
	f, err := w.fsys.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return err
	}
	w.files = append(w.files, path)
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncFiles syncs the files at paths, several at a time: the latency of
// fsync, not the bandwidth, bounds the time to sync thousands of small
// reflog files (1000 files: 1.4 s one at a time, 0.1 s 16 at a time).
func syncFiles(fsys vfs.FS, paths []string) error {
	const workers = 16
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	ch := make(chan string)
	for range workers {
		wg.Go(func() {
			for path := range ch {
				if err := syncFile(fsys, path); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, path := range paths {
		ch <- path
	}
	close(ch)
	wg.Wait()
	return errors.Join(errs...)
}

// syncFile makes the contents of the file at path durable. It opens the
// file for writing, which Windows needs to flush it.
func syncFile(fsys vfs.FS, path string) error {
	f, err := fsys.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// undo removes the files and directories w created, newest first.
func (w *writer) undo() error {
	var errs []error
	for i := len(w.files) - 1; i >= 0; i-- {
		errs = append(errs, w.fsys.Remove(w.files[i]))
	}
	for i := len(w.dirs) - 1; i >= 0; i-- {
		errs = append(errs, w.fsys.Remove(w.dirs[i]))
	}
	return errors.Join(errs...)
}
