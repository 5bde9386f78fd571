// Package zlib is a zlib (RFC 1950) and DEFLATE (RFC 1951) codec for
// whole buffers in memory, made for reftable log blocks: many small,
// independent streams, each compressed or inflated in one call. It is
// faster than compress/zlib on 4 KiB log blocks and allocates nothing in
// steady state, which is why the format package does not use that
// (compare BenchmarkCompress with BenchmarkCompressStdlib); its fuzz
// targets check that the two agree. Its streams are byte for byte those
// of zlib at level 9, git's for log blocks (TestSameAsZlib9), so that
// the tables the format package writes are git's.
//
// A [Compressor] appends one complete zlib stream for a buffer; a
// [Decompressor] inflates the zlib stream at the start of a buffer into a
// destination of known size and reports how many input bytes the stream
// took. Both keep their tables between calls, so that in steady state they
// allocate nothing, and neither clears large tables per call.
//
// Nothing in this package panics on hostile input: malformed streams yield
// one of the errors below.
package zlib

import (
	"errors"
	"strconv"
	"sync"
)

// Errors returned by [Decompressor.InflateZlib]. Malformed DEFLATE data is
// reported as a *[CorruptError], which matches ErrCorrupt. Errors of the
// zlib wrapper read as those of compress/zlib.
var (
	// ErrShortInput reports that the input ends before the stream does.
	// A caller reading from a file can read more and call again.
	ErrShortInput = errors.New("deflate: truncated zlib stream")

	// ErrHeader reports a zlib header that is not DEFLATE with a window of
	// at most 32 KiB and a valid check value.
	ErrHeader = errors.New("zlib: invalid header")

	// ErrDictionary reports a zlib stream that needs a preset dictionary,
	// which this package does not support.
	ErrDictionary = errors.New("zlib: preset dictionary not supported")

	// ErrTooLong reports a stream that inflates to more bytes than the
	// destination holds.
	ErrTooLong = errors.New("deflate: stream inflates to more than the destination")

	// ErrTooShort reports a stream that ends before filling the
	// destination.
	ErrTooShort = errors.New("deflate: stream inflates to less than the destination")

	// ErrChecksum reports an Adler-32 trailer that does not match the
	// inflated data.
	ErrChecksum = errors.New("zlib: invalid checksum")

	// ErrCorrupt is matched by every *CorruptError.
	ErrCorrupt = errors.New("deflate: corrupt stream")
)

// CorruptError reports malformed DEFLATE data: invalid block type, stored
// length check, Huffman code or symbol, or a distance reaching back before
// the start of the output. It matches [ErrCorrupt].
type CorruptError struct {
	Offset int    // byte offset in the input at which the problem was found
	Reason string // what was wrong
}

// Error implements error.
func (e *CorruptError) Error() string {
	return "deflate: corrupt stream at input byte " + strconv.Itoa(e.Offset) + ": " + e.Reason
}

// Is reports whether target is ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Format constants of RFC 1951.
const (
	windowSize  = 1 << 15 // largest distance
	minMatch    = 3
	maxMatch    = 258
	endOfBlock  = 256
	numLitLen   = 286 // literal/length symbols a dynamic block may declare
	numDist     = 30  // distance symbols a dynamic block may declare
	numCodeLen  = 19  // code length symbols
	maxCodeBits = 15  // longest literal/length or distance code
	maxCLBits   = 7   // longest code length code
	maxStored   = 65535
)

// codeLenOrder is the order in which a dynamic block header lists the code
// lengths of the code length alphabet.
var codeLenOrder = [numCodeLen]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// Base values and extra bit counts of the length symbols 257..285 and the
// distance symbols 0..29 (RFC 1951 section 3.2.5).
var (
	lengthBase  [29]uint16
	lengthExtra [29]uint8
	distBase    [30]uint16
	distExtra   [30]uint8
)

// tablesOnce builds the tables below and the code tables of compress.go
// and inflate.go at the first use of the codec, not when a program that
// links it starts: most runs of the CLI read no log block.
var tablesOnce sync.Once

// initTables fills the tables of the codec.
func initTables() {
	// Lengths: 8 symbols without extra bits, then groups of four whose
	// extra bits grow by one; symbol 285 is 258 without extra bits.
	base := 3
	for s := range 28 {
		e := 0
		if s >= 8 {
			e = s/4 - 1
		}
		lengthBase[s], lengthExtra[s] = uint16(base), uint8(e)
		base += 1 << e
	}
	lengthBase[28], lengthExtra[28] = 258, 0
	// Distances: 4 symbols without extra bits, then pairs whose extra
	// bits grow by one.
	base = 1
	for s := range 30 {
		e := 0
		if s >= 4 {
			e = s/2 - 1
		}
		distBase[s], distExtra[s] = uint16(base), uint8(e)
		base += 1 << e
	}
	initCodes()
	initFixed()
	litKind = codeKind{elems: numLitLen, static: fixedLitLens[:], extra: lengthExtra[:], extraBase: 257, maxLen: maxCodeBits}
	distKind = codeKind{elems: numDist, static: fixedDistLens[:], extra: distExtra[:], maxLen: maxCodeBits}
	blKind = codeKind{elems: numCodeLen, extra: codeLenExtra[:], maxLen: maxCLBits}
}
