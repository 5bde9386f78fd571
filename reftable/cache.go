package reftable

import (
	"maps"
	"sync"
	"sync/atomic"
)

// maxCachedIndex is how many bytes of index blocks one table keeps in
// memory. Lookups descend through the same few index blocks every time;
// with 4 KiB blocks the index of a table of a million refs takes about a
// quarter of this, and a table with a larger index caches its upper
// levels and reads the rest.
const maxCachedIndex = 1 << 20

// indexCache holds the index blocks of a table that lookups have read,
// parsed, so that a lookup reads only the block holding its record, and
// the type of the blocks where index levels end (entries without data).
// It is safe for concurrent use: readers load an immutable map, writers
// copy it.
type indexCache struct {
	blocks atomic.Pointer[map[int64]*block]
	mu     sync.Mutex // serializes additions
	bytes  int
}

// get returns the cached block at off, or nil.
func (c *indexCache) get(off int64) *block {
	if m := c.blocks.Load(); m != nil {
		return (*m)[off]
	}
	return nil
}

// add caches a copy of index block b, within the size budget.
func (c *indexCache) add(b *block) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bytes+len(b.data)+64 > maxCachedIndex {
		return
	}
	var m map[int64]*block
	if old := c.blocks.Load(); old != nil {
		if _, ok := (*old)[b.off]; ok {
			return
		}
		m = maps.Clone(*old)
	} else {
		m = map[int64]*block{}
	}
	nb := *b
	nb.data = clone(b.data)
	m[b.off] = &nb
	c.bytes += len(nb.data) + 64
	c.blocks.Store(&m)
}
