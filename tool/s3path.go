package tool

import (
	"context"
	"errors"
	"fmt"

	"github.com/refstore/refstore/objstore"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

// A PATH of the form s3://bucket/prefix names a stack on S3-compatible
// storage, which the Config's OpenS3 opens as an objstore.Store (package
// s3store's, in reftable-s3). A program built without it (reftable)
// hands the whole command line to its Delegate (ExecS3, which runs
// reftable-s3), so it links no HTTP, TLS or S3 client code, which would
// cost every command its start-up time.

// errNoS3 reports an s3:// URL given to a program without S3 access.
var errNoS3 = errors.New("this program has no S3 access (run reftable-s3, the reftable program with S3)")

// openS3 opens the store of an s3:// URL with cfg's opener.
func (cfg *Config) openS3(ctx context.Context, url string) (objstore.Store, error) {
	if cfg.OpenS3 == nil {
		return nil, fmt.Errorf("%s: %w", url, errNoS3)
	}
	return cfg.OpenS3(ctx, url)
}

// storeURL is the URL that names s, opened for url: the store's own if
// it has one (s3store normalizes the prefix), else url.
func storeURL(s objstore.Store, url string) string {
	if u, ok := s.(interface{ URL() string }); ok {
		return u.URL()
	}
	return url
}

// openS3 opens the stack of an s3:// target. Opening it to write probes
// the store and refuses one that does not honour conditional writes;
// reading needs no write permission. The object format is SHA-1 unless
// the stack's tables are SHA-256.
func (t *target) openS3(opts stack.Options, write bool) (*stack.Stack, error) {
	ctx := context.Background()
	s, err := t.s3store()
	if err != nil {
		return nil, err
	}
	// One commit a process: confirm it before reporting success, as a
	// later operation of this stack that would catch a lost commit
	// never comes (see objstore.Options.ConfirmCommits).
	b, err := objstore.NewBackend(ctx, s, objstore.Options{AllowUnsafe: !write, ConfirmCommits: true})
	if err != nil {
		return nil, err
	}
	opts.Hash = t.hash
	st, err := stack.OpenBackend(ctx, b, storeURL(s, t.s3), opts)
	if errors.Is(err, reftable.ErrHashMismatch) && t.hash == reftable.SHA1 {
		t.hash, opts.Hash = reftable.SHA256, reftable.SHA256
		// The store passed the probe already.
		if b, err = objstore.NewBackend(ctx, s, objstore.Options{AllowUnsafe: true, ConfirmCommits: true}); err == nil {
			st, err = stack.OpenBackend(ctx, b, storeURL(s, t.s3), opts)
		}
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// s3store returns the store of an s3:// target, opened at the first
// call.
func (t *target) s3store() (objstore.Store, error) {
	if t.store != nil {
		return t.store, nil
	}
	if t.cfg == nil {
		return nil, fmt.Errorf("%s: %w", t.s3, errNoS3)
	}
	s, err := t.cfg.openS3(context.Background(), t.s3)
	if err != nil {
		return nil, err
	}
	t.store = s
	return s, nil
}
