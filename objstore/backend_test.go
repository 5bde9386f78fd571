package objstore

import (
	"errors"
	"testing"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/stack/stacktest"
	"github.com/refstore/refstore/stack/storage"
)

func openMem(t *testing.T, m *Mem, opts stack.Options) *stack.Stack {
	t.Helper()
	b, err := NewBackend(t.Context(), m, Options{Prefix: "repo/"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := stack.OpenBackend(ctx, b, "mem:repo", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func oid(i int) []byte {
	id := make([]byte, 20)
	id[0], id[1], id[19] = byte(i>>8), byte(i), 1
	return id
}

// TestBackendBasics: a commit lands as tables.list and one table; a
// second Stack sees it with one conditional GET; reading a table costs
// one ranged read, which brings its size too, cached.
func TestBackendBasics(t *testing.T) {
	m := NewMem()
	a := openMem(t, m, stack.Options{})
	b := openMem(t, m, stack.Options{})
	err := a.AddTable(ctx, func(w *reftable.Writer) error {
		return w.AddRef(&reftable.RefRecord{Name: []byte("refs/heads/main"), UpdateIndex: 1, Type: reftable.RefVal1, Value: oid(1)})
	})
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := m.Get(t.Context(), "repo/tables.list", "")
	if err != nil {
		t.Fatal(err)
	}
	names, _ := storage.ParseList(data)
	if len(names) != 1 {
		t.Fatalf("tables.list = %q", data)
	}
	m.SetHook(nil)
	r, err := b.Ref(ctx, "refs/heads/main")
	if err != nil || string(r.ID) != string(oid(1)) {
		t.Fatalf("Ref = %v, %v", r, err)
	}
	if g, h, ra := m.Calls(OpGet), m.Calls(OpHead), m.Calls(OpReadAt); g != 1 || h != 0 || ra != 1 {
		t.Errorf("reload after a commit: %d gets, %d heads, %d ranged reads; want 1 (the conditional GET brings the list), 0, 1 (the first block brings the size)", g, h, ra)
	}
	m.SetHook(nil)
	if _, err := b.Ref(ctx, "refs/heads/main"); err != nil {
		t.Fatal(err)
	}
	if g, ra := m.Calls(OpGet), m.Calls(OpReadAt); g != 1 || ra != 0 {
		t.Errorf("unchanged reload: %d gets, %d ranged reads; want 1 (304), 0", g, ra)
	}
}

// TestBackendPublishConflict: a Publish against a list that changed
// since Begin is stack.ErrConflict and changes nothing.
func TestBackendPublishConflict(t *testing.T) {
	m := NewMem()
	b, err := NewBackend(t.Context(), m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c1, _ := b.Begin(ctx, 0)
	c2, _ := b.Begin(ctx, 0)
	if err := c1.Publish(ctx, []string{"x.ref"}); err != nil {
		t.Fatal(err)
	}
	if err := c2.Publish(ctx, []string{"y.ref"}); !errors.Is(err, stack.ErrConflict) {
		t.Errorf("second first-list publish: %v, want ErrConflict", err)
	}
	c3, _ := b.Begin(ctx, 0)
	c4, _ := b.Begin(ctx, 0)
	if err := c3.Publish(ctx, []string{"x.ref", "z.ref"}); err != nil {
		t.Fatal(err)
	}
	if err := c4.Publish(ctx, []string{"x.ref", "w.ref"}); !errors.Is(err, stack.ErrConflict) {
		t.Errorf("stale publish: %v, want ErrConflict", err)
	}
	names, err := b.ReadList(ctx)
	if err != nil || len(names) != 2 || names[1] != "z.ref" {
		t.Errorf("list = %v, %v", names, err)
	}
}

// TestBackendSuite runs the backend-agnostic stack suite on a Mem store,
// with ETags that change on every write and with content ETags (as S3's),
// and with the block cache off, so that every read goes to the store.
func TestBackendSuite(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content bool
		cache   int64
	}{{"Mem", false, 0}, {"ContentETags", true, 0}, {"NoCache", false, -1}} {
		t.Run(tc.name, func(t *testing.T) {
			stacktest.Run(t, func(t *testing.T) stacktest.Storage {
				m := NewMem()
				m.ContentETags = tc.content
				return func() storage.Backend {
					b, err := NewBackend(t.Context(), m, Options{Prefix: "repo/", CacheSize: tc.cache})
					if err != nil {
						t.Fatal(err)
					}
					return b
				}
			})
		})
	}
}
