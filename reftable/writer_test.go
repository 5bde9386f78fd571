package reftable

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// utWrite writes refs then logs into a table with opts and returns its
// bytes; any error fails the test.
func utWrite(t testing.TB, opts WriterOptions, refs []RefRecord, logs []LogRecord) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range refs {
		if err := w.AddRef(&refs[i]); err != nil {
			t.Fatalf("AddRef(%q): %v", refs[i].Name, err)
		}
	}
	for i := range logs {
		if err := w.AddLog(&logs[i]); err != nil {
			t.Fatalf("AddLog(%q@%d): %v", logs[i].RefName, logs[i].UpdateIndex, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := w.Stats().Size; got != int64(buf.Len()) {
		t.Errorf("Stats().Size = %d, wrote %d bytes", got, buf.Len())
	}
	return buf.Bytes()
}

// utOpen opens data as a table.
func utOpen(t testing.TB, data []byte) *Table {
	t.Helper()
	tab, err := NewTable(bytes.NewReader(data), int64(len(data)), "test.ref")
	if err != nil {
		t.Fatalf("NewTable: %v", err)
	}
	return tab
}

// utRefs collects a ref iterator into owned records.
func utRefs(t testing.TB, seq func(func(RefRecord, error) bool)) []RefRecord {
	t.Helper()
	var out []RefRecord
	for r, err := range seq {
		if err != nil {
			t.Fatalf("ref iteration: %v", err)
		}
		out = append(out, r.Clone())
	}
	return out
}

// utLogs collects a log iterator into owned records.
func utLogs(t testing.TB, seq func(func(LogRecord, error) bool)) []LogRecord {
	t.Helper()
	var out []LogRecord
	for l, err := range seq {
		if err != nil {
			t.Fatalf("log iteration: %v", err)
		}
		out = append(out, l.Clone())
	}
	return out
}

// utBranches returns n val1 refs "refs/heads/branch-%04d" at update index
// 1 with distinct ids.
func utBranches(h Hash, n int) []RefRecord {
	refs := make([]RefRecord, n)
	for i := range refs {
		refs[i] = RefRecord{Name: fmt.Appendf(nil, "refs/heads/branch-%04d", i), UpdateIndex: 1, Type: RefVal1, Value: utID(h, i)}
	}
	return refs
}

// utLogsFor returns n log updates of ref name, newest first, with update
// indexes n..1.
func utLogsFor(h Hash, name string, n int, msg string) []LogRecord {
	logs := make([]LogRecord, n)
	for i := range logs {
		idx := uint64(n - i)
		logs[i] = LogRecord{
			RefName: []byte(name), UpdateIndex: idx, Type: LogUpdate,
			Old: utID(h, int(idx)-1), New: utID(h, int(idx)),
			Name: []byte("C O Mitter"), Email: []byte("committer@example.com"),
			Time: 1700000000 + idx, TZOffset: -800, Message: fmt.Appendf(nil, "%s %d\n", msg, idx),
		}
	}
	return logs
}

// utRefStrings formats refs one per line with every field, for cheap
// comparisons of long lists.
func utRefStrings(refs []RefRecord) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = fmt.Sprintf("%s@%d %v %x %x %q", r.Name, r.UpdateIndex, r.Type, r.Value, r.Peeled, r.Target)
	}
	return out
}

// utLogStrings formats logs one per line with every field.
func utLogStrings(logs []LogRecord) []string {
	out := make([]string, len(logs))
	for i, l := range logs {
		out[i] = fmt.Sprintf("%s@%d %d %x %x %q <%q> %d %d %q", l.RefName, l.UpdateIndex, l.Type, l.Old, l.New,
			l.Name, l.Email, l.Time, l.TZOffset, l.Message)
	}
	return out
}

func utBlockInfos(t testing.TB, tab *Table) []BlockInfo {
	t.Helper()
	var out []BlockInfo
	for info, err := range tab.Blocks() {
		if err != nil {
			t.Fatalf("Blocks: %v", err)
		}
		out = append(out, info)
	}
	return out
}

