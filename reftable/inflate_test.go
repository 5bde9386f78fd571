package reftable

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// failingReaderAt fails the reads that fail reports true for.
type failingReaderAt struct {
	data      []byte
	fail      func(off int64) bool
	asIOError bool // the failure is an *IOError, as a store's source reports it
}

var errDisk = errors.New("disk on fire")

func (f *failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if f.fail(off) {
		if f.asIOError {
			return 0, &IOError{Table: "store.ref", Offset: off, Err: errDisk}
		}
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
		tab, err := NewTable(&failingReaderAt{data: data, fail: tc.fail}, int64(len(data)), "fail.ref")
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

// TestIOErrorOnce: a source whose failed read is an *IOError already (as
// objstore's tables report theirs) comes back as that error, not wrapped
// in another naming the same read.
func TestIOErrorOnce(t *testing.T) {
	data := utWrite(t, WriterOptions{BlockSize: 256, MinUpdateIndex: 1, MaxUpdateIndex: 1}, benchRefs(2000, SHA1), nil)
	if len(data) <= smallTable {
		t.Fatalf("table of %d bytes is read into memory", len(data))
	}
	fail := func(off int64) bool { return off >= 1024 && off < int64(len(data))-1024 }
	tab, err := NewTable(&failingReaderAt{data: data, fail: fail, asIOError: true}, int64(len(data)), "fail.ref")
	if err != nil {
		t.Fatal(err)
	}
	for _, err = range tab.Refs(nil) {
		if err != nil {
			break
		}
	}
	if !errors.Is(err, errDisk) || strings.Count(err.Error(), "read at offset") != 1 || !strings.Contains(err.Error(), "store.ref") {
		t.Errorf("Refs err = %v, want the source's *IOError once", err)
	}
}
