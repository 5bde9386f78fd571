package reftable

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// utID returns a deterministic object id of hash h derived from n: the
// first h.Size() bytes of SHA-256("id-n"). Different n give different ids,
// also when truncated to a few bytes.
func utID(h Hash, n int) []byte {
	s := sha256.Sum256(fmt.Appendf(nil, "id-%d", n))
	return append([]byte{}, s[:h.Size()]...)
}

// utEquateEmpty makes nil and empty byte slices compare equal: decoders
// return empty subslices where callers pass nil.
var utEquateEmpty = cmpopts.EquateEmpty()

// utDecodeOne decodes a single encoded record (key header, suffix and
// value) of block type typ through the iterator's decode path, as a
// reader does. It returns the iterator for inspection and the error, if
// any.
func utDecodeOne(typ byte, rec []byte, hash Hash, minIndex uint64) (*tableIter, error) {
	t := &Table{name: "rec", hash: hash.norm(), minIndex: minIndex}
	it := newTableIter(t, typ)
	data := append([]byte{typ, 0, 0, 0}, rec...)
	it.blk = block{typ: typ, data: data, restartOff: len(data)}
	it.pos = 4
	if !it.decode() {
		return it, it.err
	}
	if it.pos != len(data) {
		return it, fmt.Errorf("decoded %d bytes of %d", it.pos-4, len(rec))
	}
	return it, nil
}

func TestRecordKeyRoundTrip(t *testing.T) {
	tests := []struct {
		prev, key string
		extra     byte
	}{
		{"", "refs/heads/main", 1},
		{"refs/heads/main", "refs/heads/maint", 0},
		{"refs/heads/maint", "refs/heads/maint/x", 3},
		{"HEAD", "refs/heads/main", 2},
		{"refs/tags/v1", "refs/tags/v2", 7},
		{"a", "b", 5},
		{"abc", "abc", 1}, // identical key: all prefix, empty suffix
		{"abcdef", "abc", 4},
		{"", strings.Repeat("x", 300), 6}, // suffix length needs a 2-byte varint
		{strings.Repeat("y", 200), strings.Repeat("y", 200) + "z", 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.20s->%.20s/%d", tt.prev, tt.key, tt.extra), func(t *testing.T) {
			enc, restart := appendKey([]byte("junk"), []byte(tt.prev), []byte(tt.key), tt.extra)
			if string(enc[:4]) != "junk" {
				t.Fatalf("appendKey clobbered dst: %q", enc[:4])
			}
			enc = enc[4:]
			wantPrefix := 0
			for wantPrefix < len(tt.prev) && wantPrefix < len(tt.key) && tt.prev[wantPrefix] == tt.key[wantPrefix] {
				wantPrefix++
			}
			if restart != (wantPrefix == 0) {
				t.Errorf("restart = %v, want %v", restart, wantPrefix == 0)
			}
			p, n := readVarint(enc)
			if n <= 0 || int(p) != wantPrefix {
				t.Errorf("encoded prefix length = %d (n=%d), want %d", p, n, wantPrefix)
			}
			s, m := readVarint(enc[n:])
			if m <= 0 || int(s>>3) != len(tt.key)-wantPrefix || byte(s&7) != tt.extra {
				t.Errorf("encoded suffix header = %d>>3, %d; want %d, %d", s>>3, s&7, len(tt.key)-wantPrefix, tt.extra)
			}
			// Decode with trailing value bytes after the key.
			in := append(append([]byte{}, enc...), 0xde, 0xad)
			last := append(make([]byte, 0, 4), tt.prev...)
			key, extra, used, reason := decodeKey(in, last)
			if reason != "" {
				t.Fatalf("decodeKey: %s", reason)
			}
			if string(key) != tt.key || extra != tt.extra || used != len(enc) {
				t.Errorf("decodeKey = %q, %d, %d; want %q, %d, %d", key, extra, used, tt.key, tt.extra, len(enc))
			}
		})
	}
}

func TestRecordKeyDecodeMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		last string
	}{
		{"empty input", nil, ""},
		{"truncated suffix header", []byte{0}, ""},
		{"prefix longer than previous key", []byte{4, 1 << 3, 'x'}, "abc"},
		{"suffix past end", []byte{0, 5 << 3, 'a', 'b'}, ""},
		{"empty key", []byte{0, 0 << 3}, ""},
		{"overflowing prefix varint", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x08, 'a'}, "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if key, _, _, reason := decodeKey(tt.in, []byte(tt.last)); reason == "" {
				t.Errorf("decodeKey(%x) = %q, want an error", tt.in, key)
			}
		})
	}
}

