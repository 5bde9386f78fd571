package reftable

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// hostileFixture is a git-written table to damage, with the names and
// object ids to look up in it.
type hostileFixture struct {
	name  string
	data  []byte
	names [][]byte
	ids   [][]byte
	// stride > 1 mutates only some byte positions outside the header,
	// the footer and the index and object blocks (for big tables).
	stride int
}

// loadHostileFixture reads a git table and collects the names and ids it
// holds; with maxNames > 0 only that many evenly spread names are kept.
func loadHostileFixture(t *testing.T, path string, maxNames int) *hostileFixture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata/git", path))
	if err != nil {
		t.Fatal(err)
	}
	tab, err := NewTable(bytes.NewReader(data), int64(len(data)), path)
	if err != nil {
		t.Fatal(err)
	}
	fx := &hostileFixture{name: path, data: data}
	seen := map[string]bool{}
	add := func(name []byte) {
		if !seen[string(name)] {
			seen[string(name)] = true
			fx.names = append(fx.names, clone(name))
		}
	}
	for r, err := range tab.Refs(nil) {
		if err != nil {
			t.Fatal(err)
		}
		add(r.Name)
		if r.Value != nil && !slices.ContainsFunc(fx.ids, func(id []byte) bool { return bytes.Equal(id, r.Value) }) {
			fx.ids = append(fx.ids, clone(r.Value))
		}
	}
	for l, err := range tab.Logs(nil) {
		if err != nil {
			t.Fatal(err)
		}
		add(l.RefName)
	}
	if maxNames > 0 && len(fx.names) > maxNames {
		var some [][]byte
		for i := 0; i < maxNames; i++ {
			some = append(some, fx.names[i*(len(fx.names)-1)/(maxNames-1)])
		}
		fx.names = some
		if len(fx.ids) > 4 {
			fx.ids = fx.ids[:4]
		}
	}
	fx.names = append(fx.names, []byte("refs/heads/nonexistent"), []byte("\xff"))
	fx.ids = append(fx.ids, make([]byte, tab.Hash().Size()))
	return fx
}

// hostileFooterFix returns a copy of data whose footer CRC (footer of fs
// bytes) is recomputed; with mirror, the header of hs bytes is copied into
// the footer first.
func hostileFooterFix(data []byte, hs, fs int, mirror bool) []byte {
	out := clone(data)
	if len(out) < fs || (mirror && len(out) < hs+fs) {
		return out
	}
	foot := out[len(out)-fs:]
	if mirror {
		copy(foot[:hs], out[:hs])
	}
	binary.BigEndian.PutUint32(foot[fs-4:], crc32.ChecksumIEEE(foot[:fs-4]))
	return out
}

// hostileChecker reads damaged tables and reports errors that are not
// well-formed corruption errors, stopping the test after a few.
type hostileChecker struct {
	t      *testing.T
	fails  int
	reads  int
	opened int
}

func (c *hostileChecker) errorf(format string, args ...any) {
	c.t.Helper()
	c.t.Errorf(format, args...)
	if c.fails++; c.fails >= 10 {
		c.t.FailNow()
	}
}

// check reports a problem with err, an error returned while reading data.
// notFound allows ErrNotFound.
func (c *hostileChecker) check(what string, data []byte, err error, notFound bool) {
	c.t.Helper()
	if err == nil || notFound && errors.Is(err, ErrNotFound) {
		return
	}
	if !errors.Is(err, ErrFormat) {
		c.errorf("%s: error does not match ErrFormat: %v", what, err)
		return
	}
	var ce *CorruptError
	if !errors.As(err, &ce) {
		c.errorf("%s: error is no *CorruptError: %v", what, err)
		return
	}
	if ce.Table == "" || ce.Offset < 0 || ce.Offset > int64(len(data)) {
		c.errorf("%s: error names table %q and offset %d, outside 0..%d: %v", what, ce.Table, ce.Offset, len(data), err)
	}
}