func TestWriterEmptyTable(t *testing.T) {
	for _, tt := range []struct {
		hash Hash
		size int
	}{{0, 92}, {SHA1, 92}, {SHA256, 100}} {
		t.Run(tt.hash.String(), func(t *testing.T) {
			data := utWrite(t, WriterOptions{Hash: tt.hash, MinUpdateIndex: 3, MaxUpdateIndex: 4}, nil, nil)
			if len(data) != tt.size {
				t.Fatalf("empty table has %d bytes, want %d", len(data), tt.size)
			}
			hs := headerSize(tt.hash.version())
			if !bytes.Equal(data[:hs], data[hs:2*hs]) {
				t.Errorf("footer does not start with a copy of the header")
			}
			tab := utOpen(t, data)
			if tab.Hash() != tt.hash.norm() || tab.MinUpdateIndex() != 3 || tab.MaxUpdateIndex() != 4 {
				t.Errorf("table says %v %d..%d", tab.Hash(), tab.MinUpdateIndex(), tab.MaxUpdateIndex())
			}
			if refs := utRefs(t, tab.Refs(nil)); len(refs) != 0 {
				t.Errorf("Refs = %v, want none", refs)
			}
			if logs := utLogs(t, tab.Logs(nil)); len(logs) != 0 {
				t.Errorf("Logs = %v, want none", logs)
			}
			if refs := utRefs(t, tab.RefsFor(utID(tt.hash, 0))); len(refs) != 0 {
				t.Errorf("RefsFor = %v, want none", refs)
			}
			if _, err := tab.Ref([]byte("HEAD")); !errors.Is(err, ErrNotFound) {
				t.Errorf("Ref(HEAD) err = %v, want ErrNotFound", err)
			}
			if blocks := utBlockInfos(t, tab); len(blocks) != 0 {
				t.Errorf("Blocks = %v, want none", blocks)
			}
			if diff := cmp.Diff(Layout{FooterOffset: int64(hs)}, tab.Layout()); diff != "" {
				t.Errorf("Layout (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriterOneRefIsSmall(t *testing.T) {
	refs := []RefRecord{{Name: []byte("refs/heads/main"), UpdateIndex: 1, Type: RefVal1, Value: utID(SHA1, 1)}}
	data := utWrite(t, WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 1}, refs, nil)
	if len(data) >= 200 {
		t.Errorf("1-ref table has %d bytes, want < 200 (no padding before the footer)", len(data))
	}
	got := utRefs(t, utOpen(t, data).Refs(nil))
	if diff := cmp.Diff(refs, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestWriterStatsSizeExcludesDroppedPadding: the padding of the last block
// before the footer is never written, so Stats().Size must not count it.
func TestWriterStatsSizeExcludesDroppedPadding(t *testing.T) {
	for _, n := range []int{1, 10, 500} {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 1})
		if err != nil {
			t.Fatal(err)
		}
		refs := utBranches(SHA1, n)
		for i := range refs {
			if err := w.AddRef(&refs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		st := w.Stats()
		if st.Size != int64(buf.Len()) || st.Refs != n {
			t.Errorf("%d refs: Stats() = %+v, wrote %d bytes", n, st, buf.Len())
		}
	}
}

func TestWriterLogTooBig(t *testing.T) {
	opts := WriterOptions{BlockSize: 256, MinUpdateIndex: 1, MaxUpdateIndex: 1}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	l := utLogsFor(SHA1, "refs/heads/main", 1, strings.Repeat("x", 300))[0]
	if err := w.AddLog(&l); !errors.Is(err, ErrEntryTooBig) {
		t.Fatalf("AddLog of a %d-byte message at block size 256: err = %v, want ErrEntryTooBig", len(l.Message), err)
	}
	// A message that fits is fine in a fresh writer.
	l = utLogsFor(SHA1, "refs/heads/main", 1, strings.Repeat("x", 100))[0]
	utWrite(t, opts, nil, []LogRecord{l})
}

func TestWriterRefTooBig(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, WriterOptions{BlockSize: 100})
	r := RefRecord{Name: []byte("refs/heads/" + strings.Repeat("n", 100)), Type: RefVal1, Value: utID(SHA1, 1)}
	if err := w.AddRef(&r); !errors.Is(err, ErrEntryTooBig) {
		t.Errorf("AddRef of a 111-byte name at block size 100: err = %v, want ErrEntryTooBig", err)
	}
}

func TestWriterLogUpdateIndexLimits(t *testing.T) {
	for _, tt := range []struct {
		index uint64
		want  error
	}{
		{0, nil}, // below the minimum: allowed (reflog rewrites)
		{1, nil},
		{2, nil},
		{3, ErrUpdateIndex},
		{1<<64 - 1, ErrUpdateIndex},
	} {
		t.Run(fmt.Sprint(tt.index), func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, WriterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.SetLimits(1, 2); err != nil {
				t.Fatal(err)
			}
			l := utLogsFor(SHA1, "refs/heads/main", 1, "m")[0]
			l.UpdateIndex = tt.index
			err = w.AddLog(&l)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("AddLog at %d with limits 1..2: err = %v, want %v", tt.index, err, tt.want)
			}
			if err != nil {
				return
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			logs := utLogs(t, utOpen(t, buf.Bytes()).Logs(nil))
			if len(logs) != 1 || logs[0].UpdateIndex != tt.index {
				t.Errorf("read back %+v", logs)
			}
		})
	}
	// Deletions are not checked against the limits, as in git.
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 2})
	if err := w.AddLog(&LogRecord{RefName: []byte("refs/heads/x"), UpdateIndex: 9, Type: LogDeletion}); err != nil {
		t.Errorf("log deletion above the limits: %v", err)
	}
}

func TestWriterRefUpdateIndexLimits(t *testing.T) {
	for _, tt := range []struct {
		index uint64
		want  error
	}{
		{0, ErrUpdateIndex},
		{4, ErrUpdateIndex},
		{5, nil},
		{7, nil},
		{8, ErrUpdateIndex},
	} {
		var buf bytes.Buffer
		w, _ := NewWriter(&buf, WriterOptions{MinUpdateIndex: 5, MaxUpdateIndex: 7})
		for _, typ := range []RefValueType{RefDeletion, RefSymref} {
			r := RefRecord{Name: []byte("refs/heads/" + typ.String()), UpdateIndex: tt.index, Type: typ, Target: []byte("HEAD")}
			err := w.AddRef(&r)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("%v ref at %d with limits 5..7: err = %v, want %v", typ, tt.index, err, tt.want)
			}
		}
	}
}

func TestWriterKeyOrder(t *testing.T) {
	id := utID(SHA1, 1)
	ref := func(name string) RefRecord {
		return RefRecord{Name: []byte(name), UpdateIndex: 1, Type: RefVal1, Value: id}
	}
	log := func(name string, idx uint64) LogRecord {
		l := utLogsFor(SHA1, name, 1, "m")[0]
		l.UpdateIndex = idx
		return l
	}
	// The first k branches fill the first 256-byte block exactly: a
	// repeated key then arrives when the writer must start a new block.
	many := utBranches(SHA1, 300)
	k := utBlockInfos(t, utOpen(t, utWrite(t, WriterOptions{BlockSize: 256, MinUpdateIndex: 1, MaxUpdateIndex: 10}, many, nil)))[0].Records
	manyLogs := utLogsFor(SHA1, "refs/heads/main", 60, "a message")
	kl := utBlockInfos(t, utOpen(t, utWrite(t, WriterOptions{BlockSize: 256, MinUpdateIndex: 1, MaxUpdateIndex: 60}, nil, manyLogs)))[0].Records
	if k < 2 || k >= len(many) || kl < 2 || kl >= len(manyLogs) {
		t.Fatalf("first blocks hold %d refs, %d logs", k, kl)
	}
	tests := []struct {
		name string
		refs []RefRecord
		logs []LogRecord
	}{
		{"same ref twice", []RefRecord{ref("a"), ref("b"), ref("b")}, nil},
		{"decreasing refs", []RefRecord{ref("b"), ref("a")}, nil},
		{"prefix after longer", []RefRecord{ref("refs/heads/main"), ref("refs/heads/ma")}, nil},
		{"same ref at a block boundary", append(slices.Clone(many[:k]), many[k-1]), nil},
		{"decrease at a block boundary", append(slices.Clone(many[:k]), many[k-2]), nil},
		{"decrease after a block boundary", append(slices.Clone(many[:k+1]), many[k-1]), nil},
		{"same log at a block boundary", nil, append(slices.Clone(manyLogs[:kl]), manyLogs[kl-1])},
		{"newer log after a block boundary", nil, append(slices.Clone(manyLogs[:kl+1]), manyLogs[kl-1])},
		{"same log twice", nil, []LogRecord{log("a", 2), log("a", 2)}},
		{"older log before newer", nil, []LogRecord{log("a", 1), log("a", 2)}},
		{"decreasing log names", nil, []LogRecord{log("b", 1), log("a", 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, _ := NewWriter(&buf, WriterOptions{BlockSize: 256, MinUpdateIndex: 1, MaxUpdateIndex: 60})
			var err error
			for i := range tt.refs {
				if err = w.AddRef(&tt.refs[i]); err != nil {
					if i != len(tt.refs)-1 {
						t.Fatalf("ref %d of %d: %v", i, len(tt.refs), err)
					}
				}
			}
			for i := range tt.logs {
				if err = w.AddLog(&tt.logs[i]); err != nil {
					if i != len(tt.logs)-1 {
						t.Fatalf("log %d of %d: %v", i, len(tt.logs), err)
					}
				}
			}
			if !errors.Is(err, ErrKeyOrder) {
				t.Errorf("last record: err = %v, want ErrKeyOrder", err)
			}
		})
	}
	// Logs may restart the key order: a log of "a" after a ref "z".
	utWrite(t, WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 1}, []RefRecord{ref("z")}, []LogRecord{log("a", 1)})
}

func TestWriterInvalidNames(t *testing.T) {
	for _, name := range []string{"", "refs/heads/a\x00b", "\x00"} {
		var buf bytes.Buffer
		w, _ := NewWriter(&buf, WriterOptions{})
		if err := w.AddRef(&RefRecord{Name: []byte(name), Type: RefDeletion}); !errors.Is(err, ErrRefName) {
			t.Errorf("AddRef(%q): err = %v, want ErrRefName", name, err)
		}
		w, _ = NewWriter(&buf, WriterOptions{})
		l := utLogsFor(SHA1, name, 1, "m")[0]
		l.UpdateIndex = 0
		if err := w.AddLog(&l); !errors.Is(err, ErrRefName) {
			t.Errorf("AddLog(%q): err = %v, want ErrRefName", name, err)
		}
		w, _ = NewWriter(&buf, WriterOptions{})
		if err := w.AddLog(&LogRecord{RefName: []byte(name), Type: LogDeletion}); !errors.Is(err, ErrRefName) {
			t.Errorf("AddLog(deletion %q): err = %v, want ErrRefName", name, err)
		}
	}
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, WriterOptions{})
	if err := w.AddRef(&RefRecord{Name: []byte("HEAD"), Type: RefSymref}); !errors.Is(err, ErrRefName) {
		t.Errorf("symref with empty target: err = %v, want ErrRefName", err)
	}
}

