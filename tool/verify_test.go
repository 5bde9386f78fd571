package tool

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/stack/stacktest"
)

// TestVerifyFixtures checks that every git fixture verifies clean, as a
// stack, as a repository and table by table.
func TestVerifyFixtures(t *testing.T) {
	for _, name := range fixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(fixtures, name, "reftable")
			if out := mustRun(t, "", "verify", dir); out != "" {
				t.Errorf("verify %s: %s", dir, out)
			}
			repo := makeRepo(t, name, strings.TrimSpace(readFile(t, filepath.Join(fixtures, name, "object-format.txt"))))
			if out := mustRun(t, "", "verify", repo); out != "" {
				t.Errorf("verify %s: %s", repo, out)
			}
			for _, table := range strings.Fields(readFile(t, filepath.Join(dir, "tables.list"))) {
				if out := mustRun(t, "", "verify", filepath.Join(dir, table)); out != "" {
					t.Errorf("verify %s: %s", table, out)
				}
			}
		})
	}
}

// sha1Table is a table of the sha1-basic fixture: one ref block of 71
// bytes (restart offsets at 66, restart count at 69), then a log block.
const sha1Table = "0x000000000002-0x000000000002-bc48c944.ref"

// TestVerifyDamage damages a copy of a fixture stack in one way each and
// checks verify's findings against golden files: damage fails verify,
// leftovers (an unlisted table, locks and their holders, a temporary
// file) are reported and fail it only with -strict.
func TestVerifyDamage(t *testing.T) {
	flip := func(off int64) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			path := filepath.Join(dir, sha1Table)
			data := []byte(readFile(t, path))
			if off < 0 {
				off += int64(len(data))
			}
			data[off] ^= 0xff
			writeFile(t, path, string(data))
		}
	}
	rename := func(to string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if err := os.Rename(filepath.Join(dir, sha1Table), filepath.Join(dir, to)); err != nil {
				t.Fatal(err)
			}
			list := readFile(t, filepath.Join(dir, "tables.list"))
			writeFile(t, filepath.Join(dir, "tables.list"), strings.Replace(list, sha1Table, to, 1))
		}
	}
	leftover := map[string]bool{"orphan": true, "lock": true, "temp": true} // exit 0 but with -strict
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
	}{
		{"restart-offset", indexedTable(func(t *testing.T, data []byte, tab *reftable.Table) {
			// The first restart of the second ref block, past its records.
			for b, err := range tab.Blocks() {
				if err != nil {
					t.Fatal(err)
				}
				if b.Type == 'r' && b.Offset > 0 {
					entry := b.Offset + int64(b.Len) - 2 - 3*int64(b.Restarts)
					data[entry], data[entry+1], data[entry+2] = byte(b.Len>>16), byte(b.Len>>8), byte(b.Len)
					return
				}
			}
			t.Fatal("no second ref block")
		})},
		{"index-key", indexedTable(func(t *testing.T, data []byte, tab *reftable.Table) {
			// The last byte of the key of the first ref index record.
			p := tab.Layout().RefIndex + 4
			_, n := testVarint(data[p:])
			v, m := testVarint(data[p+int64(n):])
			data[p+int64(n+m)+int64(v>>3)-1]++
		})},
		{"obj-offset", indexedTable(func(t *testing.T, data []byte, tab *reftable.Table) {
			// The ref block offset of the first obj record, plus one.
			p := tab.Layout().ObjOffset + 4
			_, n := testVarint(data[p:])
			p += int64(n)
			v, n := testVarint(data[p:])
			p += int64(n) + int64(v>>3)
			if v&7 == 0 {
				t.Fatal("first obj record lists no blocks or many")
			}
			_, n = testVarint(data[p:])
			data[p+int64(n)-1]++
		})},
		{"ref-block-key", flip(28)},
		{"ref-block-restart-count", flip(69)},
		{"log-block", flip(100)},
		{"bad-crc", flip(-1)},
		{"bad-magic", flip(0)},
		{"truncated", func(t *testing.T, dir string) {
			path := filepath.Join(dir, sha1Table)
			writeFile(t, path, readFile(t, path)[:50])
		}},
		{"misnamed-range", rename("0x000000000002-0x000000000003-bc48c944.ref")},
		{"misnamed", rename("table-two.ref")},
		{"missing-table", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, sha1Table)); err != nil {
				t.Fatal(err)
			}
		}},
		{"orphan", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "0x000000000010-0x000000000010-00000000.ref"), readFile(t, filepath.Join(dir, sha1Table)))
		}},
		{"lock", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "tables.list.lock"), "")
			writeFile(t, filepath.Join(dir, sha1Table+".lock"), "")
			writeFile(t, filepath.Join(dir, "tables.list.999999-1700000000-0a1b2c3d-elsewhere.holder"), "")
		}},
		{"temp", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "tmp-0123456789abcdef.temp"), "")
		}},
		{"order", func(t *testing.T, dir string) {
			names := strings.Fields(readFile(t, filepath.Join(dir, "tables.list")))
			names[1], names[2] = names[2], names[1]
			writeFile(t, filepath.Join(dir, "tables.list"), strings.Join(names, "\n")+"\n")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "reftable")
			copyDir(t, filepath.Join(fixtures, "sha1-basic", "reftable"), dir)
			tc.damage(t, dir)
			r := runTool(t, "", "verify", "-v", dir)
			if want := map[bool]int{false: 1, true: 0}[leftover[tc.name]]; r.code != want || r.stdout == "" {
				t.Errorf("verify exit %d, want %d with findings", r.code, want)
			}
			checkGolden(t, filepath.Join("verify", tc.name), r.String())
			if r := runTool(t, "", "verify", "-strict", dir); r.code != 1 {
				t.Errorf("verify -strict exit %d, want 1", r.code)
			}
			r = runTool(t, "", "verify", "-json", dir)
			checkJSONLines(t, r.stdout)
			checkGolden(t, filepath.Join("verify", tc.name+"-json"), r.String())
		})
	}
}

