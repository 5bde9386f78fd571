package odb

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/refstore/refstore/vfs"
)

// testID returns a made-up object id of size bytes for name.
func testID(size int, name string) []byte {
	sum := sha256.Sum256([]byte(name))
	return sum[:size]
}

// objectID returns git's id of an object of type t holding body.
func objectID(size int, t Type, body []byte) []byte {
	data := fmt.Appendf(nil, "%s %d\x00%s", t, len(body), body)
	if size == sha1.Size {
		sum := sha1.Sum(data)
		return sum[:]
	}
	sum := sha256.Sum256(data)
	return sum[:]
}

func zlibBytes(data []byte) []byte {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

func writeFile(t testing.TB, fsys *vfs.MemFS, path string, data []byte) {
	t.Helper()
	fsys.MkdirAll(filepath.Dir(path))
	f, err := fsys.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeLoose stores raw (a header and body, before compression) as the
// loose object id in dir.
func writeLoose(t testing.TB, fsys *vfs.MemFS, dir string, id, raw []byte) {
	t.Helper()
	writeFile(t, fsys, loosePath(dir, id), zlibBytes(raw))
}

// An entry is one object of a pack built by buildPack.
type entry struct {
	id   []byte
	typ  int    // 1-4, or ofsDelta or refDelta
	base []byte // a delta's base: its id (for OFS_DELTA, of an earlier entry)
}

// entryHeader encodes an entry's type and size as a pack does.
func entryHeader(typ int, size uint64) []byte {
	c := byte(typ<<4) | byte(size&15)
	size >>= 4
	var out []byte
	for size > 0 {
		out = append(out, c|0x80)
		c = byte(size & 0x7f)
		size >>= 7
	}
	return append(out, c)
}

// encodeDistance encodes an OFS_DELTA's distance back as git does.
func encodeDistance(d uint64) []byte {
	out := []byte{byte(d & 0x7f)}
	for d >>= 7; d > 0; d >>= 7 {
		d--
		out = append([]byte{byte(0x80 | d&0x7f)}, out...)
	}
	return out
}

// buildPack returns a pack of entries, in order, and its index of the
// given version (2 with large set: every offset but the first entry's in
// the 64-bit table, the most git reads).
// Entries hold only their headers and a few bytes of made-up data.
func buildPack(hashSize int, entries []entry, version int, large bool) (idx, pack []byte) {
	pack = append([]byte("PACK"), 0, 0, 0, 2)
	pack = binary.BigEndian.AppendUint32(pack, uint32(len(entries)))
	offsets := map[string]int{}
	for _, e := range entries {
		off := len(pack)
		offsets[string(e.id)] = off
		pack = append(pack, entryHeader(e.typ, 1000)...)
		switch e.typ {
		case ofsDelta:
			pack = append(pack, encodeDistance(uint64(off-offsets[string(e.base)]))...)
		case refDelta:
			pack = append(pack, e.base...)
		}
		pack = append(pack, "data"...)
	}
	pack = append(pack, make([]byte, hashSize)...)

	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b entry) int { return bytes.Compare(a.id, b.id) })
	var fanout [256]uint32
	for _, e := range sorted {
		for b := int(e.id[0]); b < 256; b++ {
			fanout[b]++
		}
	}
	if version == 2 {
		idx = binary.BigEndian.AppendUint32(idx, idxMagic)
		idx = binary.BigEndian.AppendUint32(idx, 2)
	}
	for _, n := range fanout {
		idx = binary.BigEndian.AppendUint32(idx, n)
	}
	if version == 1 {
		for _, e := range sorted {
			idx = binary.BigEndian.AppendUint32(idx, uint32(offsets[string(e.id)]))
			idx = append(idx, e.id...)
		}
		return append(idx, make([]byte, 2*hashSize)...), pack
	}
	for _, e := range sorted {
		idx = append(idx, e.id...)
	}
	idx = append(idx, make([]byte, 4*len(sorted))...) // CRC-32s
	var table []byte
	for _, e := range sorted {
		off := offsets[string(e.id)]
		if large && off > packHeaderLen {
			idx = binary.BigEndian.AppendUint32(idx, 0x80000000|uint32(len(table)/8))
			table = binary.BigEndian.AppendUint64(table, uint64(off))
		} else {
			idx = binary.BigEndian.AppendUint32(idx, uint32(off))
		}
	}
	idx = append(idx, table...)
	return append(idx, make([]byte, 2*hashSize)...), pack
}