// hostileMaxRecords bounds every iteration: more records than this means
// an iterator does not terminate.
const hostileMaxRecords = 1 << 20

// read opens data and reads it through every path, checking each error.
func (c *hostileChecker) read(what string, data []byte, names, ids [][]byte) {
	c.t.Helper()
	c.reads++
	defer func() {
		if r := recover(); r != nil {
			c.t.Fatalf("%s: panic: %v\n%s", what, r, debug.Stack())
		}
	}()
	tab, err := NewTable(bytes.NewReader(data), int64(len(data)), "hostile.ref")
	if err != nil {
		c.check(what+": NewTable", data, err, false)
		return
	}
	c.opened++
	c.readTable(what, data, tab, names, ids)
	// A table read in place must behave the same.
	tab, err = NewTableBytes(data, "hostile.ref")
	if err != nil {
		c.errorf("%s: NewTableBytes fails where NewTable did not: %v", what, err)
		return
	}
	c.readTable(what+" (in place)", data, tab, names, ids)
}

func (c *hostileChecker) readTable(what string, data []byte, tab *Table, names, ids [][]byte) {
	c.t.Helper()
	drainSeq(c, what+": Refs", data, tab.Refs(nil))
	drainSeq(c, what+": Logs", data, tab.Logs(nil))
	drainSeq(c, what+": Blocks", data, tab.Blocks())
	drainCheck(c, what+": Check", data, tab)
	var r RefRecord
	for _, name := range names {
		_, err := tab.Ref(name)
		c.check(fmt.Sprintf("%s: Ref(%q)", what, name), data, err, true)
		if _, err := tab.LookupRef(name, &r); err != nil {
			c.check(fmt.Sprintf("%s: LookupRef(%q)", what, name), data, err, false)
		}
		drainSeq(c, fmt.Sprintf("%s: LogsFor(%q)", what, name), data, tab.LogsFor(name))
	}
	for _, id := range ids {
		drainSeq(c, fmt.Sprintf("%s: RefsFor(%x)", what, id), data, tab.RefsFor(id))
	}
}

// drainCheck runs Check on tab: every finding must be a well-formed
// corruption error, or an I/O error, and the findings must end.
func drainCheck(c *hostileChecker, what string, data []byte, tab *Table) {
	c.t.Helper()
	n := 0
	for err := range tab.Check() {
		c.check(what, data, err, false)
		if n++; n > hostileMaxRecords {
			c.errorf("%s: more than %d findings", what, hostileMaxRecords)
			return
		}
	}
}

func drainSeq[R any](c *hostileChecker, what string, data []byte, seq func(func(R, error) bool)) {
	c.t.Helper()
	n := 0
	for _, err := range seq {
		if err != nil {
			c.check(what, data, err, false)
			return
		}
		if n++; n > hostileMaxRecords {
			c.errorf("%s: more than %d records", what, hostileMaxRecords)
			return
		}
	}
}

// hostileFixtures are the git tables TestHostileGitTables damages: one
// small table of each kind, the tombstones of sha1-basic, the compacted
// stack and the table with multi-level indexes.
var hostileFixtures = []struct {
	path     string
	maxNames int
	stride   int
}{
	{"sha1-basic/reftable/0x000000000009-0x000000000009-5e098ce7.ref", 0, 1},
	{"sha1-basic/reftable/0x00000000000f-0x00000000000f-4b803d59.ref", 0, 1},
	{"sha256-basic/reftable/0x00000000000d-0x00000000000d-4176a431.ref", 0, 1},
	{"compacted/reftable/0x000000000001-0x00000000000f-5c22e66e.ref", 0, 1},
	{"small-blocks/reftable/0x000000000001-0x000000000005-5bd0f4e2.ref", 4, 4999},
}

