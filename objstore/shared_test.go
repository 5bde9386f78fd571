package objstore

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refstore/refstore/stack"
)

// commitRef commits name = oid(i) through st, with a reflog entry.
func commitRef(st *stack.Stack, name string, i int) error {
	tx := st.NewTransaction(stack.Identity{Name: "T", Email: "t@example.com", Time: time.Unix(1700000000, 0)}, stack.ReflogNormal)
	tx.Add(stack.Update{Ref: stack.Ref{Name: name, ID: oid(i)}, Message: "shared"})
	return tx.Commit(ctx)
}

// TestSharedStackBeginOverlapsCommit: two goroutines commit through one
// Stack, and one's Begin reads the list just before the other's commit
// publishes and adopts a newer one. Loading the older list afterwards
// took the stack back past the other commit, and the check for lost
// commits read that as an overwrite: the commit failed with
// ErrLostCommit ("the store does not honour conditional writes") and the
// probe's marker was removed. Now the Begin reads again, both commit,
// and the marker stays.
func TestSharedStackBeginOverlapsCommit(t *testing.T) {
	overlapCommits(t, OpGet)
}

// TestSharedStackAdoptsInOrder: two goroutines commit through one
// Stack; the second begins on the list the first published, and
// publishes and adopts its own before the first adopts. Adopting the
// first's list then took the stack back past the second's commit, which
// the check for lost commits read as an overwrite: ErrLostCommit, and the
// probe's marker removed. Now the first reads the list back instead.
func TestSharedStackAdoptsInOrder(t *testing.T) {
	overlapCommits(t, OpPut)
}

// overlapCommits, with and without auto-compaction, commits b through a
// Stack on a goroutine whose first request of the list of kind op (its
// Begin's GET, or its swap's PUT) is held, once applied, until a commits
// through the same Stack, or for 50 ms when a waits for b's turn. Both
// must succeed, without reporting the store unsafe, and the refs of both
// be in the store and in the shared stack.
func overlapCommits(t *testing.T, op Op) {
	for _, opts := range []stack.Options{{}, {DisableAutoCompaction: true}} {
		t.Run(fmt.Sprintf("auto-compaction=%v", !opts.DisableAutoCompaction), func(t *testing.T) {
			m := NewMem()
			st := openMem(t, m, opts)
			if err := commitRef(st, "refs/heads/first", 1); err != nil {
				t.Fatal(err)
			}
			held, done := make(chan struct{}), make(chan struct{})
			var once sync.Once
			m.SetHook(func(o Op, key string, _ int, apply func() error) error {
				err := apply()
				if o == op && strings.HasSuffix(key, "/tables.list") && (o == OpGet || err == nil) { // a GET answered 304 too
					first := false
					once.Do(func() { first = true })
					if first { // b's
						close(held)
						select {
						case <-done:
						case <-time.After(5 * time.Second):
						}
					}
				}
				return err
			})
			errB := make(chan error, 1)
			go func() { errB <- commitRef(st, "refs/heads/b", 2) }()
			<-held
			errA := make(chan error, 1)
			go func() { errA <- commitRef(st, "refs/heads/a", 3) }()
			// Goroutines racing for the list, a commits at once; taking
			// turns (the commit slot), it waits for b, held a while.
			var err error
			select {
			case err = <-errA:
				close(done)
			case <-time.After(50 * time.Millisecond):
				close(done)
				err = <-errA
			}
			if err != nil {
				t.Fatalf("commit while the other's %s of the list is held: %v", op, err)
			}
			if err := <-errB; err != nil {
				t.Fatalf("commit whose %s of the list was held: %v", op, err)
			}
			m.SetHook(nil)
			if _, _, err := m.Get(t.Context(), "repo/"+ProbeMarker, ""); err != nil {
				t.Errorf("probe marker: %v; the store was reported unsafe", err)
			}
			check := openMem(t, m, stack.Options{})
			for _, s := range []*stack.Stack{check, st} {
				for name, i := range map[string]int{"refs/heads/first": 1, "refs/heads/a": 3, "refs/heads/b": 2} {
					r, err := s.Ref(ctx, name)
					if err != nil || !bytes.Equal(r.ID, oid(i)) {
						t.Errorf("%s = %x, %v; want %x", name, r.ID, err, oid(i))
					}
				}
			}
		})
	}
}

