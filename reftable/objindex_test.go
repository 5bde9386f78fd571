package reftable

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestObjIDsSorted checks what the obj section is built from against a
// model: each distinct id with the blocks naming it, in increasing order,
// the ids in increasing order, and the longest prefix two ids share.
// Sizes lie on both sides of the chunking thresholds, in one bucket and
// spread over all; shapes have repeated ids (nearby, and far apart so
// that the cache of recent ids has evicted them), ids sharing their
// leading bytes, and one id named by every ref.
func TestObjIDsSorted(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 3, 5, 17, 300, objChunk + 7, 256*objChunk + 300, 70_000} {
		for _, shape := range []string{"random", "repeats", "common-prefix", "far-repeats", "one-id"} {
			o := objIDs{hashSize: 20}
			model := map[string][]uint64{}
			var seen [][]byte
			for i := range n {
				id := make([]byte, 20)
				for j := range id {
					id[j] = byte(rng.Uint32())
				}
				switch shape {
				case "repeats":
					if i > 0 && rng.IntN(3) > 0 {
						id = seen[max(0, len(seen)-1-rng.IntN(20))]
					}
				case "far-repeats":
					if i > 2*objRecent && rng.IntN(2) > 0 {
						id = seen[rng.IntN(len(seen))]
					}
				case "common-prefix":
					copy(id, "\x07\x07\x07\x07\x07\x07\x07\x07\x07")
					id[9] = byte(rng.IntN(2))
				case "one-id":
					id = []byte("01234567890123456789")
				}
				seen = append(seen, id)
				off := uint64(i / 10 * 4096)
				if b := model[string(id)]; len(b) == 0 || b[len(b)-1] != off {
					model[string(id)] = append(b, off)
				}
				o.add(id, off)
			}
			var want []string
			for id := range model {
				want = append(want, id)
			}
			slices.Sort(want)
			wantCommon := 0
			for k := 1; k < len(want); k++ {
				wantCommon = max(wantCommon, commonPrefix([]byte(want[k-1]), []byte(want[k])))
			}
			if common := o.sort(); common != wantCommon {
				t.Fatalf("n=%d %s: longest common prefix %d, want %d", n, shape, common, wantCommon)
			}
			k := 0
			err := o.each(func(id []byte, offsets []uint64) error {
				if k == len(want) || string(id) != want[k] {
					return fmt.Errorf("id %d is %x, want the next of %d in order", k, id, len(want))
				}
				if !slices.Equal(offsets, model[want[k]]) {
					return fmt.Errorf("id %x in blocks %v, want %v", id, offsets, model[want[k]])
				}
				k++
				return nil
			})
			if err == nil && k != len(want) {
				err = fmt.Errorf("%d distinct ids, want %d", k, len(want))
			}
			if err != nil {
				t.Fatalf("n=%d %s: %v", n, shape, err)
			}
			if shape == "one-id" && n > 0 && o.n != 1 {
				t.Errorf("n=%d: one id named by every ref takes %d entries", n, o.n)
			}
		}
	}
}

// objShape describes the refs of a table for TestObjSectionGolden: ref i
// is refs/heads/r%07d naming id(i) (and peeled id(i+n) when peeled).
type objShape struct {
	name   string
	n      int
	opts   WriterOptions
	peeled bool
	id     func(dst []byte, i int) // fills dst, the hash size long
}

// splitID fills dst with bytes derived from x (splitmix64), the same on
// every platform and Go version.
func splitID(dst []byte, x uint64) {
	for k := 0; k < len(dst); k++ {
		if k%8 == 0 {
			x += 0x9e3779b97f4a7c15
		}
		z := x
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		dst[k] = byte((z ^ z>>31) >> (8 * (k % 8)))
	}
}

