package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/refstore/refstore/internal/storepipe"
	"github.com/refstore/refstore/objstore"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

// A PATH of the form s3://bucket/prefix names a stack on S3-compatible
// storage. reftable does not talk to S3 itself: it starts the
// reftable-s3 helper (package internal/s3helper), which reaches the store
// with the endpoint, region and credentials of the AWS_ENDPOINT_URL,
// AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY variables and
// serves it over its stdin and stdout (package internal/storepipe). So
// reftable links no HTTP, TLS or S3 client code, which would cost every
// command its start-up time, as git keeps libcurl in git-remote-https.

// helperName is the helper's program name; helperEnv, when set, is its
// path.
const (
	helperName = "reftable-s3"
	helperEnv  = "REFTABLE_S3_HELPER"
)

// openS3 opens the stack of an s3:// target. Opening it to write probes
// the store and refuses one that does not honour conditional writes;
// reading needs no write permission. The object format is SHA-1 unless
// the stack's tables are SHA-256. Closing the stack stops the helper.
func (t *target) openS3(opts stack.Options, write bool) (*stack.Stack, error) {
	c, err := startS3(t.s3)
	if err != nil {
		return nil, err
	}
	b, err := objstore.NewBackend(context.Background(), c, objstore.Options{AllowUnsafe: !write})
	if err != nil {
		stopS3(c)
		return nil, err
	}
	opts.Hash = t.hash
	sb := &s3Backend{Backend: b}
	st, err := stack.OpenBackend(context.Background(), sb, c.URL(), opts)
	if errors.Is(err, reftable.ErrHashMismatch) && t.hash == reftable.SHA1 {
		t.hash, opts.Hash = reftable.SHA256, reftable.SHA256
		// The store passed the probe already.
		if b, err = objstore.NewBackend(context.Background(), c, objstore.Options{AllowUnsafe: true}); err == nil {
			sb = &s3Backend{Backend: b}
			st, err = stack.OpenBackend(context.Background(), sb, c.URL(), opts)
		}
	}
	if err != nil {
		stopS3(c)
		return nil, err
	}
	sb.helper = c
	t.helper = c
	return st, nil
}

// s3Backend is the backend of a stack on S3; closing it stops the helper.
type s3Backend struct {
	*objstore.Backend
	helper *storepipe.Client // nil while the stack opens
}

func (b *s3Backend) Close() error {
	err := b.Backend.Close()
	if b.helper != nil {
		err = errors.Join(err, stopS3(b.helper))
	}
	return err
}

// helpers are the helpers running, for main to stop at exit those that
// a command did not.
var helpers = struct {
	sync.Mutex
	m map[*storepipe.Client]bool
}{m: map[*storepipe.Client]bool{}}

// startS3 starts the helper for an s3:// URL and returns the store it
// serves. Its stderr passes through to ours.
func startS3(url string) (*storepipe.Client, error) {
	path, err := findHelper(url)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, "serve", url)
	cmd.Stderr = os.Stderr
	c, err := storepipe.Start(cmd, storepipe.Options{Name: helperName + " helper " + path})
	if err != nil {
		return nil, err
	}
	helpers.Lock()
	helpers.m[c] = true
	helpers.Unlock()
	return c, nil
}

// stopS3 stops a helper: it closes its input and waits for it to exit.
func stopS3(c *storepipe.Client) error {
	helpers.Lock()
	delete(helpers.m, c)
	helpers.Unlock()
	return c.Close()
}

// stopHelpers stops every helper still running.
func stopHelpers() {
	helpers.Lock()
	running := make([]*storepipe.Client, 0, len(helpers.m))
	for c := range helpers.m {
		running = append(running, c)
	}
	helpers.Unlock()
	for _, c := range running {
		stopS3(c)
	}
}

// findHelper finds the helper: REFTABLE_S3_HELPER, else reftable-s3 next
// to this program, else in PATH.
func findHelper(url string) (string, error) {
	if p := os.Getenv(helperEnv); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("%s: %s=%s: %w", url, helperEnv, p, err)
		}
		return p, nil
	}
	exe, err := os.Executable()
	if err == nil {
		if p, err := exec.LookPath(filepath.Join(filepath.Dir(exe), helperName)); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(helperName); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s: needs the %s helper, not found next to %s or in PATH "+
		"(go install github.com/refstore/refstore/cmd/reftable-s3@latest, or build both: go build -o bin/ ./cmd/...)",
		url, helperName, exe)
}
