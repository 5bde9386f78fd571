package main

import (
	"context"
	"errors"

	"github.com/refstore/refstore/objstore"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/s3store"
	"github.com/refstore/refstore/stack"
)

// A PATH of the form s3://bucket/prefix names a stack on S3-compatible
// storage, reached with the endpoint, region and credentials of the
// AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY variables (see s3store.ConfigFromEnv).

// resolveS3 resolves an s3:// PATH.
func resolveS3(url string) (*target, error) {
	if _, _, err := s3store.ParseURL(url); err != nil {
		return nil, err
	}
	return &target{S3: url, Hash: reftable.SHA1, Policy: stack.ReflogNormal}, nil
}

// openS3 opens the stack of an s3:// target. Opening probes the store
// and refuses one that does not honour conditional writes. The object
// format is SHA-1 unless the stack's tables are SHA-256.
func (t *target) openS3(opts stack.Options) (*stack.Stack, error) {
	s, err := s3store.FromEnv(t.S3)
	if err != nil {
		return nil, err
	}
	b, err := objstore.NewBackend(context.Background(), s, objstore.Options{})
	if err != nil {
		return nil, err
	}
	opts.Hash = t.Hash
	st, err := stack.OpenBackend(b, s.URL(), opts)
	if errors.Is(err, reftable.ErrHashMismatch) && t.Hash == reftable.SHA1 {
		t.Hash = reftable.SHA256
		return t.openS3(opts)
	}
	return st, err
}
