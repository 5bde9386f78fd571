package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/stack/storage"
)

// Options configures a Backend. The zero value is usable.
type Options struct {
	// Prefix is prepended to every key: "repo/reftable/" keeps the stack
	// under that prefix. It should end with "/" (or be empty).
	Prefix string

	// AllowUnsafe skips the probe that NewBackend otherwise runs (see
	// ProbeCached). Only for stores known to honour conditional writes,
	// or for a backend that only reads: on a store that ignores them,
	// concurrent commits silently lose each other.
	AllowUnsafe bool

	// BlockSize is the size of the ranged reads of tables and of the
	// cache's blocks; 0 means 64 KiB.
	BlockSize int

	// CacheSize bounds the bytes the block cache holds; 0 means 32 MiB,
	// a negative value disables the cache.
	CacheSize int64

	// ConfirmCommits makes every commit read the list back after its
	// swap, one request more, so that a commit another writer overwrote
	// (on a store that stopped honouring conditional writes after it
	// passed the probe) fails with stack.ErrLostCommit before it reports
	// success. Without it a commit that only added its table adopts the
	// list it published, and such a loss is reported by the next
	// operation that loads another list (see "Consistency" in the
	// package documentation): a program that commits once and exits,
	// as the reftable command does, wants it.
	ConfirmCommits bool
}

func (o Options) withDefaults() Options {
	if o.BlockSize <= 0 {
		o.BlockSize = 64 << 10
	}
	if o.CacheSize == 0 {
		o.CacheSize = 32 << 20
	}
	return o
}

const listName = "tables.list"

// Backend is a storage.Backend on a Store: open a stack on it with
// stack.OpenBackend. Like every storage.Backend it serves one Stack at a
// time; several Backends, in one process or many, may share a store.
//
// Its methods make their requests under the context they are given.
// Reads of an open table go through io.ReaderAt, which takes none: they
// run under the backend's own context, which Close cancels, and each is
// bounded by what the Store bounds a request by (its client's timeouts).
type Backend struct {
	s     Store
	opts  Options
	cache *blockCache
	// life is the context of the reads of open tables (see above) and of
	// StoreUnsafe's request; Close cancels it.
	life context.Context
	stop context.CancelFunc

	mu      sync.Mutex   // guards the fields below
	etag    string       // version of the list the stack loaded (see ReadList, commit.Adopt); "" when there was none
	pending *listVersion // the list ListChanged found, for the next ReadList
	// known is the newest version of the list this backend read or
	// wrote, for Begin's conditional GET; nil when it knows none.
	known *listVersion
	// fresh is when ReadList or ListChanged last read the list from the
	// store, for BeginFresh; zero once a commit began after it.
	fresh time.Time
}

// freshList is how long after reading the list BeginFresh begins a commit
// on it without reading it again. The age of a commit's base costs at
// most a lost swap, never a commit (Publish is conditional); within this
// the list is about as likely to change as between a Begin's read and
// the swap it precedes.
var freshList = time.Second

// listVersion is a version of the list: one ListChanged found, handed
// to the next ReadList, or the newest one known (Backend.known).
type listVersion struct {
	data  []byte
	names []string // parsed, for known
	etag  string
}

// NewBackend returns a backend storing a stack in s under opts.Prefix.
// Unless opts.AllowUnsafe is set it first checks the store with
// ProbeCached (Probe and RaceProbe, or the marker of a probe passed
// within ProbeTTL) and refuses a store that fails. While it reads the
// marker it also reads the list, which the stack opened on the backend
// then loads (ReadList) without another request: the open waits for one
// round trip instead of two. ctx bounds these requests only.
func NewBackend(ctx context.Context, s Store, opts Options) (*Backend, error) {
	opts = opts.withDefaults()
	life, stop := context.WithCancel(context.Background())
	b := &Backend{s: s, opts: opts, cache: newBlockCache(opts.CacheSize), life: life, stop: stop}
	if opts.AllowUnsafe {
		return b, nil
	}
	var (
		list listVersion
		read time.Time // when the list was read; zero if it was not
		wg   sync.WaitGroup
	)
	wg.Go(func() {
		data, etag, err := s.Get(ctx, b.key(listName), "")
		if errors.Is(err, ErrNotFound) {
			data, etag, err = nil, "", nil
		}
		if names, perr := storage.ParseList(data); err == nil && perr == nil {
			list, read = listVersion{data: data, names: names, etag: etag}, time.Now()
		}
	})
	err := ProbeCached(ctx, s, opts.Prefix)
	wg.Wait()
	if err != nil {
		stop()
		return nil, err
	}
	// A list read before a probe that took long (there was no marker:
	// the store was checked) is dropped: the stack reads a newer one.
	if !read.IsZero() && time.Since(read) < freshList {
		b.pending, b.fresh = &list, read
		b.knowLocked(list.names, list.etag)
	}
	return b, nil
}

