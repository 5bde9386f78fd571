package tool

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/refstore/refstore/internal/testutil/s3fake"
	"github.com/refstore/refstore/objstore"
	"github.com/refstore/refstore/s3store"
)

// s3Env starts an in-process S3 server with bucket "bkt" and points the
// AWS_* variables at it, for testConfig's opener and the programs the
// tests start.
func s3Env(t *testing.T) *s3fake.Server {
	t.Helper()
	srv, url := s3fake.New(t, "bkt")
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testsecret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	return srv
}

// TestS3Path: the stack commands take s3://bucket/prefix for PATH, and
// the same updates give the same refs, reflogs and digest on S3 as in a
// directory.
func TestS3Path(t *testing.T) {
	t.Setenv("GIT_COMMITTER_NAME", "T Ester")
	t.Setenv("GIT_COMMITTER_EMAIL", "tester@example.com")
	t.Setenv("GIT_COMMITTER_DATE", "@1700002000 -0800")
	srv := s3Env(t)
	dir := filepath.Join(t.TempDir(), "reftable")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tables.list"), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	const url = "s3://bkt/repo/reftable"
	scripts := []string{
		"create refs/heads/main " + oidA + "\ncreate refs/heads/feature/x " + oidB + "\nsymref-create HEAD refs/heads/main\n",
		"update refs/heads/main " + oidB + " " + oidA + "\ncreate refs/tags/v1 " + oidA + "\n",
		"delete refs/heads/feature/x " + oidB + "\n",
	}
	for _, where := range []string{dir, url} {
		for _, s := range scripts {
			mustRun(t, s, "update", "-m", "step", where)
		}
	}
	for _, args := range [][]string{{"refs"}, {"logs"}, {"digest"}, {"show", "_", "HEAD"}} {
		run := func(where string) string {
			a := append([]string(nil), args...)
			if len(a) > 1 {
				a[1] = where
			} else {
				a = append(a, where)
			}
			return mustRun(t, "", a...)
		}
		if diff := cmp.Diff(run(dir), run(url)); diff != "" {
			t.Errorf("%s on S3 differs from the directory (-dir +s3):\n%s", args[0], diff)
		}
	}
	if got := mustRun(t, "", "show", url, "refs/heads/main"); !strings.Contains(got, oidB) {
		t.Errorf("show: %s", got)
	}
	r := runTool(t, "update refs/heads/main "+oidA+" "+oidA+"\n", "update", url)
	if r.code != 1 || !strings.Contains(r.stderr, "refs/heads/main") {
		t.Errorf("a compare-and-swap on S3 with the wrong old value: %v", r)
	}
	mustRun(t, "", "compact", url)
	if got := mustRun(t, "", "stats", url); !strings.Contains(got, "total tables=1 ") {
		t.Errorf("stats after compact:\n%s", got)
	}
	tables := 0
	for _, k := range srv.Keys("bkt") {
		if strings.HasSuffix(k, ".ref") {
			tables++
		}
		if !strings.HasPrefix(k, "repo/reftable/") {
			t.Errorf("object %s outside the prefix", k)
		}
	}
	if tables != 1 {
		t.Errorf("%d tables after compact: %q", tables, srv.Keys("bkt"))
	}
	// dump and verify read the tables byte for byte, from S3 as from
	// files: the same output but for the table names.
	mustRun(t, "", "compact", dir)
	store, err := s3store.FromEnv(url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Put(context.Background(), "tables.list.lock", nil, objstore.Cond{}); err != nil {
		t.Fatal(err)
	}
	dirNames, _ := os.ReadDir(dir)
	for _, args := range [][]string{{"dump", "-records"}, {"verify", "-v"}} {
		a := append([]string(nil), args...)
		got := runTool(t, "", append(a, url)...)
		want := runTool(t, "", append(a, dir)...)
		for _, e := range dirNames {
			want.stdout = strings.ReplaceAll(want.stdout, e.Name(), "X")
		}
		for _, k := range srv.Keys("bkt") {
			got.stdout = strings.ReplaceAll(got.stdout, strings.TrimPrefix(k, "repo/reftable/"), "X")
		}
		if args[0] == "verify" {
			// The lock object is a leftover on S3 only.
			if got.code != 0 || !strings.Contains(got.stdout, "leftover: lock file") {
				t.Errorf("verify on S3 with a lock object: %v", got)
			}
			continue
		}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(want)); diff != "" {
			t.Errorf("%s on S3 differs from the directory (-dir +s3):\n%s", args[0], diff)
		}
	}
	if err := store.Delete(context.Background(), "tables.list.lock"); err != nil {
		t.Fatal(err)
	}
	if r := runTool(t, "", "verify", url); r.code != 0 {
		t.Errorf("verify on S3: %v", r)
	}
	if r := runTool(t, "", "refs", "s3:///x"); r.code != 1 || r.stderr != "reftable refs: s3:///x: no bucket\n" {
		t.Errorf("refs of an URL without bucket: %v", r)
	}
}

