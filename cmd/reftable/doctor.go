package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/refstore/refstore/objstore"
)

var cmdDoctor = &command{
	Interruptible: true,
	Name:          "doctor",
	Usage:         "[-race] URL",
	Short:         "check that an S3 store honours the conditional writes a stack needs",
	Long: `Doctor checks the object store at URL (s3://bucket/prefix, configured by
AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
and reached through the reftable-s3 helper, as every s3:// PATH is)
the way opening a stack there does, and prints every request of the
check with its outcome:

	probe: <request> <key>: <outcome>

The probe, on a scratch key under the prefix that it removes, checks
that a create-only write (If-None-Match: *) succeeds once and fails the
second time, that a write with If-Match succeeds with the current ETag
and fails with a stale one and on a missing key, that a conditional
read with the current ETag answers "not modified", and that reads,
ranged reads and deletes see the latest write. A store that fails is
refused by every command, since concurrent commits on it could lose
each other. Doctor then reports the stack under the prefix, if any:
how many tables tables.list names and whether they all exist.

With -race, 16 concurrent writers race on one scratch key for 10
rounds: in every round exactly one create-only write and exactly one
If-Match swap must win, and the object must hold the winner's bytes.

Exit status 1 when a check fails.

Examples:

	reftable doctor s3://refs/repo.git
	reftable doctor -race s3://refs/repo.git

with AWS_ENDPOINT_URL and the other variables set (see s3://).`,
	Flags: func(fs *flag.FlagSet) any {
		return fs.Bool("race", false, "add a 16-way race of conditional writes on one key")
	},
	Run: runDoctor,
}

func runDoctor(e *env, flags any, args []string) error {
	if len(args) != 1 {
		return usagef("want one s3://bucket/prefix URL")
	}
	if !strings.HasPrefix(args[0], "s3://") {
		return usagef("%s: not an s3://bucket/prefix URL", args[0])
	}
	s, err := startS3(args[0])
	if err != nil {
		return err
	}
	defer stopS3(s)
	if err := objstore.Probe(e.ctx, &tracedStore{Store: s, w: e.stdout}, ""); err != nil {
		return err
	}
	fprintf(e.stdout, "probe: ok\n")
	if err := doctorStack(e, s); err != nil {
		return err
	}
	if *flags.(*bool) {
		if err := raceCheck(e.ctx, s, e.stdout, 16, 10); err != nil {
			return err
		}
	}
	fprintf(e.stdout, "%s: ok\n", s.URL())
	return nil
}

// doctorStack reports the stack under the store's prefix.
func doctorStack(e *env, s objstore.Store) error {
	data, _, err := s.Get(e.ctx, "tables.list", "")
	if errors.Is(err, objstore.ErrNotFound) {
		fprintf(e.stdout, "stack: no tables.list yet\n")
		return nil
	}
	if err != nil {
		return err
	}
	names := strings.Fields(string(data))
	missing := 0
	for _, n := range names {
		if _, _, err := s.Head(e.ctx, n); errors.Is(err, objstore.ErrNotFound) {
			fprintf(e.stdout, "stack: table %s is listed but missing\n", n)
			missing++
		} else if err != nil {
			return err
		}
	}
	if missing > 0 {
		return fmt.Errorf("tables.list names %d missing tables", missing)
	}
	fprintf(e.stdout, "stack: tables.list names %d tables, all present\n", len(names))
	return nil
}

// tracedStore prints every request of the probe and its outcome.
type tracedStore struct {
	objstore.Store
	w io.Writer
}

func (s *tracedStore) trace(request, key string, err error) {
	fprintf(s.w, "probe: %s %s: %s\n", request, key, outcome(err))
}

func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, objstore.ErrPrecondition):
		return "precondition failed"
	case errors.Is(err, objstore.ErrNotModified):
		return "not modified"
	case errors.Is(err, objstore.ErrNotFound):
		return "not found"
	}
	return err.Error()
}

func (s *tracedStore) Get(ctx context.Context, key, ifNoneMatch string) ([]byte, string, error) {
	data, etag, err := s.Store.Get(ctx, key, ifNoneMatch)
	req := "get"
	if ifNoneMatch != "" {
		req = "get If-None-Match"
	}
	s.trace(req, key, err)
	return data, etag, err
}