// StoreUnsafe implements storage.UnsafeStoreReporter: a commit found its
// published list overwritten by a writer that had not seen it, which a
// store honouring If-Match never allows. The marker of a passed probe is
// removed, so that the next backend on the prefix probes the store
// again (and refuses it, if it fails).
func (b *Backend) StoreUnsafe(error) {
	b.s.Delete(b.life, b.key(ProbeMarker))
}

func (b *Backend) key(name string) string { return b.opts.Prefix + name }

// getList reads the list; a missing list is an empty one with no ETag.
func (b *Backend) getList(ctx context.Context, ifNoneMatch string) ([]string, string, error) {
	data, etag, err := b.s.Get(ctx, b.key(listName), ifNoneMatch)
	if errors.Is(err, ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	names, err := storage.ParseList(data)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %v: %w", b.key(listName), err, stack.ErrCorrupt)
	}
	return names, etag, nil
}

// ReadList implements storage.Backend: it reads tables.list and remembers
// its ETag.
func (b *Backend) ReadList(ctx context.Context) ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p := b.pending; p != nil {
		b.pending = nil
		names, err := storage.ParseList(p.data)
		if err != nil {
			return nil, fmt.Errorf("%s: %v: %w", b.key(listName), err, stack.ErrCorrupt)
		}
		b.etag = p.etag
		b.knowLocked(names, p.etag)
		return names, nil
	}
	names, etag, err := b.getList(ctx, "")
	if err != nil {
		return nil, err
	}
	b.etag = etag
	b.knowLocked(names, etag)
	b.fresh = time.Now()
	return names, nil
}

// knowLocked records names, of ETag etag, as the newest version of the
// list known. b.mu is held.
func (b *Backend) knowLocked(names []string, etag string) {
	if etag == "" {
		b.known = nil // no list, or a store that gives no ETags
		return
	}
	b.known = &listVersion{names: slices.Clone(names), etag: etag}
}

// ListChanged implements storage.Backend with a conditional GET: "not
// modified" means unchanged; a changed list is kept for the next
// ReadList.
func (b *Backend) ListChanged(ctx context.Context) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = nil
	data, etag, err := b.s.Get(ctx, b.key(listName), b.etag)
	switch {
	case errors.Is(err, ErrNotModified):
		if b.known != nil && b.known.etag == b.etag {
			b.fresh = time.Now()
		}
		return false, nil
	case errors.Is(err, ErrNotFound):
		return b.etag != "", nil
	case err != nil:
		return false, err
	case etag == b.etag:
		return false, nil // a store that ignores If-None-Match on reads
	}
	b.pending = &listVersion{data: data, etag: etag}
	if names, err := storage.ParseList(data); err == nil {
		b.knowLocked(names, etag)
		b.fresh = time.Now()
	}
	return true, nil
}

// OpenTable implements storage.Backend: a HEAD for the size, then ranged
// reads through the block cache, under the backend's own context (see
// Backend). On a HeadReader the first block's read brings the size, in
// one request. A missing table matches fs.ErrNotExist.
func (b *Backend) OpenTable(ctx context.Context, name string) (storage.TableFile, error) {
	key := b.key(name)
	if hr, ok := b.s.(HeadReader); ok {
		blk := make([]byte, b.opts.BlockSize)
		n, size, etag, err := hr.ReadHead(ctx, key, blk)
		if err != nil {
			return nil, err
		}
		t := &table{b: b, name: name, key: key, id: key + "\x00" + etag, size: size}
		if int64(n) == min(int64(len(blk)), size) {
			if n < len(blk)/2 {
				blk = bytes.Clone(blk[:n])
			}
			b.cache.put(t.id, 0, blk[:n])
		}
		return t, nil
	}
	size, etag, err := b.s.Head(ctx, key)
	if err != nil {
		return nil, err
	}
	return &table{b: b, name: name, key: key, id: key + "\x00" + etag, size: size}, nil
}

