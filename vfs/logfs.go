package vfs

import (
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
)

// LogFS wraps a file system and records a line for every operation that
// can change it or what survives a crash: creating and opening files for
// writing, writes, syncs, closes of written files, renames, removals and
// directory syncs. Reads, stats and directory listings are not recorded.
//
// The trace is meant to be compared with a golden file, so it is
// deterministic: paths are shown relative to the root given to NewLogFS,
// and the random parts of names (the suffix of a table name
// 0x<min>-0x<max>-<random>.ref, the middle of a temporary file
// tmp-<random>.temp or the tail of git's <name>.temp.<random>) are
// replaced by placeholders numbered in order of first appearance, such as
// <r1> and <t1>. A LogFS is safe for concurrent use.
type LogFS struct {
	fs   FS
	root string

	mu    sync.Mutex
	lines []string
	names map[string]string // random part -> placeholder
	nr    int               // table suffixes seen
	nt    int               // temporary names seen
}

// NewLogFS returns fsys wrapped with a trace whose paths are relative to
// root ("" or "/" for absolute paths shown without the leading slash).
func NewLogFS(fsys FS, root string) *LogFS {
	return &LogFS{fs: fsys, root: cleanRoot(root), names: map[string]string{}}
}

func cleanRoot(root string) string {
	if root == "" {
		return "/"
	}
	return clean(root)
}

