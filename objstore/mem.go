package objstore

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Op names a Store operation, for fault injection in a Mem store.
type Op string

// The operations of a Store.
const (
	OpGet    Op = "get"
	OpReadAt Op = "readat"
	OpHead   Op = "head"
	OpPut    Op = "put"
	OpDelete Op = "delete"
	OpList   Op = "list"
)

// Hook wraps every operation of a Mem store: apply performs the operation
// (atomically, with its condition) and may be called at most once. A hook
// can fail an operation without effect (return an error without calling
// apply), lose its reply (call apply, then return an error), delay it
// (sleep first), or make it lose a race (write the key through the store,
// then call apply). n counts calls of op, from 1.
type Hook func(op Op, key string, n int, apply func() error) error

// Mem is an in-memory Store with real conditional semantics: a failed
// If-None-Match or If-Match is ErrPrecondition, a Get with the current
// ETag is ErrNotModified, and every write gives the object a new ETag
// (unless ContentETags is set). It is safe for concurrent use.
type Mem struct {
	// ContentETags makes ETags depend on content only (as S3's MD5 ETags
	// of single-part uploads): rewriting the same bytes keeps the ETag.
	// Set it before use.
	ContentETags bool

	// NonAtomic makes a conditional Put check its condition and write
	// in two steps with a yield between, as a naive gateway does (a
	// HEAD, then a plain PUT): of concurrent conditional writes of one
	// key several may then succeed. It is for tests that such a store
	// is refused (RaceProbe) and what it does to commits. Set it before
	// use.
	NonAtomic bool

	mu    sync.Mutex
	objs  map[string]memObject
	seq   uint64
	calls map[Op]int
	hook  Hook
	now   func() time.Time
}

type memObject struct {
	data    []byte
	etag    string
	modTime time.Time
}

// NewMem returns an empty in-memory store.
func NewMem() *Mem {
	return &Mem{objs: map[string]memObject{}, calls: map[Op]int{}, now: time.Now}
}

// SetHook installs h around every later operation (nil removes it) and
// resets the call counts.
func (m *Mem) SetHook(h Hook) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hook = h
	clear(m.calls)
}

// SetClock makes now the source of objects' modification times.
func (m *Mem) SetClock(now func() time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = now
}

// Calls returns how many times op was called since the last SetHook.
func (m *Mem) Calls(op Op) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls[op]
}

// do runs apply through the hook.
func (m *Mem) do(ctx context.Context, op Op, key string, apply func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	m.calls[op]++
	n, h := m.calls[op], m.hook
	m.mu.Unlock()
	if h == nil {
		return apply()
	}
	applied := false
	return h(op, key, n, func() error {
		if applied {
			return fmt.Errorf("objstore: hook applied %s %s twice", op, key)
		}
		applied = true
		return apply()
	})
}

func notFound(op Op, key string) error {
	return fmt.Errorf("%s %s: %w", op, key, ErrNotFound)
}

// Get implements Store.
func (m *Mem) Get(ctx context.Context, key, ifNoneMatch string) (data []byte, etag string, err error) {
	err = m.do(ctx, OpGet, key, func() error {
		m.mu.Lock()
		defer m.mu.Unlock()
		o, ok := m.objs[key]
		switch {
		case !ok:
			return notFound(OpGet, key)
		case ifNoneMatch != "" && ifNoneMatch == o.etag:
			return fmt.Errorf("get %s: %w", key, ErrNotModified)
		}
		data, etag = slices.Clone(o.data), o.etag
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return data, etag, nil
}

// ReadAt implements Store.
func (m *Mem) ReadAt(ctx context.Context, key string, p []byte, off int64) (n int, err error) {
	err = m.do(ctx, OpReadAt, key, func() error {
		m.mu.Lock()
		defer m.mu.Unlock()
		o, ok := m.objs[key]
		if !ok {
			return notFound(OpReadAt, key)
		}
		if off < 0 {
			return fmt.Errorf("readat %s: negative offset %d", key, off)
		}
		if off >= int64(len(o.data)) {
			return io.EOF
		}
		n = copy(p, o.data[off:])
		if n < len(p) {
			return io.EOF
		}
		return nil
	})
	return n, err
}

// ReadHead implements HeadReader; it counts as a ranged read (OpReadAt).
func (m *Mem) ReadHead(ctx context.Context, key string, p []byte) (n int, size int64, etag string, err error) {
	err = m.do(ctx, OpReadAt, key, func() error {
		m.mu.Lock()
		defer m.mu.Unlock()
		o, ok := m.objs[key]
		if !ok {
			return notFound(OpReadAt, key)
		}
		n, size, etag = copy(p, o.data), int64(len(o.data)), o.etag
		return nil
	})
	return n, size, etag, err
}

// Head implements Store.
func (m *Mem) Head(ctx context.Context, key string) (size int64, etag string, err error) {
	err = m.do(ctx, OpHead, key, func() error {
		m.mu.Lock()
		defer m.mu.Unlock()
		o, ok := m.objs[key]
		if !ok {
			return notFound(OpHead, key)
		}
		size, etag = int64(len(o.data)), o.etag
		return nil
	})
	return size, etag, err
}

// Put implements Store.
func (m *Mem) Put(ctx context.Context, key string, data []byte, cond Cond) (etag string, err error) {
	data = slices.Clone(data)
	err = m.do(ctx, OpPut, key, func() error {
		m.mu.Lock()
		defer m.mu.Unlock()
		o, ok := m.objs[key]
		switch {
		case cond.IfNoneMatch && ok:
			return fmt.Errorf("put %s: If-None-Match: *: %w", key, ErrPrecondition)
		case cond.IfMatch != "" && (!ok || o.etag != cond.IfMatch):
			return fmt.Errorf("put %s: If-Match: %s: %w", key, cond.IfMatch, ErrPrecondition)
		}
		if m.NonAtomic && (cond.IfNoneMatch || cond.IfMatch != "") {
			// Checked; now write without the condition, after others
			// had their turn.
			m.mu.Unlock()
			runtime.Gosched()
			time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
			m.mu.Lock()
		}
		m.seq++
		sum := md5.Sum(data)
		etag = `"` + hex.EncodeToString(sum[:]) + `"`
		if !m.ContentETags {
			etag = fmt.Sprintf(`"%d-%s"`, m.seq, hex.EncodeToString(sum[:4]))
		}
		m.objs[key] = memObject{data: data, etag: etag, modTime: m.now()}
		return nil
	})
	if err != nil {
		return "", err
	}
	return etag, nil
}

// Delete implements Store.
func (m *Mem) Delete(ctx context.Context, key string) error {
	return m.do(ctx, OpDelete, key, func() error {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.objs, key)
		return nil
	})
}

// List implements Store; objects come in key order.
func (m *Mem) List(ctx context.Context, prefix string) (objs []Object, err error) {
	err = m.do(ctx, OpList, prefix, func() error {
		m.mu.Lock()
		defer m.mu.Unlock()
		for k, o := range m.objs {
			if strings.HasPrefix(k, prefix) {
				objs = append(objs, Object{Key: k, Size: int64(len(o.data)), ETag: o.etag, ModTime: o.modTime})
			}
		}
		return nil
	})
	slices.SortFunc(objs, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
	return objs, err
}
