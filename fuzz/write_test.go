package fuzz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/refstore/refstore/reftable"
)

// source turns fuzz bytes into choices. Once the bytes run out every
// choice is 0, so any input decodes to something.
type source struct{ data []byte }

func (s *source) byte() byte {
	if len(s.data) == 0 {
		return 0
	}
	b := s.data[0]
	s.data = s.data[1:]
	return b
}

// intn returns a value in [0, n).
func (s *source) intn(n int) int {
	if n <= 1 {
		return 0
	}
	v := int(s.byte())
	if n > 256 {
		v = v<<8 | int(s.byte())
	}
	return v % n
}

func (s *source) bool() bool { return s.byte()&1 != 0 }

func (s *source) uint64() uint64 {
	var b [8]byte
	for i := range b {
		b[i] = s.byte()
	}
	return binary.BigEndian.Uint64(b[:])
}

// pick returns one of choices.
func pick[T any](s *source, choices ...T) T { return choices[s.intn(len(choices))] }

// namePrefixes and nameAlphabet make names with long shared prefixes, so
// that prefix compression and restart points matter.
var namePrefixes = []string{
	"HEAD", "refs/heads/", "refs/heads/feature/", "refs/heads/feature/x",
	"refs/tags/", "refs/tags/v1.", "refs/remotes/origin/", "r", "\xff",
}

const nameAlphabet = "ab/-.0\x01\xfe"

// name returns a non-empty reference name without NUL bytes.
func (s *source) name() []byte {
	n := []byte(pick(s, namePrefixes...))
	for k := s.intn(7); k > 0; k-- {
		n = append(n, nameAlphabet[s.intn(len(nameAlphabet))])
	}
	if s.intn(16) == 0 {
		n = append(n, bytes.Repeat([]byte("long"), s.intn(100))...)
	}
	return n
}

// idPool returns 1..8 distinct object ids of hs bytes sharing a prefix of
// a chosen length, so that the object index needs long abbreviations (or
// none at all, when they are too alike).
func (s *source) idPool(hs int) [][]byte {
	n := 1 + s.intn(8)
	shared := s.intn(hs)
	zero := s.bool()
	var pool [][]byte
	for i := 0; i < n; i++ {
		id := make([]byte, hs)
		for j := range id {
			if j < shared {
				id[j] = 0x5a
			} else {
				id[j] = byte(i*41 + j*7 + 1)
			}
		}
		pool = append(pool, id)
	}
	if zero {
		pool[0] = make([]byte, hs)
	}
	return pool
}

// writerOptions returns random writer options.
func (s *source) writerOptions() reftable.WriterOptions {
	o := reftable.WriterOptions{
		BlockSize:        pick(s, 0, 64, 80, 100, 128, 200, 256, 333, 512, 1024, 4096),
		RestartInterval:  1 + s.intn(20),
		SkipIndexObjects: s.intn(4) == 0,
		Unpadded:         s.bool(),
		Hash:             pick(s, reftable.SHA1, reftable.SHA256),
	}
	if s.intn(4) == 0 {
		o.BlockSize = 64 + s.intn(4096-64+1)
	}
	return o
}

// refRecord returns a ref record of any type with the given name.
func (s *source) refRecord(name []byte, index uint64, pool [][]byte) reftable.RefRecord {
	r := reftable.RefRecord{Name: name, UpdateIndex: index, Type: reftable.RefValueType(s.intn(4))}
	switch r.Type {
	case reftable.RefVal1:
		r.Value = pick(s, pool...)
	case reftable.RefVal2:
		r.Value = pick(s, pool...)
		r.Peeled = pick(s, pool...)
	case reftable.RefSymref:
		r.Target = s.name()
	}
	return r
}

