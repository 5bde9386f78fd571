// Package doctor is the doctor command of the reftable tool: it checks
// that an S3 store honours the conditional writes a stack needs. The
// reftable-s3 program wires it in (tool.Config.Commands) with the S3
// opener it uses; reftable lists it and runs it through reftable-s3.
package doctor

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/refstore/refstore/objstore"
	"github.com/refstore/refstore/tool"
)

// Command is the doctor command. It needs the Config's S3 opener
// (NeedsS3).
var Command = &tool.Command{
	Interruptible: true,
	NeedsS3:       true,
	Name:          "doctor",
	Usage:         "[-race] URL",
	Short:         "check that an S3 store honours the conditional writes a stack needs",
	Long: `Doctor checks the object store at URL (s3://bucket/prefix, configured by
AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
and reached by reftable-s3, which reftable runs for doctor as for every
s3:// PATH)
the way opening a stack there does, and prints every request of the
check with its outcome:

	probe: <request> <key>: <outcome>

The probe, on a scratch key under the prefix that it removes, checks
that a create-only write (If-None-Match: *) succeeds once and fails the
second time, that a write with If-Match succeeds with the current ETag
and fails with a stale one and on a missing key, that a conditional
read with the current ETag answers "not modified", and that reads,
ranged reads and deletes see the latest write. Doctor then reports the
stack under the prefix, if any: how many tables tables.list names and
whether they all exist.

With -race, 16 concurrent writers race on one scratch key for 10
rounds: in every round exactly one create-only write and exactly one
If-Match swap must win, and the object must hold the winner's bytes.
A store that checks a condition and then writes in a separate step
passes the probe and fails the race.

Every command that writes a stack on S3 runs the probe and a shorter
race (8 writers, 3 rounds) before it trusts the store, and refuses a
store that fails, since concurrent commits on it could lose each other.
A store that passes gets a marker object, probe.passed, under the
prefix, and for a day later commands read the marker instead of
probing; a commit that finds its list overwritten by a writer that did
not see it (which a store honouring If-Match never allows) removes the
marker and fails.

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

func runDoctor(e *tool.Env, flags any, args []string) error {
	if len(args) != 1 {
		return tool.Usagef("want one s3://bucket/prefix URL")
	}
	if !strings.HasPrefix(args[0], "s3://") {
		return tool.Usagef("%s: not an s3://bucket/prefix URL", args[0])
	}
	s, err := e.OpenS3(args[0])
	if err != nil {
		return err
	}
	ctx, stdout := e.Context(), e.Stdout()
	if err := objstore.Probe(ctx, &tracedStore{Store: s, w: stdout}, ""); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "probe: ok\n")
	if err := doctorStack(ctx, stdout, s); err != nil {
		return err
	}
	if *flags.(*bool) {
		if err := raceCheck(ctx, s, stdout, 16, 10); err != nil {
			return err
		}
	}
	url := args[0]
	if u, ok := s.(interface{ URL() string }); ok {
		url = u.URL()
	}
	fmt.Fprintf(stdout, "%s: ok\n", url)
	return nil
}

// doctorStack reports the stack under the store's prefix.
func doctorStack(ctx context.Context, w io.Writer, s objstore.Store) error {
	data, _, err := s.Get(ctx, "tables.list", "")
	if errors.Is(err, objstore.ErrNotFound) {
		fmt.Fprintf(w, "stack: no tables.list yet\n")
		return nil
	}
	if err != nil {
		return err
	}
	names := strings.Fields(string(data))
	missing := 0
	for _, n := range names {
		if _, _, err := s.Head(ctx, n); errors.Is(err, objstore.ErrNotFound) {
			fmt.Fprintf(w, "stack: table %s is listed but missing\n", n)
			missing++
		} else if err != nil {
			return err
		}
	}
	if missing > 0 {
		return fmt.Errorf("tables.list names %d missing tables", missing)
	}
	fmt.Fprintf(w, "stack: tables.list names %d tables, all present\n", len(names))
	return nil
}

// tracedStore prints every request of the probe and its outcome.
type tracedStore struct {
	objstore.Store
	w io.Writer
}

func (s *tracedStore) trace(request, key string, err error) {
	fmt.Fprintf(s.w, "probe: %s %s: %s\n", request, key, outcome(err))
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
// rounds (objstore.RaceProbe) and fails unless exactly one create-only
// write and exactly one If-Match swap win each round.
func raceCheck(ctx context.Context, s objstore.Store, w io.Writer, writers, rounds int) error {
	return objstore.RaceProbe(ctx, s, "doctor-", writers, rounds, func(round int) {
		fmt.Fprintf(w, "race: round %d: 1 of %d create-only writes and 1 of %d If-Match swaps won\n", round, writers, writers)
	})
}