func TestWriterStateErrors(t *testing.T) {
	ref := RefRecord{Name: []byte("refs/heads/main"), UpdateIndex: 1, Type: RefVal1, Value: utID(SHA1, 1)}
	l := utLogsFor(SHA1, "refs/heads/main", 1, "m")[0]
	newW := func() *Writer {
		w, err := NewWriter(&bytes.Buffer{}, WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 1})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}

	w := newW()
	if err := w.AddLog(&l); err != nil {
		t.Fatal(err)
	}
	r2 := ref
	r2.Name = []byte("refs/heads/zzz")
	if err := w.AddRef(&r2); !errors.Is(err, ErrWriterState) {
		t.Errorf("ref after log: err = %v, want ErrWriterState", err)
	}

	w = newW()
	if err := w.AddRef(&ref); err != nil {
		t.Fatal(err)
	}
	if err := w.SetLimits(1, 2); !errors.Is(err, ErrWriterState) {
		t.Errorf("SetLimits after a ref: err = %v, want ErrWriterState", err)
	}

	w = newW()
	if err := w.AddLog(&l); err != nil {
		t.Fatal(err)
	}
	if err := w.SetLimits(1, 2); !errors.Is(err, ErrWriterState) {
		t.Errorf("SetLimits after a log: err = %v, want ErrWriterState", err)
	}

	w = newW()
	if err := w.SetLimits(3, 2); !errors.Is(err, ErrOptions) {
		t.Errorf("SetLimits(3, 2): err = %v, want ErrOptions", err)
	}

	w = newW()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.AddRef(&ref); !errors.Is(err, ErrWriterState) {
		t.Errorf("AddRef after Close: err = %v, want ErrWriterState", err)
	}
	w = newW()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.AddLog(&l); !errors.Is(err, ErrWriterState) {
		t.Errorf("AddLog after Close: err = %v, want ErrWriterState", err)
	}
	w = newW()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); !errors.Is(err, ErrWriterState) {
		t.Errorf("second Close: err = %v, want ErrWriterState", err)
	}

	w = newW()
	bad := ref
	bad.Type = 4
	if err := w.AddRef(&bad); err == nil {
		t.Error("AddRef accepted value type 4")
	}
	w = newW()
	badLog := l
	badLog.Type = 2
	if err := w.AddLog(&badLog); err == nil {
		t.Error("AddLog accepted value type 2")
	}
}

