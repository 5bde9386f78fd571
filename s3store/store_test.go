package s3store_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/refstore/refstore/internal/testutil/s3fake"
	"github.com/refstore/refstore/objstore"
	"github.com/refstore/refstore/s3store"
)

// fake starts an in-process S3 server with bucket "bkt" and returns it and
// a Store on prefix "pre/" of it.
func fake(t *testing.T) (*s3fake.Server, *s3store.Store) {
	t.Helper()
	srv, url := s3fake.New(t, "bkt")
	return srv, open(t, url, "pre/")
}

func open(t testing.TB, url, prefix string) *s3store.Store {
	t.Helper()
	st, err := s3store.New(s3store.Config{Endpoint: url, AccessKey: "k", SecretKey: "s", Bucket: "bkt", Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestStoreConditions(t *testing.T) {
	ctx := t.Context()
	srv, s := fake(t)
	if _, _, err := s.Get(ctx, "k", ""); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("Get of a missing key: %v", err)
	}
	if _, _, err := s.Head(ctx, "k"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("Head of a missing key: %v", err)
	}
	e1, err := s.Put(ctx, "k", []byte("hello"), objstore.Cond{IfNoneMatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.Keys("bkt"); !cmp.Equal(got, []string{"pre/k"}) {
		t.Errorf("keys in the bucket: %q, want the prefixed key", got)
	}
	_, err = s.Put(ctx, "k", []byte("again"), objstore.Cond{IfNoneMatch: true})
	if !errors.Is(err, objstore.ErrPrecondition) {
		t.Errorf("second create-only Put: %v", err)
	}
	if err == nil || !strings.Contains(err.Error(), "create-only put s3://bkt/pre/k") {
		t.Errorf("error does not name the operation and object: %v", err)
	}
	e2, err := s.Put(ctx, "k", []byte("world!"), objstore.Cond{IfMatch: e1})
	if err != nil || e2 == e1 {
		t.Fatalf("Put If-Match current: etag %s after %s, %v", e2, e1, err)
	}
	if _, err := s.Put(ctx, "k", []byte("x"), objstore.Cond{IfMatch: e1}); !errors.Is(err, objstore.ErrPrecondition) {
		t.Errorf("Put If-Match stale: %v", err)
	}
	if _, err := s.Put(ctx, "missing", []byte("x"), objstore.Cond{IfMatch: e1}); !errors.Is(err, objstore.ErrPrecondition) {
		t.Errorf("Put If-Match on a missing key: %v", err)
	}
	if _, _, err := s.Head(ctx, "missing"); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("a refused If-Match Put created its key: %v", err)
	}
	data, etag, err := s.Get(ctx, "k", "")
	if err != nil || string(data) != "world!" || etag != e2 {
		t.Errorf("Get = %q, %s, %v; want world!, %s", data, etag, err, e2)
	}
	if _, _, err := s.Get(ctx, "k", e2); !errors.Is(err, objstore.ErrNotModified) {
		t.Errorf("Get with the current ETag: %v", err)
	}
	if data, _, err := s.Get(ctx, "k", e1); err != nil || string(data) != "world!" {
		t.Errorf("Get with a stale ETag = %q, %v", data, err)
	}
	if size, etag, err := s.Head(ctx, "k"); size != 6 || etag != e2 || err != nil {
		t.Errorf("Head = %d, %s, %v", size, etag, err)
	}
	e3, err := s.Put(ctx, "k", nil, objstore.Cond{})
	if err != nil || e3 == e2 {
		t.Errorf("unconditional Put of nothing: %s, %v", e3, err)
	}
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "k"); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
	if _, _, err := s.Get(ctx, "k", e3); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("conditional Get of a deleted key: %v", err)
	}
}

func TestStoreReadAt(t *testing.T) {
	ctx := t.Context()
	_, s := fake(t)
	if _, err := s.Put(ctx, "t", []byte("0123456789"), objstore.Cond{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		off, len int
		want     string
		err      error
	}{
		{0, 10, "0123456789", nil},
		{3, 4, "3456", nil},
		{8, 4, "89", io.EOF},
		{10, 1, "", io.EOF},
		{12, 3, "", io.EOF},
		{5, 0, "", nil},
	} {
		p := make([]byte, c.len)
		n, err := s.ReadAt(ctx, "t", p, int64(c.off))
		if string(p[:n]) != c.want || err != c.err {
			t.Errorf("ReadAt(%d bytes at %d) = %q, %v; want %q, %v", c.len, c.off, p[:n], err, c.want, c.err)
		}
	}
	if _, err := s.ReadAt(ctx, "missing", make([]byte, 1), 0); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("ReadAt of a missing key: %v", err)
	}
}

// TestStoreReadHead: the first bytes of an object with its size and ETag,
// in one ranged GET; an empty object and a missing one too.
func TestStoreReadHead(t *testing.T) {
	ctx := t.Context()
	_, s := fake(t)
	etag, err := s.Put(ctx, "t", []byte("0123456789"), objstore.Cond{})
	if err != nil {
		t.Fatal(err)
	}
	empty, err := s.Put(ctx, "e", nil, objstore.Cond{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key  string
		len  int
		want string
		size int64
		etag string
	}{
		{"t", 4, "0123", 10, etag},
		{"t", 10, "0123456789", 10, etag},
		{"t", 64, "0123456789", 10, etag},
		{"e", 8, "", 0, empty},
	} {
		p := make([]byte, c.len)
		n, size, got, err := s.ReadHead(ctx, c.key, p)
		if string(p[:n]) != c.want || size != c.size || got != c.etag || err != nil {
			t.Errorf("ReadHead(%s, %d bytes) = %q, %d, %s, %v; want %q, %d, %s", c.key, c.len, p[:n], size, got, err, c.want, c.size, c.etag)
		}
	}
	if _, _, _, err := s.ReadHead(ctx, "missing", make([]byte, 1)); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("ReadHead of a missing key: %v", err)
	}
}

// TestStoreList: keys come back relative to the Store's prefix, across
// pages, and nothing outside the prefix is listed.
func TestStoreList(t *testing.T) {
	ctx := t.Context()
	srv, url := s3fake.New(t, "bkt")
	srv.PageSize = 3
	s := open(t, url, "pre/")
	var want []string
	for i := range 8 {
		k := fmt.Sprintf("x/%d.ref", i)
		if _, err := s.Put(ctx, k, []byte(k), objstore.Cond{}); err != nil {
			t.Fatal(err)
		}
		want = append(want, k)
	}
	s.Put(ctx, "y", nil, objstore.Cond{})
	other := open(t, url, "other/")
	if _, err := other.Put(ctx, "x/9.ref", nil, objstore.Cond{}); err != nil {
		t.Fatal(err)
	}
	objs, err := s.List(ctx, "x/")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.Key)
		if o.Size != int64(len(o.Key)) || o.ETag == "" || o.ModTime.IsZero() {
			t.Errorf("listed %+v", o)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

// TestStoreConflictAndRetries: a 409 (a racing conditional write) is a
// failed precondition; a PUT is sent exactly once even when the server
// fails it, while a GET is retried.
func TestStoreConflictAndRetries(t *testing.T) {
	ctx := t.Context()
	srv, s := fake(t)
	var puts, gets atomic.Int32
	srv.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		switch r.Method {
		case http.MethodPut:
			if strings.HasSuffix(r.URL.Path, "/conflict") {
				puts.Add(1)
				w.WriteHeader(http.StatusConflict)
				io.WriteString(w, "<Error><Code>ConditionalRequestConflict</Code></Error>")
				return true
			}
			if strings.HasSuffix(r.URL.Path, "/unavailable") {
				puts.Add(1)
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			}
		case http.MethodGet:
			if strings.HasSuffix(r.URL.Path, "/flaky") && gets.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			}
		}
		return false
	}
	if _, err := s.Put(ctx, "conflict", []byte("x"), objstore.Cond{IfMatch: "abc"}); !errors.Is(err, objstore.ErrPrecondition) {
		t.Errorf("409: %v", err)
	}
	_, err := s.Put(ctx, "unavailable", []byte("x"), objstore.Cond{IfNoneMatch: true})
	if err == nil || errors.Is(err, objstore.ErrPrecondition) {
		t.Errorf("503 on a conditional Put: %v, want an error that is not a failed precondition", err)
	}
	if n := puts.Load(); n != 2 {
		t.Errorf("%d PUT requests for two Puts, want each sent once", n)
	}
	if _, err := s.Put(ctx, "flaky", []byte("x"), objstore.Cond{}); err != nil {
		t.Fatal(err)
	}
	if data, _, err := s.Get(ctx, "flaky", ""); err != nil || string(data) != "x" {
		t.Errorf("Get after a 503: %q, %v", data, err)
	}
	if n := gets.Load(); n != 2 {
		t.Errorf("%d GET requests, want the failed one retried once", n)
	}
}