// Begin implements storage.Backend: it reads the list and its ETag, with
// a conditional GET when the backend knows a version of the list (the
// one it last read or published): "not modified" means that version is
// current, and its names are used. There is no lock to wait for; timeout
// is ignored.
func (b *Backend) Begin(ctx context.Context, _ time.Duration) (storage.Commit, error) {
	b.mu.Lock()
	b.pending = nil // a later ReadList must see at least this list
	b.fresh = time.Time{}
	known := b.known
	b.mu.Unlock()
	var names []string
	var etag string
	var err error
	if known != nil {
		names, etag, err = b.getList(ctx, known.etag)
		if errors.Is(err, ErrNotModified) {
			names, etag, err = slices.Clone(known.names), known.etag, nil
		}
	} else {
		names, etag, err = b.getList(ctx, "")
	}
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.known == known {
		b.knowLocked(names, etag)
	}
	b.mu.Unlock()
	return &commit{b: b, names: names, etag: etag}, nil
}

// BeginFresh implements storage.FreshBeginner: a commit on the list
// ReadList or ListChanged read less than freshList ago, when no commit
// began since, takes that version as its base without a request; else it
// is Begin. A process that opens a stack and commits once so reads the
// list once.
func (b *Backend) BeginFresh(ctx context.Context, timeout time.Duration) (storage.Commit, error) {
	b.mu.Lock()
	known, fresh := b.known, b.fresh
	if known != nil && !fresh.IsZero() && time.Since(fresh) < freshList {
		b.pending, b.fresh = nil, time.Time{}
		b.mu.Unlock()
		return &commit{b: b, names: slices.Clone(known.names), etag: known.etag}, nil
	}
	b.mu.Unlock()
	return b.Begin(ctx, timeout)
}

// commit is a compare-and-swap of the list in progress.
type commit struct {
	b     *Backend
	names []string
	etag  string
	done  bool
	// published is the version of the list Publish wrote (nil before),
	// for Adopt.
	published *listVersion
}

// Adopt implements storage.ListAdopter: the list the commit published,
// with the ETag the store returned for it, becomes the version
// ListChanged compares with, as if ReadList had read it back. It reports
// false when there is none (no Publish, or a store that returned no
// ETag); the stack then reloads.
func (c *commit) Adopt() bool {
	p := c.published
	if p == nil || c.b.opts.ConfirmCommits {
		return false
	}
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	b.etag, b.pending = p.etag, nil
	return true
}

func (c *commit) Names() []string { return c.names }

func (c *commit) Release() error {
	c.done = true
	return nil
}

// Publish writes the list with If-Match (If-None-Match: * for the first
// list): the commit point. A failed condition is stack.ErrConflict. When
// the write fails otherwise (a lost reply, say), the list is read back:
// if it names one of the tables this commit adds, the commit happened
// (*stack.CommittedError); otherwise its outcome is unknown
// (stack.ErrCommitUncertain) and the tables it names must be kept. A
// request whose reply was lost may still be applied after the read-back
// (see the package documentation), and a list that no longer names the
// commit's tables may have named them in between.
func (c *commit) Publish(ctx context.Context, names []string) error {
	if c.done {
		return stack.ErrClosed
	}
	c.done = true
	b := c.b
	cond := Cond{IfMatch: c.etag}
	if c.etag == "" {
		cond = Cond{IfNoneMatch: true}
	}
	etag, err := b.s.Put(ctx, b.key(listName), storage.FormatList(names), cond)
	if err == nil {
		if etag != "" {
			c.published = &listVersion{names: slices.Clone(names), etag: etag}
			b.mu.Lock()
			b.knowLocked(names, etag)
			b.mu.Unlock()
		}
		return nil
	}
	if errors.Is(err, ErrPrecondition) {
		return fmt.Errorf("publish %s: %w: %w", b.key(listName), stack.ErrConflict, err)
	}
	added := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return slices.Contains(c.names, n) })
	now, _, rerr := b.getList(ctx, "")
	if rerr != nil {
		return fmt.Errorf("publish %s: %w (%w; reading it back: %w)", b.key(listName), stack.ErrCommitUncertain, err, rerr)
	}
	if slices.Equal(now, names) && !slices.Equal(now, c.names) || slices.ContainsFunc(added, func(n string) bool { return slices.Contains(now, n) }) {
		return &stack.CommittedError{Err: fmt.Errorf("publish %s: %w", b.key(listName), err)}
	}
	return fmt.Errorf("publish %s: %w (%w; the list read back does not name the new tables)", b.key(listName), stack.ErrCommitUncertain, err)
}

