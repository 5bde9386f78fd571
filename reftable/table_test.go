package reftable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTableSeekEveryRef mirrors git's "seek every ref" tests: linearly in a
// table of a few blocks without index and through the index of a table
// of many blocks, for both hash functions.
func TestTableSeekEveryRef(t *testing.T) {
	for _, h := range []Hash{SHA1, SHA256} {
		for _, tt := range []struct {
			name      string
			blockSize int
			n         int
			indexed   bool
		}{
			{"linear", 1024, 50, false},
			{"indexed", 256, 200, true},
			{"indexed-unpadded", 0, 0, true}, // filled in below
		} {
			opts := WriterOptions{Hash: h, BlockSize: tt.blockSize, MinUpdateIndex: 1, MaxUpdateIndex: 1}
			if tt.name == "indexed-unpadded" {
				// Unpadded tables get an index from 2 blocks on.
				opts.BlockSize, opts.Unpadded, tt.n = 1024, true, 50
			}
			t.Run(fmt.Sprintf("%v/%s", h, tt.name), func(t *testing.T) {
				refs := utBranches(h, tt.n)
				tab := utOpen(t, utWrite(t, opts, refs, nil))
				nblocks := 0
				for _, b := range utBlockInfos(t, tab) {
					if b.Type == blockTypeRef {
						nblocks++
					}
				}
				if nblocks < 2 {
					t.Fatalf("%d ref blocks, want several", nblocks)
				}
				if got := tab.Layout().RefIndex > 0; got != tt.indexed {
					t.Fatalf("ref index present = %v, want %v (%d blocks)", got, tt.indexed, nblocks)
				}
				var got []RefRecord
				for _, r := range refs {
					g, err := tab.Ref(r.Name)
					if err != nil {
						t.Fatalf("Ref(%q): %v", r.Name, err)
					}
					got = append(got, g)
					// Seeking just before a ref yields that ref and all after it.
					before := append(clone(r.Name[:len(r.Name)-1]), r.Name[len(r.Name)-1]-1, 0xff)
					it := newTableIter(tab, blockTypeRef)
					it.seek(before)
					if !it.next() || !bytes.Equal(it.key, r.Name) {
						t.Errorf("seek(%q) lands on %q (err %v), want %q", before, it.key, it.err, r.Name)
					}
				}
				if diff := cmp.Diff(utRefStrings(refs), utRefStrings(got)); diff != "" {
					t.Errorf("Ref of every ref (-want +got):\n%s", diff)
				}
				for _, name := range []string{"refs/heads/branch-99999", "refs/heads/c", "zzz", "\xff"} {
					if r, err := tab.Ref([]byte(name)); !errors.Is(err, ErrNotFound) {
						t.Errorf("Ref(%q) = %q, %v; want ErrNotFound", name, r.Name, err)
					}
					if got := utRefs(t, tab.Refs([]byte(name))); len(got) != 0 {
						t.Errorf("Refs(%q) = %d records", name, len(got))
					}
					it := newTableIter(tab, blockTypeRef)
					it.seek([]byte(name))
					if it.next() || it.err != nil {
						t.Errorf("seek(%q) past the last ref: next = %q, err %v", name, it.key, it.err)
					}
				}
				if diff := cmp.Diff(utRefStrings(refs), utRefStrings(utRefs(t, tab.Refs(nil)))); diff != "" {
					t.Errorf("Refs(nil) (-want +got):\n%s", diff)
				}
				if got := utRefs(t, tab.Refs([]byte("A"))); len(got) != 0 {
					t.Errorf("Refs(A) = %d records, want none", len(got))
				}
			})
		}
	}
}