func writePack(t testing.TB, fsys *vfs.MemFS, dir, name string, idx, pack []byte) {
	t.Helper()
	writeFile(t, fsys, filepath.Join(dir, "pack", "pack-"+name+".idx"), idx)
	writeFile(t, fsys, filepath.Join(dir, "pack", "pack-"+name+".pack"), pack)
}

func openDB(t testing.TB, fsys vfs.FS, dir string, hashSize int) *DB {
	t.Helper()
	db, err := Open(fsys, dir, hashSize)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// checkType checks that db says id has type want (0: does not exist).
func checkType(t *testing.T, db *DB, what string, id []byte, want Type) {
	t.Helper()
	got, err := db.Type(id)
	switch {
	case want == 0 && !errors.Is(err, ErrNotFound):
		t.Errorf("%s: Type = %v, %v; want ErrNotFound", what, got, err)
	case want != 0 && (err != nil || got != want):
		t.Errorf("%s: Type = %v, %v; want %v", what, got, err, want)
	}
	has, err := db.Has(id)
	if err != nil || has != (want != 0) {
		t.Errorf("%s: Has = %v, %v; want %v", what, has, err, want != 0)
	}
}

var hashSizes = []int{sha1.Size, sha256.Size}

func TestLoose(t *testing.T) {
	for _, hs := range hashSizes {
		t.Run(fmt.Sprint(hs*8), func(t *testing.T) {
			fsys := vfs.NewMem()
			fsys.MkdirAll("/objects")
			for _, typ := range []Type{Commit, Tree, Blob, Tag} {
				body := []byte("the body of a " + typ.String())
				id := objectID(hs, typ, body)
				writeLoose(t, fsys, "/objects", id, fmt.Appendf(nil, "%s %d\x00%s", typ, len(body), body))
			}
			db := openDB(t, fsys, "/objects", hs)
			for _, typ := range []Type{Commit, Tree, Blob, Tag} {
				checkType(t, db, typ.String(), objectID(hs, typ, []byte("the body of a "+typ.String())), typ)
			}
			checkType(t, db, "missing", testID(hs, "missing"), 0)
			checkType(t, db, "the empty tree", objectID(hs, Tree, nil), Tree)
			checkType(t, db, "the empty blob", objectID(hs, Blob, nil), 0)
			if _, err := db.Type(make([]byte, hs+1)); err == nil || errors.Is(err, ErrNotFound) {
				t.Errorf("an id of the wrong size: %v", err)
			}
		})
	}
}

// TestLooseCorrupt checks that malformed loose objects are format errors
// naming the file, whatever their bytes.
func TestLooseCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name string
		file []byte // as stored
		want string
	}{
		{"not zlib", []byte("commit 3\x00abc"), "not a zlib stream"},
		{"empty", nil, "not a zlib stream"},
		{"truncated stream", zlibBytes([]byte("commit 3\x00abc"))[:4], "inflating"},
		{"no NUL", zlibBytes([]byte("commit 3")), "ends inside its header"},
		{"no NUL in 64 bytes", zlibBytes(bytes.Repeat([]byte("a"), 1000)), "no header in the first 64 bytes"},
		{"unknown type", zlibBytes([]byte("frob 3\x00abc")), `unknown object type "frob"`},
		{"no size", zlibBytes([]byte("commit\x00abc")), "has no size"},
		{"bad size", zlibBytes([]byte("commit 3x\x00abc")), `bad size "3x"`},
		{"leading zero", zlibBytes([]byte("commit 03\x00abc")), `bad size "03"`},
		{"empty size", zlibBytes([]byte("commit \x00abc")), `bad size ""`},
		{"huge size", zlibBytes([]byte("commit 99999999999999999999\x00")), "out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := vfs.NewMem()
			id := testID(20, tc.name)
			path := loosePath("/objects", id)
			writeFile(t, fsys, path, tc.file)
			db := openDB(t, fsys, "/objects", 20)
			_, err := db.Type(id)
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Type: %v; want a format error naming %s and %q", err, path, tc.want)
			}
			if has, err := db.Has(id); !has || err != nil {
				t.Errorf("Has: %v, %v; want true (the file exists)", has, err)
			}
		})
	}
}