// TestHostileGitTables truncates git's tables at every length and
// overwrites every byte (for the big table, a sample of them) with 0x00,
// 0xff and its value xor 0x80, with the original footer and with the
// footer CRC recomputed, then reads everything: no panic, and every error
// is a corruption error naming the table and an offset inside it.
func TestHostileGitTables(t *testing.T) {
	for _, f := range hostileFixtures {
		fx := loadHostileFixture(t, f.path, f.maxNames)
		fx.stride = f.stride
		t.Run(filepath.Base(filepath.Dir(filepath.Dir(f.path)))+"/"+filepath.Base(f.path), func(t *testing.T) {
			t.Parallel()
			hostileDamage(t, fx)
		})
	}
}

func hostileDamage(t *testing.T, fx *hostileFixture) {
	c := &hostileChecker{t: t}
	data := fx.data
	version := int(data[4])
	hs, fs := headerSize(version), footerSize(version)
	c.read("pristine", data, fx.names, fx.ids)
	if t.Failed() {
		return
	}

	// Which positions to damage: all of them for small tables; for big
	// ones (reading them is slow under the race detector) the header, the
	// footer, the start of each section and index root, and a sample of
	// the rest.
	all := fx.stride <= 1
	important := make([]bool, len(data))
	if !all {
		tab, err := NewTable(bytes.NewReader(data), int64(len(data)), fx.name)
		if err != nil {
			t.Fatal(err)
		}
		mark := func(from int64, n int) {
			for i := max(from, 0); i < min(from+int64(n), int64(len(data))); i++ {
				important[i] = true
			}
		}
		lay := tab.Layout()
		mark(0, hs+8)
		mark(int64(len(data)-fs), fs)
		mark(lay.RefIndex, 8)
		mark(lay.ObjOffset, 8)
		mark(lay.LogOffset, 8)
		mark(lay.LogIndex, 8)
	}
	damaged := func(pos int) bool {
		return all || important[pos] || pos%fx.stride == 0
	}

	// Truncations, and truncations with the footer put back.
	footer := data[len(data)-fs:]
	for n := 0; n <= len(data); n++ {
		if n < len(data) && !damaged(n) {
			continue
		}
		c.read(fmt.Sprintf("truncated to %d", n), data[:n], fx.names, fx.ids)
		if n >= hs && n < len(data)-fs && (all || n%fx.stride == 0) {
			cut := append(clone(data[:n]), footer...)
			c.read(fmt.Sprintf("truncated to %d + footer", n), cut, fx.names, fx.ids)
		}
	}

	// Byte mutations.
	buf := clone(data)
	for pos := range data {
		if !damaged(pos) {
			continue
		}
		orig := data[pos]
		for _, m := range []struct {
			name string
			v    byte
		}{{"0x00", 0}, {"0xff", 0xff}, {"xor 0x80", orig ^ 0x80}} {
			if m.v == orig {
				continue
			}
			buf[pos] = m.v
			what := fmt.Sprintf("byte %d set to %s", pos, m.name)
			c.read(what, buf, fx.names, fx.ids)
			if fixed := hostileFooterFix(buf, hs, fs, false); !bytes.Equal(fixed, buf) {
				c.read(what+", footer CRC fixed", fixed, fx.names, fx.ids)
			}
			if pos < hs {
				c.read(what+", header copied to footer", hostileFooterFix(buf, hs, fs, true), fx.names, fx.ids)
			}
			buf[pos] = orig
		}
	}
	t.Logf("%d reads, %d opened", c.reads, c.opened)
}

// craftBlock returns a block of type typ holding the encoded records recs,
// with one restart point at the first record. blen < 0 means the true
// block length; count < 0 means one restart. For the first block of a
// table, headerOff is the header size: the caller puts the header in
// front, and block_len and restart offsets count it. Log blocks are
// compressed.
func craftBlock(typ byte, headerOff int, recs []byte, blen, count int) []byte {
	b := []byte{typ, 0, 0, 0}
	b = append(b, recs...)
	b = appendUint24(b, uint32(headerOff+4))
	if count < 0 {
		count = 1
	}
	b = binary.BigEndian.AppendUint16(b, uint16(count))
	if blen < 0 {
		blen = headerOff + len(b)
	}
	putUint24(b[1:], uint32(blen))
	if typ == blockTypeLog {
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(b[4:])
		zw.Close()
		b = append(b[:4], z.Bytes()...)
	}
	return b
}

