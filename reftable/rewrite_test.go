package reftable

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// optionsOf guesses the options a table was written with; the restart
// interval cannot be read from a table and is taken as git's default.
func optionsOf(t *Table) WriterOptions {
	return WriterOptions{
		BlockSize:        t.BlockSize(),
		Hash:             t.Hash(),
		MinUpdateIndex:   t.MinUpdateIndex(),
		MaxUpdateIndex:   t.MaxUpdateIndex(),
		SkipIndexObjects: t.refIndex > 0 && t.objOffset == 0,
		ExactLogMessage:  true,
	}
}

// rewriteTable writes the records of tab again with opts.
func rewriteTable(t *testing.T, tab *Table, opts WriterOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	for r, err := range tab.Refs(nil) {
		if err != nil {
			t.Fatal(err)
		}
		if err := w.AddRef(&r); err != nil {
			t.Fatal(err)
		}
	}
	for l, err := range tab.Logs(nil) {
		if err != nil {
			t.Fatal(err)
		}
		if err := w.AddLog(&l); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// blockDump lists a table's blocks with their inflated contents. Offsets
// after the start of the log section are replaced by block ordinals, since
// compressed sizes depend on the zlib implementation.
func blockDump(t *testing.T, tab *Table) []string {
	t.Helper()
	var out []string
	ordinal := map[int64]int{}
	it := newTableIter(tab, 0)
	logStart := tab.dataEnd
	if tab.hasLogs {
		logStart = tab.logOffset
	}
	n := 0
	for info, err := range tab.Blocks() {
		if err != nil {
			t.Fatal(err)
		}
		ordinal[info.Offset] = n
		n++
		if _, err := it.rd.load(&it.blk, info.Offset, 0); err != nil {
			t.Fatal(err)
		}
		data := it.blk.data
		if info.Type == blockTypeIndex && info.Offset > logStart {
			// Index records of the log index point at compressed blocks.
			var recs []string
			it.pos, it.key = it.blk.headerOff+4, it.key[:0]
			for it.pos < it.blk.restartOff {
				if !it.decode() {
					t.Fatal(it.err)
				}
				recs = append(recs, fmt.Sprintf("%q->#%d", it.key, ordinal[int64(it.child)]))
			}
			out = append(out, fmt.Sprintf("#%d log index %v", ordinal[info.Offset], recs))
			continue
		}
		where := fmt.Sprintf("@%d", info.Offset)
		if info.Offset > logStart {
			where = fmt.Sprintf("#%d", ordinal[info.Offset])
		}
		size := fmt.Sprint(info.Size)
		if info.Type == blockTypeLog {
			size = "(compressed)"
		}
		out = append(out, fmt.Sprintf("%s %c size=%s %x", where, info.Type, size, data))
	}
	return out
}

// checkSameTable: got must be want byte for byte; when it is not, the
// error shows the blocks that differ (log blocks inflated) and the
// layouts.
func checkSameTable(t *testing.T, want, got []byte) {
	t.Helper()
	if bytes.Equal(want, got) {
		return
	}
	wt, err := NewTable(bytes.NewReader(want), int64(len(want)), "want")
	if err != nil {
		t.Fatal(err)
	}
	gt, err := NewTable(bytes.NewReader(got), int64(len(got)), "got")
	if err != nil {
		t.Fatal(err)
	}
	t.Errorf("tables differ (%d bytes, want %d); blocks (-want +got):\n%s\nlayout (-want +got):\n%s",
		len(got), len(want), cmp.Diff(blockDump(t, wt), blockDump(t, gt)), cmp.Diff(wt.Layout(), gt.Layout()))
}

// TestRewriteGitFixtures rewrites every table git wrote with the same
// records and options and expects git's bytes back.
func TestRewriteGitFixtures(t *testing.T) {
	for _, dir := range fixtureDirs(t) {
		names, _ := filepath.Glob(filepath.Join(dir, "*.ref"))
		for _, name := range names {
			t.Run(filepath.Base(filepath.Dir(dir))+"/"+filepath.Base(name), func(t *testing.T) {
				data, err := os.ReadFile(name)
				if err != nil {
					t.Fatal(err)
				}
				tab, err := NewTable(bytes.NewReader(data), int64(len(data)), name)
				if err != nil {
					t.Fatal(err)
				}
				checkSameTable(t, data, rewriteTable(t, tab, optionsOf(tab)))
			})
		}
	}
}