// packEntries are the objects of the packs of the tests: one of each
// type, deltas by offset (one a chain of two) and by id, a delta whose
// base is in another pack and one whose base is loose.
func packEntries(hs int) (entries []entry, types map[string]Type) {
	id := func(name string) []byte { return testID(hs, name) }
	entries = []entry{
		{id: id("commit"), typ: 1},
		{id: id("tree"), typ: 2},
		{id: id("blob"), typ: 3},
		{id: id("tag"), typ: 4},
		{id: id("ofs-commit"), typ: ofsDelta, base: id("commit")},
		{id: id("ofs-ofs-blob"), typ: ofsDelta, base: id("ofs-blob")},
		{id: id("ref-tag"), typ: refDelta, base: id("tag")},
		{id: id("ref-other-pack"), typ: refDelta, base: id("other-tree")},
		{id: id("ref-loose"), typ: refDelta, base: id("loose-commit")},
		{id: id("ref-ref-tree"), typ: refDelta, base: id("ref-tree-later")},
		{id: id("ref-tree-later"), typ: refDelta, base: id("tree")},
	}
	// An OFS_DELTA's base comes before it.
	entries = slices.Insert(entries, 5, entry{id: id("ofs-blob"), typ: ofsDelta, base: id("blob")})
	types = map[string]Type{
		"commit": Commit, "tree": Tree, "blob": Blob, "tag": Tag,
		"ofs-commit": Commit, "ofs-blob": Blob, "ofs-ofs-blob": Blob, "ref-tag": Tag,
		"ref-other-pack": Tree, "ref-loose": Commit, "ref-ref-tree": Tree, "ref-tree-later": Tree,
		"other-tree": Tree, "loose-commit": Commit,
	}
	return entries, types
}

// TestPack reads the types of packed objects, deltas included, through
// indexes of version 1, 2 and 2 with 64-bit offsets.
func TestPack(t *testing.T) {
	for _, hs := range hashSizes {
		for _, v := range []struct {
			name    string
			version int
			large   bool
		}{{"v1", 1, false}, {"v2", 2, false}, {"v2-large", 2, true}} {
			t.Run(fmt.Sprintf("%d/%s", hs*8, v.name), func(t *testing.T) {
				fsys := vfs.NewMem()
				entries, types := packEntries(hs)
				idx, pack := buildPack(hs, entries, v.version, v.large)
				writePack(t, fsys, "/objects", "a", idx, pack)
				idx, pack = buildPack(hs, []entry{{id: testID(hs, "other-tree"), typ: 2}}, v.version, v.large)
				writePack(t, fsys, "/objects", "b", idx, pack)
				writeLoose(t, fsys, "/objects", testID(hs, "loose-commit"), []byte("commit 0\x00"))
				writeFile(t, fsys, "/objects/pack/pack-c.idx", []byte("an index without its pack is not read"))
				db := openDB(t, fsys, "/objects", hs)
				// Twice: the second time the id tables are read whole.
				for range 2 {
					for name, want := range types {
						checkType(t, db, name, testID(hs, name), want)
					}
					for i := range 2 * loadIDsAfter / len(types) {
						checkType(t, db, "missing", testID(hs, fmt.Sprint("missing", i)), 0)
					}
				}
			})
		}
	}
}