// craftFooter holds the section offsets of a crafted table's footer.
type craftFooter struct {
	refIndex, objPos uint64
	objIDLen         int
	objIndex, logPos uint64
	logIndex         uint64
}

// craftTable returns a table of the given version and declared block size
// holding body (its blocks, back to back) and a footer with f and a valid
// CRC.
func craftTable(version int, blockSize uint32, body []byte, f craftFooter) []byte {
	h := []byte(magic)
	h = append(h, byte(version))
	h = appendUint24(h, blockSize)
	h = binary.BigEndian.AppendUint64(h, 1)
	h = binary.BigEndian.AppendUint64(h, 1)
	if version == 2 {
		h = binary.BigEndian.AppendUint32(h, formatIDSHA256)
	}
	data := append(clone(h), body...)
	foot := clone(h)
	foot = binary.BigEndian.AppendUint64(foot, f.refIndex)
	foot = binary.BigEndian.AppendUint64(foot, f.objPos<<5|uint64(f.objIDLen))
	foot = binary.BigEndian.AppendUint64(foot, f.objIndex)
	foot = binary.BigEndian.AppendUint64(foot, f.logPos)
	foot = binary.BigEndian.AppendUint64(foot, f.logIndex)
	foot = binary.BigEndian.AppendUint32(foot, crc32.ChecksumIEEE(foot))
	return append(data, foot...)
}

// craftRef encodes a ref record (without prefix compression).
func craftRef(name string, typ RefValueType, value []byte) []byte {
	b, _ := appendKey(nil, nil, []byte(name), byte(typ))
	b = appendVarint(b, 0)
	return append(b, value...)
}

// craftLog encodes a log update record of name at update index 1 whose
// value is given.
func craftLog(name string, value []byte) []byte {
	b, _ := appendKey(nil, nil, appendLogKey(nil, []byte(name), 1), byte(LogUpdate))
	return append(b, value...)
}

// craftIndex encodes an index record.
func craftIndex(key string, child uint64) []byte {
	b, _ := appendKey(nil, nil, []byte(key), 0)
	return appendVarint(b, child)
}

type hostileCase struct {
	name      string
	blockSize uint32
	data      []byte
}