// TestVerifyRefNames checks the ref name checks on tables written by
// update: a bad name is a warning, a HEAD outside refs/heads/ an error.
func TestVerifyRefNames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0x000000000001-0x000000000001-00000000.ref")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	writeTestTable(t, f)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, filepath.Join("verify", "ref-names"), runTool(t, "", "verify", "-v", path).String())
}

// TestVerifyTimeZoneMinutes: a reflog time-zone offset whose minutes
// are 60 or more (a writer storing minutes, as JGit: -480 for -0800) is
// a warning, not an error; git's HHMM offsets pass. Issue 17, writer 10.
func TestVerifyTimeZoneMinutes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0x000000000001-0x000000000006-00000000.ref")
	var logs []reftable.LogRecord
	for i, tz := range []int16{-800, 530, 59, -480, 60, 1399} {
		logs = append(logs, reftable.LogRecord{RefName: []byte("refs/heads/main"), UpdateIndex: uint64(6 - i), Type: reftable.LogUpdate,
			Old: make([]byte, 20), New: bytes.Repeat([]byte{byte(i + 1)}, 20), Name: []byte("C O Mitter"),
			Email: []byte("committer@example.com"), Time: 1700000000, TZOffset: tz, Message: []byte("m\n")})
	}
	logs = append(logs, reftable.LogRecord{RefName: []byte("refs/heads/old"), UpdateIndex: 1, Type: reftable.LogDeletion})
	writeTable(t, path, reftable.WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 6}, nil, logs)
	checkGolden(t, filepath.Join("verify", "tz-minutes"), runTool(t, "", "verify", "-v", path).String())
	checkGolden(t, filepath.Join("verify", "tz-minutes-json"), runTool(t, "", "verify", "-json", path).String())
}