// utRefRecords returns one ref of every value type for hash h.
func utRefRecords(h Hash) []RefRecord {
	return []RefRecord{
		{Name: []byte("refs/heads/deleted"), UpdateIndex: 7, Type: RefDeletion},
		{Name: []byte("refs/heads/main"), UpdateIndex: 8, Type: RefVal1, Value: utID(h, 1)},
		{Name: []byte("refs/tags/v1.0"), UpdateIndex: 300, Type: RefVal2, Value: utID(h, 2), Peeled: utID(h, 3)},
		{Name: []byte("HEAD"), UpdateIndex: 5, Type: RefSymref, Target: []byte("refs/heads/main")},
		{Name: []byte("refs/x"), UpdateIndex: 1 << 40, Type: RefSymref, Target: bytes.Repeat([]byte("t"), 200)},
	}
}

func TestRecordRefRoundTrip(t *testing.T) {
	for _, h := range []Hash{SHA1, SHA256} {
		for _, minIndex := range []uint64{0, 5} {
			for _, want := range utRefRecords(h) {
				t.Run(fmt.Sprintf("%v/min%d/%v", h, minIndex, want.Type), func(t *testing.T) {
					rec, restart := appendKey(nil, nil, want.Name, byte(want.Type))
					if !restart {
						t.Error("key against no previous key is not a restart")
					}
					rec = appendRefValue(rec, &want, minIndex)
					it, err := utDecodeOne(blockTypeRef, rec, h, minIndex)
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(want, it.ref, utEquateEmpty); diff != "" {
						t.Errorf("ref round trip (-want +got):\n%s", diff)
					}
					// The update index is stored relative to the minimum.
					val := rec[len(rec)-len(appendRefValue(nil, &want, minIndex)):]
					if d, _ := readVarint(val); d != want.UpdateIndex-minIndex {
						t.Errorf("stored update index delta %d, want %d", d, want.UpdateIndex-minIndex)
					}
					// Every strict prefix of the value is rejected.
					for n := len(rec) - len(val); n < len(rec); n++ {
						var r RefRecord
						key, typ, kn, reason := decodeKey(rec[:n], nil)
						if reason != "" {
							continue
						}
						if _, reason := decodeRef(&r, key, typ, rec[kn:n], minIndex, h.Size()); reason == "" {
							t.Errorf("decodeRef accepted a value truncated to %d of %d bytes", n-kn, len(rec)-kn)
						}
					}
				})
			}
		}
	}
}

func TestRecordRefInvalidValueType(t *testing.T) {
	for typ := byte(4); typ <= 7; typ++ {
		t.Run(fmt.Sprint(typ), func(t *testing.T) {
			rec, _ := appendKey(nil, nil, []byte("refs/heads/main"), typ)
			rec = append(rec, 0) // update index delta
			rec = append(rec, make([]byte, 64)...)
			var r RefRecord
			key, extra, n, _ := decodeKey(rec, nil)
			if _, reason := decodeRef(&r, key, extra, rec[n:], 0, 20); reason == "" {
				t.Errorf("decodeRef accepted value type %d", typ)
			}
			_, err := utDecodeOne(blockTypeRef, rec, SHA1, 0)
			var ce *CorruptError
			if !errors.Is(err, ErrFormat) || !errors.As(err, &ce) {
				t.Errorf("decode of value type %d: err = %v, want a *CorruptError matching ErrFormat", typ, err)
			}
		})
	}
}

func utLogRecords(h Hash) []LogRecord {
	return []LogRecord{
		{RefName: []byte("refs/heads/main"), UpdateIndex: 42, Type: LogUpdate, Old: utID(h, 1), New: utID(h, 2),
			Name: []byte("A U Thor"), Email: []byte("author@example.com"), Time: 1700000000, TZOffset: 530,
			Message: []byte("commit: hello\n")},
		{RefName: []byte("refs/heads/main"), UpdateIndex: 41, Type: LogUpdate, Old: make([]byte, h.Size()), New: utID(h, 1),
			Name: []byte("C O Mitter"), Email: []byte("c@example.com"), Time: 1112911993, TZOffset: -800,
			Message: []byte("branch: Created from HEAD\n")},
		{RefName: []byte("HEAD"), UpdateIndex: 0, Type: LogUpdate, Old: utID(h, 3), New: utID(h, 4),
			Time: 0, TZOffset: 0},
		{RefName: []byte("x"), UpdateIndex: 1<<64 - 1, Type: LogUpdate, Old: utID(h, 5), New: utID(h, 6),
			Name: bytes.Repeat([]byte("n"), 130), Email: []byte("e"), Time: 1<<64 - 1, TZOffset: -1200,
			Message: bytes.Repeat([]byte("m"), 1000)},
		{RefName: []byte("refs/heads/gone"), UpdateIndex: 9, Type: LogDeletion},
	}
}

