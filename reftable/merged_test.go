package reftable

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// utTableSpec is the content of one table of a test stack.
type utTableSpec struct {
	refs []RefRecord
	logs []LogRecord
}

// utStack writes one table per spec, with update index limits i+1..i+1
// for the i-th, and returns them oldest first.
func utStack(t testing.TB, h Hash, specs ...utTableSpec) []*Table {
	t.Helper()
	var tabs []*Table
	for i, s := range specs {
		idx := uint64(i + 1)
		data := utWrite(t, WriterOptions{Hash: h, MinUpdateIndex: idx, MaxUpdateIndex: idx}, s.refs, s.logs)
		tab, err := NewTable(bytes.NewReader(data), int64(len(data)), fmt.Sprintf("t%d", i+1))
		if err != nil {
			t.Fatal(err)
		}
		tabs = append(tabs, tab)
	}
	return tabs
}

func utMerged(t testing.TB, show bool, tabs ...*Table) *Merged {
	t.Helper()
	m, err := NewMerged(tabs, MergedOptions{ShowDeletions: show})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func utVal(name string, idx uint64, id int) RefRecord {
	return RefRecord{Name: []byte(name), UpdateIndex: idx, Type: RefVal1, Value: utID(SHA1, id)}
}

func utDel(name string, idx uint64) RefRecord {
	return RefRecord{Name: []byte(name), UpdateIndex: idx, Type: RefDeletion}
}

// TestMergedSingleRecord mirrors git's merged_single_record: one ref
// written, deleted and written again across three tables.
func TestMergedSingleRecord(t *testing.T) {
	tests := []struct {
		name  string
		specs []utTableSpec
		want  []RefRecord // visible without deletions
		shown []RefRecord // with ShowDeletions
	}{
		{
			"deleted in the newest table",
			[]utTableSpec{{refs: []RefRecord{utVal("a", 1, 1)}}, {refs: []RefRecord{utVal("a", 2, 2)}}, {refs: []RefRecord{utDel("a", 3)}}},
			nil,
			[]RefRecord{utDel("a", 3)},
		},
		{
			"deleted in the middle, recreated",
			[]utTableSpec{{refs: []RefRecord{utVal("a", 1, 1)}}, {refs: []RefRecord{utDel("a", 2)}}, {refs: []RefRecord{utVal("a", 3, 3)}}},
			[]RefRecord{utVal("a", 3, 3)},
			[]RefRecord{utVal("a", 3, 3)},
		},
		{
			"deleted in the middle, untouched since",
			[]utTableSpec{{refs: []RefRecord{utVal("a", 1, 1)}}, {refs: []RefRecord{utDel("a", 2)}}, {refs: []RefRecord{utVal("b", 3, 3)}}},
			[]RefRecord{utVal("b", 3, 3)},
			[]RefRecord{utDel("a", 2), utVal("b", 3, 3)},
		},
		{
			"written in the oldest table only",
			[]utTableSpec{{refs: []RefRecord{utVal("a", 1, 1)}}, {}, {refs: []RefRecord{utVal("b", 3, 3)}}},
			[]RefRecord{utVal("a", 1, 1), utVal("b", 3, 3)},
			[]RefRecord{utVal("a", 1, 1), utVal("b", 3, 3)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tabs := utStack(t, SHA1, tt.specs...)
			for _, show := range []bool{false, true} {
				m := utMerged(t, show, tabs...)
				want := tt.want
				if show {
					want = tt.shown
				}
				if diff := cmp.Diff(utRefStrings(want), utRefStrings(utRefs(t, m.Refs(nil)))); diff != "" {
					t.Errorf("show=%v: Refs (-want +got):\n%s", show, diff)
				}
				r, err := m.Ref([]byte("a"))
				var wantA []RefRecord
				for _, w := range want {
					if string(w.Name) == "a" {
						wantA = append(wantA, w)
					}
				}
				if len(wantA) == 0 {
					if !errors.Is(err, ErrNotFound) {
						t.Errorf("show=%v: Ref(a) = %+v, %v; want ErrNotFound", show, r, err)
					}
				} else if err != nil || cmp.Diff(utRefStrings(wantA), utRefStrings([]RefRecord{r})) != "" {
					t.Errorf("show=%v: Ref(a) = %v, %v; want %v", show, utRefStrings([]RefRecord{r}), err, utRefStrings(wantA))
				}
			}
		})
	}
}

// TestMergedRefsPrecedence mirrors git's merged_refs: a deleted in t2, c
// updated in t3.
func TestMergedRefsPrecedence(t *testing.T) {
	tabs := utStack(t, SHA1,
		utTableSpec{refs: []RefRecord{utVal("a", 1, 1), utVal("b", 1, 1), utVal("c", 1, 1)}},
		utTableSpec{refs: []RefRecord{utDel("a", 2)}},
		utTableSpec{refs: []RefRecord{utVal("c", 3, 2), utVal("d", 3, 1)}},
	)
	for _, tt := range []struct {
		show bool
		want []RefRecord
	}{
		{false, []RefRecord{utVal("b", 1, 1), utVal("c", 3, 2), utVal("d", 3, 1)}},
		{true, []RefRecord{utDel("a", 2), utVal("b", 1, 1), utVal("c", 3, 2), utVal("d", 3, 1)}},
	} {
		m := utMerged(t, tt.show, tabs...)
		if diff := cmp.Diff(utRefStrings(tt.want), utRefStrings(utRefs(t, m.Refs(nil)))); diff != "" {
			t.Errorf("show=%v: Refs (-want +got):\n%s", tt.show, diff)
		}
		// Seek in the middle, several times on the same view.
		for range 3 {
			var got []string
			for r, err := range m.Refs(nil) {
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Compare(r.Name, []byte("b")) >= 0 {
					got = append(got, string(r.Name))
				}
			}
			if diff := cmp.Diff([]string{"b", "c", "d"}, got); diff != "" {
				t.Errorf("names from b (-want +got):\n%s", diff)
			}
		}
	}
	m := utMerged(t, false, tabs...)
	if r, err := m.Ref([]byte("c")); err != nil || !bytes.Equal(r.Value, utID(SHA1, 2)) || r.UpdateIndex != 3 {
		t.Errorf("Ref(c) = %+v, %v; want the value of t3", r, err)
	}
	if _, err := m.Ref([]byte("a")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Ref(a): err = %v, want ErrNotFound", err)
	}
	if _, err := m.Ref([]byte("e")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Ref(e): err = %v, want ErrNotFound", err)
	}
	if got := utRefs(t, m.Refs([]byte("c"))); len(got) != 1 || string(got[0].Name) != "c" || got[0].UpdateIndex != 3 {
		t.Errorf("Refs(c) = %v", utRefStrings(got))
	}
}

func utLog(name string, idx uint64, msg string) LogRecord {
	return LogRecord{RefName: []byte(name), UpdateIndex: idx, Type: LogUpdate, Old: utID(SHA1, int(idx)-1), New: utID(SHA1, int(idx)),
		Name: []byte("n"), Email: []byte("e@x"), Time: 1000 + idx, TZOffset: 100, Message: []byte(msg + "\n")}
}

func utLogDel(name string, idx uint64) LogRecord {
	return LogRecord{RefName: []byte(name), UpdateIndex: idx, Type: LogDeletion}
}

// TestMergedLogs mirrors git's merged_logs: a newer table's record with the
// same ref and update index (a tombstone or a rewrite) hides the older
// one.
func TestMergedLogs(t *testing.T) {
	tabs := utStack(t, SHA1,
		utTableSpec{logs: []LogRecord{utLog("a", 1, "a1"), utLog("b", 1, "b1"), utLog("c", 1, "c1")}},
		utTableSpec{logs: []LogRecord{utLog("a", 2, "a2"), utLogDel("b", 1), utLog("c", 2, "c2")}},
		utTableSpec{logs: []LogRecord{utLog("a", 3, "a3"), utLog("c", 1, "c1 rewritten")}},
	)
	want := []LogRecord{utLog("a", 3, "a3"), utLog("a", 2, "a2"), utLog("a", 1, "a1"), utLog("c", 2, "c2"), utLog("c", 1, "c1 rewritten")}
	m := utMerged(t, false, tabs...)
	if diff := cmp.Diff(utLogStrings(want), utLogStrings(utLogs(t, m.Logs(nil)))); diff != "" {
		t.Errorf("Logs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(utLogStrings(want[:3]), utLogStrings(utLogs(t, m.LogsFor([]byte("a"))))); diff != "" {
		t.Errorf("LogsFor(a) (-want +got):\n%s", diff)
	}
	if got := utLogs(t, m.LogsFor([]byte("b"))); len(got) != 0 {
		t.Errorf("LogsFor(b) = %v, want none", utLogStrings(got))
	}
	shown := utLogs(t, utMerged(t, true, tabs...).LogsFor([]byte("b")))
	if diff := cmp.Diff(utLogStrings([]LogRecord{utLogDel("b", 1)}), utLogStrings(shown)); diff != "" {
		t.Errorf("LogsFor(b) with deletions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(utLogStrings(want[3:]), utLogStrings(utLogs(t, m.Logs([]byte("c"))))); diff != "" {
		t.Errorf("Logs(c) (-want +got):\n%s", diff)
	}
}

func TestMergedUpdateIndexes(t *testing.T) {
	var tabs []*Table
	for _, lim := range [][2]uint64{{5, 9}, {2, 3}, {10, 20}} {
		data := utWrite(t, WriterOptions{MinUpdateIndex: lim[0], MaxUpdateIndex: lim[1]}, []RefRecord{utVal("a", lim[0], 1)}, nil)
		tabs = append(tabs, utOpen(t, data))
	}
	m := utMerged(t, false, tabs...)
	if m.MinUpdateIndex() != 2 || m.MaxUpdateIndex() != 20 {
		t.Errorf("merged update indexes %d..%d, want 2..20", m.MinUpdateIndex(), m.MaxUpdateIndex())
	}
	if r, err := m.Ref([]byte("a")); err != nil || r.UpdateIndex != 10 {
		t.Errorf("Ref(a) = %+v, %v; want the newest table's, at 10", r, err)
	}
	empty := utMerged(t, false)
	if empty.MinUpdateIndex() != 0 || empty.MaxUpdateIndex() != 0 || empty.Hash() != SHA1 {
		t.Errorf("empty view: %d..%d %v", empty.MinUpdateIndex(), empty.MaxUpdateIndex(), empty.Hash())
	}
	if got := utRefs(t, empty.Refs(nil)); len(got) != 0 {
		t.Errorf("empty view has refs %v", got)
	}
	got := m.Tables()
	var mins []uint64
	for _, tab := range got {
		mins = append(mins, tab.MinUpdateIndex())
	}
	if diff := cmp.Diff([]uint64{5, 2, 10}, mins); diff != "" {
		t.Errorf("Tables in stack order, by minimum update index (-want +got):\n%s", diff)
	}
	got[0] = nil
	if m.Tables()[0] == nil {
		t.Error("Tables returns the view's own slice")
	}
}

func TestMergedHashMismatch(t *testing.T) {
	t1 := utOpen(t, utWrite(t, WriterOptions{}, nil, nil))
	t2 := utOpen(t, utWrite(t, WriterOptions{Hash: SHA256}, nil, nil))
	for _, tabs := range [][]*Table{{t1, t2}, {t2, t1}, {t1, t1, t2}} {
		if _, err := NewMerged(tabs, MergedOptions{}); !errors.Is(err, ErrHashMismatch) {
			t.Errorf("NewMerged of mixed hashes: err = %v, want ErrHashMismatch", err)
		}
	}
	m := utMerged(t, false, t2, t2)
	if m.Hash() != SHA256 {
		t.Errorf("Hash = %v, want sha256", m.Hash())
	}
}

// TestMergedEarlyBreak: breaking out of a range-over-func loop stops the
// iteration cleanly, and the view can be iterated again afterwards.
func TestMergedEarlyBreak(t *testing.T) {
	var specs []utTableSpec
	for i := range 3 {
		var s utTableSpec
		for j := range 50 {
			s.refs = append(s.refs, utVal(fmt.Sprintf("refs/heads/%02d-%d", j, i), uint64(i+1), j%5))
		}
		s.logs = utLogsFor(SHA1, fmt.Sprintf("refs/heads/%02d-%d", i, i), 1, "m")
		s.logs[0].UpdateIndex = uint64(i + 1)
		specs = append(specs, s)
	}
	m := utMerged(t, false, utStack(t, SHA1, specs...)...)
	for range 3 {
		n := 0
		for range m.Refs(nil) {
			n++
			if n == 7 {
				break
			}
		}
		if n != 7 {
			t.Fatalf("broke after %d refs", n)
		}
		for range m.Logs(nil) {
			break
		}
		for range m.LogsFor([]byte("refs/heads/01-1")) {
			break
		}
		for range m.RefsFor(utID(SHA1, 3)) {
			break
		}
		if got := utRefs(t, m.Refs(nil)); len(got) != 150 {
			t.Errorf("after a break, Refs yields %d refs, want 150", len(got))
		}
		if got := utLogs(t, m.Logs(nil)); len(got) != 3 {
			t.Errorf("after a break, Logs yields %d logs, want 3", len(got))
		}
		if got := utRefs(t, m.RefsFor(utID(SHA1, 3))); len(got) != 30 {
			t.Errorf("after a break, RefsFor yields %d refs, want 30", len(got))
		}
	}
	// Nested iteration over the same view.
	outer := 0
	for range m.Refs([]byte("refs/heads/0")) {
		outer++
		inner := 0
		for range m.Refs([]byte("refs/heads/1")) {
			inner++
		}
		if inner != 30 {
			t.Fatalf("inner loop saw %d refs, want 30", inner)
		}
	}
	if outer != 30 {
		t.Errorf("outer loop saw %d refs, want 30", outer)
	}
}

// TestMergedRefsFor: only refs whose newest value points at the id are
// returned, whatever older tables say.
func TestMergedRefsFor(t *testing.T) {
	x, y := utID(SHA1, 1), utID(SHA1, 2)
	for _, skip := range []bool{false, true} {
		var tabs []*Table
		specs := [][]RefRecord{
			{
				{Name: []byte("a"), UpdateIndex: 1, Type: RefVal1, Value: x},
				{Name: []byte("b"), UpdateIndex: 1, Type: RefVal1, Value: x},
				{Name: []byte("d"), UpdateIndex: 1, Type: RefVal1, Value: x},
				{Name: []byte("e"), UpdateIndex: 1, Type: RefVal2, Value: y, Peeled: x},
			},
			{
				{Name: []byte("a"), UpdateIndex: 2, Type: RefVal1, Value: y},
				{Name: []byte("c"), UpdateIndex: 2, Type: RefVal2, Value: y, Peeled: x},
				{Name: []byte("d"), UpdateIndex: 2, Type: RefSymref, Target: []byte("a")},
			},
			{
				{Name: []byte("b"), UpdateIndex: 3, Type: RefDeletion},
				{Name: []byte("f"), UpdateIndex: 3, Type: RefVal1, Value: x},
			},
		}
		for i, refs := range specs {
			// Pad each table with enough refs for an index and so an
			// obj section, unless skipped.
			all := append([]RefRecord{}, refs...)
			for j := range 100 {
				all = append(all, RefRecord{Name: fmt.Appendf(nil, "z/%d/%03d", i, j), UpdateIndex: uint64(i + 1), Type: RefVal1, Value: utID(SHA1, 100+j)})
			}
			data := utWrite(t, WriterOptions{BlockSize: 256, SkipIndexObjects: skip, MinUpdateIndex: uint64(i + 1), MaxUpdateIndex: uint64(i + 1)}, all, nil)
			tab := utOpen(t, data)
			if tab.Layout().HasObjs == skip {
				t.Fatalf("table %d: obj section %v, want %v", i, tab.Layout().HasObjs, !skip)
			}
			tabs = append(tabs, tab)
		}
		for _, show := range []bool{false, true} {
			m := utMerged(t, show, tabs...)
			var got []string
			for _, r := range utRefs(t, m.RefsFor(x)) {
				got = append(got, fmt.Sprintf("%s@%d", r.Name, r.UpdateIndex))
			}
			if diff := cmp.Diff([]string{"c@2", "e@1", "f@3"}, got); diff != "" {
				t.Errorf("skip=%v show=%v: RefsFor(x) (-want +got):\n%s", skip, show, diff)
			}
			got = nil
			for _, r := range utRefs(t, m.RefsFor(y)) {
				got = append(got, fmt.Sprintf("%s@%d", r.Name, r.UpdateIndex))
			}
			if diff := cmp.Diff([]string{"a@2", "c@2", "e@1"}, got); diff != "" {
				t.Errorf("skip=%v show=%v: RefsFor(y) (-want +got):\n%s", skip, show, diff)
			}
		}
	}
}

// TestRefCursor: a cursor seeked anywhere yields what iterating the
// merged view yields from that name on (newer tables shadowing older
// ones, deletions hidden), and seeks backwards as well as forwards.
func TestRefCursor(t *testing.T) {
	var older, newer []RefRecord
	for i := range 300 {
		older = append(older, RefRecord{Name: []byte(fmt.Sprintf("refs/heads/b%03d", i)), UpdateIndex: 1, Type: RefVal1, Value: utID(SHA1, i)})
		if i%3 == 0 {
			r := RefRecord{Name: older[i].Name, UpdateIndex: 2, Type: RefDeletion}
			if i%2 == 0 {
				r.Type, r.Value = RefVal1, utID(SHA1, 1000+i)
			}
			newer = append(newer, r)
		}
	}
	m := utMergedOf(t,
		utOpen(t, utWrite(t, WriterOptions{BlockSize: 256, MinUpdateIndex: 1, MaxUpdateIndex: 1}, older, nil)),
		utOpen(t, utWrite(t, WriterOptions{BlockSize: 256, MinUpdateIndex: 2, MaxUpdateIndex: 2}, newer, nil)))
	var all []string
	for r, err := range m.Refs(nil) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, fmt.Sprintf("%s %x", r.Name, r.Value))
	}
	c := m.RefCursor()
	defer c.Close()
	for _, name := range []string{"refs/heads/b150", "", "refs/heads/b0", "refs/heads/b299", "refs/heads/b15", "zzz", "refs/heads/b003"} {
		c.Seek([]byte(name))
		var got []string
		for {
			r, ok, err := c.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			got = append(got, fmt.Sprintf("%s %x", r.Name, r.Value))
		}
		i := sort.SearchStrings(all, name)
		if diff := cmp.Diff(all[i:], got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("after Seek(%q) (-iteration +cursor):\n%s", name, diff)
		}
	}
}

// TestLogCursor: a log cursor seeked to a name yields what iterating the
// merged view's logs yields from that ref's newest record on (records of
// several tables interleaved, newest first within a ref), seeking
// backwards as well as forwards.
func TestLogCursor(t *testing.T) {
	var older, newer []LogRecord
	for i := range 200 {
		name := []byte(fmt.Sprintf("refs/heads/b%03d", i))
		for idx := uint64(1); idx <= 2; idx++ {
			older = append(older, LogRecord{RefName: name, UpdateIndex: 3 - idx, Type: LogUpdate, Old: utID(SHA1, 0), New: utID(SHA1, i), Message: []byte("m\n")})
		}
		if i%3 == 0 {
			newer = append(newer, LogRecord{RefName: name, UpdateIndex: 3, Type: LogUpdate, Old: utID(SHA1, i), New: utID(SHA1, i+1), Message: []byte("n\n")})
		}
	}
	m := utMergedOf(t,
		utOpen(t, utWrite(t, WriterOptions{BlockSize: 256, MinUpdateIndex: 1, MaxUpdateIndex: 2}, nil, older)),
		utOpen(t, utWrite(t, WriterOptions{BlockSize: 256, MinUpdateIndex: 3, MaxUpdateIndex: 3}, nil, newer)))
	var all []string
	for l, err := range m.Logs(nil) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, fmt.Sprintf("%s %d", l.RefName, l.UpdateIndex))
	}
	c := m.LogCursor()
	defer c.Close()
	for _, name := range []string{"refs/heads/b150", "", "refs/heads/b0", "refs/heads/b199", "refs/heads/b15", "zzz", "refs/heads/b003"} {
		c.Seek([]byte(name))
		var got []string
		for {
			l, ok, err := c.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			got = append(got, fmt.Sprintf("%s %d", l.RefName, l.UpdateIndex))
		}
		i := sort.SearchStrings(all, name) // a name sorts before its records' lines
		if diff := cmp.Diff(all[i:], got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("after Seek(%q) (-iteration +cursor):\n%s", name, diff)
		}
	}
}