// TestSharedStackWriters: eight goroutines commit through one Stack,
// each to refs of its own, beside two reading it and one compacting it,
// with reads of the list taking a little while (as on a network): every
// commit succeeds, none is reported lost, no read fails, the probe's
// marker stays, and every ref has the value its goroutine set last.
func TestSharedStackWriters(t *testing.T) {
	m := NewMem()
	st := openMem(t, m, stack.Options{})
	m.SetHook(func(op Op, key string, n int, apply func() error) error {
		err := apply()
		if op == OpGet && strings.HasSuffix(key, "/tables.list") {
			time.Sleep(time.Duration(n%5) * 200 * time.Microsecond) // the reply on its way
		}
		return err
	})
	const writers, commits = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers*commits)
	for w := range writers {
		wg.Go(func() {
			for i := range commits {
				if err := commitRef(st, fmt.Sprintf("refs/heads/w%d/r%d", w, i%5), w*commits+i+1); err != nil {
					errs <- fmt.Errorf("writer %d, commit %d: %w", w, i, err)
				}
			}
		})
	}
	stop := make(chan struct{})
	report := func(err error) {
		select {
		case errs <- err:
		default: // enough said
		}
	}
	var others sync.WaitGroup
	// until runs f until the writers are done.
	until := func(f func()) {
		others.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					f()
				}
			}
		})
	}
	for range 2 {
		until(func() {
			for _, err := range st.Refs(ctx, "refs/") {
				if err != nil {
					report(fmt.Errorf("reading: %w", err))
					break
				}
			}
		})
	}
	until(func() {
		// Beaten by the commits' own compactions, it gives up.
		if err := st.CompactAll(ctx, nil); err != nil && !errors.Is(err, stack.ErrOutdated) && !errors.Is(err, stack.ErrConflict) {
			report(fmt.Errorf("compacting: %w", err))
		}
	})
	wg.Wait()
	close(stop)
	others.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	m.SetHook(nil)
	if _, _, err := m.Get(t.Context(), "repo/"+ProbeMarker, ""); err != nil {
		t.Errorf("probe marker: %v; the store was reported unsafe", err)
	}
	check := openMem(t, m, stack.Options{})
	for w := range writers {
		for r := range 5 {
			name, last := fmt.Sprintf("refs/heads/w%d/r%d", w, r), w*commits+commits-5+r+1
			if got, err := check.Ref(ctx, name); err != nil || !bytes.Equal(got.ID, oid(last)) {
				t.Errorf("%s = %x, %v; want %x", name, got.ID, err, oid(last))
			}
		}
	}
}

// TestSharedStackTakesTurns: eight goroutines committing through one
// Stack take turns from their read of the list to its swap (the commit
// slot), so none loses a swap to another: each commit is a read of the
// list, the table's PUT and the list's PUT. Racing one another, they lost
// swaps, each an upload, a refused PUT and a backoff.
func TestSharedStackTakesTurns(t *testing.T) {
	m := NewMem()
	st := openMem(t, m, stack.Options{DisableAutoCompaction: true})
	if err := commitRef(st, "refs/heads/first", 1); err != nil {
		t.Fatal(err)
	}
	var refused, puts atomic.Int64
	m.SetHook(func(op Op, key string, _ int, apply func() error) error {
		if op == OpGet && strings.HasSuffix(key, "/tables.list") {
			time.Sleep(200 * time.Microsecond) // the request on its way
		}
		err := apply()
		if op == OpPut && strings.HasSuffix(key, "/tables.list") {
			puts.Add(1)
			if errors.Is(err, ErrPrecondition) {
				refused.Add(1)
			}
		}
		return err
	})
	const writers, commits = 8, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range commits {
				if err := commitRef(st, fmt.Sprintf("refs/heads/w%d/r%d", w, i), 2+i); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	m.SetHook(nil)
	if refused.Load() != 0 || puts.Load() != writers*commits {
		t.Errorf("%d swaps of the list for %d commits, %d refused; want one each, none refused", puts.Load(), writers*commits, refused.Load())
	}
	check := openMem(t, m, stack.Options{})
	for w := range writers {
		for i := range commits {
			name := fmt.Sprintf("refs/heads/w%d/r%d", w, i)
			if r, err := check.Ref(ctx, name); err != nil || !bytes.Equal(r.ID, oid(2+i)) {
				t.Errorf("%s = %v, %v; want %x", name, r, err, oid(2+i))
			}
		}
	}
}
