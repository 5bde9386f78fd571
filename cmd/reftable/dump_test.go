package main

import (
	"path/filepath"
	"testing"

	"github.com/refstore/refstore/stack"
)

// TestDumpStats checks dump and stats against golden files; run with
// -rewrite to regenerate them.
func TestDumpStats(t *testing.T) {
	for _, fixture := range []string{"sha1-basic", "small-blocks", "sha256-basic"} {
		dir := filepath.Join(fixtures, fixture, "reftable")
		for _, tc := range []struct {
			name string
			args []string
		}{
			{"dump", []string{"dump", dir}},
			{"dump-records", []string{"dump", "-records", dir}},
			{"dump-json", []string{"dump", "-json", "-records", dir}},
			{"stats", []string{"stats", dir}},
			{"stats-json", []string{"stats", "-json", dir}},
		} {
			t.Run(fixture+"/"+tc.name, func(t *testing.T) {
				checkGolden(t, filepath.Join(fixture, tc.name), runTool(t, "", tc.args...).String())
			})
		}
	}
}

// TestStatsCompactionAgrees checks the geometric plan stats prints
// against the stack's own CompactionRequired on the 15-table fixture.
func TestStatsCompactionAgrees(t *testing.T) {
	repo := makeRepo(t, "sha1-basic", "")
	tgt, err := resolve(repo)
	if err != nil {
		t.Fatal(err)
	}
	v, err := tgt.openView()
	if err != nil {
		t.Fatal(err)
	}
	var sizes []uint64
	for _, tbl := range v.Tables() {
		sizes = append(sizes, compactionWeight(tbl))
	}
	v.Close()
	s, e := geometricSegment(sizes, 2)
	st, err := tgt.openStack(stack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got, want := e-s > 1, st.CompactionRequired(); got != want {
		t.Errorf("stats says compaction needed = %v, stack says %v", got, want)
	}
}