func TestRecordLogRoundTrip(t *testing.T) {
	for _, h := range []Hash{SHA1, SHA256} {
		for i, want := range utLogRecords(h) {
			t.Run(fmt.Sprintf("%v/%d", h, i), func(t *testing.T) {
				key := appendLogKey(nil, want.RefName, want.UpdateIndex)
				if len(key) != len(want.RefName)+logKeySuffix || key[len(want.RefName)] != 0 {
					t.Fatalf("log key %x: want name NUL be64", key)
				}
				if got := binary.BigEndian.Uint64(key[len(key)-8:]); got != ^want.UpdateIndex {
					t.Errorf("log key stores %#x, want ^%d", got, want.UpdateIndex)
				}
				val := appendLogValue(nil, &want, h.Size())
				if want.Type == LogDeletion && len(val) != 0 {
					t.Errorf("deletion value has %d bytes, want none", len(val))
				}
				rec, _ := appendKey(nil, nil, key, byte(want.Type))
				rec = append(rec, val...)
				it, err := utDecodeOne(blockTypeLog, rec, h, 0)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, it.log, utEquateEmpty); diff != "" {
					t.Errorf("log round trip (-want +got):\n%s", diff)
				}
				// Every strict prefix of an update value is rejected.
				for n := 0; n < len(val); n++ {
					var l LogRecord
					if _, reason := decodeLog(&l, key, byte(want.Type), val[:n], h.Size()); reason == "" {
						t.Errorf("decodeLog accepted a value truncated to %d of %d bytes", n, len(val))
					}
				}
			})
		}
	}
}

// TestRecordLogTZOffset checks git's HHMM-as-decimal time zone encoding:
// the two bytes are the signed offset, big-endian.
func TestRecordLogTZOffset(t *testing.T) {
	tests := []struct {
		tz    int16
		bytes [2]byte
	}{
		{0, [2]byte{0, 0}},
		{530, [2]byte{0x02, 0x12}},
		{-800, [2]byte{0xfc, 0xe0}},
		{-700, [2]byte{0xfd, 0x44}},
		{1400, [2]byte{0x05, 0x78}},
	}
	for _, tt := range tests {
		l := LogRecord{RefName: []byte("r"), Type: LogUpdate, Old: make([]byte, 20), New: make([]byte, 20), Time: 5, TZOffset: tt.tz}
		val := appendLogValue(nil, &l, 20)
		// old, new, name len 0, email len 0, time 5, then the offset.
		at := 40 + 1 + 1 + 1
		if got := [2]byte{val[at], val[at+1]}; got != tt.bytes {
			t.Errorf("tz %d stored as %x, want %x", tt.tz, got, tt.bytes)
		}
		var back LogRecord
		if _, reason := decodeLog(&back, appendLogKey(nil, l.RefName, 0), 1, val, 20); reason != "" || back.TZOffset != tt.tz {
			t.Errorf("tz %d decoded as %d (%s)", tt.tz, back.TZOffset, reason)
		}
	}
}

func TestRecordLogInvalidValueType(t *testing.T) {
	l := utLogRecords(SHA1)[0]
	key := appendLogKey(nil, l.RefName, l.UpdateIndex)
	val := appendLogValue(nil, &l, 20)
	for typ := byte(2); typ <= 7; typ++ {
		var got LogRecord
		if _, reason := decodeLog(&got, key, typ, val, 20); reason == "" {
			t.Errorf("decodeLog accepted value type %d", typ)
		}
		rec, _ := appendKey(nil, nil, key, typ)
		if _, err := utDecodeOne(blockTypeLog, append(rec, val...), SHA1, 0); !errors.Is(err, ErrFormat) {
			t.Errorf("decode of log value type %d: err = %v, want ErrFormat", typ, err)
		}
	}
}