// writeTestTable writes a table whose refs have a bad name and a HEAD
// pointing outside refs/heads/.
func writeTestTable(t *testing.T, f *os.File) {
	t.Helper()
	w, err := reftable.NewWriter(f, reftable.WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 1})
	if err != nil {
		t.Fatal(err)
	}
	oid := make([]byte, 20)
	oid[19] = 1
	for _, r := range []reftable.RefRecord{
		{Name: []byte("HEAD"), UpdateIndex: 1, Type: reftable.RefSymref, Target: []byte("refs/tags/v1")},
		{Name: []byte("refs/heads/a..b"), UpdateIndex: 1, Type: reftable.RefVal1, Value: oid},
		{Name: []byte("refs/heads/main"), UpdateIndex: 1, Type: reftable.RefVal1, Value: oid},
	} {
		if err := w.AddRef(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// indexedTable returns a damage that replaces sha1Table by a table of 200
// refs in 256-byte blocks, with a ref index and an obj section, damaged by
// damage.
func indexedTable(damage func(t *testing.T, data []byte, tab *reftable.Table)) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		var buf bytes.Buffer
		w, err := reftable.NewWriter(&buf, reftable.WriterOptions{BlockSize: 256, MinUpdateIndex: 2, MaxUpdateIndex: 2})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 200 {
			id := sha1.Sum(fmt.Appendf(nil, "%d", i))
			r := reftable.RefRecord{Name: fmt.Appendf(nil, "refs/heads/branch-%04d", i), UpdateIndex: 2, Type: reftable.RefVal1, Value: id[:]}
			if err := w.AddRef(&r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		tab, err := reftable.NewTableBytes(bytes.Clone(data), sha1Table)
		if err != nil {
			t.Fatal(err)
		}
		if lay := tab.Layout(); lay.RefIndex == 0 || !lay.HasObjs {
			t.Fatalf("layout %+v: want a ref index and an obj section", lay)
		}
		damage(t, data, tab)
		writeFile(t, filepath.Join(dir, sha1Table), string(data))
	}
}

// testVarint decodes a reftable varint at the start of b and returns it
// and its length.
func testVarint(b []byte) (uint64, int) {
	v, n := uint64(b[0]&0x7f), 0
	for b[n]&0x80 != 0 {
		n++
		v = (v+1)<<7 | uint64(b[n]&0x7f)
	}
	return v, n + 1
}

// TestVerifyLiveStack runs verify, again and again, on a stack that a
// writer keeps changing meanwhile (commits, each followed by a full
// compaction, which removes the tables it merged), in a directory and on
// S3: verify checks one state of the stack and exits 0 every time,
// reporting at most leftovers of the running writer. (Before, it
// reported tables the compaction removed as "listed in tables.list but
// does not exist", and new tables as unlisted, and exited 1.)
func TestVerifyLiveStack(t *testing.T) {
	s3Env(t)
	dir := filepath.Join(t.TempDir(), "reftable")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "tables.list"), "")
	for _, where := range []string{dir, "s3://bkt/live"} {
		mustRun(t, "create refs/heads/main "+oidA+"\n", "update", where)
		tgt, err := openPath(where, write, stack.Options{DisableAutoCompaction: true})
		if err != nil {
			t.Fatal(err)
		}
		tgt.cfg = &testConfig
		w, err := tgt.stack()
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				if err := stacktest.Set(w, fmt.Sprintf("refs/heads/b%d", i%50), i, nil); err != nil {
					t.Errorf("commit: %v", err)
					return
				}
				if err := w.CompactAll(ctx, nil); err != nil && !errors.Is(err, stack.ErrOutdated) {
					t.Errorf("compaction: %v", err)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
		for range 10 {
			if r := runTool(t, "", "verify", where); r.code != 0 || strings.Contains(r.stdout, "does not exist") {
				t.Errorf("verify %s while a writer works: %v", where, r)
			}
		}
		close(done)
		wg.Wait()
		tgt.Close()
	}
}