func TestWriterOptionErrors(t *testing.T) {
	for _, opts := range []WriterOptions{
		{BlockSize: -1},
		{BlockSize: MaxBlockSize + 1},
		{RestartInterval: -1},
		{RestartInterval: 65536},
		{Hash: 3},
		{MinUpdateIndex: 2, MaxUpdateIndex: 1},
		{UnalignedHeader: true}, // padded blocks cannot declare block size 0
	} {
		if _, err := NewWriter(&bytes.Buffer{}, opts); !errors.Is(err, ErrOptions) {
			t.Errorf("NewWriter(%+v): err = %v, want ErrOptions", opts, err)
		}
	}
	for _, opts := range []WriterOptions{{BlockSize: MaxBlockSize}, {RestartInterval: 65535}, {Hash: SHA256}, {Unpadded: true, UnalignedHeader: true}} {
		if _, err := NewWriter(&bytes.Buffer{}, opts); err != nil {
			t.Errorf("NewWriter(%+v): %v", opts, err)
		}
	}
}

func TestWriterHashMismatch(t *testing.T) {
	for _, tt := range []struct {
		hash Hash
		n    int
	}{{SHA1, 32}, {SHA1, 19}, {SHA256, 20}, {SHA1, 0}} {
		id := make([]byte, tt.n)
		good := make([]byte, tt.hash.Size())
		cases := map[string]func(w *Writer) error{
			"val1": func(w *Writer) error { return w.AddRef(&RefRecord{Name: []byte("r"), Type: RefVal1, Value: id}) },
			"val2 value": func(w *Writer) error {
				return w.AddRef(&RefRecord{Name: []byte("r"), Type: RefVal2, Value: id, Peeled: good})
			},
			"val2 peeled": func(w *Writer) error {
				return w.AddRef(&RefRecord{Name: []byte("r"), Type: RefVal2, Value: good, Peeled: id})
			},
			"log old": func(w *Writer) error {
				return w.AddLog(&LogRecord{RefName: []byte("r"), Type: LogUpdate, Old: id, New: good})
			},
			"log new": func(w *Writer) error {
				return w.AddLog(&LogRecord{RefName: []byte("r"), Type: LogUpdate, Old: good, New: id})
			},
		}
		for name, add := range cases {
			w, _ := NewWriter(&bytes.Buffer{}, WriterOptions{Hash: tt.hash})
			if err := add(w); !errors.Is(err, ErrHashMismatch) {
				t.Errorf("%v %s with a %d-byte id: err = %v, want ErrHashMismatch", tt.hash, name, tt.n, err)
			}
		}
	}
	// A nil log id stands for the zero id.
	l := LogRecord{RefName: []byte("r"), Type: LogUpdate, New: utID(SHA256, 1), Message: []byte("m")}
	logs := utLogs(t, utOpen(t, utWrite(t, WriterOptions{Hash: SHA256}, nil, []LogRecord{l})).Logs(nil))
	if len(logs) != 1 || !bytes.Equal(logs[0].Old, make([]byte, 32)) {
		t.Errorf("nil Old read back as %+v, want 32 zero bytes", logs)
	}
}

func TestWriterLogMessage(t *testing.T) {
	tests := []struct {
		msg   string
		exact bool
		want  string
		err   error
	}{
		{msg: "one", want: "one\n"},
		{msg: "two\n", want: "two\n"},
		{msg: "three\n\n\n", want: "three\n"},
		{msg: "", want: "\n"},
		{msg: "\n", want: "\n"},
		{msg: "one\ntwo", err: ErrLogMessage},
		{msg: "one\ntwo\n", err: ErrLogMessage},
		{msg: "\none", err: ErrLogMessage},
		{msg: "one\ntwo", exact: true, want: "one\ntwo"},
		{msg: "one", exact: true, want: "one"},
		{msg: "", exact: true, want: ""},
		{msg: "x\n\n", exact: true, want: "x\n\n"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q/exact=%v", tt.msg, tt.exact), func(t *testing.T) {
			var buf bytes.Buffer
			w, _ := NewWriter(&buf, WriterOptions{ExactLogMessage: tt.exact, MaxUpdateIndex: 1})
			l := utLogsFor(SHA1, "refs/heads/main", 1, "")[0]
			l.Message = []byte(tt.msg)
			orig := l.Clone()
			err := w.AddLog(&l)
			if diff := cmp.Diff(orig, l); diff != "" {
				t.Errorf("AddLog modified its argument (-before +after):\n%s", diff)
			}
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			logs := utLogs(t, utOpen(t, buf.Bytes()).Logs(nil))
			if len(logs) != 1 || string(logs[0].Message) != tt.want {
				t.Errorf("message read back as %q, want %q", logs[0].Message, tt.want)
			}
		})
	}
}

func TestWriterErrorIsSticky(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 1})
	good := utBranches(SHA1, 3)
	if err := w.AddRef(&good[1]); err != nil {
		t.Fatal(err)
	}
	first := w.AddRef(&good[0]) // out of order
	if !errors.Is(first, ErrKeyOrder) {
		t.Fatalf("err = %v, want ErrKeyOrder", first)
	}
	checks := map[string]error{
		"AddRef":    w.AddRef(&good[2]),
		"AddLog":    w.AddLog(&utLogsFor(SHA1, "refs/heads/main", 1, "m")[0]),
		"SetLimits": w.SetLimits(1, 1),
		"Close":     w.Close(),
	}
	for name, err := range checks {
		if err != first {
			t.Errorf("%s after a failure: err = %v, want the first error %v", name, err, first)
		}
	}
}

