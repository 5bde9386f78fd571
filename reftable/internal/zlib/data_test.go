package zlib

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Test inputs, deterministic.

// logLike returns about n bytes shaped like an uncompressed reftable log
// block: prefix-compressed ref names with reversed update indexes, a zero
// and a random object id, a committer, a time and a short message per
// record.
func logLike(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	var b []byte
	for i := 0; len(b) < n; i++ {
		name := fmt.Sprintf("refs/heads/branch-%07d", int(seed)*1000+i)
		b = append(b, 17, byte(len(name)-17+9)<<3|1)
		b = append(b, name[17:]...)
		b = binary.BigEndian.AppendUint64(append(b, 0), ^uint64(1))
		b = append(b, make([]byte, 20)...)
		for range 20 {
			b = append(b, byte(r.Uint32()))
		}
		b = append(b, "C O Mitter\x00<committer@example.com>\x00"...)
		b = binary.BigEndian.AppendUint64(b, 1700000000+uint64(i))
		b = append(b, 0xfd, 0x44)
		msg := fmt.Sprintf("commit: msg %d\n", i)
		b = append(append(b, byte(len(msg))), msg...)
	}
	return b[:n]
}

// random returns n random bytes.
func random(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// text returns n bytes of English-like text from a small vocabulary.
func text(n int, seed uint64) []byte {
	words := strings.Fields(`the of and to in is it that for on was with as by at be this
		from or have an which are not but had they his her she were can one all there
		been would their if more when will some what about out up into than them do
		only other new could time these two may then first any like now my such make
		over our even most after also made many before must through back years where`)
	r := rand.New(rand.NewPCG(seed, 3))
	var b []byte
	for len(b) < n {
		b = append(b, words[r.IntN(len(words))]...)
		if r.IntN(12) == 0 {
			b = append(b, ".\n"...)
		} else {
			b = append(b, ' ')
		}
	}
	return b[:n]
}

// mixed returns n bytes alternating runs of zeros, random bytes, log-like
// data and repeats from far back, to exercise the window on large inputs.
func mixed(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 4))
	var b []byte
	for len(b) < n {
		k := 1 + r.IntN(100000)
		switch r.IntN(4) {
		case 0:
			b = append(b, make([]byte, k)...)
		case 1:
			b = append(b, random(k, r.Uint64())...)
		case 2:
			b = append(b, logLike(k, r.Uint64())...)
		default:
			from := r.IntN(len(b) + 1)
			b = append(b, b[from:from+min(k, len(b)-from)]...)
		}
	}
	return b[:n]
}

type input struct {
	name string
	data []byte
}

// inputs returns the round trip inputs; short leaves out the largest.
func inputs(short bool) []input {
	in := []input{
		{"empty", nil},
		{"1 byte", []byte{'x'}},
		{"2 bytes", []byte{0, 0}},
		{"3 bytes", []byte("abc")},
		{"all zero 100k", make([]byte, 100000)},
		{"random 64k", random(64<<10, 1)},
		{"random 100k", random(100000, 2)},
		{"text 20k", text(20000, 1)},
		{"log 4k", logLike(4096, 1)},
		{"log 4k b", logLike(4096, 2)},
		{"log 64k", logLike(64<<10, 3)},
		{"mixed 1M", mixed(1<<20, 1)},
	}
	if !short {
		in = append(in, input{"mixed 16M", mixed(16<<20, 2)})
	}
	return in
}
