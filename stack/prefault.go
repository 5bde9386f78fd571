package stack

import (
	"runtime"
	"sync/atomic"
)

// Memory written ahead. A bulk transaction fills tens of megabytes of
// chunks, and the first write to each page of one costs a page fault,
// which on a virtual machine can cost more than the work the page holds
// (11-14 µs a 4 KiB page on the machine of docs/performance.md). Once a
// queue has taken prefaultAfter chunks, a goroutine makes the next ones
// ahead and writes to them, so that the faults are taken on another
// processor while this one fills the chunk before. The prepared changes,
// one slice, have the last three quarters of theirs written to while the
// first quarter fills (prefaultTail).

const (
	prefaultAfter = 16 // chunks a queue takes before they are made ahead
	prefaultAhead = 8  // chunks made ahead at most
)

// A chunkSource makes the chunks of a chunked or an idArray. Its zero
// value makes them when asked, until it has made prefaultAfter.
type chunkSource[T any] struct {
	made    int
	ready   chan []T // made ahead, each written to
	filling atomic.Bool
}

// next returns an empty chunk of capacity n, one made ahead if there is.
func (s *chunkSource[T]) next(n int) []T {
	s.made++
	if s.made < prefaultAfter || runtime.GOMAXPROCS(0) < 2 {
		return make([]T, 0, n)
	}
	if s.ready == nil {
		s.ready = make(chan []T, prefaultAhead)
	}
	if len(s.ready) <= prefaultAhead/2 && !s.filling.Swap(true) {
		// Only this goroutine sends, and only while there is room: it
		// never blocks, and ends once the channel is full.
		go func(ready chan []T) {
			defer s.filling.Store(false)
			for len(ready) < cap(ready) {
				c := make([]T, n)
				clear(c)
				ready <- c[:0]
			}
		}(s.ready)
	}
	select {
	case c := <-s.ready:
		if cap(c) == n {
			return c
		}
	default:
	}
	return make([]T, 0, n)
}

// prefaultMin is the fewest elements of a slice whose capacity
// prefaultTail writes to ahead.
const prefaultMin = 1 << 16

// prefaultTail writes, on another goroutine, to the last three quarters
// of the capacity of s, an empty slice about to be filled by appending,
// so that their page faults are taken on another processor while the
// first quarter fills here. The caller appends up to position at, then
// calls wait before it appends past it. A small s, or a single
// processor, gets at past its capacity: no wait.
func prefaultTail[T any](s []T) (at int, wait func()) {
	if cap(s) < prefaultMin || runtime.GOMAXPROCS(0) < 2 {
		return cap(s) + 1, func() {}
	}
	at = cap(s) / 4
	done := make(chan struct{})
	go func(tail []T) {
		clear(tail)
		close(done)
	}(s[at:cap(s)])
	return at, func() { <-done }
}