func TestWriterLongNames(t *testing.T) {
	const n = 10
	var refs []RefRecord
	var logs []LogRecord
	for i := range n {
		name := fmt.Sprintf("refs/heads/%03d-", i) + strings.Repeat("x", 130-15)
		if len(name) != 130 {
			t.Fatalf("name length %d", len(name))
		}
		refs = append(refs, RefRecord{Name: []byte(name), UpdateIndex: 1, Type: RefVal1, Value: utID(SHA1, i)})
		l := utLogsFor(SHA1, name, 1, "m")[0]
		logs = append(logs, l)
	}
	tab := utOpen(t, utWrite(t, WriterOptions{BlockSize: 256, MinUpdateIndex: 1, MaxUpdateIndex: 1}, refs, logs))
	if diff := cmp.Diff(refs, utRefs(t, tab.Refs(nil))); diff != "" {
		t.Errorf("refs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(logs, utLogs(t, tab.Logs(nil))); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
	for _, l := range logs {
		if got := utLogs(t, tab.LogsFor(l.RefName)); len(got) != 1 || !bytes.Equal(got[0].RefName, l.RefName) {
			t.Errorf("LogsFor(%q) = %d records", l.RefName, len(got))
		}
	}
}

func TestWriterObjIDLen(t *testing.T) {
	tests := []struct {
		name string
		id   func(i int) []byte
		want int
	}{
		{"one id", func(int) []byte { return make([]byte, 20) }, 2},
		{"ids differing at byte 15", func(i int) []byte {
			id := bytes.Repeat([]byte{0x42}, 20)
			id[15] = byte(i)
			return id
		}, 16},
		{"ids differing at byte 0", func(i int) []byte {
			id := make([]byte, 20)
			id[0] = byte(i)
			return id
		}, 2},
		{"ids differing at byte 19", func(i int) []byte {
			id := make([]byte, 20)
			id[19] = byte(i)
			return id
		}, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refs := make([]RefRecord, 256)
			for i := range refs {
				refs[i] = RefRecord{Name: fmt.Appendf(nil, "refs/heads/%03d", i), UpdateIndex: 1, Type: RefVal1, Value: tt.id(i)}
			}
			var buf bytes.Buffer
			w, _ := NewWriter(&buf, WriterOptions{BlockSize: 256, MinUpdateIndex: 1, MaxUpdateIndex: 1})
			for i := range refs {
				if err := w.AddRef(&refs[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			tab := utOpen(t, buf.Bytes())
			l := tab.Layout()
			if l.RefIndex == 0 || !l.HasObjs {
				t.Fatalf("Layout = %+v, want a ref index and an obj section", l)
			}
			if l.ObjIDLen != tt.want || w.Stats().ObjIDLen != tt.want {
				t.Errorf("ObjIDLen = %d (stats %d), want %d", l.ObjIDLen, w.Stats().ObjIDLen, tt.want)
			}
			for _, i := range []int{0, 17, 255} {
				got := utRefs(t, tab.RefsFor(tt.id(i)))
				var want []RefRecord
				for _, r := range refs {
					if bytes.Equal(r.Value, tt.id(i)) {
						want = append(want, r)
					}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("RefsFor(%x) (-want +got):\n%s", tt.id(i), diff)
				}
			}
		})
	}
}

// TestWriterMultipleIndices mirrors git's "multiple indices": with enough
// ref and log blocks the footer records a ref index, an obj section and a
// log index, and every section can be searched.
func TestWriterMultipleIndices(t *testing.T) {
	const n = 100
	refs := utBranches(SHA1, n)
	var logs []LogRecord
	for i := range n {
		l := utLogsFor(SHA1, string(refs[i].Name), 1, "update message that takes some room")[0]
		logs = append(logs, l)
	}
	tab := utOpen(t, utWrite(t, WriterOptions{BlockSize: 256, MinUpdateIndex: 1, MaxUpdateIndex: 1}, refs, logs))
	l := tab.Layout()
	if l.RefIndex <= 0 || l.ObjOffset <= 0 || l.ObjIndex <= 0 || l.LogOffset <= 0 || l.LogIndex <= 0 {
		t.Errorf("Layout = %+v, want ref index, obj section, obj index, log section and log index", l)
	}
	if !(l.RefIndex < l.ObjOffset && l.ObjOffset < l.ObjIndex && l.ObjIndex < l.LogOffset && l.LogOffset < l.LogIndex && l.LogIndex < l.FooterOffset) {
		t.Errorf("sections out of order: %+v", l)
	}
	counts := map[byte]int{}
	for _, b := range utBlockInfos(t, tab) {
		counts[b.Type]++
	}
	if counts['r'] < 4 || counts['g'] < 4 {
		t.Errorf("block counts %v, want at least 4 ref and 4 log blocks", counts)
	}
	for _, i := range []int{0, 1, n / 2, n - 1} {
		got := utLogs(t, tab.LogsFor(logs[i].RefName))
		if diff := cmp.Diff(logs[i:i+1], got); diff != "" {
			t.Errorf("LogsFor(%q) (-want +got):\n%s", logs[i].RefName, diff)
		}
		r, err := tab.Ref(refs[i].Name)
		if err != nil || !bytes.Equal(r.Value, refs[i].Value) {
			t.Errorf("Ref(%q) = %+v, %v", refs[i].Name, r, err)
		}
		if got := utRefs(t, tab.RefsFor(refs[i].Value)); len(got) != 1 || !bytes.Equal(got[0].Name, refs[i].Name) {
			t.Errorf("RefsFor(%x) = %v", refs[i].Value, got)
		}
	}
}

// TestWriterMultiLevelIndex mirrors git's "multi-level index": 200 refs at
// block size 100 need an index of index blocks, and the last ref must stay
// reachable through it.
func TestWriterMultiLevelIndex(t *testing.T) {
	var refs []RefRecord
	for i := range 200 {
		refs = append(refs, RefRecord{Name: fmt.Appendf(nil, "refs/heads/%03d", i), UpdateIndex: 1, Type: RefVal1, Value: utID(SHA1, i)})
	}
	tab := utOpen(t, utWrite(t, WriterOptions{BlockSize: 100, MinUpdateIndex: 1, MaxUpdateIndex: 1}, refs, nil))
	l := tab.Layout()
	if l.RefIndex == 0 {
		t.Fatalf("Layout = %+v, want a ref index", l)
	}
	if levels := utIndexLevels(t, tab, l.RefIndex); levels < 2 {
		t.Errorf("ref index has %d levels, want at least 2", levels)
	}
	last := refs[len(refs)-1]
	r, err := tab.Ref(last.Name)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(last, r); diff != "" {
		t.Errorf("Ref(last) (-want +got):\n%s", diff)
	}
	for _, want := range refs {
		if r, err := tab.Ref(want.Name); err != nil || !bytes.Equal(r.Value, want.Value) {
			t.Errorf("Ref(%q) = %+v, %v", want.Name, r, err)
		}
	}
	if diff := cmp.Diff(refs[150:160], utRefs(t, tab.Refs([]byte("refs/heads/15")))); diff != "" {
		t.Errorf("Refs(refs/heads/15) (-want +got):\n%s", diff)
	}
}

// utIndexLevels follows the first child of the index block at off down to
// a non-index block and returns the number of index levels on the way.
func utIndexLevels(t testing.TB, tab *Table, off int64) int {
	t.Helper()
	it := newTableIter(tab, blockTypeIndex)
	levels := 0
	for {
		ok, err := it.rd.load(&it.blk, off, 0)
		if err != nil || !ok {
			t.Fatalf("load %d: %v %v", off, ok, err)
		}
		if it.blk.typ != blockTypeIndex {
			return levels
		}
		levels++
		it.pos, it.key = it.blk.headerOff+4, it.key[:0]
		if !it.decode() {
			t.Fatal(it.err)
		}
		off = int64(it.child)
	}
}

// TestWriterGoldenBlockIterator mirrors git's table__block_iterator: 500
// refs all pointing at the zero id, default options.
func TestWriterGoldenBlockIterator(t *testing.T) {
	var refs []RefRecord
	for i := range 500 {
		refs = append(refs, RefRecord{Name: fmt.Appendf(nil, "refs/heads/branch-%03d", i), UpdateIndex: 1, Type: RefVal1, Value: make([]byte, 20)})
	}
	tab := utOpen(t, utWrite(t, WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 1}, refs, nil))
	type blk struct {
		Type     string
		Records  int
		Restarts int
	}
	var got []blk
	for _, b := range utBlockInfos(t, tab) {
		got = append(got, blk{string(b.Type), b.Records, b.Restarts})
	}
	want := []blk{
		{"r", 158, 10}, {"r", 159, 10}, {"r", 159, 10}, {"r", 24, 2},
		{"i", 4, 1},
		{"o", 1, 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("blocks (-want +got):\n%s", diff)
	}
	if got := utRefs(t, tab.RefsFor(make([]byte, 20))); len(got) != 500 {
		t.Errorf("RefsFor(zero id) found %d refs, want 500", len(got))
	}
}

// utRestartOff is the offset of a block's restart table, what git's
// dump-reftable -b prints as "length".
func utRestartOff(b BlockInfo) int { return b.Len - 2 - 3*b.Restarts }

// TestWriterGoldenT0613 reproduces the block dumps of git's
// t0613-reftable-write-options.sh from the records git writes there
// (branch master, tags from test_commit, the test suite's committer).
func TestWriterGoldenT0613(t *testing.T) {
	commit := utID(SHA1, 1)
	sym := func(name, target string) RefRecord {
		return RefRecord{Name: []byte(name), UpdateIndex: 1, Type: RefSymref, Target: []byte(target)}
	}
	val := func(name string) RefRecord {
		return RefRecord{Name: []byte(name), UpdateIndex: 1, Type: RefVal1, Value: commit}
	}
	type blk struct {
		Type     string
		Length   int
		Restarts int
	}
	dump := func(tab *Table) []blk {
		var out []blk
		for _, b := range utBlockInfos(t, tab) {
			// For log blocks, Len and so the length are inflated sizes.
			out = append(out, blk{string(b.Type), utRestartOff(b), b.Restarts})
		}
		return out
	}

	t.Run("default", func(t *testing.T) {
		refs := []RefRecord{sym("HEAD", "refs/heads/master"), val("refs/heads/master"), val("refs/tags/initial")}
		var logs []LogRecord
		for _, name := range []string{"HEAD", "refs/heads/master"} {
			logs = append(logs, LogRecord{
				RefName: []byte(name), UpdateIndex: 1, Type: LogUpdate, Old: make([]byte, 20), New: commit,
				Name: []byte("C O Mitter"), Email: []byte("committer@example.com"), Time: 1112911993, TZOffset: -700,
				Message: []byte("commit (initial): initial"),
			})
		}
		got := dump(utOpen(t, utWrite(t, WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 1}, refs, logs)))
		want := []blk{{"r", 129, 2}, {"g", 262, 2}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("blocks (-want +got):\n%s", diff)
		}
	})

	t.Run("blockSize=50 entry too large", func(t *testing.T) {
		// HEAD's symref record needs 24+4+25+3+2 = 58 bytes.
		w, _ := NewWriter(&bytes.Buffer{}, WriterOptions{BlockSize: 50, MinUpdateIndex: 1, MaxUpdateIndex: 1})
		head := sym("HEAD", "refs/heads/master")
		if err := w.AddRef(&head); !errors.Is(err, ErrEntryTooBig) {
			t.Errorf("AddRef(HEAD): err = %v, want ErrEntryTooBig", err)
		}
	})
	t.Run("blockSize=100 500-byte reflog message", func(t *testing.T) {
		w, _ := NewWriter(&bytes.Buffer{}, WriterOptions{BlockSize: 100, MinUpdateIndex: 1, MaxUpdateIndex: 1})
		l := LogRecord{RefName: []byte("refs/heads/master"), UpdateIndex: 1, Type: LogUpdate, New: commit,
			Message: bytes.Repeat([]byte("x"), 500)}
		if err := w.AddLog(&l); !errors.Is(err, ErrEntryTooBig) {
			t.Errorf("AddLog: err = %v, want ErrEntryTooBig", err)
		}
	})
	t.Run("blockSize=100", func(t *testing.T) {
		refs := []RefRecord{sym("HEAD", "refs/heads/master"), val("refs/heads/master"), val("refs/tags/A"), val("refs/tags/B")}
		got := dump(utOpen(t, utWrite(t, WriterOptions{BlockSize: 100, MinUpdateIndex: 1, MaxUpdateIndex: 1}, refs, nil)))
		want := []blk{{"r", 53, 1}, {"r", 74, 1}, {"r", 38, 1}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("blocks (-want +got):\n%s", diff)
		}
	})

	refs6 := []RefRecord{sym("HEAD", "refs/heads/master")}
	for i := 1; i <= 5; i++ {
		refs6 = append(refs6, val(fmt.Sprintf("refs/heads/branch-%d", i)))
	}
	refs6 = append(refs6, val("refs/heads/master"), val("refs/tags/initial"))
	t.Run("blockSize=100 with ref index", func(t *testing.T) {
		got := dump(utOpen(t, utWrite(t, WriterOptions{BlockSize: 100, MinUpdateIndex: 1, MaxUpdateIndex: 1}, refs6, nil)))
		want := []blk{{"r", 53, 1}, {"r", 95, 1}, {"r", 71, 1}, {"r", 80, 1}, {"i", 55, 2}, {"o", 11, 1}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("blocks (-want +got):\n%s", diff)
		}
	})
	t.Run("blockSize=100 indexObjects=false", func(t *testing.T) {
		got := dump(utOpen(t, utWrite(t, WriterOptions{BlockSize: 100, SkipIndexObjects: true, MinUpdateIndex: 1, MaxUpdateIndex: 1}, refs6, nil)))
		want := []blk{{"r", 53, 1}, {"r", 95, 1}, {"r", 71, 1}, {"r", 80, 1}, {"i", 55, 2}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("blocks (-want +got):\n%s", diff)
		}
	})
	// branches returns the refs and logs of t0613's "test_commit initial"
	// followed by "update-ref --stdin" creating n branches without -m:
	// empty messages, stored as "\n".
	branches := func(n int) ([]RefRecord, []LogRecord) {
		var names []string
		for i := 1; i <= n; i++ {
			names = append(names, fmt.Sprintf("refs/heads/branch-%d", i))
		}
		names = append(names, "refs/heads/master")
		slices.Sort(names)
		refs := []RefRecord{sym("HEAD", "refs/heads/master")}
		for _, n := range names {
			refs = append(refs, val(n))
		}
		refs = append(refs, val("refs/tags/initial"))
		var logs []LogRecord
		for _, n := range append([]string{"HEAD"}, names...) {
			msg := ""
			if n == "HEAD" || n == "refs/heads/master" {
				msg = "commit (initial): initial"
			}
			logs = append(logs, LogRecord{
				RefName: []byte(n), UpdateIndex: 1, Type: LogUpdate, Old: make([]byte, 20), New: commit,
				Name: []byte("C O Mitter"), Email: []byte("committer@example.com"), Time: 1112911993, TZOffset: -700,
				Message: []byte(msg),
			})
		}
		return refs, logs
	}
	t.Run("200 branches", func(t *testing.T) {
		refs, logs := branches(200)
		got := dump(utOpen(t, utWrite(t, WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 1}, refs, logs)))
		want := []blk{
			{"r", 4049, 11}, {"r", 1136, 3},
			{"g", 4041, 4}, {"g", 4015, 3}, {"g", 4014, 3}, {"g", 4012, 3}, {"g", 3289, 3},
			{"i", 103, 1},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("blocks (-want +got):\n%s", diff)
		}
	})
	t.Run("restartInterval=1", func(t *testing.T) {
		refs, logs := branches(10)
		got := dump(utOpen(t, utWrite(t, WriterOptions{RestartInterval: 1, MinUpdateIndex: 1, MaxUpdateIndex: 1}, refs, logs)))
		want := []blk{{"r", 566, 13}, {"g", 1393, 12}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("blocks (-want +got):\n%s", diff)
		}
	})
}

func TestWriterUnpaddedSmallerAndEqual(t *testing.T) {
	for _, h := range []Hash{SHA1, SHA256} {
		refs := utBranches(h, 300)
		var logs []LogRecord
		for i := 0; i < len(refs); i += 7 {
			logs = append(logs, utLogsFor(h, string(refs[i].Name), 3, "msg")...)
		}
		opts := WriterOptions{Hash: h, BlockSize: 512, MinUpdateIndex: 1, MaxUpdateIndex: 3}
		padded := utWrite(t, opts, refs, logs)
		opts.Unpadded = true
		unpadded := utWrite(t, opts, refs, logs)
		if len(unpadded) >= len(padded) {
			t.Errorf("%v: unpadded table %d bytes, padded %d", h, len(unpadded), len(padded))
		}
		pt, ut := utOpen(t, padded), utOpen(t, unpadded)
		if ut.BlockSize() != 512 {
			t.Errorf("unpadded table declares block size %d, want 512 as git writes", ut.BlockSize())
		}
		for _, b := range utBlockInfos(t, ut) {
			if b.Type != blockTypeLog && b.Size != int64(b.Len) {
				t.Errorf("unpadded block at %d: size %d, len %d", b.Offset, b.Size, b.Len)
			}
		}
		if diff := cmp.Diff(utRefs(t, pt.Refs(nil)), utRefs(t, ut.Refs(nil))); diff != "" {
			t.Errorf("%v refs (-padded +unpadded):\n%s", h, diff)
		}
		if diff := cmp.Diff(utLogs(t, pt.Logs(nil)), utLogs(t, ut.Logs(nil))); diff != "" {
			t.Errorf("%v logs (-padded +unpadded):\n%s", h, diff)
		}
		if diff := cmp.Diff(refs, utRefs(t, ut.Refs(nil))); diff != "" {
			t.Errorf("%v refs (-want +got):\n%s", h, diff)
		}
	}
}

// TestWriterBlockSmallerThanHeaderPanicked: a block size too small for the
// file and block headers made the block writer slice past its buffer.
// Every record must be rejected as too big instead, and an empty table
// must still be written.
func TestWriterBlockSmallerThanHeaderPanicked(t *testing.T) {
	for _, h := range []Hash{SHA1, SHA256} {
		for _, bs := range []int{1, 10, 24, 27, 28, 31, 33} {
			w, err := NewWriter(&bytes.Buffer{}, WriterOptions{BlockSize: bs, Hash: h})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.AddRef(&RefRecord{Name: []byte("a"), Type: RefDeletion}); !errors.Is(err, ErrEntryTooBig) {
				t.Errorf("%v block size %d: AddRef err = %v, want ErrEntryTooBig", h, bs, err)
			}
			w, _ = NewWriter(&bytes.Buffer{}, WriterOptions{BlockSize: bs, Hash: h})
			if err := w.AddLog(&LogRecord{RefName: []byte("a"), Type: LogDeletion}); !errors.Is(err, ErrEntryTooBig) {
				t.Errorf("%v block size %d: AddLog err = %v, want ErrEntryTooBig", h, bs, err)
			}
			data := utWrite(t, WriterOptions{BlockSize: bs, Hash: h}, nil, nil)
			if tab := utOpen(t, data); tab.BlockSize() != bs || len(utRefs(t, tab.Refs(nil))) != 0 {
				t.Errorf("%v block size %d: empty table reads back with block size %d", h, bs, tab.BlockSize())
			}
		}
	}
	// The smallest block that holds the record: header, block header,
	// the record (1+1+1+1 bytes), one restart and the restart count.
	data := utWrite(t, WriterOptions{BlockSize: 24 + 4 + 4 + 3 + 2}, []RefRecord{{Name: []byte("a"), Type: RefDeletion}}, nil)
	if got := utRefs(t, utOpen(t, data).Refs(nil)); len(got) != 1 {
		t.Errorf("read back %d refs, want 1", len(got))
	}
}

// TestWriterObjIDLenTooLong: SHA-256 ids sharing 31 bytes would need an
// abbreviation of 32 bytes, more than the footer's 5 bits hold; the table
// goes without object index and RefsFor scans instead.
func TestWriterObjIDLenTooLong(t *testing.T) {
	for _, tt := range []struct {
		differAt int
		objLen   int
	}{{30, 31}, {31, 0}} {
		var refs []RefRecord
		for i := range 200 {
			id := bytes.Repeat([]byte{0x77}, 32)
			id[tt.differAt] = byte(i)
			refs = append(refs, RefRecord{Name: fmt.Appendf(nil, "refs/heads/%03d", i), UpdateIndex: 1, Type: RefVal1, Value: id})
		}
		tab := utOpen(t, utWrite(t, WriterOptions{Hash: SHA256, BlockSize: 256, MinUpdateIndex: 1, MaxUpdateIndex: 1}, refs, nil))
		l := tab.Layout()
		if l.RefIndex == 0 || l.ObjIDLen != tt.objLen || l.HasObjs != (tt.objLen > 0) {
			t.Errorf("ids differing at byte %d: Layout = %+v, want obj_id_len %d", tt.differAt, l, tt.objLen)
		}
		for _, i := range []int{0, 100, 199} {
			got := utRefs(t, tab.RefsFor(refs[i].Value))
			if diff := cmp.Diff(utRefStrings(refs[i:i+1]), utRefStrings(got)); diff != "" {
				t.Errorf("ids differing at byte %d: RefsFor (-want +got):\n%s", tt.differAt, diff)
			}
		}
	}
}

// utRandom returns n bytes from rng.
func utRandom(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestWriterLogCompressionLargerThanInput mirrors git's log compression
// test: incompressible log blocks deflate to more bytes than they hold,
// and must still read back.
func TestWriterLogCompressionLargerThanInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	random := func(n int) []byte { return utRandom(rng, n) }
	var logs []LogRecord
	for i := range 40 {
		logs = append(logs, LogRecord{
			RefName: fmt.Appendf(nil, "refs/heads/%02d", i), UpdateIndex: 1, Type: LogUpdate,
			Old: random(20), New: random(20), Name: random(10), Email: random(10), Time: rng.Uint64(),
			TZOffset: int16(rng.Uint32()), Message: random(60),
		})
	}
	tab := utOpen(t, utWrite(t, WriterOptions{BlockSize: 256, ExactLogMessage: true, MinUpdateIndex: 1, MaxUpdateIndex: 1}, nil, logs))
	grown := 0
	for _, b := range utBlockInfos(t, tab) {
		if b.Type == blockTypeLog && b.Size > int64(b.Len) {
			grown++
		}
	}
	if grown == 0 {
		t.Error("no log block compressed to more bytes than it holds: the test data is too compressible")
	}
	if diff := cmp.Diff(utLogStrings(logs), utLogStrings(utLogs(t, tab.Logs(nil)))); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
}

// TestWriterStats: the writer's statistics agree with the table it wrote.
func TestWriterStats(t *testing.T) {
	for _, opts := range []WriterOptions{
		{BlockSize: 256, MinUpdateIndex: 1, MaxUpdateIndex: 3},
		{BlockSize: 256, Unpadded: true, Hash: SHA256, MinUpdateIndex: 1, MaxUpdateIndex: 3},
		{BlockSize: 4096, SkipIndexObjects: true, MinUpdateIndex: 1, MaxUpdateIndex: 3},
	} {
		refs := utBlockRefs(opts.Hash, 120)
		logs := utLogsFor(opts.Hash, "refs/heads/main", 3, "m")
		var buf bytes.Buffer
		w, _ := NewWriter(&buf, opts)
		for i := range refs {
			if err := w.AddRef(&refs[i]); err != nil {
				t.Fatal(err)
			}
		}
		for i := range logs {
			if err := w.AddLog(&logs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		tab := utOpen(t, buf.Bytes())
		want := WriterStats{Refs: len(refs), Logs: len(logs), ObjIDLen: tab.Layout().ObjIDLen, Size: int64(buf.Len())}
		for _, b := range utDecodeTable(t, tab) {
			want.Blocks++
			if b.Type == blockTypeObj {
				want.Objs += b.Records
			}
		}
		if diff := cmp.Diff(want, w.Stats()); diff != "" {
			t.Errorf("%+v: Stats (-want +got):\n%s", opts, diff)
		}
	}
}
