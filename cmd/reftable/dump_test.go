package main

import (
	"path/filepath"
	"testing"
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
