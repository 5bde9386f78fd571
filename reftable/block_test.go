package reftable

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// utBlock is one block of a table as decoded record by record.
type utBlock struct {
	BlockInfo
	keys     [][]byte
	recOffs  []int      // offset of each record in the block data
	restarts []int      // restart offsets stored in the block
	children []uint64   // index blocks: the offset each record points at
	objs     [][]uint64 // obj blocks: the offsets of each record
	refs     []RefRecord
	logs     []LogRecord
}

// utDecodeBlock decodes the block at off of tab.
func utDecodeBlock(t testing.TB, tab *Table, off int64) utBlock {
	t.Helper()
	it := newTableIter(tab, 0)
	ok, err := it.rd.load(&it.blk, off, 0)
	if err != nil || !ok {
		t.Fatalf("load block at %d: %v, %v", off, ok, err)
	}
	b := &it.blk
	ub := utBlock{BlockInfo: BlockInfo{Offset: off, Type: b.typ, Len: len(b.data), Size: b.size, Restarts: b.nRestarts}}
	for i := range b.nRestarts {
		ub.restarts = append(ub.restarts, int(uint24(b.data[b.restartOff+3*i:])))
	}
	it.pos, it.key = b.headerOff+4, it.key[:0]
	for it.pos < b.restartOff {
		ub.recOffs = append(ub.recOffs, it.pos)
		if !it.decode() {
			t.Fatalf("decode in block at %d: %v", off, it.err)
		}
		ub.keys = append(ub.keys, clone(it.key))
		switch b.typ {
		case blockTypeIndex:
			ub.children = append(ub.children, it.child)
		case blockTypeObj:
			ub.objs = append(ub.objs, slices.Clone(it.offsets))
		case blockTypeRef:
			ub.refs = append(ub.refs, it.ref.Clone())
		case blockTypeLog:
			ub.logs = append(ub.logs, it.log.Clone())
		}
	}
	ub.Records = len(ub.keys)
	return ub
}

// utDecodeTable decodes every block of tab.
func utDecodeTable(t testing.TB, tab *Table) []utBlock {
	t.Helper()
	var out []utBlock
	for _, info := range utBlockInfos(t, tab) {
		b := utDecodeBlock(t, tab, info.Offset)
		if info != b.BlockInfo {
			t.Errorf("Blocks() and a direct decode disagree (-Blocks +decode):\n%s", cmp.Diff(info, b.BlockInfo))
		}
		out = append(out, b)
	}
	return out
}

// utWantRestarts returns the record offsets of b that must be restart
// points: every interval-th record and every record sharing no prefix
// with its predecessor.
func utWantRestarts(b utBlock, interval int) []int {
	var want []int
	for i, k := range b.keys {
		if i%interval == 0 || commonPrefix(b.keys[i-1], k) == 0 {
			want = append(want, b.recOffs[i])
		}
	}
	return want
}

// utBlockRefs returns refs for block tests: every value type, names that
// share long prefixes and names that share none (natural restarts).
func utBlockRefs(h Hash, n int) []RefRecord {
	var refs []RefRecord
	for i := range n {
		var name string
		switch i % 5 {
		case 0:
			name = fmt.Sprintf("%c-top-%04d", 'A'+i/5%26, i) // distinct first bytes
		default:
			name = fmt.Sprintf("refs/heads/feature/%04d", i)
		}
		r := RefRecord{Name: []byte(name), UpdateIndex: 1 + uint64(i%3)}
		switch i % 4 {
		case 0:
			r.Type, r.Value = RefVal1, utID(h, i)
		case 1:
			r.Type, r.Value, r.Peeled = RefVal2, utID(h, i), utID(h, i+1)
		case 2:
			r.Type, r.Target = RefSymref, []byte("refs/heads/main")
		case 3:
			r.Type = RefDeletion
		}
		refs = append(refs, r)
	}
	slices.SortFunc(refs, func(a, b RefRecord) int { return bytes.Compare(a.Name, b.Name) })
	return refs
}