// objShapes are tables whose obj sections exercise the object index:
// distinct ids, shared ids, one id, ids that collide in the cache of
// recent ids or come back after it evicted them, ids alike in their
// first 8 bytes or more, SHA-256, tiny tables and block sizes that give
// several levels of obj index.
var objShapes = []objShape{
	{name: "distinct", n: 5000, id: func(d []byte, i int) { splitID(d, uint64(i)) }},
	{name: "distinct-150k", n: 150_000, id: func(d []byte, i int) { splitID(d, uint64(i)<<32) }},
	{name: "shared-1000", n: 20000, id: func(d []byte, i int) { splitID(d, uint64(i%1000)) }},
	{name: "one-id", n: 3000, id: func(d []byte, i int) { splitID(d, 7) }},
	{name: "same-head", n: 4000, id: func(d []byte, i int) {
		// 7 ids with one head take turns: each evicts the last from
		// the cache slot they share.
		splitID(d, uint64(i%7))
		copy(d, "\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42")
	}},
	{name: "same-tag", n: 4000, id: func(d []byte, i int) {
		// Heads differ only in their low half (the cache's tag is the
		// high half); 1 in 3 refs is random.
		splitID(d, uint64(i%13))
		if i%3 == 0 {
			splitID(d, uint64(i)+1000)
		}
		copy(d, "\x11\x22\x33\x44")
	}},
	{name: "far-repeats", n: 60000, id: func(d []byte, i int) {
		// Ids come back long after the cache evicted them, so that
		// some take several entries whose blocks interleave.
		x := uint64(i) * 0x9e3779b97f4a7c15 >> 40
		splitID(d, x%15000)
	}},
	{name: "near-far", n: 30000, id: func(d []byte, i int) {
		// Runs of one id across block boundaries, alternating with
		// ids seen long ago.
		if i%2 == 0 {
			splitID(d, uint64(i/40))
		} else {
			splitID(d, uint64(i*7919%5000)+1<<20)
		}
	}},
	{name: "one-nibble", n: 40000, id: func(d []byte, i int) {
		// Ids alike in their first 4 bits, some named twice far apart:
		// one bucket holds all.
		splitID(d, uint64(i%25000))
		d[0] = 0xa0 | d[0]&0x0f
	}},
	{name: "prefix-8", n: 3000, id: func(d []byte, i int) {
		splitID(d, uint64(i))
		copy(d, "\x01\x02\x03\x04\x05\x06\x07")
		d[7] = byte(i % 2)
	}},
	{name: "prefix-15", n: 3000, id: func(d []byte, i int) {
		splitID(d, uint64(i%1500))
		copy(d, "abcdefghijklmn")
		d[14] = byte(i % 3)
	}},
	{name: "peeled", n: 4000, peeled: true, id: func(d []byte, i int) { splitID(d, uint64(i%2500)) }},
	{name: "sha256-distinct", n: 5000, opts: WriterOptions{Hash: SHA256}, id: func(d []byte, i int) { splitID(d, uint64(i)) }},
	{name: "sha256-shared", n: 20000, opts: WriterOptions{Hash: SHA256}, id: func(d []byte, i int) { splitID(d, uint64(i%1000)) }},
	{name: "sha256-prefix-31", n: 200, opts: WriterOptions{Hash: SHA256}, id: func(d []byte, i int) {
		// Ids differing only in their last byte leave no object index.
		copy(d, "0123456789abcdefghijklmnopqrstuv")
		d[31] = byte(i % 5)
	}},
	// Tiny tables have an obj section only with tiny unpadded blocks.
	{name: "one-ref", n: 1, opts: tiny, id: func(d []byte, i int) { splitID(d, uint64(i)) }},
	{name: "two-refs", n: 2, opts: tiny, id: func(d []byte, i int) { splitID(d, uint64(i)) }},
	{name: "two-refs-one-id", n: 2, opts: tiny, id: func(d []byte, i int) { splitID(d, 1) }},
	{name: "17-refs", n: 17, opts: tiny, id: func(d []byte, i int) { splitID(d, uint64(i%5)) }},
	{name: "block-256", n: 8000, opts: WriterOptions{BlockSize: 256}, id: func(d []byte, i int) { splitID(d, uint64(i%6000)) }},
	{name: "block-80-unpadded", n: 3000, opts: tiny, id: func(d []byte, i int) { splitID(d, uint64(i)) }},
	{name: "sha256-block-512", n: 6000, opts: WriterOptions{Hash: SHA256, BlockSize: 512, RestartInterval: 3}, id: func(d []byte, i int) { splitID(d, uint64(i%4000)) }},
}

// tiny are the options of the tiny tables of objShapes.
var tiny = WriterOptions{BlockSize: 80, Unpadded: true}