// Trace returns the lines recorded so far.
func (l *LogFS) Trace() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// String returns the trace, one line each, each ending in a newline.
func (l *LogFS) String() string {
	var b strings.Builder
	for _, line := range l.Trace() {
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// Reset forgets the lines recorded so far; placeholders keep their
// numbers.
func (l *LogFS) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = nil
}

// rel returns name as shown in the trace: relative to the root, with the
// random parts of names replaced. l.mu must be held.
func (l *LogFS) rel(name string) string {
	p := clean(name)
	switch {
	case p == l.root:
		p = "."
	case l.root == "/":
		p = strings.TrimPrefix(p, "/")
	case strings.HasPrefix(p, l.root+"/"):
		p = p[len(l.root)+1:]
	}
	p = replaceRandom(p, tableRandom, func(r string) string { return l.placeholder(r, "r", &l.nr) })
	return replaceRandom(p, tempRandom, func(r string) string { return l.placeholder(r, "t", &l.nt) })
}

// replaceRandom replaces, from left to right, every random part that find
// locates in s with what placeholder returns for it; the search goes on
// after the name find matched.
func replaceRandom(s string, find func(s string, i int) (start, end, next int), placeholder func(string) string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		start, end, next := find(s, i)
		if next == 0 {
			i++
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString(placeholder(s[start:end]))
		last, i = end, next
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// tableRandom locates the random part s[start:end] of a table name
// 0x<hex>-0x<hex>-<8 hex digits>.ref or .log starting at s[i], which ends
// at next; next is 0 if there is none.
func tableRandom(s string, i int) (start, end, next int) {
	for range 2 {
		j := runOf(s, i, "0x", isLowerHex)
		if j == i || j >= len(s) || s[j] != '-' {
			return 0, 0, 0
		}
		i = j + 1
	}
	j := runOf(s, i, "", isLowerHex)
	if j-i != 8 || !strings.HasPrefix(s[j:], ".ref") && !strings.HasPrefix(s[j:], ".log") {
		return 0, 0, 0
	}
	return i, j, j + 4
}

// tempRandom is tableRandom for temporary names: the hex digits of
// tmp-<hex>.temp, or the tail of git's .temp.<6 or more letters and
// digits>.
func tempRandom(s string, i int) (start, end, next int) {
	if j := runOf(s, i, "tmp-", isLowerHex); j > i && strings.HasPrefix(s[j:], ".temp") {
		return i + 4, j, j + 5
	}
	if j := runOf(s, i, ".temp.", isAlnum); j >= i+6+6 {
		return i + 6, j, j
	}
	return 0, 0, 0
}

// runOf returns the end of the run of bytes satisfying ok that follows
// prefix at s[i], or i if s[i:] does not start with prefix and at least
// one such byte.
func runOf(s string, i int, prefix string, ok func(byte) bool) int {
	if !strings.HasPrefix(s[i:], prefix) {
		return i
	}
	j := i + len(prefix)
	for j < len(s) && ok(s[j]) {
		j++
	}
	if j == i+len(prefix) {
		return i
	}
	return j
}

func isLowerHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func (l *LogFS) placeholder(random, kind string, n *int) string {
	key := kind + random
	if p, ok := l.names[key]; ok {
		return p
	}
	*n++
	p := fmt.Sprintf("<%s%d>", kind, *n)
	l.names[key] = p
	return p
}

// add records "verb name [-> name2] [extra]", with " = error" appended
// when err is not nil.
func (l *LogFS) add(err error, verb string, names []string, extra string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	rel := make([]string, len(names))
	for i, n := range names {
		rel[i] = l.rel(n)
	}
	line := verb + " " + strings.Join(rel, " -> ")
	if extra != "" {
		line += " " + extra
	}
	if err != nil {
		line += " = error"
	}
	l.lines = append(l.lines, line)
}

// openFlags describes the flags of an OpenFile that writes.
func openFlags(flag int) string {
	var fl []string
	if flag&os.O_RDWR != 0 {
		fl = append(fl, "rdwr")
	} else if flag&os.O_WRONLY != 0 {
		fl = append(fl, "wronly")
	}
	if flag&os.O_CREATE != 0 && flag&os.O_EXCL == 0 {
		fl = append(fl, "create")
	}
	if flag&os.O_TRUNC != 0 {
		fl = append(fl, "trunc")
	}
	if flag&os.O_APPEND != 0 {
		fl = append(fl, "append")
	}
	return strings.Join(fl, ",")
}

// OpenFile opens name. Exclusive creation is recorded as "create name",
// other opens that may write as "open name flags".
func (l *LogFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := l.fs.OpenFile(name, flag, perm)
	writes := flag&(os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_RDWR) != 0
	switch {
	case flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL:
		l.add(err, "create", []string{name}, "")
	case writes:
		l.add(err, "open", []string{name}, openFlags(flag))
	}
	if err != nil {
		return nil, err
	}
	if !writes {
		return f, nil
	}
	return &logFile{l: l, f: f}, nil
}

// Rename renames oldname to newname: "rename old -> new".
func (l *LogFS) Rename(oldname, newname string) error {
	err := l.fs.Rename(oldname, newname)
	l.add(err, "rename", []string{oldname, newname}, "")
	return err
}

// Link links oldname as newname: "link old -> new".
func (l *LogFS) Link(oldname, newname string) error {
	err := l.fs.Link(oldname, newname)
	l.add(err, "link", []string{oldname, newname}, "")
	return err
}

// Remove removes name: "remove name".
func (l *LogFS) Remove(name string) error {
	err := l.fs.Remove(name)
	l.add(err, "remove", []string{name}, "")
	return err
}

// ReadDir lists dir; it is not recorded.
func (l *LogFS) ReadDir(dir string) ([]fs.DirEntry, error) { return l.fs.ReadDir(dir) }

// Stat stats name; it is not recorded.
func (l *LogFS) Stat(name string) (fs.FileInfo, error) { return l.fs.Stat(name) }

// SyncDir syncs dir: "syncdir dir".
func (l *LogFS) SyncDir(dir string) error {
	err := l.fs.SyncDir(dir)
	l.add(err, "syncdir", []string{dir}, "")
	return err
}

// logFile is a file opened for writing through a LogFS.
type logFile struct {
	l *LogFS
	f File
}

func (f *logFile) Name() string                            { return f.f.Name() }
func (f *logFile) Read(p []byte) (int, error)              { return f.f.Read(p) }
func (f *logFile) ReadAt(p []byte, off int64) (int, error) { return f.f.ReadAt(p, off) }
func (f *logFile) Stat() (fs.FileInfo, error)              { return f.f.Stat() }
func (f *logFile) TryLock() (bool, error)                  { return TryLock(f.f) }
func (f *logFile) Unlock() error                           { return Unlock(f.f) }

// Write writes p: "write name len(p)".
func (f *logFile) Write(p []byte) (int, error) {
	n, err := f.f.Write(p)
	f.l.add(err, "write", []string{f.Name()}, strconv.Itoa(len(p)))
	return n, err
}

// Sync syncs the file: "sync name".
// Truncate truncates the file: "truncate name size".
func (f *logFile) Truncate(size int64) error {
	err := f.f.Truncate(size)
	f.l.add(err, "truncate", []string{f.Name()}, fmt.Sprint(size))
	return err
}

func (f *logFile) Sync() error {
	err := f.f.Sync()
	f.l.add(err, "sync", []string{f.Name()}, "")
	return err
}

// Close closes the file: "close name".
func (f *logFile) Close() error {
	err := f.f.Close()
	f.l.add(err, "close", []string{f.Name()}, "")
	return err
}
