package stack

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/refstore/refstore/reftable"
)

// TestRefRecord: RefOf and Ref.Record convert every kind of ref both
// ways, and String lists each as git does.
func TestRefRecord(t *testing.T) {
	id, peeled := oid(1), oid(2)
	tests := []struct {
		ref      Ref
		rec      reftable.RefRecord
		missing  bool
		symbolic bool
		str      string
	}{
		{
			ref: Ref{Name: "refs/heads/main", ID: id, UpdateIndex: 3},
			rec: reftable.RefRecord{Name: []byte("refs/heads/main"), UpdateIndex: 3, Type: reftable.RefVal1, Value: id},
			str: "refs/heads/main 0001000000000000000000000000000000000001",
		},
		{
			ref: Ref{Name: "refs/tags/v1", ID: id, Peeled: peeled, UpdateIndex: 4},
			rec: reftable.RefRecord{Name: []byte("refs/tags/v1"), UpdateIndex: 4, Type: reftable.RefVal2, Value: id, Peeled: peeled},
			str: "refs/tags/v1 0001000000000000000000000000000000000001 0002000000000000000000000000000000000001",
		},
		{
			ref:      Ref{Name: "HEAD", Target: "refs/heads/main", UpdateIndex: 5},
			rec:      reftable.RefRecord{Name: []byte("HEAD"), UpdateIndex: 5, Type: reftable.RefSymref, Target: []byte("refs/heads/main")},
			symbolic: true,
			str:      "HEAD ref: refs/heads/main",
		},
		{
			ref:     Ref{Name: "refs/heads/gone", UpdateIndex: 6},
			rec:     reftable.RefRecord{Name: []byte("refs/heads/gone"), UpdateIndex: 6, Type: reftable.RefDeletion},
			missing: true,
			str:     "refs/heads/gone missing",
		},
	}
	for _, tt := range tests {
		t.Run(tt.str, func(t *testing.T) {
			if diff := cmp.Diff(tt.rec, tt.ref.Record(tt.ref.UpdateIndex)); diff != "" {
				t.Errorf("Record (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.ref, RefOf(&tt.rec)); diff != "" {
				t.Errorf("RefOf (-want +got):\n%s", diff)
			}
			if got := tt.ref.Missing(); got != tt.missing {
				t.Errorf("Missing = %v", got)
			}
			if got := tt.ref.Symbolic(); got != tt.symbolic {
				t.Errorf("Symbolic = %v", got)
			}
			if got := tt.ref.String(); got != tt.str {
				t.Errorf("String = %q, want %q", got, tt.str)
			}
			unnamed := tt.ref
			unnamed.Name = ""
			if got, want := unnamed.String(), strings.TrimPrefix(tt.str, tt.ref.Name+" "); got != want {
				t.Errorf("String without a name = %q, want %q", got, want)
			}
		})
	}
	// RefOf copies: the record's memory may be reused.
	rec := reftable.RefRecord{Name: []byte("refs/heads/x"), Type: reftable.RefVal1, Value: oid(7)}
	r := RefOf(&rec)
	rec.Name[0], rec.Value[0] = 'X', 0xff
	if r.Name != "refs/heads/x" || r.ID[0] != 0 {
		t.Errorf("RefOf shares the record's memory: %v", r)
	}
}

// TestReads: Ref, Resolve, Refs and Reflog of a Stack and of a Snapshot
// agree, follow symbolic refs as git does, and hide reflog existence
// markers.
func TestReads(t *testing.T) {
	st := openStack(t, t.TempDir(), testOptions())
	if err := commitTx(st,
		Update{Ref: Ref{Name: "refs/heads/main", ID: oid(1)}, Message: "init"},
		Update{Ref: Ref{Name: "HEAD", Target: "refs/heads/main"}},
		Update{Ref: Ref{Name: "refs/remotes/origin/HEAD", Target: "HEAD"}},
		Update{Ref: Ref{Name: "refs/heads/dangling", Target: "refs/heads/nowhere"}},
		Update{Ref: Ref{Name: "refs/loop/a", Target: "refs/loop/b"}},
		Update{Ref: Ref{Name: "refs/loop/b", Target: "refs/loop/a"}},
	); err != nil {
		t.Fatal(err)
	}
	// A reflog holding an entry and git's existence marker, and one
	// holding only a marker.
	if err := st.AddTable(ctx, func(w *reftable.Writer) error {
		min, _ := w.Limits()
		zero := make([]byte, 20)
		for _, l := range []reftable.LogRecord{
			{RefName: []byte("refs/heads/main"), UpdateIndex: min, Type: reftable.LogUpdate, Old: zero, New: zero},
			{RefName: []byte("refs/heads/marked"), UpdateIndex: min, Type: reftable.LogUpdate, Old: zero, New: zero},
		} {
			if err := w.AddLog(&l); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	snap, err := st.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()

	resolves := []struct {
		name string
		want Ref
		via  []string
		err  error
	}{
		{"refs/heads/main", Ref{Name: "refs/heads/main", ID: oid(1), UpdateIndex: 1}, nil, nil},
		{"HEAD", Ref{Name: "refs/heads/main", ID: oid(1), UpdateIndex: 1}, []string{"HEAD"}, nil},
		{"refs/remotes/origin/HEAD", Ref{Name: "refs/heads/main", ID: oid(1), UpdateIndex: 1}, []string{"refs/remotes/origin/HEAD", "HEAD"}, nil},
		{"refs/heads/dangling", Ref{Name: "refs/heads/nowhere"}, []string{"refs/heads/dangling"}, nil},
		{"refs/heads/none", Ref{Name: "refs/heads/none"}, nil, nil},
		{"refs/loop/a", Ref{}, nil, ErrRefName},
	}
	for _, tt := range resolves {
		for _, via := range []string{"snapshot", "stack"} {
			var got Ref
			var passed []string
			var err error
			if via == "snapshot" {
				got, passed, err = snap.Resolve(tt.name)
			} else {
				got, passed, err = st.Resolve(ctx, tt.name)
			}
			if !errors.Is(err, tt.err) || tt.err == nil && err != nil {
				t.Errorf("%s Resolve(%s): %v, want %v", via, tt.name, err, tt.err)
				continue
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s Resolve(%s) (-want +got):\n%s", via, tt.name, diff)
			}
			if diff := cmp.Diff(tt.via, passed); diff != "" {
				t.Errorf("%s Resolve(%s) passed (-want +got):\n%s", via, tt.name, diff)
			}
		}
	}

	if r, err := st.Ref(ctx, "HEAD"); err != nil || r.Target != "refs/heads/main" || r.Name != "HEAD" {
		t.Errorf("Ref(HEAD) = %v, %v; want the symbolic ref itself", r, err)
	}
	if _, err := snap.Ref("refs/heads/none"); !errors.Is(err, reftable.ErrNotFound) {
		t.Errorf("Ref of a missing ref: %v, want ErrNotFound", err)
	}

	var names []string
	for r, err := range st.Refs(ctx, "refs/heads/") {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, r.String())
	}
	want := []string{"refs/heads/dangling ref: refs/heads/nowhere", "refs/heads/main 0001000000000000000000000000000000000001"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("Refs (-want +got):\n%s", diff)
	}

	reflog := func(seq func(string) func(func(reftable.LogRecord, error) bool), name string) []string {
		var out []string
		for l, err := range seq(name) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%d %x %s", l.UpdateIndex, l.New[:2], l.Message))
		}
		return out
	}
	for _, seq := range []func(string) func(func(reftable.LogRecord, error) bool){
		func(n string) func(func(reftable.LogRecord, error) bool) { return st.Reflog(ctx, n) },
		func(n string) func(func(reftable.LogRecord, error) bool) { return snap.Reflog(n) },
	} {
		if diff := cmp.Diff([]string{"1 0001 init\n"}, reflog(seq, "refs/heads/main")); diff != "" {
			t.Errorf("Reflog (-want +got):\n%s", diff)
		}
		if got := reflog(seq, "refs/heads/marked"); got != nil {
			t.Errorf("Reflog of a marker alone: %q, want nothing", got)
		}
	}
	markers := 0
	for l, err := range snap.Merged().LogsFor([]byte("refs/heads/marked")) {
		if err != nil || !l.IsExistenceMarker() {
			t.Fatalf("LogsFor: %v, %v", l, err)
		}
		markers++
	}
	if markers != 1 {
		t.Errorf("Merged().LogsFor shows %d markers, want 1", markers)
	}
}

// TestRefsBreak: iterations stop at once when the loop breaks, and the
// refs yielded stay valid after it.
func TestRefsBreak(t *testing.T) {
	st := openStack(t, t.TempDir(), testOptions())
	var updates []Update
	for i := range 300 {
		updates = append(updates, Update{Ref: Ref{Name: fmt.Sprintf("refs/heads/b%03d", i), ID: oid(i)}, Message: "m"})
	}
	if err := commitTx(st, updates...); err != nil {
		t.Fatal(err)
	}
	var kept []Ref
	for r, err := range st.Refs(ctx, "refs/heads/") {
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, r)
		if len(kept) == 250 {
			break
		}
	}
	for i, r := range kept {
		if r.Name != fmt.Sprintf("refs/heads/b%03d", i) || string(r.ID) != string(oid(i)) {
			t.Fatalf("ref %d after the iteration: %v", i, r)
		}
	}
	n := 0
	for range st.Reflog(ctx, "refs/heads/b000") {
		n++
		break
	}
	if n != 1 {
		t.Errorf("Reflog yielded %d entries before the break", n)
	}
}