// utMergedOf returns a merged view of one table.
func utMergedOf(t testing.TB, tabs ...*Table) *Merged {
	t.Helper()
	m, err := NewMerged(tabs, MergedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTableRefsPrefix(t *testing.T) {
	names := []string{"HEAD", "refs/heads/a", "refs/heads/a/b", "refs/heads/ab", "refs/heads/b", "refs/notes/x", "refs/tags/v1", "refs/tags/v1.0", "refs/tags/v2"}
	var refs []RefRecord
	for i, n := range names {
		refs = append(refs, RefRecord{Name: []byte(n), UpdateIndex: 1, Type: RefVal1, Value: utID(SHA1, i)})
	}
	for _, bs := range []int{100, 4096} {
		tab := utOpen(t, utWrite(t, WriterOptions{BlockSize: bs, MinUpdateIndex: 1, MaxUpdateIndex: 1}, refs, nil))
		for _, p := range []string{"", "H", "refs/", "refs/heads/", "refs/heads/a", "refs/heads/a/", "refs/tags/v1", "refs/tags/v1.", "refs/x", "z"} {
			var want []string
			for _, n := range names {
				if bytes.HasPrefix([]byte(n), []byte(p)) {
					want = append(want, n)
				}
			}
			var got []string
			for _, r := range utRefs(t, tab.Refs([]byte(p))) {
				got = append(got, string(r.Name))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("block size %d: Refs(%q) (-want +got):\n%s", bs, p, diff)
			}
		}
	}
}

// TestTableLogsPrefix checks the table's own log iteration: Logs by name
// prefix and LogsFor by exact name, deletions included, across blocks.
func TestTableLogsPrefix(t *testing.T) {
	names := []string{"HEAD", "refs/heads/a", "refs/heads/a/b", "refs/heads/ab", "refs/heads/b", "refs/tags/v1", "refs/tags/v1.0"}
	var logs []LogRecord
	for i, n := range names {
		logs = append(logs, utLogsFor(SHA1, n, 3, "m")...)
		if i%3 == 1 {
			logs[len(logs)-1] = utLogDel(n, 1)
		}
	}
	for _, bs := range []int{256, 4096} {
		tab := utOpen(t, utWrite(t, WriterOptions{BlockSize: bs, MinUpdateIndex: 1, MaxUpdateIndex: 3}, nil, logs))
		for _, p := range []string{"", "H", "refs/heads/a", "refs/heads/a/", "refs/tags/v1", "refs/x"} {
			var want []LogRecord
			for _, l := range logs {
				if bytes.HasPrefix(l.RefName, []byte(p)) {
					want = append(want, l)
				}
			}
			if diff := cmp.Diff(utLogStrings(want), utLogStrings(utLogs(t, tab.Logs([]byte(p))))); diff != "" {
				t.Errorf("block size %d: Logs(%q) (-want +got):\n%s", bs, p, diff)
			}
		}
		for _, n := range []string{"HEAD", "refs/heads/a", "refs/heads/a/b", "refs/tags/v1", "refs/heads"} {
			var want []LogRecord
			for _, l := range logs {
				if string(l.RefName) == n {
					want = append(want, l)
				}
			}
			if diff := cmp.Diff(utLogStrings(want), utLogStrings(utLogs(t, tab.LogsFor([]byte(n))))); diff != "" {
				t.Errorf("block size %d: LogsFor(%q) (-want +got):\n%s", bs, n, diff)
			}
		}
	}
}

// TestTableRefsFor mirrors git's refs_for tests: refs with values and
// peeled values found by object id, with and without object index.
func TestTableRefsFor(t *testing.T) {
	for _, h := range []Hash{SHA1, SHA256} {
		var refs []RefRecord
		for i := range 50 {
			r := RefRecord{Name: fmt.Appendf(nil, "refs/heads/%02d", i), UpdateIndex: 1, Type: RefVal1, Value: utID(h, i%7)}
			switch i % 5 {
			case 0:
				r.Type, r.Peeled = RefVal2, utID(h, 100+i%3)
			case 1:
				r.Type, r.Value, r.Target = RefSymref, nil, []byte("refs/heads/00")
			case 2:
				r.Type, r.Value = RefDeletion, nil
			}
			refs = append(refs, r)
		}
		for _, skip := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/skipIndexObjects=%v", h, skip), func(t *testing.T) {
				tab := utOpen(t, utWrite(t, WriterOptions{Hash: h, BlockSize: 256, SkipIndexObjects: skip, MinUpdateIndex: 1, MaxUpdateIndex: 1}, refs, nil))
				if l := tab.Layout(); l.RefIndex == 0 || l.HasObjs == skip {
					t.Fatalf("Layout = %+v, want a ref index and an obj section %v", l, !skip)
				}
				queries := [][]byte{utID(h, 999), make([]byte, h.Size())}
				for i := range 7 {
					queries = append(queries, utID(h, i))
				}
				for i := range 3 {
					queries = append(queries, utID(h, 100+i))
				}
				total := 0
				for _, id := range queries {
					var want []RefRecord
					for _, r := range refs {
						if (r.Type == RefVal1 || r.Type == RefVal2) && bytes.Equal(r.Value, id) || r.Type == RefVal2 && bytes.Equal(r.Peeled, id) {
							want = append(want, r)
						}
					}
					total += len(want)
					got := utRefs(t, tab.RefsFor(id))
					if diff := cmp.Diff(utRefStrings(want), utRefStrings(got)); diff != "" {
						t.Errorf("RefsFor(%x) (-want +got):\n%s", id[:4], diff)
					}
				}
				if total < 30 {
					t.Errorf("only %d matches in all: the test data is too thin", total)
				}
				// Ids of the wrong length match nothing.
				if got := utRefs(t, tab.RefsFor(utID(h, 0)[:10])); len(got) != 0 {
					t.Errorf("RefsFor(short id) = %d refs", len(got))
				}
				// Breaking out early is fine.
				for range tab.RefsFor(utID(h, 0)) {
					break
				}
			})
		}
	}
}

