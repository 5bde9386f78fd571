package objstore

import (
	"errors"
	"io"
	"sync"
	"testing"
)

func TestMemConditions(t *testing.T) {
	ctx := t.Context()
	m := NewMem()
	if _, _, err := m.Get(ctx, "k", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing key: %v", err)
	}
	e1, err := m.Put(ctx, "k", []byte("a"), Cond{IfNoneMatch: true})
	if err != nil {
		t.Fatal(err)
	}
	e2, err := m.Put(ctx, "k", []byte("a"), Cond{IfMatch: e1})
	if err != nil || e2 == e1 {
		t.Fatalf("rewrite: etag %s after %s, %v", e2, e1, err)
	}
	if _, err := m.Put(ctx, "k", []byte("b"), Cond{IfMatch: e1}); !errors.Is(err, ErrPrecondition) {
		t.Errorf("stale If-Match: %v", err)
	}
	if _, _, err := m.Get(ctx, "k", e2); !errors.Is(err, ErrNotModified) {
		t.Errorf("Get with the current etag: %v", err)
	}
	p := make([]byte, 2)
	if n, err := m.ReadAt(ctx, "k", p, 0); n != 1 || err != io.EOF {
		t.Errorf("ReadAt past the end: %d, %v", n, err)
	}
	m.ContentETags = true
	e3, _ := m.Put(ctx, "k", []byte("a"), Cond{})
	e4, _ := m.Put(ctx, "k", []byte("a"), Cond{})
	if e3 != e4 {
		t.Errorf("content etags differ for equal content: %s %s", e3, e4)
	}
}

// TestMemRace: of many concurrent create-only writes of one key exactly
// one wins, and of many If-Match writes against one etag exactly one.
func TestMemRace(t *testing.T) {
	ctx := t.Context()
	m := NewMem()
	count := func(cond func() Cond) int {
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for range 16 {
			wg.Go(func() {
				if _, err := m.Put(ctx, "k", []byte("x"), cond()); err == nil {
					mu.Lock()
					won++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return won
	}
	if n := count(func() Cond { return Cond{IfNoneMatch: true} }); n != 1 {
		t.Errorf("%d create-only writes won", n)
	}
	_, etag, _ := m.Head(ctx, "k")
	if n := count(func() Cond { return Cond{IfMatch: etag} }); n != 1 {
		t.Errorf("%d If-Match writes won", n)
	}
}

// TestMemHook: a hook fails a call without effect, loses a reply after
// the effect, and makes a conditional write lose a race.
func TestMemHook(t *testing.T) {
	ctx := t.Context()
	m := NewMem()
	boom := errors.New("boom")
	m.SetHook(func(op Op, key string, n int, apply func() error) error {
		switch {
		case op == OpPut && n == 1:
			return boom
		case op == OpPut && n == 2:
			apply()
			return boom
		case op == OpPut && n == 3:
			m.SetHook(nil)
			m.Put(ctx, key, []byte("rival"), Cond{})
			return apply()
		}
		return apply()
	})
	if _, err := m.Put(ctx, "a", []byte("1"), Cond{}); err != boom {
		t.Fatal(err)
	}
	if _, _, err := m.Head(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("failed put took effect: %v", err)
	}
	if _, err := m.Put(ctx, "b", []byte("1"), Cond{}); err != boom {
		t.Fatal(err)
	}
	if _, _, err := m.Head(ctx, "b"); err != nil {
		t.Errorf("put with a lost reply took no effect: %v", err)
	}
	if _, err := m.Put(ctx, "c", []byte("1"), Cond{IfNoneMatch: true}); !errors.Is(err, ErrPrecondition) {
		t.Errorf("put that lost a race: %v", err)
	}
}
