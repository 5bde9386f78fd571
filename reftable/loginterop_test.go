package reftable

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGitReadsOurLogBlocks writes thousands of reflog entries with our
// writer, compressible and not, in log blocks of several sizes, then has
// git show some and compact the stack, which makes it inflate every log
// block we wrote and write its own: the compacted table must hold the
// same logs, read with our reader.
func TestGitReadsOurLogBlocks(t *testing.T) {
	tests := []struct {
		name string
		fmt  string
		opts WriterOptions
	}{
		{name: "default", fmt: "sha1"},
		{name: "block256", fmt: "sha1", opts: WriterOptions{BlockSize: 256}},
		{name: "block64k-sha256", fmt: "sha256", opts: WriterOptions{Hash: SHA256, BlockSize: 65536}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newInteropRepo(t, tt.fmt)
			rng := rand.New(rand.NewPCG(1, 2))
			var logs []any
			const n = 3000
			for i := range n {
				msg := fmt.Sprintf("commit: message %d", i)
				if i%3 == 0 { // poorly compressible
					msg += fmt.Sprintf(" %x", rng.Uint64())
				}
				logs = append(logs, LogRecord{
					RefName: []byte(fmt.Sprintf("refs/heads/log/b%05d", i)), Type: LogUpdate,
					New: mustHex(t, r.commits[i%len(r.commits)]), Old: mustHex(t, r.commits[(i+1)%len(r.commits)]),
					Name: []byte("Re F. Store"), Email: []byte(fmt.Sprintf("user%d@example.com", i%7)),
					Time: 1700000000 + uint64(i), TZOffset: int16(i%5*100 - 200), Message: []byte(msg),
				})
			}
			refs := []any{RefRecord{Name: []byte("refs/heads/log/b00007"), Type: RefVal1, Value: mustHex(t, r.commits[7%len(r.commits)])}}
			writeStack(t, r.ReftableDir(), tt.opts, [][]any{logs, refs})
			ours := allLogs(t, r.ReftableDir())
			if len(ours) != n {
				t.Fatalf("our stack holds %d logs, want %d", len(ours), n)
			}

			got := strings.TrimSpace(r.Run("log", "-g", "--format=%H %gn <%ge> %gs", "refs/heads/log/b00007"))
			want := r.commits[7%len(r.commits)] + " Re F. Store <user0@example.com> commit: message 7"
			if got != want {
				t.Errorf("git log -g = %q, want %q", got, want)
			}

			r.Run("pack-refs", "--all")
			if names := tablesOf(t, r.ReftableDir()); len(names) != 1 {
				t.Fatalf("pack-refs left %d tables", len(names))
			}
			if diff := cmp.Diff(utLogStrings(ours), utLogStrings(allLogs(t, r.ReftableDir()))); diff != "" {
				t.Errorf("logs after git compacted our tables (-want +got):\n%s", diff)
			}
		})
	}
}

// allLogs returns the log records of every table of a stack directory,
// in table order.
func allLogs(t *testing.T, dir string) []LogRecord {
	t.Helper()
	var logs []LogRecord
	for _, name := range tablesOf(t, dir) {
		tab, _ := openFile(t, filepath.Join(dir, name))
		logs = append(logs, utLogs(t, tab.Logs(nil))...)
	}
	return logs
}