// hostileCases returns tables whose blocks and records claim huge
// lengths and counts, or whose indexes point forward or at themselves.
func hostileCases() []hostileCase {
	const hs = headerSizeV1
	id := bytes.Repeat([]byte{0x42}, 20)
	ref := craftRef("refs/heads/main", RefVal1, id)
	logValue := func(nameLen, emailLen, msgLen uint64) []byte {
		v := append(clone(id), id...)
		v = appendVarint(v, nameLen)
		v = append(v, "A U Thor"...)
		v = appendVarint(v, emailLen)
		v = append(v, "a@x"...)
		v = appendVarint(v, 1700000000)
		v = append(v, 0, 0)
		v = appendVarint(v, msgLen)
		return append(v, "msg\n"...)
	}
	goodLog := craftLog("refs/heads/main", logValue(8, 3, 4))
	idxA0 := craftBlock(blockTypeIndex, 0, craftIndex("refs/heads/zzz", 0), -1, -1)
	var cases []hostileCase
	for _, bs := range []uint32{0, 256, 4096} {
		add := func(name string, data []byte) {
			cases = append(cases, hostileCase{fmt.Sprintf("%s/blocksize=%d", name, bs), bs, data})
		}
		// Ref and log blocks claiming 16 MiB.
		add("ref block_len 0xffffff", craftTable(1, bs, craftBlock(blockTypeRef, hs, ref, 0xffffff, -1), craftFooter{}))
		add("log block_len 0xffffff", craftTable(1, bs, craftBlock(blockTypeLog, hs, goodLog, 0xffffff, -1), craftFooter{}))
		first := craftBlock(blockTypeRef, hs, ref, -1, -1)
		second := craftBlock(blockTypeLog, 0, goodLog, 0xffffff, -1)
		add("second log block_len 0xffffff", craftTable(1, bs, append(clone(first), second...),
			craftFooter{logPos: uint64(hs + len(first))}))
		// Restart counts claiming more restarts than the block holds.
		add("ref restart_count 0xffff", craftTable(1, bs, craftBlock(blockTypeRef, hs, ref, -1, 0xffff), craftFooter{}))
		add("log restart_count 0xffff", craftTable(1, bs, craftBlock(blockTypeLog, hs, goodLog, -1, 0xffff), craftFooter{}))
		// Strings claiming 1 TiB.
		add("symref length 2^40", craftTable(1, bs, craftBlock(blockTypeRef, hs,
			append(craftRef("HEAD", RefSymref, appendVarint(nil, 1<<40)), "refs/heads/main"...), -1, -1), craftFooter{}))
		for _, l := range []struct {
			what                      string
			nameLen, emailLen, msgLen uint64
		}{{"name", 1 << 40, 3, 4}, {"email", 8, 1 << 40, 4}, {"message", 8, 3, 1 << 40}} {
			add("log "+l.what+" length 2^40", craftTable(1, bs, craftBlock(blockTypeLog, hs,
				craftLog("refs/heads/main", logValue(l.nameLen, l.emailLen, l.msgLen)), -1, -1), craftFooter{}))
		}
		// An obj record listing 2^60 ref blocks.
		for _, count := range []uint64{1 << 60, 1 << 20} {
			objRec, _ := appendKey(nil, nil, id[:2], 0)
			objRec = appendVarint(objRec, count)
			objRec = append(objRec, 0, 0, 0, 0)
			obj := craftBlock(blockTypeObj, 0, objRec, -1, -1)
			add(fmt.Sprintf("obj count %d", count), craftTable(1, bs, append(clone(first), obj...),
				craftFooter{objPos: uint64(hs + len(first)), objIDLen: 2}))
		}
		// A log block whose bad record lies further into the inflated
		// data than the table is long.
		long := craftLog("refs/heads/main", logValue(8, 3, 4000))
		long = append(long[:len(long)-4], bytes.Repeat([]byte("m"), 4000)...)
		add("log error past compressed size", craftTable(1, bs, craftBlock(blockTypeLog, hs,
			append(long, 0x05, 0x00), -1, -1), craftFooter{}))
		add("log restart count past compressed size", craftTable(1, bs, craftBlock(blockTypeLog, hs,
			long, -1, 0xffff), craftFooter{}))
		// Indexes pointing at themselves, forward, and at a block of the
		// wrong type.
		idxOff := uint64(hs + len(first))
		for _, target := range []struct {
			what  string
			child uint64
		}{{"itself", idxOff}, {"forward", idxOff + 10}, {"past the end", 1 << 40},
			{"negative", 1 << 63}, {"into the header", 3}} {
			idx := craftBlock(blockTypeIndex, 0, craftIndex("refs/heads/zzz", target.child), -1, -1)
			add("ref index pointing "+target.what, craftTable(1, bs, append(clone(first), idx...),
				craftFooter{refIndex: idxOff}))
			logs := craftBlock(blockTypeLog, 0, goodLog, -1, -1)
			logIdx := idxOff + uint64(len(logs))
			lidx := craftBlock(blockTypeIndex, 0, craftIndex("refs/heads/zzz\x00", target.child+uint64(len(logs))), -1, -1)
			add("log index pointing "+target.what, craftTable(1, bs, slices.Concat(first, logs, lidx),
				craftFooter{logPos: idxOff, logIndex: logIdx}))
		}
		// Two index blocks pointing at each other.
		idxA := craftBlock(blockTypeIndex, 0, craftIndex("refs/heads/zzz", idxOff+uint64(len(idxA0))), -1, -1)
		idxB := craftBlock(blockTypeIndex, 0, craftIndex("refs/heads/zzz", idxOff), -1, -1)
		add("ref index cycle", craftTable(1, bs, slices.Concat(first, idxA, idxB),
			craftFooter{refIndex: idxOff + uint64(len(idxA))}))
	}
	return cases
}

