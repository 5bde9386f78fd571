package reftable

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/refstore/refstore/internal/testutil/gittest"
)

// gitScript builds a history in r: commits, branches, annotated and
// lightweight tags, symrefs, a deleted branch and many branches, each git
// command writing its own table.
func gitScript(r *gittest.Repo, branches int) {
	r.Run("commit", "-q", "--allow-empty", "-m", "c1")
	r.Run("commit", "-q", "--allow-empty", "-m", "c2")
	r.Run("branch", "feature/x")
	r.Run("branch", "topic", "HEAD~1")
	r.Run("tag", "-a", "-m", "release 1.0", "v1.0", "HEAD~1")
	r.Run("tag", "light")
	r.Run("tag", "-a", "-m", "tag of a tag", "nested", "v1.0")
	r.Run("update-ref", "-m", "custom: move feature/x back", "refs/heads/feature/x", "HEAD~1")
	r.Run("symbolic-ref", "-m", "set origin HEAD", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
	r.Run("update-ref", "refs/remotes/origin/main", "HEAD")
	r.Run("branch", "-D", "topic")
	if branches > 0 {
		head := strings.TrimSpace(r.Run("rev-parse", "HEAD"))
		var stdin strings.Builder
		for i := 0; i < branches; i++ {
			fmt.Fprintf(&stdin, "create refs/heads/bulk/branch-%05d %s\n", i, head)
		}
		if _, err := r.RunInput(stdin.String(), "update-ref", "-m", "bulk create", "--stdin"); err != nil {
			r.T().Fatal(err)
		}
	}
}

func tablesOf(t *testing.T, dir string) []string {
	t.Helper()
	list, err := os.ReadFile(filepath.Join(dir, "tables.list"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(list))
}

func openFile(t *testing.T, path string) (*Table, []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := NewTable(bytes.NewReader(data), int64(len(data)), filepath.Base(path))
	if err != nil {
		t.Fatal(err)
	}
	return tab, data
}

// TestGitWriterByteIdentical has real git write tables with various
// options, then rewrites each with our writer and the same records and
// options: the files must be identical, log blocks too.
func TestGitWriterByteIdentical(t *testing.T) {
	tests := []struct {
		name     string
		format   string
		config   []string
		opts     WriterOptions
		branches int
	}{
		{name: "default", format: "sha1"},
		{name: "sha256", format: "sha256", opts: WriterOptions{Hash: SHA256}},
		{name: "many", format: "sha1", branches: 600},
		{name: "many-sha256", format: "sha256", branches: 600, opts: WriterOptions{Hash: SHA256}},
		{name: "block256", format: "sha1", branches: 300, config: []string{"reftable.blockSize", "256"}},
		{name: "restart1", format: "sha1", branches: 100, config: []string{"reftable.restartInterval", "1"}, opts: WriterOptions{RestartInterval: 1}},
		{name: "restart5-block1024", format: "sha256", branches: 300, config: []string{"reftable.restartInterval", "5", "reftable.blockSize", "1024"}, opts: WriterOptions{RestartInterval: 5, Hash: SHA256}},
		{name: "no-obj-index", format: "sha1", branches: 600, config: []string{"reftable.indexObjects", "false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := gittest.Init(t, tt.format)
			for i := 0; i < len(tt.config); i += 2 {
				r.Run("config", tt.config[i], tt.config[i+1])
			}
			gitScript(r, tt.branches)
			check := func(name string) {
				tab, data := openFile(t, filepath.Join(r.ReftableDir(), name))
				opts := tt.opts
				opts.BlockSize = tab.BlockSize()
				opts.MinUpdateIndex, opts.MaxUpdateIndex = tab.MinUpdateIndex(), tab.MaxUpdateIndex()
				opts.SkipIndexObjects = tab.refIndex > 0 && tab.objOffset == 0
				opts.ExactLogMessage = true
				checkSameTable(t, data, rewriteTable(t, tab, opts))
			}
			for _, name := range tablesOf(t, r.ReftableDir()) {
				check(name)
			}
			r.Run("pack-refs", "--all")
			names := tablesOf(t, r.ReftableDir())
			if len(names) != 1 {
				t.Fatalf("pack-refs left %d tables", len(names))
			}
			check(names[0])
		})
	}
}

// interopRepo is a git repository with commits and annotated tags whose
// refs the tests then write themselves.
type interopRepo struct {
	*gittest.Repo
	hash    Hash
	commits []string // oldest first
	tags    map[string]string
}

func newInteropRepo(t *testing.T, format string) *interopRepo {
	r := &interopRepo{Repo: gittest.Init(t, format), hash: SHA1, tags: map[string]string{}}
	if format == "sha256" {
		r.hash = SHA256
	}
	for i := 1; i <= 5; i++ {
		r.Run("commit", "-q", "--allow-empty", "-m", "c"+strconv.Itoa(i))
	}
	r.commits = strings.Fields(r.Run("rev-list", "--reverse", "HEAD"))
	r.Run("tag", "-a", "-m", "annotated", "v1", r.commits[1])
	r.Run("tag", "-a", "-m", "another", "v2", r.commits[3])
	for _, tag := range []string{"v1", "v2"} {
		r.tags[tag] = strings.TrimSpace(r.Run("rev-parse", "refs/tags/"+tag))
	}
	return r
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeStack replaces the repository's reftable stack by tables written
// with our writer, one table per batch, and returns their names.
func writeStack(t *testing.T, dir string, opts WriterOptions, batches [][]any) {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, n := range names {
		if err := os.Remove(n); err != nil {
			t.Fatal(err)
		}
	}
	var list strings.Builder
	for i, batch := range batches {
		o := opts
		o.MinUpdateIndex, o.MaxUpdateIndex = uint64(i+1), uint64(i+1)
		var buf bytes.Buffer
		w, err := NewWriter(&buf, o)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range batch {
			switch rec := rec.(type) {
			case RefRecord:
				rec.UpdateIndex = uint64(i + 1)
				err = w.AddRef(&rec)
			case LogRecord:
				rec.UpdateIndex = uint64(i + 1)
				err = w.AddLog(&rec)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("0x%012x-0x%012x-%08x.ref", i+1, i+1, 0x1234+i)
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		list.WriteString(name + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "tables.list"), []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGitReadsOurTables writes stacks with our writer into git
// repositories and checks what git sees: refs, peeled tags, symrefs,
// deletions, reflogs, and a clean fsck; then git writes on top and we read
// git's result.
func TestGitReadsOurTables(t *testing.T) {
	tests := []struct {
		name     string
		format   string
		opts     WriterOptions
		branches int
	}{
		{name: "sha1", format: "sha1"},
		{name: "sha256", format: "sha256", opts: WriterOptions{Hash: SHA256}},
		{name: "sha1-small-blocks", format: "sha1", branches: 400, opts: WriterOptions{BlockSize: 256}},
		{name: "sha256-small-blocks-unpadded", format: "sha256", branches: 400, opts: WriterOptions{Hash: SHA256, BlockSize: 300, Unpadded: true, RestartInterval: 3}},
		{name: "sha1-no-obj-index", format: "sha1", branches: 300, opts: WriterOptions{SkipIndexObjects: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newInteropRepo(t, tt.format)
			c := r.commits
			id := func(s string) []byte { return mustHex(t, s) }
			ident := func(ref string, old, new string, tz int16, msg string) LogRecord {
				var o []byte
				if old != "" {
					o = id(old)
				}
				return LogRecord{RefName: []byte(ref), Type: LogUpdate, Old: o, New: id(new),
					Name: []byte("Re F. Store"), Email: []byte("refstore@example.com"), Time: 1700001000, TZOffset: tz, Message: []byte(msg)}
			}
			var bulk []any
			for i := 0; i < tt.branches; i++ {
				bulk = append(bulk, RefRecord{Name: []byte(fmt.Sprintf("refs/heads/bulk/b%05d", i)), Type: RefVal1, Value: id(c[i%len(c)])})
			}
			batches := [][]any{
				{
					RefRecord{Name: []byte("HEAD"), Type: RefSymref, Target: []byte("refs/heads/main")},
					RefRecord{Name: []byte("refs/heads/main"), Type: RefVal1, Value: id(c[2])},
					RefRecord{Name: []byte("refs/heads/topic"), Type: RefVal1, Value: id(c[0])},
					ident("refs/heads/main", "", c[2], 530, "commit (initial): first"),
					ident("refs/heads/topic", "", c[0], 0, "branch: Created from HEAD"),
				},
				append(bulk,
					RefRecord{Name: []byte("refs/heads/main"), Type: RefVal1, Value: id(c[4])},
					RefRecord{Name: []byte("refs/remotes/origin/HEAD"), Type: RefSymref, Target: []byte("refs/remotes/origin/main")},
					RefRecord{Name: []byte("refs/remotes/origin/main"), Type: RefVal1, Value: id(c[3])},
					RefRecord{Name: []byte("refs/tags/v1"), Type: RefVal2, Value: id(r.tags["v1"]), Peeled: id(c[1])},
					RefRecord{Name: []byte("refs/tags/v2"), Type: RefVal2, Value: id(r.tags["v2"]), Peeled: id(c[3])},
					ident("refs/heads/main", c[2], c[4], -800, "commit: second\n"),
				),
				{
					RefRecord{Name: []byte("refs/heads/topic"), Type: RefDeletion},
					LogRecord{RefName: []byte("refs/heads/topic"), Type: LogDeletion},
				},
			}
			writeStack(t, r.ReftableDir(), tt.opts, batches)
			// The log tombstone must carry the index of the entry it hides.
			fixTopicTombstone(t, r.ReftableDir(), tt.opts)

			var want []string
			want = append(want, "HEAD "+c[4])
			for i := 0; i < tt.branches; i++ {
				want = append(want, fmt.Sprintf("refs/heads/bulk/b%05d %s", i, c[i%len(c)]))
			}
			want = append(want,
				"refs/heads/main "+c[4],
				"refs/remotes/origin/HEAD "+c[3],
				"refs/remotes/origin/main "+c[3],
				"refs/tags/v1 "+r.tags["v1"]+" "+c[1],
				"refs/tags/v2 "+r.tags["v2"]+" "+c[3],
			)
			got := strings.Split(strings.TrimSpace(r.Run("for-each-ref", "--include-root-refs",
				"--format=%(refname) %(objectname) %(*objectname)")), "\n")
			for i := range got {
				got[i] = strings.TrimSpace(got[i])
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("git for-each-ref (-want +got):\n%s", diff)
			}
			if s := strings.TrimSpace(r.Run("symbolic-ref", "HEAD")); s != "refs/heads/main" {
				t.Errorf("git symbolic-ref HEAD = %q", s)
			}
			if s := strings.TrimSpace(r.Run("rev-parse", "v2^{}", "origin/HEAD")); s != c[3]+"\n"+c[3] {
				t.Errorf("git rev-parse = %q", s)
			}
			reflog := strings.TrimSpace(r.Run("log", "-g", "--format=%H %gn <%ge> %gd %gs", "--date=raw", "refs/heads/main"))
			wantLog := c[4] + " Re F. Store <refstore@example.com> main@{1700001000 -0800} commit: second\n" +
				c[2] + " Re F. Store <refstore@example.com> main@{1700001000 +0530} commit (initial): first"
			if diff := cmp.Diff(wantLog, reflog); diff != "" {
				t.Errorf("git log -g (-want +got):\n%s", diff)
			}
			if out, err := r.RunInput("", "reflog", "exists", "refs/heads/topic"); err == nil {
				t.Errorf("reflog of deleted topic still exists: %s", out)
			}
			if out, err := r.RunInput("", "rev-parse", "--verify", "-q", "refs/heads/topic"); err == nil {
				t.Errorf("deleted topic still resolves: %s", out)
			}
			r.Run("fsck", "--no-progress")
			r.Run("refs", "verify")

			// git writes on top of our stack; we read git's result.
			r.Run("update-ref", "-m", "git was here", "refs/heads/from-git", c[0])
			r.Run("pack-refs", "--all")
			m := openStackDir(t, r.ReftableDir())
			ref, err := m.Ref([]byte("refs/heads/from-git"))
			if err != nil || !bytes.Equal(ref.Value, id(c[0])) {
				t.Errorf("after git update-ref: Ref = %v, %v", ref, err)
			}
			if _, err := m.Ref([]byte("refs/heads/topic")); !isNotFound(err) {
				t.Errorf("topic after git compaction: %v", err)
			}
			refs, _ := mergedLines(t, m)
			if len(refs) != len(want)+1 {
				t.Errorf("after git compaction: %d refs, want %d", len(refs), len(want)+1)
			}
		})
	}
}

// fixTopicTombstone rewrites the newest table so that its log tombstone for
// refs/heads/topic carries update index 1, the index of the entry it hides.
func fixTopicTombstone(t *testing.T, dir string, opts WriterOptions) {
	t.Helper()
	names := tablesOf(t, dir)
	last := names[len(names)-1]
	tab, _ := openFile(t, filepath.Join(dir, last))
	var buf bytes.Buffer
	o := opts
	o.MinUpdateIndex, o.MaxUpdateIndex = tab.MinUpdateIndex(), tab.MaxUpdateIndex()
	w, err := NewWriter(&buf, o)
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
	var logs []LogRecord
	for l, err := range tab.Logs(nil) {
		if err != nil {
			t.Fatal(err)
		}
		l = l.Clone()
		if string(l.RefName) == "refs/heads/topic" && l.IsDeletion() {
			l.UpdateIndex = 1
		}
		logs = append(logs, l)
	}
	slices.SortFunc(logs, func(a, b LogRecord) int {
		return bytes.Compare(appendLogKey(nil, a.RefName, a.UpdateIndex), appendLogKey(nil, b.RefName, b.UpdateIndex))
	})
	for i := range logs {
		if err := w.AddLog(&logs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, last), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
