package reftable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// checkFindings returns what Check reports about the table data.
func checkFindings(t *testing.T, data []byte) []*CorruptError {
	t.Helper()
	tab, err := NewTableBytes(data, "check.ref")
	if err != nil {
		t.Fatal(err)
	}
	var out []*CorruptError
	for err := range tab.Check() {
		var ce *CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, ErrFormat) {
			t.Fatalf("Check: %v is no corruption error", err)
		}
		out = append(out, ce)
	}
	return out
}

// checkTableRefs returns n refs for check tests: values shared by a few
// refs each (so that obj records list several blocks), every seventh ref
// an annotated tag with a peeled id, a symref and a deletion.
func checkTableRefs(h Hash, n int) []RefRecord {
	id := func(i int) []byte {
		b := make([]byte, h.Size())
		binary.BigEndian.PutUint32(b, uint32(i)*2654435761)
		b[h.Size()-1] = byte(i)
		return b
	}
	refs := []RefRecord{{Name: []byte("HEAD"), UpdateIndex: 1, Type: RefSymref, Target: []byte("refs/heads/main")}}
	for i := range n {
		r := RefRecord{Name: fmt.Appendf(nil, "refs/heads/branch-%07d", i), UpdateIndex: 1, Type: RefVal1, Value: id(i % (n/3 + 1))}
		switch {
		case i%7 == 3:
			r.Type, r.Peeled = RefVal2, id(n+i)
		case i%11 == 5:
			r.Type, r.Value = RefDeletion, nil
		}
		refs = append(refs, r)
	}
	return refs
}