// hostileAllocs returns the bytes allocated by f.
func hostileAllocs(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileAllocationBound opens tables whose blocks claim huge lengths
// and counts: reading one must allocate in proportion to the declared
// block size, not to the claims, every error must be a corruption error
// and every iteration must end.
func TestHostileAllocationBound(t *testing.T) {
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			c := &hostileChecker{t: t}
			names := [][]byte{[]byte("HEAD"), []byte("refs/heads/main"), []byte("refs/heads/zzz"), []byte("a")}
			ids := [][]byte{bytes.Repeat([]byte{0x42}, 20), make([]byte, 20)}
			c.read(tc.name, tc.data, names, ids)
			limit := 8*uint64(tc.blockSize) + 64<<10
			ops := map[string]func(*Table){
				"Refs":    func(tab *Table) { drainSeq(c, "Refs", tc.data, tab.Refs(nil)) },
				"Logs":    func(tab *Table) { drainSeq(c, "Logs", tc.data, tab.Logs(nil)) },
				"Blocks":  func(tab *Table) { drainSeq(c, "Blocks", tc.data, tab.Blocks()) },
				"Check":   func(tab *Table) { drainCheck(c, "Check", tc.data, tab) },
				"LogsFor": func(tab *Table) { drainSeq(c, "LogsFor", tc.data, tab.LogsFor(names[1])) },
				"RefsFor": func(tab *Table) { drainSeq(c, "RefsFor", tc.data, tab.RefsFor(ids[0])) },
				"Ref": func(tab *Table) {
					_, err := tab.Ref(names[1])
					c.check("Ref", tc.data, err, true)
				},
			}
			for what, op := range ops {
				n := hostileAllocs(func() {
					tab, err := NewTable(bytes.NewReader(tc.data), int64(len(tc.data)), "hostile.ref")
					if err != nil {
						c.check("NewTable", tc.data, err, false)
						return
					}
					op(tab)
				})
				if n > limit {
					t.Errorf("open + %s allocated %d bytes, more than %d", what, n, limit)
				}
			}
		})
	}
}

// TestBlocksEmptyTable is the regression test for Blocks reporting a
// table without records (a header and a footer, as git writes it) as
// truncated.
func TestBlocksEmptyTable(t *testing.T) {
	for _, h := range []Hash{SHA1, SHA256} {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, WriterOptions{Hash: h})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		tab, err := NewTable(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "empty.ref")
		if err != nil {
			t.Fatal(err)
		}
		var blocks []BlockInfo
		for info, err := range tab.Blocks() {
			if err != nil {
				t.Fatalf("%v: Blocks: %v", h, err)
			}
			blocks = append(blocks, info)
		}
		if len(blocks) != 0 {
			t.Errorf("%v: Blocks of an empty table = %+v", h, blocks)
		}
	}
}

