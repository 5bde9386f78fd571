package objstore

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/stack/stacktest"
	"github.com/refstore/refstore/stack/storage"
)

// TestReloadWhileCompacted: a reader whose every attempt to open the
// tables of the list finds one removed by a compaction that published a
// new list meanwhile, on a store that takes a second to answer, keeps
// reading the list again and then loads the stack, however many tries
// and seconds that takes within the reload's bound. Before, it gave up
// after 3 tries and 3 seconds with "corrupt stack", for a stack that
// was never damaged; now "corrupt" is only a listed table missing while
// the list stays unchanged. A stack that changes for longer than the
// bound fails the reload without calling it corrupt.
func TestReloadWhileCompacted(t *testing.T) {
	for _, tc := range []struct {
		vanish int // how many of the reader's table opens find the table gone
	}{{vanish: 12}, {vanish: 1 << 20}} {
		synctest.Test(t, func(t *testing.T) {
			m := NewMem()
			opts := stack.Options{DisableAutoCompaction: true}
			w := openMem(t, m, opts)
			r := openMem(t, m, opts)
			n := 0
			set := func(name string) {
				n++
				if err := stacktest.Set(w, name, n, nil); err != nil {
					t.Fatal(err)
				}
			}
			set("refs/heads/main")
			if _, err := r.Ref(ctx, "refs/heads/main"); err != nil {
				t.Fatal(err)
			}
			set("refs/heads/next")
			vanished, inWriter := 0, false
			m.SetHook(func(op Op, key string, _ int, apply func() error) error {
				if op != OpReadAt || inWriter || vanished == tc.vanish {
					return apply()
				}
				vanished++
				time.Sleep(time.Second)
				inWriter = true
				set(fmt.Sprintf("refs/heads/b%d", vanished))
				if err := w.CompactAll(ctx, nil); err != nil {
					t.Error(err)
				}
				inWriter = false
				return apply()
			})
			got, err := r.Ref(ctx, "refs/heads/next")
			m.SetHook(nil)
			if tc.vanish < 1000 {
				if err != nil || string(got.ID) != string(stacktest.OID(2)) {
					t.Errorf("after %d vanished tables: %x, %v", vanished, got.ID, err)
				}
				return
			}
			if err == nil || errors.Is(err, stack.ErrCorrupt) {
				t.Errorf("tables vanishing for %d tries: %v, want an error that does not call the stack corrupt", vanished, err)
			}
		})
	}
}

// TestMissingTableIsCorrupt: a listed table that is missing while the
// list stays unchanged is damage: opening the stack, and a commit and a
// compaction of a stack that opened the table before it went missing,
// each say corrupt at once, instead of taking it
// for a concurrent compaction and retrying until they give up ("tables.list
// changed concurrently ... gave up after 50 attempts", 10 seconds on).
func TestMissingTableIsCorrupt(t *testing.T) {
	m := NewMem()
	st := openMem(t, m, stack.Options{DisableAutoCompaction: true})
	for i := range 3 {
		// Tables too large to be read whole when opened.
		tx := st.NewTransaction(stack.Identity{Name: "A", Email: "a@example.com", Time: time.Unix(1700000000, 0)}, stack.ReflogNever)
		for j := range 1000 {
			tx.Add(stack.Update{Ref: stack.Ref{Name: fmt.Sprintf("refs/heads/b%d/%04d", i, j), ID: stacktest.OID(j)}})
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	nb, err := NewBackend(t.Context(), m, Options{Prefix: "repo/", CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	st, err = stack.OpenBackend(ctx, nb, "uncached", stack.Options{DisableAutoCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	names := tableKeys(t, m, "repo/tables.list")
	if err := m.Delete(t.Context(), "repo/"+names[1]); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := stack.OpenBackend(ctx, backend(t, m), "again", stack.Options{}); !errors.Is(err, stack.ErrCorrupt) {
		t.Errorf("open: %v, want ErrCorrupt", err)
	}
	for what, f := range map[string]func() error{
		"commit":     func() error { return stacktest.Set(st, "refs/heads/b1/0500", 9, nil) },
		"compaction": func() error { return st.CompactAll(ctx, nil) },
	} {
		if err := f(); !errors.Is(err, stack.ErrCorrupt) || errors.Is(err, stack.ErrConflict) {
			t.Errorf("%s: %v, want ErrCorrupt", what, err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v to call the stack corrupt", d)
	}
}

// backend returns a backend on the stack under repo/ of m.
func backend(t *testing.T, m *Mem) storage.Backend {
	b, err := NewBackend(t.Context(), m, Options{Prefix: "repo/", AllowUnsafe: true})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