// writeCheckTable writes refs with opts, and a log for every logEvery-th
// ref (none if logEvery is 0).
func writeCheckTable(t *testing.T, opts WriterOptions, refs []RefRecord, logEvery int) []byte {
	t.Helper()
	opts.MinUpdateIndex, opts.MaxUpdateIndex = 1, 1
	var buf bytes.Buffer
	w, err := NewWriter(&buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range refs {
		if err := w.AddRef(&refs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if logEvery > 0 {
		for i := range refs {
			if refs[i].Type == RefSymref || i%logEvery != 0 {
				continue
			}
			l := LogRecord{RefName: refs[i].Name, UpdateIndex: 1, Type: LogUpdate,
				Old: make([]byte, opts.Hash.norm().Size()), New: make([]byte, opts.Hash.norm().Size()),
				Name: []byte("A U Thor"), Email: []byte("a@example.com"), Time: 1700000000,
				Message: fmt.Appendf(nil, "update %d with a message that is long enough %x", i, i*7919)}
			if err := w.AddLog(&l); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCheckFixtures checks that Check finds nothing in git's tables.
func TestCheckFixtures(t *testing.T) {
	paths, err := filepath.Glob("testdata/git/*/reftable/*.ref")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range checkFindings(t, data) {
			t.Errorf("%s: %v", path, f)
		}
	}
}

// TestCheckWriterTables checks that Check finds nothing in tables our
// writer produces across configurations, multi-level indexes included.
func TestCheckWriterTables(t *testing.T) {
	i := 0
	for _, h := range []Hash{SHA1, SHA256} {
		for _, bs := range []int{256, 1024, 4096} {
			for _, ri := range []int{1, 5, 16} {
				// Obj index on and off, padded and unpadded, in turn.
				skip, unpadded := i%2 == 1, i/2%2 == 1
				i++
				opts := WriterOptions{BlockSize: bs, RestartInterval: ri, SkipIndexObjects: skip, Unpadded: unpadded, Hash: h}
				n := bs / 2 // enough for ref, obj and log indexes
				name := fmt.Sprintf("%v/bs=%d/ri=%d/skipobj=%v/unpadded=%v", h, bs, ri, skip, unpadded)
				t.Run(name, func(t *testing.T) {
					data := writeCheckTable(t, opts, checkTableRefs(h, n), 1)
					tab, err := NewTableBytes(data, "check.ref")
					if err != nil {
						t.Fatal(err)
					}
					lay := tab.Layout()
					if lay.RefIndex == 0 || lay.LogIndex == 0 || lay.HasObjs == skip {
						t.Fatalf("layout %+v: want ref and log indexes, obj section %v", lay, !skip)
					}
					for _, f := range checkFindings(t, data) {
						t.Error(f)
					}
				})
			}
		}
	}
	// Many refs in small blocks: indexes of several levels.
	data := writeCheckTable(t, WriterOptions{BlockSize: 256, RestartInterval: 3}, checkTableRefs(SHA1, 8000), 4)
	if levels := checkIndexLevels(t, data); levels < 3 {
		t.Fatalf("ref index has %d levels, want 3 or more", levels)
	}
	for _, f := range checkFindings(t, data) {
		t.Error(f)
	}
}

// checkIndexLevels returns the number of levels of the ref index.
func checkIndexLevels(t *testing.T, data []byte) int {
	t.Helper()
	tab, err := NewTableBytes(data, "check.ref")
	if err != nil {
		t.Fatal(err)
	}
	levels := 0
	for off := tab.Layout().RefIndex; ; {
		blk := checkBlock(t, tab, off)
		if blk.typ != blockTypeIndex {
			return levels
		}
		levels++
		off = int64(blk.recs[0].child)
	}
}

// checkRec is one decoded record and where it lies in the table.
type checkRec struct {
	start, end int64 // file offsets; for log blocks offsets in the inflated data
	key        []byte
	child      uint64
	offsets    []uint64
	ref        RefRecord
}

type checkBlk struct {
	typ       byte
	off       int64
	size      int64
	headerOff int
	restarts  int64 // file offset of the restart table
	nRestarts int
	recs      []checkRec
}

// checkBlock decodes the block at off.
func checkBlock(t *testing.T, tab *Table, off int64) checkBlk {
	t.Helper()
	it := newTableIter(tab, 0)
	defer it.release()
	ok, err := it.rd.load(&it.blk, off, 0)
	if err != nil || !ok {
		t.Fatalf("load block %d: %v %v", off, ok, err)
	}
	b := &it.blk
	out := checkBlk{typ: b.typ, off: off, size: b.size, headerOff: b.headerOff, restarts: off + int64(b.restartOff), nRestarts: b.nRestarts}
	it.pos, it.key = b.headerOff+4, nil
	for it.pos < b.restartOff {
		start := it.pos
		if !it.decode() {
			t.Fatal(it.err)
		}
		r := checkRec{start: off + int64(start), end: off + int64(it.pos), key: clone(it.key), child: it.child, offsets: append([]uint64(nil), it.offsets...)}
		if b.typ == blockTypeRef {
			r.ref = it.ref.Clone()
		}
		out.recs = append(out.recs, r)
	}
	return out
}

// checkBlocksOf opens data and returns its blocks of type typ.
func checkBlocksOf(t *testing.T, data []byte, typ byte) (*Table, []checkBlk) {
	t.Helper()
	tab, err := NewTableBytes(data, "check.ref")
	if err != nil {
		t.Fatal(err)
	}
	return tab, checkTableBlocks(t, tab, typ)
}

// checkTableBlocks returns the blocks of tab of type typ.
func checkTableBlocks(t *testing.T, tab *Table, typ byte) []checkBlk {
	t.Helper()
	var out []checkBlk
	for info, err := range tab.Blocks() {
		if err != nil {
			t.Fatal(err)
		}
		if info.Type == typ {
			out = append(out, checkBlock(t, tab, info.Offset))
		}
	}
	return out
}

// checkWant asserts that Check reports findings at exactly the given
// offsets (one or more at each).
func checkWant(t *testing.T, data []byte, offsets ...int64) {
	t.Helper()
	fs := checkFindings(t, data)
	var got []int64
	for _, f := range fs {
		got = append(got, f.Offset)
	}
	slices.Sort(got)
	got = slices.Compact(got)
	slices.Sort(offsets)
	if !slices.Equal(got, offsets) {
		t.Errorf("findings at %v, want at %v:", got, offsets)
		for _, f := range fs {
			t.Log(f)
		}
	}
}

// setVarintAt replaces the varint that ends at end (exclusive) in data,
// whose value is old, by v, which must encode to as many bytes.
func setVarintAt(t *testing.T, data []byte, end int64, old, v uint64) {
	t.Helper()
	o, n := appendVarint(nil, old), appendVarint(nil, v)
	if len(o) != len(n) || !bytes.Equal(data[end-int64(len(o)):end], o) {
		t.Fatalf("varint %d at %d: not %x, or %d encodes to another length", old, end, o, v)
	}
	copy(data[end-int64(len(n)):], n)
}

// checkDamageTable returns a copy of the table the damage tests damage:
// 512-byte blocks, restarts every 5 records, an obj section, logs, and
// indexes of two levels. It is built once.
func checkDamageTable(t *testing.T) []byte {
	t.Helper()
	checkDamageOnce.Do(func() {
		data := writeCheckTable(t, WriterOptions{BlockSize: 512, RestartInterval: 5}, checkTableRefs(SHA1, 6000), 3)
		if checkIndexLevels(t, data) < 2 {
			t.Fatal("ref index has one level")
		}
		checkWant(t, data)
		checkDamageData = data
	})
	if checkDamageData == nil {
		t.Fatal("no damage table")
	}
	return clone(checkDamageData)
}

var (
	checkDamageOnce sync.Once
	checkDamageData []byte
)

// TestCheckRestartDamage damages restart offsets of ref and index blocks.
func TestCheckRestartDamage(t *testing.T) {
	pristine := checkDamageTable(t)
	for _, typ := range []byte{blockTypeRef, blockTypeIndex, blockTypeObj} {
		_, blocks := checkBlocksOf(t, pristine, typ)
		b := blocks[1]
		if b.nRestarts < 3 {
			t.Fatalf("block %q at %d has %d restarts", typ, b.off, b.nRestarts)
		}
		entry := b.restarts + 3 // the second restart
		cur := int64(uint24(pristine[entry:]))
		for _, d := range []struct {
			name string
			off  int64 // new restart offset, relative to the block
		}{
			{"inside a record", cur + 1},
			{"at a prefix-compressed record", b.recs[7].start - b.off},
			{"past the records", b.restarts - b.off},
			{"before the previous", int64(b.headerOff + 4)},
		} {
			t.Run(fmt.Sprintf("%c/%s", typ, d.name), func(t *testing.T) {
				if d.off == b.recs[7].start-b.off && pristine[b.recs[7].start] == 0 {
					t.Skip("the record is not prefix-compressed")
				}
				data := clone(pristine)
				putUint24(data[entry:], uint32(d.off))
				checkWant(t, data, entry)
			})
		}
	}
}

// TestCheckIndexDamage damages an index record of every index block of
// every section and level: its key, then the block it points at.
func TestCheckIndexDamage(t *testing.T) {
	pristine := checkDamageTable(t)
	tab, blocks := checkBlocksOf(t, pristine, blockTypeIndex)
	lay := tab.Layout()
	kinds := map[byte]bool{}
	// The first and last index block pointing at blocks of each type,
	// in each section.
	type kind struct {
		section int64
		child   byte
	}
	var picked []checkBlk
	last := map[kind]checkBlk{}
	for _, b := range blocks {
		k := kind{lay.ObjOffset, checkBlock(t, tab, int64(b.recs[0].child)).typ}
		switch {
		case b.off < lay.ObjOffset:
			k.section = 0
		case b.off > lay.LogOffset:
			k.section = lay.LogOffset
		}
		if _, ok := last[k]; !ok {
			picked = append(picked, b)
		}
		last[k] = b
	}
	for _, b := range last {
		if !slices.ContainsFunc(picked, func(p checkBlk) bool { return p.off == b.off }) {
			picked = append(picked, b)
		}
	}
	for _, b := range picked {
		rec := b.recs[len(b.recs)/2]
		kinds[checkBlock(t, tab, int64(rec.child)).typ] = true
		t.Run(fmt.Sprintf("%d/key", b.off), func(t *testing.T) {
			data := clone(pristine)
			// The key's last byte lies before the child offset.
			pos := rec.end - int64(len(appendVarint(nil, rec.child))) - 1
			data[pos]++
			checkWant(t, data, rec.start)
		})
		t.Run(fmt.Sprintf("%d/offset", b.off), func(t *testing.T) {
			data := clone(pristine)
			setVarintAt(t, data, rec.end, rec.child, rec.child+1)
			checkWant(t, data, rec.start)
		})
	}
	for _, typ := range []byte{blockTypeRef, blockTypeObj, blockTypeLog, blockTypeIndex} {
		if !kinds[typ] {
			t.Errorf("no index points at %q blocks", typ)
		}
	}
}

// TestCheckIndexMissingBlock drops the last record of the lowest ref
// index level: the last ref block is then not indexed.
func TestCheckIndexMissingBlock(t *testing.T) {
	pristine := checkDamageTable(t)
	tab, refBlocks := checkBlocksOf(t, pristine, blockTypeRef)
	last := refBlocks[len(refBlocks)-1]
	for _, b := range checkTableBlocks(t, tab, blockTypeIndex) {
		for _, rec := range b.recs {
			if int64(rec.child) != last.off {
				continue
			}
			data := clone(pristine)
			// Point the record at the previous ref block, as if the
			// last one were never indexed.
			prev := refBlocks[len(refBlocks)-2]
			setVarintAt(t, data, rec.end, rec.child, uint64(prev.off))
			checkWant(t, data, rec.start, last.off)
			return
		}
	}
	t.Fatal("no index record points at the last ref block")
}

// TestCheckObjDamage damages the obj section: a listed block offset, and
// a record removed (the ref naming its id is then not indexed).
func TestCheckObjDamage(t *testing.T) {
	pristine := checkDamageTable(t)
	tab, objBlocks := checkBlocksOf(t, pristine, blockTypeObj)
	refBlocks := checkTableBlocks(t, tab, blockTypeRef)
	refAt := func(prefix []byte, blk int64) int64 {
		for _, b := range refBlocks {
			if b.off != blk {
				continue
			}
			for _, r := range b.recs {
				if bytes.HasPrefix(r.ref.Value, prefix) || bytes.HasPrefix(r.ref.Peeled, prefix) {
					return r.start
				}
			}
		}
		t.Fatalf("no ref names %x in block %d", prefix, blk)
		return 0
	}
	// An obj record listing one ref block, pointed at another of the
	// same offset length that names no id with its prefix.
	b := objBlocks[len(objBlocks)/2]
	var rec checkRec
	for _, r := range b.recs[1 : len(b.recs)-1] {
		if len(r.offsets) == 1 {
			rec = r
			break
		}
	}
	if rec.key == nil {
		t.Fatal("no obj record lists one block")
	}
	other := int64(-1)
	for _, rb := range refBlocks {
		if rb.off != int64(rec.offsets[0]) && len(appendVarint(nil, uint64(rb.off))) == len(appendVarint(nil, rec.offsets[0])) &&
			!slices.ContainsFunc(rb.recs, func(r checkRec) bool {
				return bytes.HasPrefix(r.ref.Value, rec.key) || bytes.HasPrefix(r.ref.Peeled, rec.key)
			}) {
			other = rb.off
			break
		}
	}
	t.Run("offset", func(t *testing.T) {
		data := clone(pristine)
		setVarintAt(t, data, rec.end, rec.offsets[0], uint64(other))
		checkWant(t, data, refAt(rec.key, int64(rec.offsets[0])), rec.start)
	})
	// A record removed: the block is rewritten without it.
	t.Run("missing", func(t *testing.T) {
		data := clone(pristine)
		var bw blockWriter
		bw.init(blockTypeObj, tab.BlockSize(), 0, 5)
		for _, r := range b.recs {
			if bytes.Equal(r.key, rec.key) {
				continue
			}
			val, extra := appendObjValue(nil, r.offsets)
			if !bw.add(r.key, extra, val) {
				t.Fatal("record does not fit")
			}
		}
		raw, err := bw.finish()
		if err != nil {
			t.Fatal(err)
		}
		copy(data[b.off:b.off+b.size], make([]byte, b.size))
		copy(data[b.off:], raw)
		checkWant(t, data, refAt(rec.key, int64(rec.offsets[0])))
	})
	// A record listing blocks whose key is not obj_id_len bytes long is
	// found however its keys compare.
	t.Run("footer-obj-id-len", func(t *testing.T) {
		data := clone(pristine)
		fs := footerSize(1)
		foot := data[len(data)-fs:]
		p := foot[headerSizeV1+8:]
		v := binary.BigEndian.Uint64(p)
		binary.BigEndian.PutUint64(p, v+1)
		binary.BigEndian.PutUint32(foot[fs-4:], crc32.ChecksumIEEE(foot[:fs-4]))
		fsBad := checkFindings(t, data)
		if len(fsBad) == 0 {
			t.Fatal("no finding for an obj_id_len one too long")
		}
	})
}

// TestHostileCheck damages every byte of a small table our writer made
// with every section, indexes and an obj section, as TestHostileGitTables
// does git's tables, and reads it every way, Check included: git's small
// fixtures have no obj section.
func TestHostileCheck(t *testing.T) {
	t.Parallel()
	refs := checkTableRefs(SHA1, 48)
	data := writeCheckTable(t, WriterOptions{BlockSize: 256, RestartInterval: 3, Unpadded: true}, refs, 8)
	tab, err := NewTableBytes(data, "check.ref")
	if err != nil {
		t.Fatal(err)
	}
	if lay := tab.Layout(); lay.RefIndex == 0 || lay.ObjIndex == 0 || lay.LogIndex == 0 {
		t.Fatalf("layout %+v: want every index", lay)
	}
	fx := &hostileFixture{name: "check.ref", data: data, stride: 1}
	if raceEnabled || testing.Short() {
		fx.stride = 7 // the header, footer and section starts, and a sample
	}
	for _, r := range refs[:5] {
		fx.names = append(fx.names, r.Name)
		if r.Value != nil {
			fx.ids = append(fx.ids, r.Value)
		}
	}
	hostileDamage(t, fx)
}

// BenchmarkCheck checks a table of 100k refs with an obj section.
func BenchmarkCheck(b *testing.B) {
	data := writeBenchTable(b, benchRefs(100_000, SHA1), WriterOptions{})
	tab, err := NewTableBytes(data, "bench.ref")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		for err := range tab.Check() {
			b.Fatal(err)
		}
	}
}