// TestTableRefsForObjWithoutOffsets: when an obj record lists too many ref
// blocks to fit a block, the writer stores it without offsets, and the
// reader must fall back to scanning all refs.
func TestTableRefsForObjWithoutOffsets(t *testing.T) {
	id := utID(SHA1, 1)
	var refs []RefRecord
	const n = 2000
	for i := range n {
		refs = append(refs, RefRecord{Name: fmt.Appendf(nil, "refs/heads/%04d", i), UpdateIndex: 1, Type: RefVal1, Value: id})
	}
	refs = append(refs, RefRecord{Name: []byte("refs/tags/other"), UpdateIndex: 1, Type: RefVal1, Value: utID(SHA1, 2)})
	tab := utOpen(t, utWrite(t, WriterOptions{BlockSize: 256, MinUpdateIndex: 1, MaxUpdateIndex: 1}, refs, nil))
	var emptyRecords int
	for _, b := range utDecodeTable(t, tab) {
		if b.Type == blockTypeObj {
			for _, o := range b.objs {
				if len(o) == 0 {
					emptyRecords++
				}
			}
		}
	}
	if emptyRecords != 1 {
		t.Fatalf("%d obj records without offsets, want 1", emptyRecords)
	}
	if diff := cmp.Diff(utRefStrings(refs[:n]), utRefStrings(utRefs(t, tab.RefsFor(id)))); diff != "" {
		t.Errorf("RefsFor (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(utRefStrings(refs[n:]), utRefStrings(utRefs(t, tab.RefsFor(utID(SHA1, 2))))); diff != "" {
		t.Errorf("RefsFor(other) (-want +got):\n%s", diff)
	}
}

func TestTableLogsFor(t *testing.T) {
	names := []string{"HEAD", "refs/heads/a", "refs/heads/a/b", "refs/heads/ab", "refs/heads/b"}
	var logs []LogRecord
	for i, n := range names {
		logs = append(logs, utLogsFor(SHA1, n, 3+i, "entry")...)
	}
	logs = append(logs, LogRecord{RefName: []byte("refs/heads/c"), UpdateIndex: 4, Type: LogDeletion})
	for _, bs := range []int{256, 4096} {
		tab := utOpen(t, utWrite(t, WriterOptions{BlockSize: bs, MinUpdateIndex: 1, MaxUpdateIndex: 10}, nil, logs))
		if l := tab.Layout(); l.HasRefs || !l.HasLogs {
			t.Errorf("Layout = %+v, want logs only", l)
		}
		if got := utRefs(t, tab.Refs(nil)); len(got) != 0 {
			t.Errorf("log-only table has refs %v", got)
		}
		for _, n := range append(names, "refs/heads/c", "refs/heads", "refs/heads/a/", "zzz") {
			var want []LogRecord
			for _, l := range logs {
				if string(l.RefName) == n {
					want = append(want, l)
				}
			}
			got := utLogs(t, tab.LogsFor([]byte(n)))
			if diff := cmp.Diff(utLogStrings(want), utLogStrings(got)); diff != "" {
				t.Errorf("block size %d: LogsFor(%q) (-want +got):\n%s", bs, n, diff)
			}
			for i := 1; i < len(got); i++ {
				if got[i].UpdateIndex >= got[i-1].UpdateIndex {
					t.Errorf("LogsFor(%q) not newest first: %d after %d", n, got[i].UpdateIndex, got[i-1].UpdateIndex)
				}
			}
		}
		if diff := cmp.Diff(utLogStrings(logs), utLogStrings(utLogs(t, tab.Logs(nil)))); diff != "" {
			t.Errorf("block size %d: Logs (-want +got):\n%s", bs, diff)
		}
		var want []LogRecord
		for _, l := range logs {
			if bytes.HasPrefix(l.RefName, []byte("refs/heads/a")) {
				want = append(want, l)
			}
		}
		if diff := cmp.Diff(utLogStrings(want), utLogStrings(utLogs(t, tab.Logs([]byte("refs/heads/a"))))); diff != "" {
			t.Errorf("block size %d: Logs(refs/heads/a) (-want +got):\n%s", bs, diff)
		}
	}
}

func TestTableAccessors(t *testing.T) {
	refs := utBranches(SHA256, 1)
	refs[0].UpdateIndex = 5
	data := utWrite(t, WriterOptions{Hash: SHA256, BlockSize: 1000, MinUpdateIndex: 3, MaxUpdateIndex: 9}, refs, nil)
	tab, err := NewTable(bytes.NewReader(data), int64(len(data)), "name.ref")
	if err != nil {
		t.Fatal(err)
	}
	type acc struct {
		Name      string
		Hash      Hash
		Version   int
		BlockSize int
		Min, Max  uint64
		Size      int64
	}
	want := acc{"name.ref", SHA256, 2, 1000, 3, 9, int64(len(data))}
	got := acc{tab.Name(), tab.Hash(), tab.Version(), tab.BlockSize(), tab.MinUpdateIndex(), tab.MaxUpdateIndex(), tab.Size()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("accessors (-want +got):\n%s", diff)
	}
	if r, err := tab.Ref(refs[0].Name); err != nil || r.UpdateIndex != 5 {
		t.Errorf("Ref = %+v, %v; want update index 5 (stored relative to min 3)", r, err)
	}
}

// TestTableShowsDeletions: a single table's iterators and lookups return
// deletion records.
func TestTableShowsDeletions(t *testing.T) {
	refs := []RefRecord{
		{Name: []byte("a"), UpdateIndex: 2, Type: RefDeletion},
		{Name: []byte("b"), UpdateIndex: 2, Type: RefVal1, Value: utID(SHA1, 1)},
	}
	logs := []LogRecord{{RefName: []byte("a"), UpdateIndex: 1, Type: LogDeletion}}
	tab := utOpen(t, utWrite(t, WriterOptions{MinUpdateIndex: 2, MaxUpdateIndex: 2}, refs, logs))
	if diff := cmp.Diff(utRefStrings(refs), utRefStrings(utRefs(t, tab.Refs(nil)))); diff != "" {
		t.Errorf("Refs (-want +got):\n%s", diff)
	}
	if r, err := tab.Ref([]byte("a")); err != nil || !r.IsDeletion() {
		t.Errorf("Ref(a) = %+v, %v; want the deletion", r, err)
	}
	if diff := cmp.Diff(utLogStrings(logs), utLogStrings(utLogs(t, tab.LogsFor([]byte("a"))))); diff != "" {
		t.Errorf("LogsFor(a) (-want +got):\n%s", diff)
	}
}

func TestTableOpenGarbage(t *testing.T) {
	tests := map[string][]byte{
		"empty":          nil,
		"1024 zeros":     make([]byte, 1024),
		"magic only":     []byte("REFT"),
		"short":          append([]byte("REFT\x01\x00\x10\x00"), make([]byte, 80)...),
		"version 3":      append([]byte("REFT\x03\x00\x10\x00"), make([]byte, 120)...),
		"1024 0xff":      bytes.Repeat([]byte{0xff}, 1024),
		"header, no end": utWrite(t, WriterOptions{MaxUpdateIndex: 1}, utBranches(SHA1, 1), nil)[:60],
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := NewTable(bytes.NewReader(data), int64(len(data)), name)
			var ce *CorruptError
			if !errors.Is(err, ErrFormat) || !errors.As(err, &ce) || ce.Table != name {
				t.Errorf("NewTable: err = %v, want a *CorruptError for %q matching ErrFormat", err, name)
			}
		})
	}
}