func TestRecordLogMalformedKey(t *testing.T) {
	valid := appendLogKey(nil, []byte("refs/heads/main"), 3)
	noNUL := append([]byte{}, valid...)
	noNUL[len(noNUL)-logKeySuffix] = 'x'
	tests := map[string][]byte{
		"shorter than suffix":  []byte("abcdefgh"),
		"exactly the suffix":   appendLogKey(nil, nil, 3), // empty ref name
		"no NUL before index":  noNUL,
		"plain ref name":       []byte("refs/heads/main"),
		"NUL at wrong place":   append([]byte("refs/heads/main\x00"), 1, 2, 3),
		"one byte short":       valid[:len(valid)-1],
		"name and NUL, no int": []byte("refs/heads/main\x00"),
	}
	for name, key := range tests {
		t.Run(name, func(t *testing.T) {
			var l LogRecord
			if _, reason := decodeLog(&l, key, 0, nil, 20); reason == "" {
				t.Errorf("decodeLog accepted key %q", key)
			}
			rec, _ := appendKey(nil, nil, key, 0)
			if _, err := utDecodeOne(blockTypeLog, rec, SHA1, 0); !errors.Is(err, ErrFormat) {
				t.Errorf("decode of log key %q: err = %v, want ErrFormat", key, err)
			}
		})
	}
	var l LogRecord
	if _, reason := decodeLog(&l, valid, 0, nil, 20); reason != "" || string(l.RefName) != "refs/heads/main" || l.UpdateIndex != 3 {
		t.Errorf("valid log key decoded as %q@%d (%s)", l.RefName, l.UpdateIndex, reason)
	}
}

func TestRecordObjRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 8, 9, 100, 300} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var offsets []uint64
			for i := range n {
				offsets = append(offsets, uint64(i)*4096+uint64(i%3)) // increasing
			}
			val, extra := appendObjValue(nil, offsets)
			switch {
			case n >= 1 && n <= 7:
				if extra != byte(n) {
					t.Errorf("%d offsets: value type bits %d, want the count", n, extra)
				}
			default:
				if extra != 0 {
					t.Errorf("%d offsets: value type bits %d, want 0 and a count", n, extra)
				}
				if c, m := readVarint(val); m <= 0 || c != uint64(n) {
					t.Errorf("%d offsets: stored count %d", n, c)
				}
			}
			key := []byte{0xab, 0xcd}
			rec, _ := appendKey(nil, nil, key, extra)
			it, err := utDecodeOne(blockTypeObj, append(rec, val...), SHA1, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(it.key, key) {
				t.Errorf("key = %x, want %x", it.key, key)
			}
			if diff := cmp.Diff(offsets, it.offsets, utEquateEmpty); diff != "" {
				t.Errorf("offsets (-want +got):\n%s", diff)
			}
			// Later offsets are stored as deltas.
			if n >= 2 && n <= 7 {
				_, m := readVarint(val)
				if d, _ := readVarint(val[m:]); d != offsets[1]-offsets[0] {
					t.Errorf("second offset stored as %d, want delta %d", d, offsets[1]-offsets[0])
				}
			}
		})
	}
}

func TestRecordObjMalformed(t *testing.T) {
	tests := map[string]struct {
		typ byte
		in  []byte
	}{
		"count past end":      {0, appendVarint(nil, 5)},
		"3 offsets, 2 bytes":  {3, []byte{1, 2}},
		"truncated offset":    {1, []byte{0x80}},
		"huge count":          {0, appendVarint(nil, 1<<40)},
		"missing count":       {0, nil},
		"1 offset, no offset": {1, nil},
	}
	for name, tt := range tests {
		if _, _, reason := decodeObj(nil, tt.typ, tt.in); reason == "" {
			t.Errorf("%s: decodeObj accepted %x", name, tt.in)
		}
	}
}

func TestRecordIndexRoundTrip(t *testing.T) {
	for _, off := range []uint64{0, 1, 127, 128, 4096, 1 << 20, 1<<40 + 3} {
		key := []byte("refs/heads/branch-042")
		rec, _ := appendKey(nil, nil, key, 0)
		rec = appendVarint(rec, off)
		it, err := utDecodeOne(blockTypeIndex, rec, SHA1, 0)
		if err != nil {
			t.Fatalf("offset %d: %v", off, err)
		}
		if !bytes.Equal(it.key, key) || it.child != off || it.extra != 0 {
			t.Errorf("index record = %q -> %d (extra %d), want %q -> %d", it.key, it.child, it.extra, key, off)
		}
	}
	rec, _ := appendKey(nil, nil, []byte("k"), 0)
	if _, err := utDecodeOne(blockTypeIndex, append(rec, 0x80), SHA1, 0); !errors.Is(err, ErrFormat) {
		t.Errorf("truncated index offset: err = %v, want ErrFormat", err)
	}
}

