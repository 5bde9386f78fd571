package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/refstore/refstore/reftable"
)

// logKey identifies a log record: a newer table's record with the same key
// replaces an older one.
type logKey struct {
	name  string
	index uint64
}

// FuzzMerged writes 1..6 tables, each a batch of ref updates, ref
// deletions, reflog entries and reflog deletions at increasing update
// indexes, and checks the merged view against a map that applies the
// batches in order.
func FuzzMerged(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x00\x03\x05\x01\x04\x05\x02\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"))
	f.Add(bytes.Repeat([]byte{0x01, 0x07, 0x13, 0x44, 0x02, 0x83, 0xfe, 0x05, 0x09}, 50))
	f.Add(bytes.Repeat([]byte{0x00, 0x05, 0x11, 0x02, 0x04, 0x03}, 120))
	f.Add(bytes.Repeat([]byte("merged\x03\x04\x00"), 80))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &source{data: data}
		hash := pick(s, reftable.SHA1, reftable.SHA256)
		hs := hash.Size()
		pool := s.idPool(hs)
		var universe [][]byte
		for n := 1 + s.intn(10); n > 0; n-- {
			name := s.name()
			if !slices.ContainsFunc(universe, func(u []byte) bool { return bytes.Equal(u, name) }) {
				universe = append(universe, name)
			}
		}

		modelRefs := map[string]reftable.RefRecord{}
		modelLogs := map[logKey]reftable.LogRecord{}
		var tables []*reftable.Table
		update := pick(s, uint64(1), 100, 1<<40)
		for n := 1 + s.intn(6); n > 0; n-- {
			update += uint64(1 + s.intn(3))
			opts := s.writerOptions()
			opts.Hash = hash
			opts.MinUpdateIndex, opts.MaxUpdateIndex = update, update
			batchRefs := map[string]reftable.RefRecord{}
			batchLogs := map[logKey]reftable.LogRecord{}
			for k := s.intn(16); k > 0; k-- {
				name := pick(s, universe...)
				if s.bool() {
					batchRefs[string(name)] = s.refRecord(name, update, pool)
					continue
				}
				// Reflog entries may rewrite or delete older ones.
				index := update - uint64(s.intn(int(min(update, 4))))
				batchLogs[logKey{string(name), index}] = s.logRecord(name, index, pool)
			}
			refs := slices.SortedFunc(maps.Values(batchRefs), compareRefs)
			logs := slices.SortedFunc(maps.Values(batchLogs), compareLogs)
			raw := writeTable(t, opts, refs, logs)
			if raw == nil {
				return
			}
			name := fmt.Sprintf("table-%d", len(tables))
			tab, err := reftable.NewTable(bytes.NewReader(raw), int64(len(raw)), name)
			if err != nil {
				t.Fatalf("NewTable(%s): %v", name, err)
			}
			tables = append(tables, tab)
			maps.Copy(modelRefs, batchRefs)
			for k, l := range batchLogs {
				modelLogs[k] = normalised(l, hs)
			}
		}

		for _, show := range []bool{false, true} {
			m, err := reftable.NewMerged(tables, reftable.MergedOptions{ShowDeletions: show})
			if err != nil {
				t.Fatalf("NewMerged: %v", err)
			}
			checkMerged(t, m, show, universe, pool, modelRefs, modelLogs)
		}

		// Tables of another hash function cannot be merged.
		other := reftable.SHA256
		if hash == reftable.SHA256 {
			other = reftable.SHA1
		}
		odata := writeTable(t, reftable.WriterOptions{Hash: other}, []reftable.RefRecord{
			{Name: []byte("HEAD"), Type: reftable.RefSymref, Target: []byte("refs/heads/main")},
		}, nil)
		otab, err := reftable.NewTable(bytes.NewReader(odata), int64(len(odata)), "other")
		if err != nil {
			t.Fatalf("NewTable(other): %v", err)
		}
		for _, mixed := range [][]*reftable.Table{
			append(slices.Clone(tables), otab),
			append([]*reftable.Table{otab}, tables...),
		} {
			if _, err := reftable.NewMerged(mixed, reftable.MergedOptions{}); !errors.Is(err, reftable.ErrHashMismatch) {
				t.Errorf("NewMerged of %v and %v tables: %v, want ErrHashMismatch", hash, other, err)
			}
		}
	})
}

