package reftable

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// failingReaderAt fails the reads that fail reports true for.
type failingReaderAt struct {
	data []byte
	fail func(off int64) bool
}

var errDisk = errors.New("disk on fire")

func (f *failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if f.fail(off) {
		return 0, errDisk
	}
	return bytes.NewReader(f.data).ReadAt(p, off)
}

// TestLogBlockReadError is the regression test for a read error while
// inflating a log block being reported as corruption: it must come back
// as an *IOError, both when reading the block and when reading the rest
// of a compressed stream longer than the block size.
func TestLogBlockReadError(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	random := func(n int) []byte { return utRandom(rng, n) }
	var logs []LogRecord
	for i := range 400 { // incompressible, and more than smallTable
		n := 132 + rng.IntN(8) // a record filling most of a block
		if i == 0 {
			n = 10 // the first block holds the file header too
		}
		logs = append(logs, LogRecord{
			RefName: fmt.Appendf(nil, "refs/heads/%03d", i), UpdateIndex: 1, Type: LogUpdate,
			Old: random(20), New: random(20), Name: random(10), Email: random(10), Time: rng.Uint64(),
			TZOffset: int16(rng.Uint32()), Message: random(n),
		})
	}
	data := utWrite(t, WriterOptions{BlockSize: 256, ExactLogMessage: true, MinUpdateIndex: 1, MaxUpdateIndex: 1}, nil, logs)
	if len(data) <= smallTable {
		t.Fatalf("table of %d bytes is read into memory", len(data))
	}
	// Log blocks whose stream is longer than the block read first.
	var longer []int64
	for _, b := range utBlockInfos(t, utOpen(t, data)) {
		if b.Type == blockTypeLog && b.Size > 256 {
			longer = append(longer, b.Offset)
		}
	}
	if len(longer) == 0 {
		t.Fatal("no log block compressed to more than the block size")
	}
	for _, tc := range []struct {
		name string
		fail func(off int64) bool
		at   int64
	}{
		{"block read", func(off int64) bool { return off == longer[0] }, longer[0]},
		{"rest of the stream", func(off int64) bool { return off == longer[0]+4 }, longer[0] + 4},
	} {
		tab, err := NewTable(&failingReaderAt{data, tc.fail}, int64(len(data)), "fail.ref")
		if err != nil {
			t.Fatal(err)
		}
		for _, err = range tab.Logs(nil) {
			if err != nil {
				break
			}
		}
		var ioErr *IOError
		if !errors.As(err, &ioErr) || !errors.Is(err, errDisk) || errors.Is(err, ErrFormat) {
			t.Errorf("%s fails: Logs err = %v, want an *IOError wrapping the read error", tc.name, err)
		} else if ioErr.Offset != tc.at || ioErr.Table != "fail.ref" {
			t.Errorf("%s fails: IOError names %s at %d, want fail.ref at %d", tc.name, ioErr.Table, ioErr.Offset, tc.at)
		}
	}
}
