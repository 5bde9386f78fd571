package reftable

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// inferRewrite writes the records of data's table again with the options
// WriterOptions infers, and returns the options and the new table.
func inferRewrite(t *testing.T, data []byte) (WriterOptions, []byte) {
	t.Helper()
	tab := utOpen(t, data)
	opts, err := tab.WriterOptions()
	if err != nil {
		t.Fatalf("WriterOptions: %v", err)
	}
	opts.ExactLogMessage = true
	return opts, utWrite(t, opts, utRefs(t, tab.Refs(nil)), utLogs(t, tab.Logs(nil)))
}

// inferRefs returns n refs: branches and tags, one symbolic, so that
// some keys share no prefix with the one before (restart points git's
// writer adds of its own).
func inferRefs(h Hash, n int) []RefRecord {
	refs := []RefRecord{{Name: []byte("HEAD"), UpdateIndex: 1, Type: RefSymref, Target: []byte("refs/heads/branch-0000")}}
	refs = append(refs, utBranches(h, n)...)
	for i := range n / 4 {
		refs = append(refs, RefRecord{Name: fmt.Appendf(nil, "refs/tags/v%04d", i), UpdateIndex: 1, Type: RefVal2, Value: utID(h, n+i), Peeled: utID(h, i)})
	}
	return refs
}

// TestWriterOptionsRoundTrip writes tables with many options and checks
// that writing their records again with the options WriterOptions infers
// gives the same bytes (issue 17, writer 7: rewrite used git's options,
// not the input's).
func TestWriterOptionsRoundTrip(t *testing.T) {
	type shape struct {
		bs, ri           int
		unpadded, header bool
		noObj            bool
		h                Hash
		refs, logs       int
	}
	var shapes []shape
	for _, bs := range []int{256, 1000, 4096} {
		for _, ri := range []int{1, 2, 3, 7, 16, 64, 300} {
			shapes = append(shapes, shape{bs: bs, ri: ri, refs: 600, logs: 300})
		}
		shapes = append(shapes,
			shape{bs: bs, ri: 16, unpadded: true, refs: 600, logs: 300},
			shape{bs: bs, ri: 5, unpadded: true, header: true, refs: 600, logs: 300},
			shape{bs: bs, ri: 16, noObj: true, refs: 600, logs: 10},
			shape{bs: bs, ri: 64, h: SHA256, refs: 600, logs: 300},
			shape{bs: bs, ri: 16, refs: 3, logs: 2},
			shape{bs: bs, ri: 1, refs: 0, logs: 40},
			shape{bs: bs, ri: 64, unpadded: true, refs: 0, logs: 40},
		)
	}
	// Two or three ref blocks: only the index tells padded from not.
	shapes = append(shapes, shape{bs: 1024, ri: 16, unpadded: true, refs: 40}, shape{bs: 1024, ri: 16, refs: 40})
	for _, s := range shapes {
		name := fmt.Sprintf("bs=%d/ri=%d/unpadded=%v/header0=%v/noobj=%v/%v/refs=%d/logs=%d", s.bs, s.ri, s.unpadded, s.header, s.noObj, s.h, s.refs, s.logs)
		t.Run(name, func(t *testing.T) {
			opts := WriterOptions{BlockSize: s.bs, RestartInterval: s.ri, Unpadded: s.unpadded, UnalignedHeader: s.header,
				SkipIndexObjects: s.noObj, Hash: s.h, MinUpdateIndex: 1, MaxUpdateIndex: 10}
			var refs []RefRecord
			if s.refs > 0 {
				refs = inferRefs(s.h, s.refs)
			}
			var logs []LogRecord
			for i := 0; i < s.logs; i += 10 {
				logs = append(logs, utLogsFor(s.h, fmt.Sprintf("refs/heads/branch-%04d", i), 10, "commit: more")...)
			}
			data := utWrite(t, opts, refs, logs)
			got, again := inferRewrite(t, data)
			if !bytes.Equal(again, data) {
				t.Errorf("rewritten with %+v: %d bytes differ from the %d written with %+v", got, len(again), len(data), opts)
			}
		})
	}
}