// logRecord returns a log update or deletion; ids may be nil (stored as
// zeros) and messages are single-line, possibly with trailing newlines.
func (s *source) logRecord(name []byte, index uint64, pool [][]byte) reftable.LogRecord {
	l := reftable.LogRecord{RefName: name, UpdateIndex: index, Type: reftable.LogUpdate}
	if s.intn(4) == 0 {
		l.Type = reftable.LogDeletion
		return l
	}
	if s.intn(3) > 0 {
		l.Old = pick(s, pool...)
	}
	if s.intn(8) > 0 {
		l.New = pick(s, pool...)
	}
	l.Name = []byte(pick(s, "", "A U Thor", "C O Mitter", "Ünïcödé"))
	l.Email = []byte(pick(s, "", "author@example.com", "c@x"))
	l.Time = pick(s, uint64(0), 1700000000, 1<<40, ^uint64(0), 1)
	if l.Time == 1 {
		l.Time = s.uint64()
	}
	l.TZOffset = pick[int16](s, 0, 530, -700, -800, 1400, -1200, 32767, -32768, 1)
	if l.TZOffset == 1 {
		l.TZOffset = int16(s.byte())<<8 | int16(s.byte())
	}
	l.Message = []byte(pick(s, "", "commit: c1", "custom: move feature/x back\n", "x\n\n\n", "\n",
		"branch: Created from HEAD", string(bytes.Repeat([]byte("m"), 200))))
	return l
}

// normalised returns l as a table stores it: ids of nil as zeros, the
// message with exactly one trailing newline, nothing but the key for a
// deletion.
func normalised(l reftable.LogRecord, hs int) reftable.LogRecord {
	if l.Type == reftable.LogDeletion {
		return reftable.LogRecord{RefName: l.RefName, UpdateIndex: l.UpdateIndex, Type: l.Type}
	}
	if l.Old == nil {
		l.Old = make([]byte, hs)
	}
	if l.New == nil {
		l.New = make([]byte, hs)
	}
	l.Message = append(bytes.TrimRight(l.Message, "\n"), '\n')
	return l
}

// compareLogs orders log records as tables do: by ref name, newest first.
func compareLogs(a, b reftable.LogRecord) int {
	if c := bytes.Compare(a.RefName, b.RefName); c != 0 {
		return c
	}
	switch {
	case a.UpdateIndex > b.UpdateIndex:
		return -1
	case a.UpdateIndex < b.UpdateIndex:
		return 1
	}
	return 0
}

func compareRefs(a, b reftable.RefRecord) int { return bytes.Compare(a.Name, b.Name) }

func pointsAt(r *reftable.RefRecord, id []byte) bool {
	switch r.Type {
	case reftable.RefVal1:
		return bytes.Equal(r.Value, id)
	case reftable.RefVal2:
		return bytes.Equal(r.Value, id) || bytes.Equal(r.Peeled, id)
	}
	return false
}

// equateEmpty treats nil and empty byte slices alike: tables do not keep
// the difference.
var equateEmpty = cmpopts.EquateEmpty()

func sameRef(a, b reftable.RefRecord) bool {
	return bytes.Equal(a.Name, b.Name) && a.UpdateIndex == b.UpdateIndex && a.Type == b.Type &&
		bytes.Equal(a.Value, b.Value) && bytes.Equal(a.Peeled, b.Peeled) && bytes.Equal(a.Target, b.Target)
}

func sameLog(a, b reftable.LogRecord) bool {
	return bytes.Equal(a.RefName, b.RefName) && a.UpdateIndex == b.UpdateIndex && a.Type == b.Type &&
		bytes.Equal(a.Old, b.Old) && bytes.Equal(a.New, b.New) && bytes.Equal(a.Name, b.Name) &&
		bytes.Equal(a.Email, b.Email) && a.Time == b.Time && a.TZOffset == b.TZOffset && bytes.Equal(a.Message, b.Message)
}

// diffRefs returns cmp.Diff(want, got) treating nil and empty alike. The
// records are compared field by field first: cmp.Diff is slow, and most
// of the fuzzer's time would go into it.
func diffRefs(want, got []reftable.RefRecord) string {
	if slices.EqualFunc(want, got, sameRef) {
		return ""
	}
	return cmp.Diff(want, got, equateEmpty)
}

// diffLogs is diffRefs for log records.
func diffLogs(want, got []reftable.LogRecord) string {
	if slices.EqualFunc(want, got, sameLog) {
		return ""
	}
	return cmp.Diff(want, got, equateEmpty)
}