// TestWriterIndexLevelsTerminate is the regression test for the writer
// adding index levels forever (and growing without bound) when index
// records are so long for the block size that every index block holds
// one: a level then has as many blocks as the one it indexes.
func TestWriterIndexLevelsTerminate(t *testing.T) {
	id := bytes.Repeat([]byte{1}, 20)
	var refs []RefRecord
	for i := range 6 {
		name := fmt.Sprintf("refs/heads/%c", 'a'+i) + string(bytes.Repeat([]byte("x"), 150))
		refs = append(refs, RefRecord{Name: []byte(name), UpdateIndex: 1, Type: RefVal1, Value: id})
	}
	for _, unpadded := range []bool{false, true} {
		buf := &hostileLimitedBuffer{limit: 1 << 20}
		w, err := NewWriter(buf, WriterOptions{BlockSize: 256, Unpadded: unpadded, MinUpdateIndex: 1, MaxUpdateIndex: 1})
		if err != nil {
			t.Fatal(err)
		}
		for i := range refs {
			if err := w.AddRef(&refs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatalf("unpadded=%v: Close: %v", unpadded, err)
		}
		tab, err := NewTable(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "long.ref")
		if err != nil {
			t.Fatal(err)
		}
		if tab.Layout().RefIndex == 0 {
			t.Errorf("unpadded=%v: no ref index", unpadded)
		}
		var got []RefRecord
		for r, err := range tab.Refs(nil) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, r.Clone())
		}
		if diff := cmp.Diff(refs, got); diff != "" {
			t.Errorf("unpadded=%v: refs (-want +got):\n%s", unpadded, diff)
		}
		for _, r := range refs {
			got, err := tab.Ref(r.Name)
			if err != nil {
				t.Fatalf("unpadded=%v: Ref(%q): %v", unpadded, r.Name, err)
			}
			if diff := cmp.Diff(r, got); diff != "" {
				t.Errorf("unpadded=%v: Ref(%q) (-want +got):\n%s", unpadded, r.Name, diff)
			}
		}
	}
}

// hostileLimitedBuffer is a bytes.Buffer that fails writes beyond limit
// bytes, to stop a writer that does not terminate.
type hostileLimitedBuffer struct {
	bytes.Buffer
	limit int
}

func (b *hostileLimitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.limit {
		return 0, fmt.Errorf("more than %d bytes written", b.limit)
	}
	return b.Buffer.Write(p)
}

// TestWriterEmptyObjSectionKeepsLogs is the regression test for the
// crasher fuzz/testdata/fuzz/FuzzWriteRead/1d0e4a0226ba94d2: when a
// table's refs need a ref index but name no object id (symrefs and
// deletions only), the writer left its empty obj block open, the first
// log record went into it, and the table had an obj section holding the
// logs and no log section.
func TestWriterEmptyObjSectionKeepsLogs(t *testing.T) {
	var refs []RefRecord
	for i := range 40 {
		r := RefRecord{Name: fmt.Appendf(nil, "refs/heads/branch-%03d", i), UpdateIndex: 1, Type: RefSymref, Target: []byte("refs/heads/main")}
		if i%2 == 1 {
			r = RefRecord{Name: r.Name, UpdateIndex: 1, Type: RefDeletion}
		}
		refs = append(refs, r)
	}
	id := bytes.Repeat([]byte{7}, 20)
	logs := []LogRecord{{RefName: []byte("refs/heads/main"), UpdateIndex: 1, Type: LogUpdate, Old: make([]byte, 20), New: id,
		Name: []byte("A U Thor"), Email: []byte("a@x"), Time: 1700000000, Message: []byte("create\n")}}
	for _, unpadded := range []bool{false, true} {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, WriterOptions{BlockSize: 128, Unpadded: unpadded, MinUpdateIndex: 1, MaxUpdateIndex: 1})
		if err != nil {
			t.Fatal(err)
		}
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
		tab, err := NewTable(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "noobj.ref")
		if err != nil {
			t.Fatal(err)
		}
		lay := tab.Layout()
		if lay.RefIndex == 0 || lay.HasObjs || !lay.HasLogs {
			t.Errorf("unpadded=%v: layout %+v, want a ref index, logs and no obj section", unpadded, lay)
		}
		var got []LogRecord
		for l, err := range tab.Logs(nil) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, l.Clone())
		}
		if diff := cmp.Diff(logs, got); diff != "" {
			t.Errorf("unpadded=%v: logs (-want +got):\n%s", unpadded, diff)
		}
		for _, err := range tab.Blocks() {
			if err != nil {
				t.Fatalf("unpadded=%v: Blocks: %v", unpadded, err)
			}
		}
	}
}