// checkMerged compares the merged view m with the model: the newest record
// of every ref and log key, deletions shown only when show is set.
func checkMerged(t *testing.T, m *reftable.Merged, show bool, universe, pool [][]byte,
	modelRefs map[string]reftable.RefRecord, modelLogs map[logKey]reftable.LogRecord) {
	t.Helper()
	var wantRefs []reftable.RefRecord
	for _, r := range modelRefs {
		if show || r.Type != reftable.RefDeletion {
			wantRefs = append(wantRefs, r)
		}
	}
	slices.SortFunc(wantRefs, compareRefs)
	var wantLogs []reftable.LogRecord
	for _, l := range modelLogs {
		if show || l.Type != reftable.LogDeletion {
			wantLogs = append(wantLogs, l)
		}
	}
	slices.SortFunc(wantLogs, compareLogs)

	gotRefs := collect(t, "Refs(nil)", m.Refs(nil), cloneRef)
	if diff := diffRefs(wantRefs, gotRefs); diff != "" {
		t.Errorf("show=%v: Refs(nil) (-want +got):\n%s", show, diff)
	}
	gotLogs := collect(t, "Logs(nil)", m.Logs(nil), cloneLog)
	if diff := diffLogs(wantLogs, gotLogs); diff != "" {
		t.Errorf("show=%v: Logs(nil) (-want +got):\n%s", show, diff)
	}

	names := append(slices.Clone(universe), []byte("HEAD"), []byte("refs/heads/main"), []byte("zz"))
	for _, name := range names {
		want, ok := modelRefs[string(name)]
		ok = ok && (show || want.Type != reftable.RefDeletion)
		got, err := m.Ref(name)
		switch {
		case !ok && !errors.Is(err, reftable.ErrNotFound):
			t.Errorf("show=%v: Ref(%q) = %+v, %v; want ErrNotFound", show, name, got, err)
		case ok && err != nil:
			t.Errorf("show=%v: Ref(%q): %v", show, name, err)
		case ok:
			if diff := diffRefs([]reftable.RefRecord{want}, []reftable.RefRecord{got}); diff != "" {
				t.Errorf("show=%v: Ref(%q) (-want +got):\n%s", show, name, diff)
			}
		}

		var wantFor []reftable.LogRecord
		for _, l := range wantLogs {
			if bytes.Equal(l.RefName, name) {
				wantFor = append(wantFor, l)
			}
		}
		gotFor := collect(t, fmt.Sprintf("LogsFor(%q)", name), m.LogsFor(name), cloneLog)
		if diff := diffLogs(wantFor, gotFor); diff != "" {
			t.Errorf("show=%v: LogsFor(%q) (-want +got):\n%s", show, name, diff)
		}

		prefix := name[:len(name)/2]
		var wantPrefix []reftable.RefRecord
		for _, r := range wantRefs {
			if bytes.HasPrefix(r.Name, prefix) {
				wantPrefix = append(wantPrefix, r)
			}
		}
		gotPrefix := collect(t, fmt.Sprintf("Refs(%q)", prefix), m.Refs(prefix), cloneRef)
		if diff := diffRefs(wantPrefix, gotPrefix); diff != "" {
			t.Errorf("show=%v: Refs(%q) (-want +got):\n%s", show, prefix, diff)
		}
	}

	for _, id := range pool {
		var wantFor []reftable.RefRecord
		for _, r := range wantRefs {
			if pointsAt(&r, id) {
				wantFor = append(wantFor, r)
			}
		}
		gotFor := collect(t, fmt.Sprintf("RefsFor(%x)", id), m.RefsFor(id), cloneRef)
		if diff := diffRefs(wantFor, gotFor); diff != "" {
			t.Errorf("show=%v: RefsFor(%x) (-want +got):\n%s", show, id, diff)
		}
	}
}