func TestRecordClone(t *testing.T) {
	r := utRefRecords(SHA1)[2]
	c := r.Clone()
	if diff := cmp.Diff(r, c); diff != "" {
		t.Fatalf("Clone differs (-orig +clone):\n%s", diff)
	}
	r.Name[0], r.Value[0], r.Peeled[0] = 'X', r.Value[0]^1, r.Peeled[0]^1
	if c.Name[0] == 'X' || c.Value[0] == r.Value[0] || c.Peeled[0] == r.Peeled[0] {
		t.Error("RefRecord.Clone shares memory with the original")
	}
	if z := (&RefRecord{}).Clone(); z.Name != nil || z.Value != nil || z.Target != nil {
		t.Errorf("clone of a zero record = %+v, want nil slices", z)
	}

	l := utLogRecords(SHA1)[0]
	lc := l.Clone()
	if diff := cmp.Diff(l, lc); diff != "" {
		t.Fatalf("Clone differs (-orig +clone):\n%s", diff)
	}
	for _, b := range [][]byte{l.RefName, l.Old, l.New, l.Name, l.Email, l.Message} {
		b[0] ^= 0xff
	}
	if diff := cmp.Diff(utLogRecords(SHA1)[0], lc); diff != "" {
		t.Errorf("LogRecord.Clone shares memory with the original (-want +got):\n%s", diff)
	}
}

func TestRecordValueTypeString(t *testing.T) {
	want := []string{"deletion", "val1", "val2", "symref", "RefValueType(4)"}
	var got []string
	for typ := RefValueType(0); typ <= 4; typ++ {
		got = append(got, typ.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	r := RefRecord{Type: RefDeletion}
	l := LogRecord{Type: LogDeletion}
	if !r.IsDeletion() || !l.IsDeletion() {
		t.Error("deletion records do not report IsDeletion")
	}
	r.Type, l.Type = RefVal1, LogUpdate
	if r.IsDeletion() || l.IsDeletion() {
		t.Error("non-deletion records report IsDeletion")
	}
}

// TestCommonPrefix: commonPrefix, which compares eight bytes at a time,
// agrees with a byte loop on keys of every length around the word size.
func TestCommonPrefix(t *testing.T) {
	base := []byte("refs/heads/branch-0012345/x")
	var keys [][]byte
	for n := range len(base) + 1 {
		k := base[:n:n]
		keys = append(keys, k)
		for _, d := range []byte{0, 0x7f, 0xff} {
			if n > 0 {
				m := bytes.Clone(k)
				m[n-1] = d
				keys = append(keys, m)
			}
		}
	}
	for _, a := range keys {
		for _, b := range keys {
			want := 0
			for want < len(a) && want < len(b) && a[want] == b[want] {
				want++
			}
			if got := commonPrefix(a, b); got != want {
				t.Errorf("commonPrefix(%q, %q) = %d, want %d", a, b, got, want)
			}
		}
	}
}

// TestLogIsExistenceMarker: git's marker is an update with zero old and
// new ids, whatever its other fields (compaction turns its empty message
// into "\n"); tombstones and entries with one id set are not markers.
func TestLogIsExistenceMarker(t *testing.T) {
	zero, id := make([]byte, 20), bytes.Repeat([]byte{1}, 20)
	for _, tt := range []struct {
		name string
		l    LogRecord
		want bool
	}{
		{"as git writes it", LogRecord{Type: LogUpdate, Old: zero, New: zero}, true},
		{"compacted by git", LogRecord{Type: LogUpdate, Old: zero, New: zero, Message: []byte("\n")}, true},
		{"sha256", LogRecord{Type: LogUpdate, Old: make([]byte, 32), New: make([]byte, 32)}, true},
		{"ids absent", LogRecord{Type: LogUpdate}, true},
		{"with identity", LogRecord{Type: LogUpdate, Old: zero, New: zero, Name: []byte("n"), Time: 5}, true},
		{"tombstone", LogRecord{Type: LogDeletion}, false},
		{"creation", LogRecord{Type: LogUpdate, Old: zero, New: id}, false},
		{"deletion entry", LogRecord{Type: LogUpdate, Old: id, New: zero}, false},
		{"last byte set", LogRecord{Type: LogUpdate, Old: zero, New: append(make([]byte, 19), 1)}, false},
	} {
		if got := tt.l.IsExistenceMarker(); got != tt.want {
			t.Errorf("%s: IsExistenceMarker() = %v, want %v", tt.name, got, tt.want)
		}
	}
}