// CreateTable implements storage.Backend: the table is built in memory and
// stored with If-None-Match: *, under a fresh random name (a taken name
// is retried with another).
func (b *Backend) CreateTable(ctx context.Context, write func(io.Writer) (min, max uint64, keep bool, err error)) (string, error) {
	name, _, err := b.createTable(ctx, write)
	return name, err
}

// createTable builds a table in memory and stores it with
// If-None-Match: * under a fresh random name, returning its name and the
// ETag the store gave it ("" for a table discarded).
func (b *Backend) createTable(ctx context.Context, write func(io.Writer) (min, max uint64, keep bool, err error)) (string, string, error) {
	var buf bytes.Buffer
	min, max, keep, err := write(&buf)
	if err != nil || !keep {
		return "", "", err
	}
	for range 10 {
		name := storage.TableName(min, max)
		etag, err := b.s.Put(ctx, b.key(name), buf.Bytes(), Cond{IfNoneMatch: true})
		if errors.Is(err, ErrPrecondition) {
			continue
		}
		if err != nil {
			// The write may have happened: remove it, best effort; a
			// later Clean removes it otherwise.
			b.s.Delete(context.WithoutCancel(ctx), b.key(name))
			return "", "", fmt.Errorf("write table %s: %w", b.key(name), err)
		}
		return name, etag, nil
	}
	return "", "", fmt.Errorf("write table in %s: no unused name for update indexes %d..%d", b.opts.Prefix, min, max)
}

// StageTable implements storage.Backend: the table is stored as by
// CreateTable, under its final name, which no reader looks at until a
// list names it (and which Clean keeps while the run of tables it
// replaces is listed). Place checks, under the commit that lists it,
// that it is still there, unchanged, and no older than MaxPublishDelay.
func (b *Backend) StageTable(ctx context.Context, write func(io.Writer) (min, max uint64, keep bool, err error)) (storage.StagedTable, error) {
	start := time.Now()
	name, etag, err := b.createTable(ctx, write)
	if name == "" || err != nil {
		return nil, err
	}
	return &staged{b: b, name: name, etag: etag, start: start}, nil
}

// MaxPublishDelay is the longest a compaction takes from starting to
// upload its table to checking it before the swap (StagedTable.Place): a
// compaction that took longer abandons the table. The current Clean does
// not depend on it (it keeps a compaction's table for as long as the run
// it replaces is listed; see the package documentation); it guards
// against a Clean of an earlier version, which removed unlisted tables by
// age alone.
const MaxPublishDelay = 10 * time.Minute

// staged is a table stored for a compaction, not yet listed.
type staged struct {
	b     *Backend
	name  string
	etag  string
	start time.Time
}

// Place checks that the table is still stored with the ETag its upload
// returned, and that publishing it now stays within MaxPublishDelay.
func (t *staged) Place(ctx context.Context) (string, error) {
	if d := time.Since(t.start); d > MaxPublishDelay {
		return "", fmt.Errorf("table %s: uploaded %v ago, longer than a writer may take to publish it: %w",
			t.b.key(t.name), d.Round(time.Second), fs.ErrNotExist)
	}
	_, etag, err := t.b.s.Head(ctx, t.b.key(t.name))
	if err == nil && t.etag != "" && etag != t.etag {
		err = fmt.Errorf("ETag %s, the upload returned %s: %w", etag, t.etag, fs.ErrNotExist)
	}
	if err != nil {
		return "", fmt.Errorf("table %s: stored but gone before it was listed: %w", t.b.key(t.name), err)
	}
	return t.name, nil
}

// Discard deletes the table.
func (t *staged) Discard(ctx context.Context) error { return t.b.RemoveTable(ctx, t.name) }

// LockTables implements storage.Backend: it locks nothing and reports every
// table locked. Concurrent compactions of the same tables are resolved at
// Publish: the later one finds its tables gone and is abandoned.
func (b *Backend) LockTables(_ context.Context, names []string) (int, func(), error) {
	return len(names), func() {}, nil
}