func TestTableFooterChecksum(t *testing.T) {
	data := utWrite(t, WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 1}, utBranches(SHA1, 3), nil)
	for _, at := range []int{len(data) - 1, len(data) - 4, len(data) - 20, len(data) - footerSizeV1 + 10} {
		bad := slices.Clone(data)
		bad[at] ^= 0x40
		_, err := NewTable(bytes.NewReader(bad), int64(len(bad)), "bad.ref")
		if !errors.Is(err, ErrChecksum) || !errors.Is(err, ErrFormat) {
			t.Errorf("flipped byte %d: err = %v, want ErrChecksum and ErrFormat", at, err)
		}
	}
	// A footer that no longer repeats the header is a format error even
	// with a correct CRC.
	bad := slices.Clone(data)
	fs := len(data) - footerSizeV1
	bad[fs+10] ^= 1 // min update index in the footer's header copy
	binary.BigEndian.PutUint32(bad[len(bad)-4:], crc32.ChecksumIEEE(bad[fs:len(bad)-4]))
	_, err := NewTable(bytes.NewReader(bad), int64(len(bad)), "bad.ref")
	if !errors.Is(err, ErrFormat) || errors.Is(err, ErrChecksum) {
		t.Errorf("footer/header mismatch: err = %v, want ErrFormat only", err)
	}
}

