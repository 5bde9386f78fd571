package zlib

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var writeInputs = flag.String("zlib9-inputs", "", "write the inputs of TestSameAsZlib9 to this directory, for testdata/zlib9.py")

// sameAsZlibInputs are the round trip inputs and more that reach the
// corners of zlib's choices: inputs shorter than a hash, runs longer than
// a match, periods that make long chains, skewed literal frequencies whose
// Huffman codes are cut to 15 bits, and inputs past the 64 KiB window and
// the 16,383 symbols of a block.
func sameAsZlibInputs() []input {
	in := inputs(false)
	r := rand.New(rand.NewPCG(9, 9))
	skewed := make([]byte, 300000)
	for i := range skewed {
		// Byte k with probability 2^-(k+1): codes past 15 bits.
		skewed[i] = byte(bits.TrailingZeros64(r.Uint64() | 1<<40))
	}
	period := make([]byte, 100000)
	for i := range period {
		period[i] = "abcdefg"[i%7]
	}
	return append(in,
		input{"4 bytes", []byte("aaaa")},
		input{"5 bytes", []byte("abcab")},
		input{"258+3 a", []byte(strings.Repeat("a", 261))},
		input{"period 7 100k", period},
		input{"text 300k", text(300000, 2)},
		input{"log 200k", logLike(200000, 4)},
		input{"skewed 300k", skewed},
		input{"random 4k", random(4096, 5)},
		input{"mixed 300k", mixed(300000, 3)},
	)
}

// TestSameAsZlib9: the streams are byte for byte those of zlib at level 9
// (testdata/zlib9.golden holds the SHA-256 of each, written by
// testdata/zlib9.py with the zlib of CPython, which git's zlib agrees
// with on every log block of the git fixtures).
func TestSameAsZlib9(t *testing.T) {
	in := sameAsZlibInputs()
	if *writeInputs != "" {
		for i, x := range in {
			name := filepath.Join(*writeInputs, strconv.Itoa(i))
			if err := os.WriteFile(name, x.data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Skip("inputs written")
	}
	f, err := os.Open("testdata/zlib9.golden")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[int]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var i int
		var sum string
		if _, err := fmt.Sscanf(sc.Text(), "%d %s", &i, &sum); err != nil {
			t.Fatalf("zlib9.golden: %q: %v", sc.Text(), err)
		}
		want[i] = sum
	}
	if len(want) != len(in) {
		t.Fatalf("zlib9.golden has %d streams for %d inputs", len(want), len(in))
	}
	var c Compressor
	for i, x := range in {
		sum := sha256.Sum256(c.AppendZlib(nil, x.data))
		if got := hex.EncodeToString(sum[:]); got != want[i] {
			t.Errorf("%s (%d bytes): stream differs from zlib's", x.name, len(x.data))
		}
	}
}
