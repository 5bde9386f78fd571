package objstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestProbeMem(t *testing.T) {
	for _, content := range []bool{false, true} {
		m := NewMem()
		m.ContentETags = content
		if err := Probe(t.Context(), m, "p/"); err != nil {
			t.Fatalf("content ETags %v: %v", content, err)
		}
		if objs, _ := m.List(t.Context(), ""); len(objs) != 0 {
			t.Errorf("the probe left %v behind", objs)
		}
	}
}

// yesStore answers success to everything: it ignores every condition.
// It is safe for concurrent use, as a Store must be.
type yesStore struct {
	mu   sync.Mutex
	data map[string][]byte
}

func (s *yesStore) Get(_ context.Context, key, _ string) ([]byte, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.data[key]
	if !ok {
		return nil, "", ErrNotFound
	}
	return d, `"1"`, nil
}
func (s *yesStore) ReadAt(_ context.Context, key string, p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copy(p, s.data[key][off:]), nil
}
func (s *yesStore) Head(_ context.Context, key string) (int64, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.data[key])), `"1"`, nil
}
func (s *yesStore) Put(_ context.Context, key string, data []byte, _ Cond) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data[key] = data
	return `"1"`, nil
}
func (s *yesStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.data, key)
	return nil
}
func (s *yesStore) List(context.Context, string) ([]Object, error) {
	return nil, nil
}

// memWith is a Mem whose Put ignores one kind of condition, or whose
// conditional Get never answers "not modified".
type memWith struct {
	*Mem
	ignoreCreateOnly, ignoreIfMatch, ignoreMissing, noNotModified bool
}

func (s memWith) Put(ctx context.Context, key string, data []byte, c Cond) (string, error) {
	if s.ignoreCreateOnly {
		c.IfNoneMatch = false
	}
	if s.ignoreIfMatch {
		c.IfMatch = ""
	}
	if s.ignoreMissing && c.IfMatch != "" {
		if _, _, err := s.Mem.Head(ctx, key); errors.Is(err, ErrNotFound) {
			c.IfMatch = ""
		}
	}
	return s.Mem.Put(ctx, key, data, c)
}

func (s memWith) Get(ctx context.Context, key, ifNoneMatch string) ([]byte, string, error) {
	if s.noNotModified {
		ifNoneMatch = ""
	}
	return s.Mem.Get(ctx, key, ifNoneMatch)
}

// TestProbeRefuses: a store that ignores a condition is refused, with an
// error naming the check it failed.
func TestProbeRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store Store
		check string
	}{
		{"yes", &yesStore{data: map[string][]byte{}}, "second create-only write"},
		{"create-only", memWith{Mem: NewMem(), ignoreCreateOnly: true}, "second create-only write"},
		{"if-match", memWith{Mem: NewMem(), ignoreIfMatch: true}, "If-Match with a stale ETag"},
		{"missing", memWith{Mem: NewMem(), ignoreMissing: true}, "If-Match on a missing key"},
		{"304", memWith{Mem: NewMem(), noNotModified: true}, "not modified"},
	} {
		err := Probe(t.Context(), tc.store, "")
		if !errors.Is(err, ErrUnsafeStore) || !strings.Contains(err.Error(), tc.check) {
			t.Errorf("%s: Probe = %v, want ErrUnsafeStore naming %q", tc.name, err, tc.check)
		}
		if _, err := NewBackend(t.Context(), tc.store, Options{}); !errors.Is(err, ErrUnsafeStore) {
			t.Errorf("%s: NewBackend = %v, want ErrUnsafeStore", tc.name, err)
		}
		if _, err := NewBackend(t.Context(), tc.store, Options{AllowUnsafe: true}); err != nil {
			t.Errorf("%s: NewBackend with AllowUnsafe: %v", tc.name, err)
		}
	}
}

// TestRaceProbeNonAtomic: a store that checks a condition and writes in
// a separate step passes the sequential Probe but not RaceProbe, and
// NewBackend refuses it; a store that checks atomically passes both,
// with ETags that change on every write and with content ETags.
func TestRaceProbeNonAtomic(t *testing.T) {
	for _, content := range []bool{false, true} {
		m := NewMem()
		m.ContentETags = content
		rounds := 0
		if err := RaceProbe(t.Context(), m, "p/", 8, 5, func(r int) { rounds = r }); err != nil || rounds != 5 {
			t.Fatalf("content ETags %v: RaceProbe = %v after %d rounds", content, err, rounds)
		}
		if objs, _ := m.List(t.Context(), ""); len(objs) != 0 {
			t.Errorf("the race left %v behind", objs)
		}
	}
	m := NewMem()
	m.NonAtomic = true
	if err := Probe(t.Context(), m, "p/"); err != nil {
		t.Fatalf("the sequential probe refused the non-atomic store: %v", err)
	}
	err := RaceProbe(t.Context(), m, "p/", 8, 5, nil)
	if !errors.Is(err, ErrUnsafeStore) || !strings.Contains(err.Error(), "want exactly 1") {
		t.Errorf("RaceProbe of a non-atomic store = %v, want ErrUnsafeStore", err)
	}
	if _, err := NewBackend(t.Context(), m, Options{Prefix: "p/"}); !errors.Is(err, ErrUnsafeStore) {
		t.Errorf("NewBackend on a non-atomic store = %v, want ErrUnsafeStore", err)
	}
	if _, _, err := m.Get(t.Context(), "p/"+ProbeMarker, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("a refused store got the probe's marker: %v", err)
	}
}

// TestProbeMarker: a store that passed the probe gets a marker, and the
// next backend on the prefix reads it instead of probing (a GET, no
// PUT); a marker of another probe version, an expired one and one
// removed by StoreUnsafe make the next backend probe again.
func TestProbeMarker(t *testing.T) {
	m := NewMem()
	probed := func(opts Options) bool {
		t.Helper()
		m.SetHook(nil)
		opts.Prefix = "p/"
		b, err := NewBackend(t.Context(), m, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		return m.Calls(OpPut) > 0
	}
	if !probed(Options{}) {
		t.Fatal("the first backend did not probe")
	}
	// Two GETs: the marker's, and the list's, which NewBackend reads
	// meanwhile for the stack (TestOpenReadsListWithMarker).
	if probed(Options{}) || m.Calls(OpGet) != 2 {
		t.Errorf("with the marker: probed again, or %d GETs, want 2", m.Calls(OpGet))
	}
	for _, marker := range []string{
		"refstore probe 1 passed " + time.Now().UTC().Format(time.RFC3339) + "\n",
		"refstore probe 2 passed " + time.Now().Add(-ProbeTTL-time.Minute).UTC().Format(time.RFC3339) + "\n",
		"garbage",
	} {
		if _, err := m.Put(t.Context(), "p/"+ProbeMarker, []byte(marker), Cond{}); err != nil {
			t.Fatal(err)
		}
		if !probed(Options{}) {
			t.Errorf("marker %q trusted", marker)
		}
	}
	b, err := NewBackend(t.Context(), m, Options{Prefix: "p/"})
	if err != nil {
		t.Fatal(err)
	}
	b.StoreUnsafe(errors.New("lost commit"))
	if !probed(Options{}) {
		t.Error("the marker survived StoreUnsafe")
	}
	m.NonAtomic = true
	b.StoreUnsafe(errors.New("lost commit"))
	if _, err := NewBackend(t.Context(), m, Options{Prefix: "p/"}); !errors.Is(err, ErrUnsafeStore) {
		t.Errorf("NewBackend after the store turned non-atomic = %v, want ErrUnsafeStore", err)
	}
}