// TestTableLogZlibCorruption mirrors git's zlib corruption test: a damaged
// deflate stream is reported when the logs are read, as a format error,
// while the refs stay readable.
func TestTableLogZlibCorruption(t *testing.T) {
	refs := utBranches(SHA1, 2)
	var logs []LogRecord
	for i := range 20 {
		l := utLogsFor(SHA1, fmt.Sprintf("refs/heads/%02d", i), 1, "")[0]
		l.Message = bytes.Repeat(utID(SHA1, i), 3) // poorly compressible
		l.Message = []byte(fmt.Sprintf("%x", l.Message))
		logs = append(logs, l)
	}
	data := utWrite(t, WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 1}, refs, logs)
	tab := utOpen(t, data)
	start := tab.Layout().LogOffset + 4 // the zlib stream follows the block header
	if start <= 4 {
		t.Fatalf("no log section: %+v", tab.Layout())
	}
	for _, at := range []int64{start, start + 1, start + 50, start + 300} {
		bad := slices.Clone(data)
		bad[at] ^= 0x5a
		tab := utOpen(t, bad)
		if diff := cmp.Diff(utRefStrings(refs), utRefStrings(utRefs(t, tab.Refs(nil)))); diff != "" {
			t.Errorf("refs with a corrupt log block (-want +got):\n%s", diff)
		}
		var err error
		n := 0
		for _, e := range tab.Logs(nil) {
			if e != nil {
				err = e
				break
			}
			n++
		}
		if !errors.Is(err, ErrFormat) {
			t.Errorf("flipped byte %d of the log block: Logs yields %d records and err = %v, want ErrFormat", at-start+4, n, err)
		}
		for _, e := range tab.LogsFor(logs[5].RefName) {
			err = e
		}
		if !errors.Is(err, ErrFormat) {
			t.Errorf("flipped byte %d of the log block: LogsFor err = %v, want ErrFormat", at-start+4, err)
		}
	}
}

