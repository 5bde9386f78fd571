// Package odb reads just enough of a git object database to answer the two
// questions git asks before it writes a ref: does the object exist, and
// what is its type (a branch must point at a commit).
//
// It reads, never writes:
//
//	objects/xx/yyyy...           loose objects: only the zlib-compressed header "<type> <size>\0"
//	objects/pack/pack-*.idx      pack indexes, versions 1 and 2 (with the 64-bit offsets of large packs)
//	objects/pack/pack-*.pack     the header of one entry, and of the bases of a delta
//	objects/info/alternates      other object directories, nested up to 5 levels, as git
//
// and the directories the caller adds, as GIT_ALTERNATE_OBJECT_DIRECTORIES
// adds them to git's (EnvAlternates splits that variable), for SHA-1 and
// SHA-256 repositories. It knows the empty tree without
// storing it, as git does. It does not read object contents, inflate
// deltas, or use multi-pack indexes, commit-graphs or promisor remotes.
//
// Every read is bounded: a loose object's header by 64 bytes, a pack
// entry's header by 64 bytes and an index by its size, checked against
// its object count. Nothing read from disk makes it panic: malformed
// files are reported as a *FormatError naming the file and offset.
//
// The package is internal: the library's users write refs through package
// stack, which trusts its caller's object ids as git's own ref backends
// do; the check belongs to the command that takes ids from its input.
package odb

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/refstore/refstore/vfs"
)

// Type is the type of a git object, numbered as in packs.
type Type int8

// The object types.
const (
	Commit Type = 1
	Tree   Type = 2
	Blob   Type = 3
	Tag    Type = 4
)

// String returns the type's name as git writes it ("commit").
func (t Type) String() string {
	switch t {
	case Commit:
		return "commit"
	case Tree:
		return "tree"
	case Blob:
		return "blob"
	case Tag:
		return "tag"
	}
	return fmt.Sprintf("type %d", int(t))
}

// Errors of the package. A malformed file is reported as a *FormatError,
// which matches ErrFormat.
var (
	// ErrNotFound reports an object that is in none of the database's
	// directories.
	ErrNotFound = errors.New("odb: object not found")

	// ErrFormat is matched by every *FormatError.
	ErrFormat = errors.New("odb: malformed object database file")
)

// FormatError reports a malformed file of the object database.
type FormatError struct {
	Path    string // the file
	Offset  int64  // where in the file the problem was found
	Problem string // what was wrong
}

// Error implements error.
func (e *FormatError) Error() string {
	return fmt.Sprintf("%s: offset %d: %s", e.Path, e.Offset, e.Problem)
}

// Unwrap returns ErrFormat.
func (e *FormatError) Unwrap() error { return ErrFormat }

func formatErr(path string, off int64, format string, args ...any) error {
	return &FormatError{Path: path, Offset: off, Problem: fmt.Sprintf(format, args...)}
}

// maxAlternateDepth is how deeply alternates may nest, as git: the
// objects directory's alternates are at depth 1.
const maxAlternateDepth = 5

// maxAlternatesFile is the longest alternates file read.
const maxAlternatesFile = 1 << 20

// DB is an object database: an objects directory and its alternates. It
// keeps the pack files it opened until Close. A DB is not safe for
// concurrent use.
type DB struct {
	fsys      vfs.FS
	hashSize  int
	dirs      []string // the objects directory, then its alternates
	packs     []*pack  // of every directory, in order
	emptyTree []byte
	loose     looseReader
}