// TestNoS3: a configuration without an S3 opener hands the command
// lines that need S3 to its delegate, and none other; without a
// delegate, they fail saying the program has no S3 access.
func TestNoS3(t *testing.T) {
	needs := &Command{Name: "needs", Short: "s", Long: "l", NeedsS3: true, Run: func(*Env, any, []string) error { return nil }}
	var got [][]string
	cfg := Config{
		Commands: []*Command{needs},
		Delegate: func(_ context.Context, args []string, _ io.Reader, stdout, _ io.Writer) int {
			got = append(got, args)
			io.WriteString(stdout, "delegated\n")
			return 42
		},
	}
	for _, tc := range []struct {
		args      []string
		delegated bool
	}{
		{[]string{"refs", "s3://bkt/repo"}, true},
		{[]string{"update", "-m", "x", "s3://bkt/repo"}, true},
		{[]string{"needs"}, true},
		{[]string{"refs", "../reftable/testdata/git/sha1-basic/reftable"}, false},
		{[]string{"help", "needs"}, false},
	} {
		got = nil
		var stdout, stderr strings.Builder
		code := Main(t.Context(), cfg, tc.args, strings.NewReader(""), &stdout, &stderr)
		if tc.delegated != (got != nil) || tc.delegated && (code != 42 || stdout.String() != "delegated\n") {
			t.Errorf("%q: exit %d, delegated %q, stdout %q", tc.args, code, got, stdout.String())
		}
	}
	cfg.Delegate = nil
	var stdout, stderr strings.Builder
	code := Main(t.Context(), cfg, []string{"refs", "s3://bkt/repo"}, strings.NewReader(""), &stdout, &stderr)
	if want := "reftable refs: s3://bkt/repo: " + errNoS3.Error() + "\n"; code != 1 || stderr.String() != want {
		t.Errorf("refs s3:// without S3: exit %d, stderr %q, want %q", code, stderr.String(), want)
	}
}

// TestS3PathUnsafe: a store that ignores conditional writes is refused
// by every command, naming the failed check.
func TestS3PathUnsafe(t *testing.T) {
	srv := s3Env(t)
	srv.IgnoreConditions = true
	r := runTool(t, "create refs/heads/main "+oidA+"\n", "update", "s3://bkt/repo")
	if r.code != 1 || !strings.Contains(r.stderr, "second create-only write of the same key succeeded") {
		t.Errorf("update on a store that ignores conditions: %v", r)
	}
	if keys := srv.Keys("bkt"); len(keys) != 0 {
		t.Errorf("objects after the refused update: %q", keys)
	}
}