// TestBlockRecordTypes mirrors git's u-reftable-block tests: ref, log, obj
// and index blocks written by the block writer at header offset 21 read
// back record by record; every key is seekable, seeking a key minus its
// last byte lands on the first record with that prefix, and seeking past
// the last key yields nothing.
func TestBlockRecordTypes(t *testing.T) {
	const headerOff = 21
	const blockSize = 4096
	type rec struct {
		key   []byte
		extra byte
		val   []byte
	}
	var refRecs, logRecs, objRecs, idxRecs []rec
	refs := utBlockRefs(SHA1, 30)
	for i := range refs {
		refRecs = append(refRecs, rec{refs[i].Name, byte(refs[i].Type), appendRefValue(nil, &refs[i], 0)})
	}
	for i := range 30 {
		l := utLogsFor(SHA1, fmt.Sprintf("refs/heads/branch%02d", i/3), 3, "msg")[i%3]
		if i%7 == 0 {
			l = LogRecord{RefName: l.RefName, UpdateIndex: l.UpdateIndex, Type: LogDeletion}
		}
		logRecs = append(logRecs, rec{appendLogKey(nil, l.RefName, l.UpdateIndex), byte(l.Type), appendLogValue(nil, &l, 20)})
	}
	for i := range 30 {
		offsets := make([]uint64, i%10)
		for j := range offsets {
			offsets[j] = uint64(j) * 4096
		}
		val, extra := appendObjValue(nil, offsets)
		objRecs = append(objRecs, rec{[]byte{byte(i / 8), 0x12, byte(i)}, extra, val})
	}
	for i := range 30 {
		idxRecs = append(idxRecs, rec{fmt.Appendf(nil, "refs/heads/idx-%02d", i), 0, appendVarint(nil, uint64(i)*blockSize)})
	}
	for _, tt := range []struct {
		typ  byte
		recs []rec
	}{
		{blockTypeRef, refRecs}, {blockTypeLog, logRecs}, {blockTypeObj, objRecs}, {blockTypeIndex, idxRecs},
	} {
		for _, interval := range []int{1, 3, 16} {
			t.Run(fmt.Sprintf("%c/interval%d", tt.typ, interval), func(t *testing.T) {
				var bw blockWriter
				bw.init(tt.typ, blockSize, headerOff, interval)
				for _, r := range tt.recs {
					if !bw.add(r.key, r.extra, r.val) {
						t.Fatalf("record %q does not fit", r.key)
					}
				}
				raw, err := bw.finish()
				if err != nil {
					t.Fatal(err)
				}
				data := append([]byte{}, raw...)
				tab := &Table{src: bytes.NewReader(data), name: "block", size: int64(len(data)), dataEnd: int64(len(data)),
					headerSize: headerOff, blockSize: blockSize, hash: SHA1}

				b := utDecodeBlock(t, tab, 0)
				var keys [][]byte
				for _, r := range tt.recs {
					keys = append(keys, r.key)
				}
				if diff := cmp.Diff(keys, b.keys); diff != "" {
					t.Fatalf("keys (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(utWantRestarts(b, interval), b.restarts); diff != "" {
					t.Errorf("restarts (-want +got):\n%s", diff)
				}
				if b.restarts[0] != headerOff+4 {
					t.Errorf("first restart at %d, want %d", b.restarts[0], headerOff+4)
				}
				switch tt.typ {
				case blockTypeRef:
					if diff := cmp.Diff(refs, b.refs, utEquateEmpty); diff != "" {
						t.Errorf("refs (-want +got):\n%s", diff)
					}
				case blockTypeObj:
					for i, r := range tt.recs {
						want, _, _ := decodeObj(nil, r.extra, r.val)
						if diff := cmp.Diff(want, b.objs[i], utEquateEmpty); diff != "" {
							t.Errorf("obj %d offsets (-want +got):\n%s", i, diff)
						}
					}
				case blockTypeIndex:
					for i := range tt.recs {
						if b.children[i] != uint64(i)*blockSize {
							t.Errorf("index record %d points at %d", i, b.children[i])
						}
					}
				}

				it := newTableIter(tab, tt.typ)
				seek := func(want []byte) ([]byte, bool) {
					it.start(0)
					if !it.seekInBlock(want) {
						t.Fatalf("seek %q: %v", want, it.err)
					}
					if !it.next() {
						if it.err != nil {
							t.Fatalf("next after seek %q: %v", want, it.err)
						}
						return nil, false
					}
					return clone(it.key), true
				}
				for _, k := range keys {
					if got, ok := seek(k); !ok || !bytes.Equal(got, k) {
						t.Errorf("seek(%q) = %q, %v", k, got, ok)
					}
					p := k[:len(k)-1]
					var first []byte
					for _, k2 := range keys {
						if bytes.HasPrefix(k2, p) {
							first = k2
							break
						}
					}
					if got, ok := seek(p); !ok || !bytes.Equal(got, first) {
						t.Errorf("seek(%q) = %q, %v; want %q", p, got, ok, first)
					}
				}
				past := append(clone(keys[len(keys)-1]), 0)
				if got, ok := seek(past); ok {
					t.Errorf("seek past the last key yields %q", got)
				}
			})
		}
	}
}

// TestBlockThroughTable writes refs, logs, objs and indexes through the
// Writer in several shapes and checks every block of the table: restart
// points, index records against the blocks they index, obj records
// against the ref blocks that name each id, and seeks.
func TestBlockThroughTable(t *testing.T) {
	for _, bs := range []int{256, 1024} {
		for _, interval := range []int{1, 3, 16} {
			for _, h := range []Hash{SHA1, SHA256} {
				t.Run(fmt.Sprintf("bs%d/ri%d/%v", bs, interval, h), func(t *testing.T) {
					refs := utBlockRefs(h, 240)
					var logs []LogRecord
					for i := 0; i < len(refs); i += 3 {
						logs = append(logs, utLogsFor(h, string(refs[i].Name), 2, "reflog message")...)
					}
					opts := WriterOptions{Hash: h, BlockSize: bs, RestartInterval: interval, MinUpdateIndex: 1, MaxUpdateIndex: 3}
					tab := utOpen(t, utWrite(t, opts, refs, logs))
					utCheckBlocks(t, tab, interval, refs)

					var got []RefRecord
					for _, r := range refs {
						g, err := tab.Ref(r.Name)
						if err != nil {
							t.Fatalf("Ref(%q): %v", r.Name, err)
						}
						got = append(got, g)
						// A key minus its last byte: the first ref with that prefix.
						p := r.Name[:len(r.Name)-1]
						i := slices.IndexFunc(refs, func(r RefRecord) bool { return bytes.HasPrefix(r.Name, p) })
						for got, err := range tab.Refs(p) {
							if err != nil {
								t.Fatal(err)
							}
							if !bytes.Equal(got.Name, refs[i].Name) {
								t.Errorf("Refs(%q) starts at %q, want %q", p, got.Name, refs[i].Name)
							}
							break
						}
					}
					if diff := cmp.Diff(utRefStrings(refs), utRefStrings(got)); diff != "" {
						t.Errorf("Ref of every ref (-want +got):\n%s", diff)
					}
					var gotLogs []LogRecord
					for i, l := range logs {
						if i > 0 && bytes.Equal(l.RefName, logs[i-1].RefName) {
							continue
						}
						gotLogs = append(gotLogs, utLogs(t, tab.LogsFor(l.RefName))...)
					}
					if diff := cmp.Diff(utLogStrings(logs), utLogStrings(gotLogs)); diff != "" {
						t.Errorf("LogsFor of every ref (-want +got):\n%s", diff)
					}
					if got := utRefs(t, tab.Refs([]byte{0xff})); len(got) != 0 {
						t.Errorf("Refs past the last key = %v", got)
					}
					if got := utLogs(t, tab.Logs([]byte{0xff})); len(got) != 0 {
						t.Errorf("Logs past the last key = %v", got)
					}
					if _, err := tab.Ref([]byte("zzz")); !isNotFound(err) {
						t.Errorf("Ref past the last key: err = %v", err)
					}
				})
			}
		}
	}
}

// utCheckBlocks checks the structure of every block of tab: restart points
// follow the interval and zero-prefix rules, each level-1 index record
// names the last key and the offset of the block it indexes, and each obj
// record lists exactly the ref blocks that name its id.
func utCheckBlocks(t testing.TB, tab *Table, interval int, refs []RefRecord) {
	t.Helper()
	blocks := utDecodeTable(t, tab)
	byOff := map[int64]*utBlock{}
	var gotRefs []RefRecord
	wantObjs := map[string][]uint64{} // id prefix -> ref block offsets
	objLen := tab.Layout().ObjIDLen
	for i := range blocks {
		b := &blocks[i]
		byOff[b.Offset] = b
		if want := utWantRestarts(*b, interval); !slices.Equal(want, b.restarts) {
			t.Errorf("block %c at %d: restarts (-want +got):\n%s", b.Type, b.Offset, cmp.Diff(want, b.restarts))
		}
		if b.Restarts > maxRestarts {
			t.Errorf("block at %d has %d restarts", b.Offset, b.Restarts)
		}
		if b.Type == blockTypeRef {
			gotRefs = append(gotRefs, b.refs...)
			for _, r := range b.refs {
				for _, id := range [][]byte{r.Value, r.Peeled} {
					if len(id) == 0 || objLen == 0 {
						continue
					}
					k := string(id[:objLen])
					if o := wantObjs[k]; len(o) == 0 || o[len(o)-1] != uint64(b.Offset) {
						wantObjs[k] = append(o, uint64(b.Offset))
					}
				}
			}
		}
	}
	if diff := cmp.Diff(utRefStrings(refs), utRefStrings(gotRefs)); diff != "" {
		t.Errorf("refs in ref blocks (-want +got):\n%s", diff)
	}
	gotObjs := map[string][]uint64{}
	for i := range blocks {
		b := &blocks[i]
		switch b.Type {
		case blockTypeObj:
			for j, k := range b.keys {
				if len(k) != objLen {
					t.Errorf("obj key %x has %d bytes, want %d", k, len(k), objLen)
				}
				gotObjs[string(k)] = b.objs[j]
			}
		case blockTypeIndex:
			for j, child := range b.children {
				c := byOff[int64(child)]
				if c == nil {
					t.Errorf("index record %q points at %d, not a block", b.keys[j], child)
					continue
				}
				if !bytes.Equal(c.keys[len(c.keys)-1], b.keys[j]) {
					t.Errorf("index record %q points at a block ending with %q", b.keys[j], c.keys[len(c.keys)-1])
				}
			}
		}
	}
	if tab.Layout().HasObjs {
		if diff := cmp.Diff(wantObjs, gotObjs); diff != "" {
			t.Errorf("obj records (-want +got):\n%s", diff)
		}
		// Every obj key is seekable, and seeking past the last finds none.
		it := newTableIter(tab, blockTypeObj)
		for k, offs := range wantObjs {
			it.seek([]byte(k))
			if !it.next() || string(it.key) != k {
				t.Errorf("seek obj %x: got %x, err %v", k, it.key, it.err)
				continue
			}
			if diff := cmp.Diff(offs, it.offsets); diff != "" {
				t.Errorf("seek obj %x offsets (-want +got):\n%s", k, diff)
			}
		}
		it.seek(bytes.Repeat([]byte{0xff}, objLen+1))
		if it.next() {
			t.Errorf("seek past the last obj key yields %x", it.key)
		}
	}
	// Every data block is indexed exactly once when the section has an index.
	l := tab.Layout()
	for _, sec := range []struct {
		typ   byte
		index int64
	}{{blockTypeRef, l.RefIndex}, {blockTypeObj, l.ObjIndex}, {blockTypeLog, l.LogIndex}} {
		if sec.index == 0 {
			continue
		}
		var want, got []int64
		for i := range blocks {
			b := &blocks[i]
			if b.Type == sec.typ {
				want = append(want, b.Offset)
			}
			if b.Type == blockTypeIndex {
				for _, c := range b.children {
					if byOff[int64(c)] != nil && byOff[int64(c)].Type == sec.typ {
						got = append(got, int64(c))
					}
				}
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%c blocks named by index records (-want +got):\n%s", sec.typ, diff)
		}
	}
}

// TestBlockMaxRestarts: a block records at most 65535 restart points; the
// records after the last one are still written and found.
func TestBlockMaxRestarts(t *testing.T) {
	const n = maxRestarts + 3000
	refs := make([]RefRecord, n)
	for i := range refs {
		refs[i] = RefRecord{Name: fmt.Appendf(nil, "%06d", i), UpdateIndex: 1, Type: RefDeletion}
	}
	tab := utOpen(t, utWrite(t, WriterOptions{BlockSize: 1 << 20, RestartInterval: 1, MinUpdateIndex: 1, MaxUpdateIndex: 1}, refs, nil))
	blocks := utBlockInfos(t, tab)
	if len(blocks) != 1 || blocks[0].Restarts != maxRestarts || blocks[0].Records != n {
		t.Fatalf("blocks = %+v, want one block with %d records and %d restarts", blocks, n, maxRestarts)
	}
	for _, i := range []int{0, 1, maxRestarts - 1, maxRestarts, maxRestarts + 1, n - 2, n - 1} {
		r, err := tab.Ref(refs[i].Name)
		if err != nil || !bytes.Equal(r.Name, refs[i].Name) {
			t.Errorf("Ref(%q) = %q, %v", refs[i].Name, r.Name, err)
		}
	}
	if _, err := tab.Ref(fmt.Appendf(nil, "%06d", n)); !isNotFound(err) {
		t.Errorf("Ref past the last: err = %v", err)
	}
}
