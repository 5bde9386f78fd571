package s3helper

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/refstore/refstore/internal/s3fake"
	"github.com/refstore/refstore/internal/storepipe"
	"github.com/refstore/refstore/objstore"
	"github.com/refstore/refstore/s3store"
)

// s3Env starts an in-process S3 server with bucket "bkt" and points the
// AWS_* variables at it.
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

// serve runs Main with args over in-process pipes and connects to it.
// The returned function closes the client and returns Main's status and
// stderr.
func serve(t *testing.T, args ...string) (*storepipe.Client, func() (int, string), error) {
	t.Helper()
	cr, sw := io.Pipe()
	sr, cw := io.Pipe()
	var stderr bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- Main(args, sr, sw, &stderr)
		sw.Close()
	}()
	c, err := storepipe.NewClient(cr, cw, storepipe.Options{Name: "helper"})
	return c, func() (int, string) {
		if c != nil {
			c.Close()
		}
		return <-code, stderr.String()
	}, err
}

// TestServe: the helper serves the bucket's objects under the prefix,
// with S3's answers mapped to objstore's errors on the client side.
func TestServe(t *testing.T) {
	srv := s3Env(t)
	c, stop, err := serve(t, "serve", "s3://bkt/repo")
	if err != nil {
		t.Fatal(err)
	}
	if c.URL() != "s3://bkt/repo/" {
		t.Errorf("URL %q", c.URL())
	}
	ctx := context.Background()
	etag, err := c.Put(ctx, "tables.list", []byte("x.ref\n"), objstore.Cond{IfNoneMatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, "tables.list", []byte("y.ref\n"), objstore.Cond{IfNoneMatch: true}); !errors.Is(err, objstore.ErrPrecondition) {
		t.Errorf("second create-only put: %v", err)
	}
	if _, _, err := c.Get(ctx, "tables.list", etag); !errors.Is(err, objstore.ErrNotModified) {
		t.Errorf("get If-None-Match: %v", err)
	}
	if _, _, err := c.Head(ctx, "missing"); !errors.Is(err, objstore.ErrNotFound) || !strings.Contains(err.Error(), "s3://bkt/repo/missing") {
		t.Errorf("head of a missing key: %v", err)
	}
	if err := objstore.Probe(ctx, c, ""); err != nil {
		t.Errorf("probe through the helper: %v", err)
	}
	if keys := srv.Keys("bkt"); len(keys) != 1 || keys[0] != "repo/tables.list" {
		t.Errorf("keys %q", keys)
	}
	if code, stderr := stop(); code != 0 || stderr != "" {
		t.Errorf("Main: %d, stderr %q", code, stderr)
	}
}

// TestServeUnsafe: a store that ignores conditions fails the probe
// through the helper, with ErrUnsafeStore.
func TestServeUnsafe(t *testing.T) {
	srv := s3Env(t)
	srv.IgnoreConditions = true
	c, stop, err := serve(t, "serve", "s3://bkt/repo")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if err := objstore.Probe(context.Background(), c, ""); !errors.Is(err, objstore.ErrUnsafeStore) {
		t.Errorf("probe of a store that ignores conditions: %v", err)
	}
}

// TestConfigError: a store that cannot be configured is refused in the
// hello, with s3store's message, and nothing on stderr.
func TestConfigError(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "ftp://example")
	for url, want := range map[string]string{
		"s3:///x":    "s3:///x: no bucket",
		"s3://bkt/x": `s3store: endpoint "ftp://example": want http(s)://host[:port]`,
	} {
		_, stop, err := serve(t, "serve", url)
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", url, err, want)
		}
		if code, stderr := stop(); code != 1 || stderr != "" {
			t.Errorf("%s: Main: %d, stderr %q", url, code, stderr)
		}
	}
}

// TestUsage: -h prints the usage; a bad command line exits 2.
func TestUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"-h"}, nil, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "usage: reftable-s3 serve") {
		t.Errorf("-h: %d %q", code, stdout.String())
	}
	for _, args := range [][]string{nil, {"serve"}, {"get", "s3://b/p"}, {"serve", "s3://b/p", "more"}} {
		stdout.Reset()
		stderr.Reset()
		if code := Main(args, nil, &stdout, &stderr); code != 2 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "usage:") {
			t.Errorf("%q: %d %q %q", args, code, stdout.String(), stderr.String())
		}
	}
}

// TestMaxGet: a Get reply carries all s3store.Get returns.
func TestMaxGet(t *testing.T) {
	if storepipe.MaxGet < s3store.MaxGet {
		t.Errorf("storepipe.MaxGet %d < s3store.MaxGet %d", storepipe.MaxGet, s3store.MaxGet)
	}
}