// TestS3ReadOnly: the commands that only read a stack on S3 work with
// credentials that cannot write (they do not probe the store, whose
// probe writes) and change nothing; a write is refused by the store.
func TestS3ReadOnly(t *testing.T) {
	srv := s3Env(t)
	const url = "s3://bkt/repo/reftable"
	mustRun(t, "create refs/heads/main "+oidA+"\nsymref-create HEAD refs/heads/main\n", "update", url)
	mustRun(t, "create refs/tags/v1 "+oidB+"\n", "update", url)
	before := srv.Keys("bkt")
	writes := 0
	srv.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return false
		}
		writes++
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>read-only</Message></Error>`)
		return true
	}
	for _, args := range [][]string{
		{"refs", url}, {"show", url, "HEAD"}, {"logs", url}, {"digest", url}, {"stats", url},
		{"dump", "-records", url}, {"verify", url}, {"locks", url},
	} {
		if r := runTool(t, "", args...); r.code != 0 {
			t.Errorf("%s with read-only credentials: %v", args[0], r)
		}
	}
	if writes != 0 {
		t.Errorf("the read-only commands tried %d writes", writes)
	}
	if r := runTool(t, "create refs/heads/x "+oidA+"\n", "update", url); r.code != 1 || !strings.Contains(r.stderr, ": read-only") {
		t.Errorf("update with read-only credentials: %v", r)
	}
	if diff := cmp.Diff(before, srv.Keys("bkt")); diff != "" {
		t.Errorf("objects changed (-before +after):\n%s", diff)
	}
}

// TestS3PathSHA256: a stack of SHA-256 tables on S3 opens as SHA-256
// (the second try, through the same helper) and reads as in a directory.
func TestS3PathSHA256(t *testing.T) {
	s3Env(t)
	dir := filepath.Join(fixtures, "sha256-basic", "reftable")
	store, err := s3store.FromEnv("s3://bkt/sha256")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Put(context.Background(), e.Name(), data, objstore.Cond{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"refs"}, {"logs"}, {"digest"}} {
		want := mustRun(t, "", append(args, dir)...)
		if got := mustRun(t, "", append(args, "s3://bkt/sha256")...); got != want {
			t.Errorf("%s on S3 differs from the directory:\n%s\nwant:\n%s", args[0], got, want)
		}
	}
}

// TestS3ReadRetried: a read command on S3 whose table a compaction
// deletes while it reads (after the list naming it) runs again from the
// new list, printing its output once. The server runs the compaction when
// refs first reads a table past its opening reads.
func TestS3ReadRetried(t *testing.T) {
	srv := s3Env(t)
	const url = "s3://bkt/retried/reftable"
	const n = 30000
	var in strings.Builder
	for i := range n {
		fmt.Fprintf(&in, "create refs/heads/b%05d %s\n", i, oidA)
	}
	mustRun(t, in.String(), "update", url)
	mustRun(t, "create refs/tags/v1 "+oidB+"\n", "update", url)
	var fired atomic.Bool
	vanished := ""
	srv.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		// The second 64 KiB block of the large table: opening it reads
		// its first and last ones.
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, ".ref") || !strings.HasPrefix(r.Header.Get("Range"), "bytes=65536-") || fired.Swap(true) {
			return false
		}
		mustRun(t, "", "compact", url)
		key := strings.TrimPrefix(r.URL.Path, "/bkt/")
		if !slices.Contains(srv.Keys("bkt"), key) {
			vanished = key
		}
		return false
	}
	r := runTool(t, "", "refs", url)
	if r.code != 0 {
		t.Fatalf("refs while a compaction deletes its table: %v", r)
	}
	if vanished == "" {
		t.Fatal("no table vanished under refs: the test did not interleave")
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	increasing := true
	for i := 1; i < len(lines); i++ {
		increasing = increasing && lines[i-1] < lines[i]
	}
	if len(lines) != n+1 || !increasing {
		t.Errorf("refs printed %d lines, in increasing order %v; want each of the %d refs once, in order", len(lines), increasing, n+1)
	}
}

// TestHeldOutput: a read command's output is held up to its bound, then
// what was held and everything after is passed on, in order.
func TestHeldOutput(t *testing.T) {
	var out bytes.Buffer
	h := &heldOutput{out: &out, max: 10}
	for _, w := range []string{"abcdef", "ghijkl", "mno"} {
		if n, err := h.Write([]byte(w)); n != len(w) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", w, n, err)
		}
		if w == "abcdef" && (out.Len() != 0 || h.passed) {
			t.Fatalf("under the bound: %q passed on", out.String())
		}
	}
	if !h.passed || out.String() != "abcdefghijklmno" || h.buf.Len() != 0 {
		t.Errorf("past the bound: passed %v, out %q, %d bytes held", h.passed, out.String(), h.buf.Len())
	}
}