// TestTinyDeclaredBlockSize is the regression test for a panic when the
// header declares a block size smaller than a block header (the crasher
// fuzz/testdata/fuzz/FuzzTable/94449c0920458e5e): loading the first block
// indexed past the bytes read.
func TestTinyDeclaredBlockSize(t *testing.T) {
	ref := craftRef("refs/heads/main", RefVal1, bytes.Repeat([]byte{1}, 20))
	for _, bs := range []uint32{1, 3, 4, 24, 27, 28, 29} {
		body := craftBlock(blockTypeRef, headerSizeV1, ref, -1, -1)
		body = append(body, craftBlock(blockTypeRef, 0, ref, -1, -1)...)
		data := craftTable(1, bs, body, craftFooter{})
		c := &hostileChecker{t: t}
		c.read(fmt.Sprintf("block size %d", bs), data, [][]byte{[]byte("refs/heads/main")}, nil)
	}
}

// TestLogBlockClaimedLengthAllocation is the regression test for reading
// a log block allocating the inflated length it claims (up to 16 MiB in a
// table of a hundred bytes declaring block size 0) before inflating.
func TestLogBlockClaimedLengthAllocation(t *testing.T) {
	id := bytes.Repeat([]byte{1}, 20)
	v := append(clone(id), id...)
	v = append(v, 0, 0, 0, 0, 0, 0, 0)
	data := craftTable(1, 0, craftBlock(blockTypeLog, headerSizeV1, craftLog("refs/heads/main", v), 0xffffff, -1), craftFooter{})
	var err error
	n := hostileAllocs(func() {
		tab, err2 := NewTable(bytes.NewReader(data), int64(len(data)), "claim.ref")
		if err2 != nil {
			t.Fatal(err2)
		}
		for _, err = range tab.Logs(nil) {
		}
	})
	if !errors.Is(err, ErrFormat) {
		t.Errorf("Logs: %v, want ErrFormat", err)
	}
	if n > 1<<20 {
		t.Errorf("reading a %d-byte table allocated %d bytes", len(data), n)
	}
}

// TestCorruptOffsetInLogBlock is the regression test for errors about the
// inflated contents of a log block naming offsets past the end of the
// table (block offset plus position in the inflated data).
func TestCorruptOffsetInLogBlock(t *testing.T) {
	id := bytes.Repeat([]byte{1}, 20)
	v := append(clone(id), id...)
	v = append(v, 0, 0, 0, 0, 0)
	v = appendVarint(v, 5000)
	v = append(v, bytes.Repeat([]byte("m"), 5000)...)
	rec := craftLog("refs/heads/main", v)
	for _, tc := range []struct {
		name  string
		block []byte
	}{
		{"bad record", craftBlock(blockTypeLog, headerSizeV1, append(rec, 0x05, 0x00), -1, -1)},
		{"bad restart count", craftBlock(blockTypeLog, headerSizeV1, rec, -1, 0xffff)},
		{"bad restart offset", craftBlock(blockTypeLog, headerSizeV1, append(rec, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00), -1, 3)},
	} {
		data := craftTable(1, 0, tc.block, craftFooter{})
		tab, err := NewTable(bytes.NewReader(data), int64(len(data)), "log.ref")
		if err != nil {
			t.Fatal(err)
		}
		var errs []error
		for _, err := range tab.Logs(nil) {
			errs = append(errs, err)
		}
		for _, err := range tab.LogsFor([]byte("refs/heads/main")) {
			errs = append(errs, err)
		}
		if errs[len(errs)-1] == nil {
			t.Errorf("%s: no error", tc.name)
		}
		for _, err := range errs {
			if err == nil {
				continue
			}
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Offset < 0 || ce.Offset > int64(len(data)) {
				t.Errorf("%s: %v: offset outside the %d-byte table", tc.name, err, len(data))
			}
		}
	}
}