// collect clones every record of seq; it fails t on an error.
func collect[R any](t *testing.T, what string, seq func(func(R, error) bool), clone func(*R) R) []R {
	t.Helper()
	var out []R
	for r, err := range seq {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		out = append(out, clone(&r))
	}
	return out
}

func cloneRef(r *reftable.RefRecord) reftable.RefRecord { return r.Clone() }
func cloneLog(l *reftable.LogRecord) reftable.LogRecord { return l.Clone() }

// writeTable writes refs and logs, which must be sorted, with opts. It
// returns nil if a record is too big for the block size.
func writeTable(t *testing.T, opts reftable.WriterOptions, refs []reftable.RefRecord, logs []reftable.LogRecord) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := reftable.NewWriter(&buf, opts)
	if err != nil {
		t.Fatalf("NewWriter(%+v): %v", opts, err)
	}
	for i := range refs {
		if err = w.AddRef(&refs[i]); err != nil {
			break
		}
	}
	if err == nil {
		for i := range logs {
			if err = w.AddLog(&logs[i]); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = w.Close()
	}
	if errors.Is(err, reftable.ErrEntryTooBig) {
		return nil
	}
	if err != nil {
		t.Fatalf("writing with %+v: %v", opts, err)
	}
	return buf.Bytes()
}

// pseudoRandom returns prefix followed by bytes from a PCG seeded with
// seed, n bytes in all: seeds whose first bytes choose the options.
func pseudoRandom(prefix []byte, seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	out := bytes.Clone(prefix)
	for len(out) < n {
		out = append(out, byte(r.Uint32()))
	}
	return out
}

// FuzzWriteRead writes random records with random options and reads them
// back through every read path of a Table, comparing with what was
// written.
func FuzzWriteRead(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x03\x05\x00\x01\x00\x01\x20\x01\x02\x03\x04\x05\x06\x07\x08\x09"))
	f.Add(bytes.Repeat([]byte{0x01, 0x02, 0x13, 0x44, 0x7f, 0x80, 0xfe, 0x05}, 40))
	f.Add(bytes.Repeat([]byte{0x07, 0x00, 0x31, 0x02}, 100))
	f.Add(bytes.Repeat([]byte("refstore\xff\x00\x10"), 60))
	f.Add(bytes.Repeat([]byte{0x02, 0x11, 0x00, 0x01, 0x30, 0x08, 0x03, 0x01, 0x05}, 120))
	// Multi-level indexes and object indexes: 128-byte unpadded SHA-1
	// blocks, 333-byte padded and 256-byte unpadded SHA-256 blocks.
	f.Add(pseudoRandom([]byte{4, 4, 1, 1, 0, 1, 6, 10, 0, 1, 47}, 119, 3000))
	f.Add(pseudoRandom([]byte{4, 4, 1, 1, 0, 1, 6, 10, 0, 1, 47}, 224, 3000))
	f.Add(pseudoRandom([]byte{7, 9, 1, 0, 1, 1, 6, 30, 0, 2, 47}, 3, 3000))
	f.Add(pseudoRandom([]byte{6, 2, 1, 1, 1, 1, 8, 31, 0, 2, 47}, 14, 3000))
	// A name so long that index blocks hold one record each: the
	// writer used to add index levels forever.
	f.Add(pseudoRandom([]byte{6, 2, 1, 1, 1, 1, 8, 31, 0, 2, 47}, 38, 3000))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &source{data: data}
		opts := s.writerOptions()
		hs := opts.Hash.Size()
		pool := s.idPool(hs)
		opts.MinUpdateIndex = pick(s, uint64(0), 1, 7, 1<<32, 1<<62, ^uint64(0)-100)
		opts.MaxUpdateIndex = opts.MinUpdateIndex + uint64(s.intn(20))

		seen := map[string]bool{}
		var refs []reftable.RefRecord
		for n := s.intn(48); n > 0; n-- {
			name := s.name()
			if seen[string(name)] {
				continue
			}
			seen[string(name)] = true
			index := opts.MinUpdateIndex + uint64(s.intn(int(opts.MaxUpdateIndex-opts.MinUpdateIndex)+1))
			refs = append(refs, s.refRecord(name, index, pool))
		}
		slices.SortFunc(refs, compareRefs)

		var logs []reftable.LogRecord
		logNames := map[string]bool{}
		for n := s.intn(12); n > 0; n-- {
			name := s.name()
			if len(refs) > 0 && s.bool() {
				name = refs[s.intn(len(refs))].Name
			}
			if logNames[string(name)] {
				continue
			}
			logNames[string(name)] = true
			indexes := map[uint64]bool{}
			for k := 1 + s.intn(6); k > 0; k-- {
				// Log entries may lie below the table's minimum.
				index := opts.MaxUpdateIndex - uint64(s.intn(int(min(opts.MaxUpdateIndex, 40))+1))
				if indexes[index] {
					continue
				}
				indexes[index] = true
				logs = append(logs, s.logRecord(name, index, pool))
			}
		}
		slices.SortFunc(logs, compareLogs)

		data = writeTable(t, opts, refs, logs)
		if data == nil {
			return
		}
		tab, err := reftable.NewTable(bytes.NewReader(data), int64(len(data)), "written")
		if err != nil {
			t.Fatalf("NewTable: %v", err)
		}
		checkTable(t, tab, opts, pool, refs, logs)
	})
}

