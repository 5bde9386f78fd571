package fuzz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/refstore/refstore/reftable"
)

// FuzzTable opens arbitrary bytes as a table, reads everything in it and
// checks it: it must never panic, and every error must be a format error
// or ErrNotFound.
//
// Each input is read three times: as is, with the footer CRC-32 recomputed
// (so that mutated footer fields reach the section parsing), and with the
// file header copied into the footer before recomputing the CRC (so that
// mutated header fields, such as the block size, reach the block parsing).
func FuzzTable(f *testing.F) {
	for _, data := range seedTables(f) {
		if len(data) < 1<<17 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		keys := derivedKeys(data)
		readAll(t, data, keys)
		if fixed, ok := fixFooterCRC(data, false); ok && !bytes.Equal(fixed, data) {
			readAll(t, fixed, keys)
		}
		if fixed, ok := fixFooterCRC(data, true); ok && !bytes.Equal(fixed, data) {
			readAll(t, fixed, keys)
		}
	})
}

// seedTables returns the seed tables: those git wrote, and those laid
// out as JGit lays them out (an index block longer than the block size,
// log blocks of several block sizes, a log-only table whose header
// stands alone), which git's writer never writes.
func seedTables(tb testing.TB) [][]byte {
	tb.Helper()
	git, _ := filepath.Glob("../reftable/testdata/git/*/reftable/*.ref")
	layouts, _ := filepath.Glob("../reftable/testdata/layouts/*.ref")
	if len(git) == 0 || len(layouts) == 0 {
		tb.Fatal("no seed tables")
	}
	var seeds [][]byte
	for _, name := range append(git, layouts...) {
		data, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, data)
	}
	return seeds
}

// TestSeedTablesRead reads every seed table as FuzzTable does and wants
// no error at all: a seed that fails to read tests only the error paths
// (issue 17: the reader rejected the JGit layouts).
func TestSeedTablesRead(t *testing.T) {
	for i, data := range seedTables(t) {
		tab, err := reftable.NewTableBytes(data, fmt.Sprintf("seed-%d", i))
		if err != nil {
			t.Errorf("seed %d: %v", i, err)
			continue
		}
		errs := 0
		for _, err := range tab.Blocks() {
			if err != nil {
				t.Errorf("seed %d: Blocks: %v", i, err)
				errs++
			}
		}
		for err := range tab.Check() {
			t.Errorf("seed %d: Check: %v", i, err)
			errs++
		}
		if _, err := tab.WriterOptions(); err != nil {
			t.Errorf("seed %d: WriterOptions: %v", i, err)
			errs++
		}
		for r, err := range tab.Refs(nil) {
			if err == nil {
				_, err = tab.Ref(r.Name)
			}
			if err != nil {
				t.Errorf("seed %d: refs: %v", i, err)
				errs++
				break
			}
		}
		for l, err := range tab.Logs(nil) {
			if err == nil {
				for _, err = range tab.LogsFor(l.RefName) {
					if err != nil {
						break
					}
				}
			}
			if err != nil {
				t.Errorf("seed %d: logs: %v", i, err)
				errs++
				break
			}
		}
		if errs > 0 {
			t.Logf("seed %d is %d bytes", i, len(data))
		}
	}
}

// footerLen returns the footer length of a table whose version byte is
// data[4], or 0 if data cannot hold a table of that version.
func footerLen(data []byte) int {
	if len(data) < 5 {
		return 0
	}
	n := 0
	switch data[4] {
	case 1:
		n = 68
	case 2:
		n = 72
	default:
		return 0
	}
	if len(data) < n {
		return 0
	}
	return n
}