// TestMergedTournament checks the merge of every number of tables from
// 1 to 13 (odd counts leave uneven tournament trees) against a model:
// names shared by several tables, deletions, tables running out early,
// full listings, prefix listings and cursor seeks, hiding and showing
// deletions.
func TestMergedTournament(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 13))
	names := make([]string, 80)
	for i := range names {
		names[i] = fmt.Sprintf("refs/heads/%c/%02d", 'a'+i%3, i)
	}
	sort.Strings(names)
	for k := 1; k <= 13; k++ {
		specs := make([]utTableSpec, k)
		for j := range specs {
			// Later tables are sparser, and some end early in the key space.
			limit := len(names) - rng.IntN(len(names)/2)
			for _, name := range names[:limit] {
				if rng.IntN(k+1) != 0 {
					continue
				}
				idx := uint64(j + 1)
				if rng.IntN(4) == 0 {
					specs[j].refs = append(specs[j].refs, utDel(name, idx))
				} else {
					specs[j].refs = append(specs[j].refs, utVal(name, idx, 100*j+1))
				}
			}
			sort.Slice(specs[j].refs, func(a, b int) bool {
				return bytes.Compare(specs[j].refs[a].Name, specs[j].refs[b].Name) < 0
			})
		}
		tabs := utStack(t, SHA1, specs...)
		for _, show := range []bool{false, true} {
			// The model: the newest table holding a name decides it.
			model := map[string]RefRecord{}
			for _, s := range specs {
				for _, r := range s.refs {
					model[string(r.Name)] = r
				}
			}
			var wantRefs []RefRecord
			var wantNames []string
			for _, name := range names {
				if r, ok := model[name]; ok && (show || r.Type != RefDeletion) {
					wantRefs = append(wantRefs, r)
					wantNames = append(wantNames, name)
				}
			}
			want := utRefStrings(wantRefs)
			m := utMerged(t, show, tabs...)
			if diff := cmp.Diff(want, utRefStrings(utRefs(t, m.Refs(nil)))); diff != "" {
				t.Fatalf("%d tables, show %v: refs differ from the model (-want +got):\n%s", k, show, diff)
			}
			for _, prefix := range []string{"refs/heads/b/", "refs/heads/c/7", "refs/heads/z"} {
				var wantP []string
				for i, name := range wantNames {
					if strings.HasPrefix(name, prefix) {
						wantP = append(wantP, want[i])
					}
				}
				if diff := cmp.Diff(wantP, utRefStrings(utRefs(t, m.Refs([]byte(prefix)))), cmpopts.EquateEmpty()); diff != "" {
					t.Fatalf("%d tables, show %v, prefix %s: refs differ (-want +got):\n%s", k, show, prefix, diff)
				}
			}
			c := m.RefCursor()
			for range 20 {
				from := names[rng.IntN(len(names))]
				start := sort.SearchStrings(wantNames, from)
				c.Seek([]byte(from))
				for i := start; i < min(start+3, len(want)+1); i++ {
					r, ok, err := c.Next()
					if err != nil {
						t.Fatal(err)
					}
					if i == len(want) {
						if ok {
							t.Fatalf("%d tables: cursor from %s returned %s past the end", k, from, r.Name)
						}
						break
					}
					if got := utRefStrings([]RefRecord{r})[0]; !ok || got != want[i] {
						t.Fatalf("%d tables: cursor from %s step %d: got %s (ok %v), want %s", k, from, i-start, got, ok, want[i])
					}
				}
			}
			c.Close()
		}
	}
}