// checkTable compares what tab holds with the refs and logs written to it
// with opts; pool holds the object ids the records use.
func checkTable(t *testing.T, tab *reftable.Table, opts reftable.WriterOptions, pool [][]byte, refs []reftable.RefRecord, logs []reftable.LogRecord) {
	t.Helper()
	hs := opts.Hash.Size()
	wantBlockSize := opts.BlockSize
	if wantBlockSize == 0 {
		wantBlockSize = reftable.DefaultBlockSize
	}
	type meta struct {
		Hash         reftable.Hash
		BlockSize    int
		Min, Max     uint64
		Version      int
		Refs, Logs   int
		RefBlockRecs int
		LogBlockRecs int
	}
	var wantLogs []reftable.LogRecord
	for _, l := range logs {
		wantLogs = append(wantLogs, normalised(l, hs))
	}
	version := 1
	if opts.Hash == reftable.SHA256 {
		version = 2
	}
	want := meta{Hash: opts.Hash, BlockSize: wantBlockSize, Min: opts.MinUpdateIndex, Max: opts.MaxUpdateIndex,
		Version: version, Refs: len(refs), Logs: len(logs), RefBlockRecs: len(refs), LogBlockRecs: len(logs)}
	got := meta{Hash: tab.Hash(), BlockSize: tab.BlockSize(), Min: tab.MinUpdateIndex(), Max: tab.MaxUpdateIndex(),
		Version: tab.Version()}
	lay := tab.Layout()
	if lay.HasObjs && (opts.SkipIndexObjects || len(refs) == 0) {
		t.Errorf("table has an object index: SkipIndexObjects=%v, %d refs", opts.SkipIndexObjects, len(refs))
	}
	var next int64
	for info, err := range tab.Blocks() {
		if err != nil {
			t.Fatalf("Blocks: %v", err)
		}
		if info.Offset != next {
			t.Errorf("block at %d, previous block ended at %d", info.Offset, next)
		}
		next = info.Offset + info.Size
		switch info.Type {
		case 'r':
			got.RefBlockRecs += info.Records
		case 'g':
			got.LogBlockRecs += info.Records
		}
	}
	if next == 0 {
		next = int64(20 + 4*version) // no blocks: the footer follows the header
	}
	if next != lay.FooterOffset {
		t.Errorf("blocks end at %d, footer at %d", next, lay.FooterOffset)
	}

	gotRefs := collect(t, "Refs(nil)", tab.Refs(nil), cloneRef)
	got.Refs = len(gotRefs)
	if diff := diffRefs(refs, gotRefs); diff != "" {
		t.Errorf("Refs(nil) (-want +got):\n%s", diff)
	}
	gotLogs := collect(t, "Logs(nil)", tab.Logs(nil), cloneLog)
	got.Logs = len(gotLogs)
	if diff := diffLogs(wantLogs, gotLogs); diff != "" {
		t.Errorf("Logs(nil) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("table metadata (-want +got):\n%s", diff)
	}

	// Lookups of every name, and of names next to them that do not exist.
	names := map[string]bool{"": true, "HEAD": true, "refs/heads/": true, "zzzz": true, "\xff\xff": true}
	for _, r := range refs {
		names[string(r.Name)] = true
		names[string(r.Name)+"\x00"] = true
		names[string(r.Name[:len(r.Name)-1])] = true
	}
	for _, l := range logs {
		names[string(l.RefName)] = true
		names[string(l.RefName)+"a"] = true
	}
	for name := range names {
		var wantRef *reftable.RefRecord
		for i := range refs {
			if string(refs[i].Name) == name {
				wantRef = &refs[i]
			}
		}
		got, err := tab.Ref([]byte(name))
		switch {
		case wantRef == nil && !errors.Is(err, reftable.ErrNotFound):
			t.Errorf("Ref(%q) = %+v, %v; want ErrNotFound", name, got, err)
		case wantRef != nil && err != nil:
			t.Errorf("Ref(%q): %v", name, err)
		case wantRef != nil:
			if diff := diffRefs([]reftable.RefRecord{*wantRef}, []reftable.RefRecord{got}); diff != "" {
				t.Errorf("Ref(%q) (-want +got):\n%s", name, diff)
			}
		}

		var wantFor []reftable.LogRecord
		for _, l := range wantLogs {
			if string(l.RefName) == name {
				wantFor = append(wantFor, l)
			}
		}
		gotFor := collect(t, fmt.Sprintf("LogsFor(%q)", name), tab.LogsFor([]byte(name)), cloneLog)
		if diff := diffLogs(wantFor, gotFor); diff != "" {
			t.Errorf("LogsFor(%q) (-want +got):\n%s", name, diff)
		}
	}

	// Prefix iteration.
	prefixes := map[string]bool{"": true, "H": true, "refs/": true, "refs/heads/": true, "refs/heads/feature/": true,
		"refs/tags/v1.": true, "r": true, "\xff": true, "zz": true}
	for i, r := range refs {
		if i%3 == 0 {
			prefixes[string(r.Name[:len(r.Name)/2])] = true
			prefixes[string(r.Name)] = true
		}
	}
	for p := range prefixes {
		var wantRefs []reftable.RefRecord
		for _, r := range refs {
			if bytes.HasPrefix(r.Name, []byte(p)) {
				wantRefs = append(wantRefs, r)
			}
		}
		gotRefs := collect(t, fmt.Sprintf("Refs(%q)", p), tab.Refs([]byte(p)), cloneRef)
		if diff := diffRefs(wantRefs, gotRefs); diff != "" {
			t.Errorf("Refs(%q) (-want +got):\n%s", p, diff)
		}
		var wantLogsP []reftable.LogRecord
		for _, l := range wantLogs {
			if bytes.HasPrefix(l.RefName, []byte(p)) {
				wantLogsP = append(wantLogsP, l)
			}
		}
		gotLogsP := collect(t, fmt.Sprintf("Logs(%q)", p), tab.Logs([]byte(p)), cloneLog)
		if diff := diffLogs(wantLogsP, gotLogsP); diff != "" {
			t.Errorf("Logs(%q) (-want +got):\n%s", p, diff)
		}
	}

	// Object id lookups, through the object index if there is one.
	ids := slices.Clone(pool)
	for _, id := range pool {
		other := bytes.Clone(id)
		other[hs-1] ^= 0x80
		ids = append(ids, other)
	}
	for _, id := range ids {
		var wantFor []reftable.RefRecord
		for _, r := range refs {
			if pointsAt(&r, id) {
				wantFor = append(wantFor, r)
			}
		}
		gotFor := collect(t, fmt.Sprintf("RefsFor(%x)", id), tab.RefsFor(id), cloneRef)
		if diff := diffRefs(wantFor, gotFor); diff != "" {
			t.Errorf("RefsFor(%x) (-want +got):\n%s", id, diff)
		}
	}
}