// fixFooterCRC returns a copy of data whose footer CRC-32 matches the
// footer. With mirror, the header (24 or 28 bytes) is first copied into the
// start of the footer, as a valid table has it.
func fixFooterCRC(data []byte, mirror bool) ([]byte, bool) {
	n := footerLen(data)
	if n == 0 {
		return nil, false
	}
	out := bytes.Clone(data)
	foot := out[len(out)-n:]
	if mirror {
		hs := n - 44 // 24 or 28
		if len(out) < hs+n {
			return nil, false
		}
		copy(foot[:hs], out[:hs])
	}
	binary.BigEndian.PutUint32(foot[n-4:], crc32.ChecksumIEEE(foot[:n-4]))
	return out, true
}

// derivedKeys picks a few byte strings out of data to seek with, so that
// the fuzzer controls the keys too.
func derivedKeys(data []byte) [][]byte {
	if len(data) == 0 {
		return nil
	}
	var keys [][]byte
	for i := 0; i < 4; i++ {
		start := int(data[(i*7)%len(data)]) * 31 % len(data)
		l := 1 + int(data[(i*13+1)%len(data)])%40
		keys = append(keys, data[start:min(start+l, len(data))])
	}
	return keys
}

// readAll opens data as a table and exercises every read path: full
// iteration of refs and logs, the block walk, ref and log lookups and
// seeks by the names found and by keys, and object id lookups.
func readAll(t *testing.T, data []byte, keys [][]byte) {
	t.Helper()
	size := int64(len(data))
	tab, err := reftable.NewTable(bytes.NewReader(data), int64(len(data)), "fuzz")
	if err != nil {
		checkErr(t, err, size)
		return
	}
	var names [][]byte
	var ids [][]byte
	for r, err := range tab.Refs(nil) {
		if err != nil {
			checkErr(t, err, size)
			break
		}
		if len(names) < 8 {
			names = append(names, r.Clone().Name)
		}
		if len(ids) < 4 && r.Value != nil {
			ids = append(ids, bytes.Clone(r.Value))
		}
	}
	for l, err := range tab.Logs(nil) {
		if err != nil {
			checkErr(t, err, size)
			break
		}
		if len(names) < 12 {
			names = append(names, bytes.Clone(l.RefName))
		}
	}
	for _, err := range tab.Blocks() {
		if err != nil {
			checkErr(t, err, size)
			break
		}
	}
	for err := range tab.Check() {
		checkErr(t, err, size)
	}
	if _, err := tab.WriterOptions(); err != nil {
		checkErr(t, err, size)
	}
	names = append(names, []byte("HEAD"), []byte("refs/heads/main"), []byte("zzz"))
	names = append(names, keys...)
	for _, name := range names {
		if _, err := tab.Ref(name); err != nil && !errors.Is(err, reftable.ErrNotFound) {
			checkErr(t, err, size)
		}
		drain(t, size, tab.LogsFor(name))
		drain(t, size, tab.Refs(name))
		drain(t, size, tab.Logs(name))
	}
	hs := tab.Hash().Size()
	ids = append(ids, make([]byte, hs))
	for _, k := range keys {
		if len(k) > 0 {
			ids = append(ids, bytes.Repeat(k, hs/len(k)+1)[:hs])
		}
	}
	for _, id := range ids {
		drain(t, size, tab.RefsFor(id))
	}
}

// drain runs an iterator to its end, checking the error it may end with.
func drain[R any](t *testing.T, size int64, seq func(func(R, error) bool)) {
	t.Helper()
	for _, err := range seq {
		if err != nil {
			checkErr(t, err, size)
			return
		}
	}
}

// checkErr fails t unless err is a *reftable.CorruptError matching
// ErrFormat that names the table and an offset inside it (size bytes).
func checkErr(t *testing.T, err error, size int64) {
	t.Helper()
	if !errors.Is(err, reftable.ErrFormat) {
		t.Fatalf("error does not match ErrFormat: %v", err)
	}
	var ce *reftable.CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("format error is not a *CorruptError: %v", err)
	}
	if ce.Table == "" || ce.Offset < 0 || ce.Offset > size {
		t.Fatalf("corrupt error names table %q, offset %d outside 0..%d: %v", ce.Table, ce.Offset, size, err)
	}
}