// TestTableUnpaddedReadsLikePadded writes the same records padded and
// unpadded in several shapes; every read API must give the same answers.
func TestTableUnpaddedReadsLikePadded(t *testing.T) {
	for _, h := range []Hash{SHA1, SHA256} {
		for _, bs := range []int{256, 4096} {
			t.Run(fmt.Sprintf("%v/%d", h, bs), func(t *testing.T) {
				refs := utBlockRefs(h, 300)
				var logs []LogRecord
				for i := 0; i < len(refs); i += 4 {
					logs = append(logs, utLogsFor(h, string(refs[i].Name), 3, "msg")...)
				}
				opts := WriterOptions{Hash: h, BlockSize: bs, MinUpdateIndex: 1, MaxUpdateIndex: 3}
				padded := utWrite(t, opts, refs, logs)
				opts.Unpadded = true
				// Not necessarily smaller: unpadded tables get indexes
				// (and so an obj section) from 2 blocks on.
				unpadded := utWrite(t, opts, refs, logs)
				read := func(tab *Table) []string {
					out := utRefStrings(utRefs(t, tab.Refs(nil)))
					out = append(out, utLogStrings(utLogs(t, tab.Logs(nil)))...)
					for i := 0; i < len(refs); i += 7 {
						r, err := tab.Ref(refs[i].Name)
						out = append(out, fmt.Sprint(utRefStrings([]RefRecord{r}), err))
						out = append(out, utLogStrings(utLogs(t, tab.LogsFor(refs[i].Name)))...)
						if refs[i].Value != nil {
							out = append(out, utRefStrings(utRefs(t, tab.RefsFor(refs[i].Value)))...)
						}
					}
					return out
				}
				pt, ut := utOpen(t, padded), utOpen(t, unpadded)
				want := read(pt)
				if diff := cmp.Diff(want, read(ut)); diff != "" {
					t.Errorf("(-padded +unpadded):\n%s", diff)
				}
				if diff := cmp.Diff(utRefStrings(refs), want[:len(refs)]); diff != "" {
					t.Errorf("refs (-want +got):\n%s", diff)
				}
				for _, b := range utBlockInfos(t, ut) {
					if b.Type != blockTypeLog && b.Size != int64(b.Len) {
						t.Errorf("unpadded block at %d: size %d, len %d", b.Offset, b.Size, b.Len)
					}
				}
				utCheckBlocks(t, ut, DefaultRestartInterval, refs)
			})
		}
	}
}

// TestTableConcurrentReads: a Table may be read from several goroutines.
func TestTableConcurrentReads(t *testing.T) {
	refs := utBranches(SHA1, 300)
	logs := utLogsFor(SHA1, "refs/heads/branch-0001", 50, "m")
	tab := utOpen(t, utWrite(t, WriterOptions{BlockSize: 512, MinUpdateIndex: 1, MaxUpdateIndex: 50}, refs, logs))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for _, err := range tab.Refs(nil) {
				if err != nil {
					errs <- err
					return
				}
				n++
			}
			for i := g; i < len(refs); i += 13 {
				if _, err := tab.Ref(refs[i].Name); err != nil {
					errs <- err
					return
				}
			}
			m := 0
			for _, err := range tab.LogsFor(logs[0].RefName) {
				if err != nil {
					errs <- err
					return
				}
				m++
			}
			if n != len(refs) || m != len(logs) {
				errs <- fmt.Errorf("goroutine %d read %d refs and %d logs", g, n, m)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
