package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
)

// ErrUnsafeStore reports a store that failed the probe: it does not
// honour a condition the stack's consistency depends on.
var ErrUnsafeStore = errors.New("store does not honour conditional requests")

// Probe checks, on a scratch key under prefix that it removes afterwards,
// that s honours what the stack relies on: a create-only write succeeds
// once and fails the second time, If-Match succeeds with the current ETag
// and fails with a stale one and on a missing key, a read right after a
// write returns it, a ranged read returns the right bytes, and a Get with
// the current ETag answers "not modified". A failed check is an error
// matching ErrUnsafeStore that names it; a store that answers success to
// everything fails the second check.
func Probe(ctx context.Context, s Store, prefix string) error {
	key := fmt.Sprintf("%sprobe-%016x.tmp", prefix, rand.Uint64())
	missing := key + ".missing"
	defer s.Delete(context.WithoutCancel(ctx), key)
	fail := func(check string, err error) error {
		if err != nil {
			return fmt.Errorf("probe %s: %s: %w", key, check, err)
		}
		return fmt.Errorf("probe %s: %s: %w", key, check, ErrUnsafeStore)
	}
	// precondition expects a Put to fail with ErrPrecondition.
	precondition := func(check string, err error) error {
		switch {
		case err == nil:
			return fail(check+" succeeded", nil)
		case !errors.Is(err, ErrPrecondition):
			return fail(check, err)
		}
		return nil
	}
	// holds checks that key holds want and returns its ETag.
	holds := func(check string, want []byte) (string, error) {
		got, etag, err := s.Get(ctx, key, "")
		if err != nil {
			return "", fail(check, err)
		}
		if !bytes.Equal(got, want) {
			return "", fail(fmt.Sprintf("%s: read %q, want %q", check, got, want), nil)
		}
		return etag, nil
	}

	e1, err := s.Put(ctx, key, []byte("one"), Cond{IfNoneMatch: true})
	if err != nil {
		return fail("create-only write of a new key", err)
	}
	if err := precondition("second create-only write of the same key", put(ctx, s, key, "two", Cond{IfNoneMatch: true})); err != nil {
		return err
	}
	if _, err := holds("read after the refused create-only write", []byte("one")); err != nil {
		return err
	}
	e2, err := s.Put(ctx, key, []byte("three"), Cond{IfMatch: e1})
	if err != nil {
		return fail("If-Match with the current ETag", err)
	}
	if e2 == "" || e2 == e1 {
		return fail(fmt.Sprintf("a replaced object kept its ETag %s", e1), nil)
	}
	if err := precondition("If-Match with a stale ETag", put(ctx, s, key, "four", Cond{IfMatch: e1})); err != nil {
		return err
	}
	if etag, err := holds("read after the write with a stale ETag", []byte("three")); err != nil {
		return err
	} else if etag != e2 {
		return fail(fmt.Sprintf("read-after-write: ETag %s, the write returned %s", etag, e2), nil)
	}
	if err := precondition("If-Match on a missing key", put(ctx, s, missing, "five", Cond{IfMatch: e2})); err != nil {
		s.Delete(context.WithoutCancel(ctx), missing)
		return err
	}
	if _, _, err := s.Head(ctx, missing); !errors.Is(err, ErrNotFound) {
		s.Delete(context.WithoutCancel(ctx), missing)
		return fail("a refused If-Match write on a missing key created it", err)
	}
	if _, _, err := s.Get(ctx, key, e2); !errors.Is(err, ErrNotModified) {
		return fail("conditional read with the current ETag did not answer not modified", err)
	}
	if got, _, err := s.Get(ctx, key, e1); err != nil || string(got) != "three" {
		return fail(fmt.Sprintf("conditional read with a stale ETag: %q", got), err)
	}
	p := make([]byte, 3)
	if n, err := s.ReadAt(ctx, key, p, 1); err != nil || string(p[:n]) != "hre" {
		return fail(fmt.Sprintf("ranged read of bytes 1..3: %q", p[:n]), err)
	}
	if size, etag, err := s.Head(ctx, key); err != nil || size != 5 || etag != e2 {
		return fail(fmt.Sprintf("head: size %d, ETag %s", size, etag), err)
	}
	if err := s.Delete(ctx, key); err != nil {
		return fail("delete", err)
	}
	if _, _, err := s.Get(ctx, key, ""); !errors.Is(err, ErrNotFound) {
		return fail("read after delete did not report a missing object", err)
	}
	return nil
}

func put(ctx context.Context, s Store, key, data string, cond Cond) error {
	_, err := s.Put(ctx, key, []byte(data), cond)
	return err
}