// TestPackCorrupt checks that a malformed index or pack is a format error
// naming the file, and never a panic.
func TestPackCorrupt(t *testing.T) {
	const hs = 20
	id := func(name string) []byte { return testID(hs, name) }
	good := []entry{{id: id("commit"), typ: 1}, {id: id("delta"), typ: ofsDelta, base: id("commit")}}
	idx, pack := buildPack(hs, good, 2, false)
	largeIdx, _ := buildPack(hs, good, 2, true)
	// where the offset of the entry with the lower id is in an index
	offsetAt := 8 + fanoutLen + 2*(hs+4)
	lower := good[0].id
	if bytes.Compare(good[1].id, lower) < 0 {
		lower = good[1].id
	}
	set := func(b []byte, at int, v ...byte) []byte {
		b = bytes.Clone(b)
		copy(b[at:], v)
		return b
	}
	u32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	for _, tc := range []struct {
		name      string
		idx, pack []byte
		id        []byte
		file      string // the file named
		want      string
	}{
		{"short index", idx[:6], pack, lower, "idx", "too short for an index"},
		{"short fanout", idx[:100], pack, lower, "idx", "too short for a fanout table"},
		{"version 3", set(idx, 4, 0, 0, 0, 3), pack, lower, "idx", "index version 3"},
		{"fanout down", set(idx, 8+4*200, 0, 0, 0, 9), pack, lower, "idx", "fanout entry 201"},
		{"size", idx[:len(idx)-1], pack, lower, "idx", "bytes for 2 objects"},
		{"v1 size", idx[8 : len(idx)-1], pack, lower, "idx", "bytes for 2 objects"},
		{"large index", set(largeIdx, offsetAt, 0x80, 0, 0, 7), pack, lower, "idx", "64-bit offset 7 of 1"},
		{"large offset", set(largeIdx, len(largeIdx)-2*hs-8, 0xff), pack, id("delta"), "idx", "out of range"},
		{"too many large", append(bytes.Clone(largeIdx), make([]byte, 8)...), pack, lower, "idx", "bytes for 2 objects"},
		{"offset past the pack", set(idx, offsetAt, u32(uint32(len(pack)))...), pack, lower, "pack", "entry offset out of the pack"},
		{"offset in the header", set(idx, offsetAt, u32(3)...), pack, lower, "pack", "entry offset out of the pack"},
		{"not a pack", idx, set(pack, 0, 'X'), lower, "pack", "not a pack"},
		{"pack version", idx, set(pack, 4, 0, 0, 0, 9), lower, "pack", "pack version 9"},
		{"pack count", idx, set(pack, 8, 0, 0, 0, 3), lower, "pack", "3 objects"},
		{"short pack", idx, pack[:packHeaderLen+5], lower, "pack", "too short for a pack"},
		{"type 5", idx, set(pack, packHeaderLen, 0x50), id("commit"), "pack", "invalid object type 5"},
		{"type 0", idx, set(pack, packHeaderLen, 0x00), id("commit"), "pack", "invalid object type 0"},
		{"endless size", idx, set(pack, packHeaderLen, bytes.Repeat([]byte{0xff}, 12)...), id("commit"), "pack", "entry size runs past"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := vfs.NewMem()
			writePack(t, fsys, "/objects", "x", tc.idx, tc.pack)
			db := openDB(t, fsys, "/objects", hs)
			_, err := db.Type(tc.id)
			file := "/objects/pack/pack-x." + tc.file
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), file+": offset ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Type: %v; want a format error naming %s and %q", err, file, tc.want)
			}
		})
	}

	// Deltas: by distance back to nothing, and by id in a loop.
	for _, tc := range []struct {
		name    string
		entries []entry
		want    string
	}{
		{"distance past the start", []entry{{id: id("a"), typ: 1}, {id: id("b"), typ: ofsDelta, base: id("nothing")}}, "bad delta base distance"},
		{"distance zero", []entry{{id: id("a"), typ: 1}, {id: id("b"), typ: ofsDelta, base: id("b")}}, "bad delta base distance"},
		{"loop", []entry{{id: id("a"), typ: refDelta, base: id("b")}, {id: id("b"), typ: refDelta, base: id("a")}}, "delta chain longer than"},
		{"itself", []entry{{id: id("b"), typ: refDelta, base: id("b")}}, "delta chain longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := vfs.NewMem()
			idx, pack := buildPack(hs, tc.entries, 2, false)
			writePack(t, fsys, "/objects", "x", idx, pack)
			db := openDB(t, fsys, "/objects", hs)
			_, err := db.Type(id("b"))
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "/objects/pack/pack-x.pack: offset ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Type: %v; want a format error naming the pack and %q", err, tc.want)
			}
		})
	}

	// A delta whose base is in no pack and not loose.
	fsys := vfs.NewMem()
	idx, pack = buildPack(hs, []entry{{id: id("b"), typ: refDelta, base: id("gone")}}, 2, false)
	writePack(t, fsys, "/objects", "x", idx, pack)
	db := openDB(t, fsys, "/objects", hs)
	if _, err := db.Type(id("b")); !errors.Is(err, ErrNotFound) {
		t.Errorf("a delta whose base is missing: %v", err)
	}
}