func TestMissingBucket(t *testing.T) {
	_, url := s3fake.New(t, "bkt")
	s, err := s3store.New(s3store.Config{Endpoint: url, Bucket: "nope", Prefix: "p/"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Get(t.Context(), "tables.list", "")
	if err == nil || errors.Is(err, objstore.ErrNotFound) || !strings.Contains(err.Error(), "get s3://nope/p/tables.list: no such bucket") {
		t.Errorf("Get in a missing bucket: %v; want an error naming it that is not ErrNotFound", err)
	}
}

func TestParseURL(t *testing.T) {
	for _, c := range []struct{ url, bucket, prefix, err string }{
		{"s3://b", "b", "", ""},
		{"s3://b/", "b", "", ""},
		{"s3://b/repo", "b", "repo/", ""},
		{"s3://b/a/b/", "b", "a/b/", ""},
		{"s3:///x", "", "", "no bucket"},
		{"/tmp/x", "", "", "not an s3://"},
	} {
		b, p, err := s3store.ParseURL(c.url)
		if b != c.bucket || p != c.prefix || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("ParseURL(%q) = %q, %q, %v; want %q, %q, %q", c.url, b, p, err, c.bucket, c.prefix, c.err)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "eu-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "id")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	got, err := s3store.ConfigFromEnv("s3://bkt/r")
	if err != nil {
		t.Fatal(err)
	}
	want := s3store.Config{Endpoint: "http://127.0.0.1:1", Region: "eu-1", AccessKey: "id", SecretKey: "secret", Bucket: "bkt", Prefix: "r/"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ConfigFromEnv (-want +got):\n%s", diff)
	}
	if _, err := s3store.New(s3store.Config{Endpoint: "127.0.0.1:9000", Bucket: "b"}); err == nil {
		t.Errorf("New accepted an endpoint without scheme")
	}
}

// TestOneConnection: a Store's reads and writes share one pool of
// connections, so a process that reads the list, uploads a table and
// swaps the list, one request after the other, opens one connection.
func TestOneConnection(t *testing.T) {
	ctx := t.Context()
	hs := httptest.NewUnstartedServer(s3fake.NewServer("bkt"))
	var conns atomic.Int64
	hs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	hs.Start()
	t.Cleanup(hs.Close)
	s := open(t, hs.URL, "pre/")
	etag, err := s.Put(ctx, "tables.list", []byte("a\n"), objstore.Cond{IfNoneMatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, "tables.list", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "t.ref", []byte("table"), objstore.Cond{IfNoneMatch: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "tables.list", []byte("a\nt.ref\n"), objstore.Cond{IfMatch: etag}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Head(ctx, "t.ref"); err != nil {
		t.Fatal(err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for five requests in turn, want 1", n)
	}
}
