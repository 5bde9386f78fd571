package objstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/stack/stacktest"
	"github.com/refstore/refstore/stack/storage"
)

// staleStore is a Mem behind a gateway that checks conditions
// non-atomically, caught in the act: until its first write of
// tables.list it serves the list as it was when the test captured it,
// and that write ignores its condition. A writer through it commits on
// the captured list after another writer replaced it, and overwrites
// that writer's commit, as a writer whose If-Match was checked before
// the other's PUT and applied after it would.
type staleStore struct {
	*Mem
	mu        sync.Mutex
	list      []byte
	etag      string
	published bool
}

func (s *staleStore) Get(ctx context.Context, key, ifNoneMatch string) ([]byte, string, error) {
	s.mu.Lock()
	stale := !s.published && strings.HasSuffix(key, "tables.list")
	s.mu.Unlock()
	if stale {
		if ifNoneMatch == s.etag {
			return nil, "", ErrNotModified
		}
		return s.list, s.etag, nil
	}
	return s.Mem.Get(ctx, key, ifNoneMatch)
}

func (s *staleStore) Put(ctx context.Context, key string, data []byte, c Cond) (string, error) {
	if strings.HasSuffix(key, "tables.list") {
		s.mu.Lock()
		s.published = true
		s.mu.Unlock()
		c = Cond{}
	}
	return s.Mem.Put(ctx, key, data, c)
}

// TestLostCommitDetected: on a store that lets a writer's conditional
// list PUT overwrite another's accepted one, the writer whose commit was
// overwritten finds out: a compaction, which reads its list back before
// removing the tables it merged, reports ErrLostCommit and keeps them
// (the other writer listed them again) instead of deleting them from
// under the stack; a commit, which takes its list as published without
// reading it back, is reported lost by the stack's next commit, which
// fails with ErrLostCommit, and one fused with listed tables removes
// them only once a later list shows its own was kept, so here never; a
// commit confirmed by reading back (ConfirmCommits) reports the loss
// itself. Either way the probe's marker is removed, so the next backend
// probes the store again, and every ref the store's list names is
// there. (Before, the commit reported success for a ref that was not
// there, and the compaction deleted listed tables.)
func TestLostCommitDetected(t *testing.T) {
	for _, work := range []string{"commit", "confirmed commit", "fused commit", "compaction"} {
		t.Run(strings.ReplaceAll(work, " ", "-"), func(t *testing.T) {
			m := NewMem()
			opts := stack.Options{DisableAutoCompaction: work != "fused commit"}
			a := openMem(t, m, opts)
			if work == "confirmed commit" {
				// As the reftable command opens a stack on S3.
				ab, err := NewBackend(t.Context(), m, Options{Prefix: "repo/", ConfirmCommits: true})
				if err != nil {
					t.Fatal(err)
				}
				if a, err = stack.OpenBackend(ctx, ab, "mem:repo", opts); err != nil {
					t.Fatal(err)
				}
				defer a.Close()
			}
			for i, name := range []string{"refs/heads/a1", "refs/heads/a2", "refs/heads/a3"} {
				if err := stacktest.Set(a, name, i+1, nil); err != nil {
					t.Fatal(err)
				}
			}
			base, etag, err := m.Get(t.Context(), "repo/tables.list", "")
			if err != nil {
				t.Fatal(err)
			}
			stale := &staleStore{Mem: m, list: base, etag: etag}
			bb, err := NewBackend(t.Context(), stale, Options{Prefix: "repo/", AllowUnsafe: true})
			if err != nil {
				t.Fatal(err)
			}
			b, err := stack.OpenBackend(ctx, bb, "stale", stack.Options{DisableAutoCompaction: true})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			overwritten := false
			m.SetHook(func(op Op, key string, _ int, apply func() error) error {
				if op != OpPut || !strings.HasSuffix(key, "tables.list") || overwritten {
					return apply()
				}
				if err := apply(); err != nil {
					return err
				}
				overwritten = true
				if err := stacktest.Set(b, "refs/heads/b", 9, nil); err != nil {
					t.Errorf("the overwriting commit: %v", err)
				}
				return nil
			})
			if work == "compaction" {
				err = a.CompactAll(ctx, nil)
			} else {
				err = stacktest.Set(a, "refs/heads/x", 7, nil)
			}
			m.SetHook(nil)
			if !overwritten {
				t.Fatal("no list written")
			}
			if work == "commit" || work == "fused commit" {
				// A commit does not read its list back: its stack's
				// next operation finds the loss.
				if err != nil {
					t.Errorf("overwritten commit: %v; its loss is found later", err)
				}
				err = stacktest.Set(a, "refs/heads/y", 8, nil)
			}
			if !errors.Is(err, stack.ErrLostCommit) {
				t.Errorf("%s overwritten: %v, want ErrLostCommit", work, err)
			}
			if _, _, err := m.Get(t.Context(), "repo/"+ProbeMarker, ""); !errors.Is(err, ErrNotFound) {
				t.Errorf("the probe's marker survived: %v", err)
			}
			got := stacktest.Check(t, func() storage.Backend {
				b, _ := NewBackend(t.Context(), m, Options{Prefix: "repo/", AllowUnsafe: true})
				return b
			})
			if len(got) != 4 || got["refs/heads/b"] == "" {
				t.Errorf("refs %v, want a1..a3 and the overwriting b", got)
			}
		})
	}
}