func (s *tracedStore) ReadAt(ctx context.Context, key string, p []byte, off int64) (int, error) {
	n, err := s.Store.ReadAt(ctx, key, p, off)
	s.trace(fmt.Sprintf("ranged get of %d bytes at %d", len(p), off), key, err)
	return n, err
}

func (s *tracedStore) Head(ctx context.Context, key string) (int64, string, error) {
	size, etag, err := s.Store.Head(ctx, key)
	s.trace("head", key, err)
	return size, etag, err
}

func (s *tracedStore) Put(ctx context.Context, key string, data []byte, cond objstore.Cond) (string, error) {
	etag, err := s.Store.Put(ctx, key, data, cond)
	req := "put"
	switch {
	case cond.IfNoneMatch:
		req = "put If-None-Match: *"
	case cond.IfMatch != "":
		req = "put If-Match"
	}
	s.trace(req, key, err)
	return etag, err
}

func (s *tracedStore) Delete(ctx context.Context, key string) error {
	err := s.Store.Delete(ctx, key)
	s.trace("delete", key, err)
	return err
}

// raceCheck races writers conditional writes on scratch keys for rounds
// rounds and fails unless exactly one create-only write and exactly one
// If-Match swap win each round.
func raceCheck(ctx context.Context, s objstore.Store, w io.Writer, writers, rounds int) (err error) {
	base := fmt.Sprintf("doctor-race-%016x", rand.Uint64())
	cas := base + ".tmp"
	keys := []string{cas}
	defer func() {
		for _, k := range keys {
			if derr := s.Delete(context.WithoutCancel(ctx), k); err == nil && derr != nil {
				err = derr
			}
		}
	}()
	etag, err := s.Put(ctx, cas, []byte("start"), objstore.Cond{IfNoneMatch: true})
	if err != nil {
		return fmt.Errorf("race: create %s: %w", cas, err)
	}
	for r := range rounds {
		create := fmt.Sprintf("%s-%d.tmp", base, r)
		keys = append(keys, create)
		if _, err := race(ctx, s, create, objstore.Cond{IfNoneMatch: true}, writers, r); err != nil {
			return err
		}
		if etag, err = race(ctx, s, cas, objstore.Cond{IfMatch: etag}, writers, r); err != nil {
			return err
		}
		fprintf(w, "race: round %d: 1 of %d create-only writes and 1 of %d If-Match swaps won\n", r+1, writers, writers)
	}
	return nil
}

// race has writers write key under cond at once and checks that exactly
// one wins, the others fail the precondition, and key holds the winner's
// bytes. It returns the winner's ETag.
func race(ctx context.Context, s objstore.Store, key string, cond objstore.Cond, writers, round int) (string, error) {
	kind := "create-only write"
	if cond.IfMatch != "" {
		kind = "If-Match swap"
	}
	data := func(i int) []byte { return fmt.Appendf(nil, "round %d writer %d", round, i) }
	etags, errs := make([]string, writers), make([]error, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			<-start
			etags[i], errs[i] = s.Put(ctx, key, data(i), cond)
		})
	}
	close(start)
	wg.Wait()
	winner, won := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			winner, won = i, won+1
		case !errors.Is(err, objstore.ErrPrecondition):
			return "", fmt.Errorf("race: round %d: %s %s: %w", round+1, kind, key, err)
		}
	}
	if won != 1 {
		return "", fmt.Errorf("race: round %d: %d of %d concurrent %ss of %s won, want exactly 1: %w",
			round+1, won, writers, kind, key, objstore.ErrUnsafeStore)
	}
	got, etag, err := s.Get(ctx, key, "")
	if err != nil {
		return "", fmt.Errorf("race: round %d: %w", round+1, err)
	}
	if !bytes.Equal(got, data(winner)) || etag != etags[winner] {
		return "", fmt.Errorf("race: round %d: %s holds %q (ETag %s), not the winner's %q (ETag %s): %w",
			round+1, key, got, etag, data(winner), etags[winner], objstore.ErrUnsafeStore)
	}
	return etag, nil
}