// writeObjShape writes the table of s, with a few logs after the refs
// when blocks are large enough for them.
func writeObjShape(t *testing.T, s objShape) []byte {
	t.Helper()
	s.opts.MinUpdateIndex, s.opts.MaxUpdateIndex = 1, 1
	var buf bytes.Buffer
	w, err := NewWriter(&buf, s.opts)
	if err != nil {
		t.Fatal(err)
	}
	size := s.opts.Hash.Size()
	for i := range s.n {
		r := RefRecord{Name: fmt.Appendf(nil, "refs/heads/r%07d", i), UpdateIndex: 1, Type: RefVal1, Value: make([]byte, size)}
		s.id(r.Value, i)
		if s.peeled {
			r.Type, r.Peeled = RefVal2, make([]byte, size)
			s.id(r.Peeled, i+s.n)
		}
		if err := w.AddRef(&r); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if s.opts.BlockSize != 0 && s.opts.BlockSize < 256 {
			break
		}
		l := LogRecord{RefName: fmt.Appendf(nil, "refs/heads/r%07d", i), UpdateIndex: 1, Type: LogUpdate,
			Old: make([]byte, size), New: make([]byte, size), Name: []byte("A U Thor"), Email: []byte("a@example.com"),
			Time: 1700000000, Message: []byte("update")}
		s.id(l.New, i)
		if err := w.AddLog(&l); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestObjSectionGolden checks that the tables of objShapes, and so their
// obj sections, stay byte for byte what they were when the digests were
// taken (before the object index was partitioned by first byte; log
// blocks since they are zlib's bytes). A change to the obj section's
// layout must update the digests knowingly, after checking the tables
// with git (TestInterop) and Check.
func TestObjSectionGolden(t *testing.T) {
	want := map[string]string{
		"distinct":          "de9833a86cdc8760cf1bf349f7f4b78c7e991162455c970e45c6ffd6551fb348",
		"distinct-150k":     "dd8210fb329c40bccb2730706ca175de1c35bd01bcc11d3fd81ec3661d4ec2f2",
		"shared-1000":       "c6ff950a9ab725a1de01b5e95c8134767b4246341a7cfc61bd4fe4eed188c88f",
		"one-id":            "1afb0daf93c101a9593543c0d24073da78910db48ca12cb91de76d062634f7f8",
		"same-head":         "31cdf06b81e452b564d1f41d75cd904a425afc1a28529f447be5c03171e92255",
		"same-tag":          "1829f3fcaafe70b9abe2b8af9cbaa8e348c427172ee4129248ea3424aaf6d49c",
		"far-repeats":       "6da703f2112c8f53bd6d57b1c36f3c3bea92701da82d2dfd6167d72f55b9e4c0",
		"near-far":          "5ec988fb8cb2e558a39600731bc5641be935b880357c524565259aaa0d9073ad",
		"one-nibble":        "bc5aa223a1a960a7da2219f09d9d41470dc7a4240e0aa5cb82f4dd8389e8df80",
		"prefix-8":          "87abe9202a8c0af8d1e8cde803f93bc5e6e6964c9222954da1251d64b2dd2ad3",
		"prefix-15":         "9f2aa315ac25c729ca5da46a5ab1e5bb2227cffa83ee66d09015942ae2e9b5f8",
		"peeled":            "6be77451ed8996f02a4fe13d9fd184a39d3a0a29862275b418a773e3978fde06",
		"sha256-distinct":   "59733a6f5cf6a450aeb76c0d68cc6270f4386a246ec97727ae76d43c7ef897aa",
		"sha256-shared":     "f5b09c0589be6e35effdd7f1839ae4879861cf06c823df7331c3a0b5ee78132c",
		"sha256-prefix-31":  "2ee821eaff9fe82e34637fb3e9784d4643597b566c5d89354ad1335c5e8c9274",
		"one-ref":           "21eaeff94cde2e973743cb8cdd53cb12c65523de4fad69cb469e213c6ce6af1a",
		"two-refs":          "68eb1e5787121f80b10ae33791c945ba0647505db06cf30271da789bf6d8f823",
		"two-refs-one-id":   "4c4d69d187649f75c95fc99b12ae3bafe36eeab8e63f66307299e14c90ae2f32",
		"17-refs":           "00d69983a809023b61065310be1bbe3163bacb19e72d35ea02b53be42cd2813d",
		"block-256":         "51c3965e07279e84d9a58016bb26684603d16a50af62d4fb30be7d66bd9c39ec",
		"block-80-unpadded": "ca923d53735accc4669b7c2292e236b1065d89d1b5a85d24a99d8e0d1035157a",
		"sha256-block-512":  "fe1c3ee5b8d8189e213ee862f22c3c62c4894b9b77b7a52d42ecf001ec12ed34",
	}
	for _, s := range objShapes {
		data := writeObjShape(t, s)
		tab, err := NewTableBytes(data, s.name)
		if err != nil {
			t.Fatal(err)
		}
		l := tab.Layout()
		got := fmt.Sprintf("%x", sha256.Sum256(data))
		t.Logf("%s: %d bytes, obj section at %d, index at %d, id len %d", s.name, len(data), l.ObjOffset, l.ObjIndex, l.ObjIDLen)
		for err := range tab.Check() {
			t.Errorf("%s: %v", s.name, err)
		}
		if got != want[s.name] {
			t.Errorf("%s: table digest %s, want %s", s.name, got, want[s.name])
		}
	}
}