// TestWriterOptionsInferred checks the options inferred from tables
// whose blocks show them, and the fallbacks where they do not.
func TestWriterOptionsInferred(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts WriterOptions
		refs []RefRecord
		want WriterOptions
	}{
		{"git's defaults", WriterOptions{}, inferRefs(SHA1, 600),
			WriterOptions{BlockSize: 4096, RestartInterval: 16}},
		{"interval 64", WriterOptions{RestartInterval: 64}, inferRefs(SHA1, 600),
			WriterOptions{BlockSize: 4096, RestartInterval: 64}},
		{"interval 1", WriterOptions{RestartInterval: 1}, inferRefs(SHA1, 600),
			WriterOptions{BlockSize: 4096, RestartInterval: 1}},
		{"unpadded, block size 0", WriterOptions{BlockSize: 1000, Unpadded: true, UnalignedHeader: true, RestartInterval: 5}, inferRefs(SHA1, 600),
			// The longest block (-1), not longer than 1000.
			WriterOptions{BlockSize: -1, Unpadded: true, UnalignedHeader: true, RestartInterval: 5}},
		{"no obj index", WriterOptions{SkipIndexObjects: true}, inferRefs(SHA1, 600),
			WriterOptions{BlockSize: 4096, RestartInterval: 16, SkipIndexObjects: true}},
		// Blocks of one record each (and no index, whose records
		// would show it): no interval shows; git's default.
		{"one record a block", WriterOptions{BlockSize: 80, RestartInterval: 3}, utBranches(SHA1, 3),
			WriterOptions{BlockSize: 80, RestartInterval: 16}},
		// No restart point but the first of each block: the interval
		// is at least the most records of a block (an interval of 16
		// would add restart points).
		{"one restart a block", WriterOptions{BlockSize: 4096, RestartInterval: 1000}, utBranches(SHA1, 300),
			WriterOptions{BlockSize: 4096, RestartInterval: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.MinUpdateIndex, tc.opts.MaxUpdateIndex = 1, 1
			tc.want.MinUpdateIndex, tc.want.MaxUpdateIndex, tc.want.Hash = 1, 1, SHA1
			data := utWrite(t, tc.opts, tc.refs, nil)
			records, longest := 0, 0
			for _, b := range utBlockInfos(t, utOpen(t, data)) {
				records, longest = max(records, b.Records), max(longest, b.Len)
			}
			if tc.want.RestartInterval < 0 {
				tc.want.RestartInterval = records
			}
			if tc.want.BlockSize < 0 {
				tc.want.BlockSize = longest
			}
			got, err := utOpen(t, data).WriterOptions()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("WriterOptions (-want +got):\n%s", diff)
			}
			if _, again := inferRewrite(t, data); !bytes.Equal(again, data) {
				t.Errorf("rewritten with the inferred options: differs")
			}
		})
	}
}

// TestWriterOptionsFixtures: the options inferred from git's tables are
// git's (block size 4096 or 256, interval 16, padded, obj index on);
// TestRewriteGitFixtures rewrites the tables with them.
func TestWriterOptionsFixtures(t *testing.T) {
	for _, fx := range []string{"many-refs", "small-blocks", "compacted", "sha256-basic"} {
		for _, tab := range openStackDir(t, "testdata/git/"+fx+"/reftable").Tables() {
			opts, err := tab.WriterOptions()
			if err != nil {
				t.Fatal(err)
			}
			if opts.RestartInterval != 16 || opts.Unpadded || opts.SkipIndexObjects || opts.BlockSize != tab.BlockSize() {
				t.Errorf("%s/%s: %+v, want git's defaults", fx, tab.Name(), opts)
			}
		}
	}
}

// TestWriterOptionsLayouts: tables laid out as JGit lays them out give
// options that write the same records.
func TestWriterOptionsLayouts(t *testing.T) {
	for _, c := range layoutCases() {
		data := layoutWrite(t, c)
		opts, again := inferRewrite(t, data)
		tab := utOpen(t, again)
		if diff := cmp.Diff(utRefStrings(c.refs), utRefStrings(utRefs(t, tab.Refs(nil)))); diff != "" {
			t.Errorf("%s: refs (-want +got):\n%s", c.file, diff)
		}
		if diff := cmp.Diff(utLogStrings(c.logs), utLogStrings(utLogs(t, tab.Logs(nil)))); diff != "" {
			t.Errorf("%s: logs (-want +got):\n%s", c.file, diff)
		}
		if opts.BlockSize != c.opts.BlockSize {
			t.Errorf("%s: %+v", c.file, opts)
		}
	}
}