// TestAlternates checks objects found through alternates: relative,
// absolute and quoted paths, comments, nesting up to 5 levels (deeper
// ones ignored, as git), and a loop back to the first directory.
func TestAlternates(t *testing.T) {
	const hs = 20
	fsys := vfs.NewMem()
	fsys.MkdirAll("/repo/objects")
	// /repo/objects -> ../../alt1/objects (relative), /alt 2/objects (quoted)
	writeFile(t, fsys, "/repo/objects/info/alternates", []byte("# shared\n../../alt1/objects\n\n\"/alt\\0402/objects\"\r\n"))
	writeLoose(t, fsys, "/alt1/objects", testID(hs, "in alt1"), []byte("blob 0\x00"))
	idx, pack := buildPack(hs, []entry{{id: testID(hs, "in alt 2"), typ: 1}}, 2, false)
	writePack(t, fsys, "/alt 2/objects", "p", idx, pack)
	// alt1 -> n1 -> n2 -> n3 -> n4 -> n5 (depth 6: ignored), and back.
	writeFile(t, fsys, "/alt1/objects/info/alternates", []byte("/n1/objects\n/repo/objects\n"))
	for i := 1; i <= 5; i++ {
		dir := fmt.Sprintf("/n%d/objects", i)
		writeFile(t, fsys, dir+"/info/alternates", fmt.Appendf(nil, "/n%d/objects\n", i+1))
		writeLoose(t, fsys, dir, testID(hs, dir), []byte("tag 0\x00"))
	}
	db := openDB(t, fsys, "/repo/objects", hs)
	checkType(t, db, "in alt1", testID(hs, "in alt1"), Blob)
	checkType(t, db, "in alt 2", testID(hs, "in alt 2"), Commit)
	for i := 1; i <= 4; i++ {
		dir := fmt.Sprintf("/n%d/objects", i)
		checkType(t, db, dir, testID(hs, dir), Tag)
	}
	checkType(t, db, "/n5/objects (nested too deep)", testID(hs, "/n5/objects"), 0)

	writeFile(t, fsys, "/bad/objects/info/alternates", []byte("\"/unterminated\n"))
	if _, err := Open(fsys, "/bad/objects", hs); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "/bad/objects/info/alternates") {
		t.Errorf("a badly quoted alternate: %v", err)
	}
	writeFile(t, fsys, "/big/objects/info/alternates", bytes.Repeat([]byte("/x\n"), maxAlternatesFile))
	if _, err := Open(fsys, "/big/objects", hs); !errors.Is(err, ErrFormat) {
		t.Errorf("an alternates file of 3 MiB: %v", err)
	}
}

func TestOpenHashSize(t *testing.T) {
	if _, err := Open(vfs.NewMem(), "/objects", 16); err == nil {
		t.Error("Open with 16-byte ids succeeded")
	}
}

// TestEnvAlternates splits GIT_ALTERNATE_OBJECT_DIRECTORIES as git does,
// and Open searches the directories given after its own.
func TestEnvAlternates(t *testing.T) {
	sep := string(os.PathListSeparator)
	for _, tc := range []struct {
		v    string
		want []string
	}{
		{"", nil},
		{"/a" + sep + "b", []string{"/a", "b"}},
		{sep + sep + "/a" + sep, []string{"/a"}},
		{`"/x` + sep + `y\040z"` + sep + "/b", []string{"/x" + sep + "y z", "/b"}},
		{`"/unterminated`, []string{`"/unterminated`}},
	} {
		if got := EnvAlternates(tc.v); !slices.Equal(got, tc.want) {
			t.Errorf("EnvAlternates(%q) = %q, want %q", tc.v, got, tc.want)
		}
	}
	const hs = 20
	fsys := vfs.NewMem()
	fsys.MkdirAll("/repo/objects")
	writeLoose(t, fsys, "/quarantine", testID(hs, "new"), []byte("blob 0\x00"))
	db, err := Open(fsys, "/repo/objects", hs, "/quarantine")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkType(t, db, "in an alternate given", testID(hs, "new"), Blob)
}