// NoTableLocks tells Stack.Clean that LockTables locks nothing, so
// unlisted tables are judged by what can still publish them.
func (b *Backend) NoTableLocks() {}

// RemoveTable implements storage.Backend with a DELETE.
func (b *Backend) RemoveTable(ctx context.Context, name string) error {
	if err := b.s.Delete(ctx, b.key(name)); err != nil {
		return fmt.Errorf("remove %s: %w", b.key(name), err)
	}
	return nil
}

// ListFiles implements storage.Backend: the objects directly under the
// prefix but for the probe's marker.
func (b *Backend) ListFiles(ctx context.Context) ([]storage.FileInfo, error) {
	objs, err := b.s.List(ctx, b.opts.Prefix)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", b.opts.Prefix, err)
	}
	var out []storage.FileInfo
	for _, o := range objs {
		name := strings.TrimPrefix(o.Key, b.opts.Prefix)
		if name == "" || strings.Contains(name, "/") || name == ProbeMarker {
			continue
		}
		out = append(out, storage.FileInfo{Name: name, Size: o.Size, ModTime: o.ModTime})
	}
	return out, nil
}

// Close implements storage.Backend; it drops the block cache and cancels
// the reads of tables still open.
func (b *Backend) Close() error {
	b.stop()
	b.cache.clear()
	return nil
}

// table is an open table: its reads go through the block cache.
type table struct {
	b    *Backend
	name string
	key  string
	id   string // cache key: object key and ETag
	size int64
}

func (t *table) Size() int64  { return t.size }
func (t *table) Close() error { return nil }

// ReadAt reads whole blocks through the cache.
func (t *table) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read %s: negative offset %d", t.key, off)
	}
	bs := int64(t.b.opts.BlockSize)
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= t.size {
			return n, io.EOF
		}
		start := pos / bs * bs
		blk, err := t.block(start, min(bs, t.size-start))
		if err != nil {
			// A *reftable.IOError tells the table reader that the store
			// failed (the table vanished, say), not the bytes, even where
			// it reads through a decompressor.
			return n, &reftable.IOError{Table: t.name, Offset: pos, Err: err}
		}
		n += copy(p[n:], blk[pos-start:])
	}
	return n, nil
}

func (t *table) block(start, size int64) ([]byte, error) {
	if blk := t.b.cache.get(t.id, start); blk != nil {
		return blk, nil
	}
	blk := make([]byte, size)
	n, err := t.b.s.ReadAt(t.b.life, t.key, blk, start)
	if n == len(blk) && errors.Is(err, io.EOF) {
		err = nil
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // shorter than its HEAD said
		}
		return nil, fmt.Errorf("read %s at %d: %w", t.key, start, err)
	}
	t.b.cache.put(t.id, start, blk)
	return blk, nil
}

// blockCache holds recently read blocks of immutable tables, keyed by
// object key, ETag and offset. It is safe for concurrent use.
type blockCache struct {
	mu    sync.Mutex
	limit int64
	size  int64
	tick  uint64
	m     map[blockKey]*cached
}

type blockKey struct {
	id  string
	off int64
}

type cached struct {
	data []byte
	used uint64
}

func newBlockCache(limit int64) *blockCache {
	return &blockCache{limit: limit, m: map[blockKey]*cached{}}
}

func (c *blockCache) get(id string, off int64) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[blockKey{id, off}]
	if e == nil {
		return nil
	}
	c.tick++
	e.used = c.tick
	return e.data
}

func (c *blockCache) put(id string, off int64, data []byte) {
	if int64(len(data)) > c.limit {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := blockKey{id, off}
	if _, ok := c.m[k]; ok {
		return
	}
	for c.size+int64(len(data)) > c.limit {
		c.evictLocked()
	}
	c.tick++
	c.m[k] = &cached{data: data, used: c.tick}
	c.size += int64(len(data))
}

// evictLocked drops the least recently used of a sample of blocks.
func (c *blockCache) evictLocked() {
	var victim blockKey
	var oldest *cached
	i := 0
	for k, e := range c.m { // map order is random: a random sample
		if oldest == nil || e.used < oldest.used {
			victim, oldest = k, e
		}
		if i++; i == 8 {
			break
		}
	}
	c.size -= int64(len(oldest.data))
	delete(c.m, victim)
}

func (c *blockCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
	c.size = 0
}