// Open returns the object database whose objects directory is dir, read
// through fsys, for object ids of hashSize bytes (20 for SHA-1, 32 for
// SHA-256), with the alternates its info/alternates names and those given
// (as GIT_ALTERNATE_OBJECT_DIRECTORIES gives them; see EnvAlternates). It
// reads the alternates and lists the packs; pack files are opened when
// first needed. A directory that does not exist holds no objects: Open
// does not fail for it (whether a repository has an object database is
// the caller's question).
func Open(fsys vfs.FS, dir string, hashSize int, alternates ...string) (*DB, error) {
	db := &DB{fsys: fsys, hashSize: hashSize}
	switch hashSize {
	case sha1.Size:
		sum := sha1.Sum([]byte("tree 0\x00"))
		db.emptyTree = sum[:]
	case sha256.Size:
		sum := sha256.Sum256([]byte("tree 0\x00"))
		db.emptyTree = sum[:]
	default:
		return nil, fmt.Errorf("odb: object ids of %d bytes: want %d (SHA-1) or %d (SHA-256)", hashSize, sha1.Size, sha256.Size)
	}
	if err := db.addDir(dir, 0); err != nil {
		db.Close()
		return nil, err
	}
	for _, alt := range alternates {
		if err := db.addDir(alt, 1); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// EnvAlternates returns the directories of the value v of
// GIT_ALTERNATE_OBJECT_DIRECTORIES, as git splits it: by the path list
// separator (':', ';' on Windows), an entry beginning with a double quote
// unquoted as a C string, empty entries skipped.
func EnvAlternates(v string) []string {
	sep := string(os.PathListSeparator)
	var dirs []string
	for v != "" {
		if v[0] == '"' {
			if end := closingQuote(v); end > 0 {
				if d, ok := unquoteC(v[:end+1]); ok {
					dirs = append(dirs, d)
					v = strings.TrimPrefix(v[end+1:], sep)
					continue
				}
			}
		}
		var entry string
		entry, v, _ = strings.Cut(v, sep)
		if entry != "" {
			dirs = append(dirs, entry)
		}
	}
	return dirs
}

// closingQuote returns the position of the double quote that closes the
// C-quoted string s begins with, or -1.
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// addDir adds the objects directory dir, its packs and its alternates.
// Directories already added are skipped, as git does.
func (db *DB) addDir(dir string, depth int) error {
	dir = filepath.Clean(dir)
	for _, d := range db.dirs {
		if d == dir {
			return nil
		}
	}
	db.dirs = append(db.dirs, dir)
	if err := db.addPacks(dir); err != nil {
		return err
	}
	alts, err := readAlternates(db.fsys, dir)
	if err != nil {
		return err
	}
	if len(alts) > 0 && depth >= maxAlternateDepth {
		return nil // git ignores alternates nested deeper, with a warning
	}
	for _, alt := range alts {
		if err := db.addDir(alt, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// addPacks adds the packs of dir/pack: each index whose pack exists.
func (db *DB) addPacks(dir string) error {
	packDir := filepath.Join(dir, "pack")
	entries, err := db.fsys.ReadDir(packDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name()] = true
	}
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".idx")
		if !ok || !strings.HasPrefix(base, "pack-") || !have[base+".pack"] {
			continue
		}
		db.packs = append(db.packs, &pack{
			db:       db,
			idxPath:  filepath.Join(packDir, e.Name()),
			packPath: filepath.Join(packDir, base+".pack"),
		})
	}
	return nil
}

// readAlternates reads dir/info/alternates: one directory a line, relative
// to dir unless absolute, C-quoted when it starts with a double quote;
// empty lines and lines starting with # are skipped.
func readAlternates(fsys vfs.FS, dir string) ([]string, error) {
	path := filepath.Join(dir, "info", "alternates")
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxAlternatesFile {
		return nil, formatErr(path, maxAlternatesFile, "alternates file of %d bytes, more than the %d read", fi.Size(), maxAlternatesFile)
	}
	data := make([]byte, fi.Size())
	if err := readFull(f, data, 0); err != nil {
		return nil, err
	}
	var alts []string
	off := int64(0)
	for line := range strings.Lines(string(data)) {
		lineOff := off
		off += int64(len(line))
		line = strings.TrimRight(line, "\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '"' {
			u, ok := unquoteC(line)
			if !ok {
				return nil, formatErr(path, lineOff, "badly quoted directory %q", line)
			}
			line = u
		}
		if !filepath.IsAbs(line) {
			line = filepath.Join(dir, line)
		}
		alts = append(alts, line)
	}
	return alts, nil
}

// unquoteC decodes a C-quoted string as git writes paths ("a\"b\303\251"),
// the whole of s; ok is false if s is not one.
func unquoteC(s string) (string, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", false
	}
	s = s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			return "", false
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			return "", false
		}
		if j := strings.IndexByte(`abfnrtv\"`, s[i]); j >= 0 {
			b.WriteByte("\a\b\f\n\r\t\v\\\""[j])
			continue
		}
		if i+2 >= len(s) || s[i] < '0' || s[i] > '3' || s[i+1] < '0' || s[i+1] > '7' || s[i+2] < '0' || s[i+2] > '7' {
			return "", false
		}
		b.WriteByte((s[i]-'0')<<6 | (s[i+1]-'0')<<3 | (s[i+2] - '0'))
		i += 2
	}
	return b.String(), true
}

// Has reports whether the object id exists. For a packed object it reads
// only the index.
func (db *DB) Has(id []byte) (bool, error) {
	if err := db.checkID(id); err != nil {
		return false, err
	}
	if bytes.Equal(id, db.emptyTree) {
		return true, nil
	}
	for _, p := range db.packs {
		if _, ok, err := p.find(id); ok || err != nil {
			return ok, err
		}
	}
	for _, dir := range db.dirs {
		if _, err := db.fsys.Stat(loosePath(dir, id)); err == nil {
			return true, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
	}
	return false, nil
}

// Type returns the type of the object id, or an error matching
// ErrNotFound if it does not exist.
func (db *DB) Type(id []byte) (Type, error) {
	if err := db.checkID(id); err != nil {
		return 0, err
	}
	return db.typeOf(id, maxDeltaChain)
}

// typeOf is Type for an object reached through at most budget deltas.
func (db *DB) typeOf(id []byte, budget int) (Type, error) {
	if bytes.Equal(id, db.emptyTree) {
		return Tree, nil
	}
	for _, p := range db.packs {
		i, ok, err := p.find(id)
		if err != nil {
			return 0, err
		}
		if ok {
			off, err := p.offset(i)
			if err != nil {
				return 0, err
			}
			return p.entryType(off, budget)
		}
	}
	for _, dir := range db.dirs {
		t, err := db.loose.typeOf(db.fsys, loosePath(dir, id))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		return t, err
	}
	return 0, fmt.Errorf("%x: %w", id, ErrNotFound)
}

func (db *DB) checkID(id []byte) error {
	if len(id) != db.hashSize {
		return fmt.Errorf("odb: object id of %d bytes in a database of %d-byte ids", len(id), db.hashSize)
	}
	return nil
}

// loosePath returns the path of the loose object id in dir.
func loosePath(dir string, id []byte) string {
	const digits = "0123456789abcdef"
	name := make([]byte, 0, 2*len(id)+1)
	for i, c := range id {
		name = append(name, digits[c>>4], digits[c&15])
		if i == 0 {
			name = append(name, '/')
		}
	}
	return filepath.Join(dir, string(name))
}

// Close closes the pack files the database opened.
func (db *DB) Close() error {
	var errs []error
	for _, p := range db.packs {
		errs = append(errs, p.close())
	}
	return errors.Join(errs...)
}
