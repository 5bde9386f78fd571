package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
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
	// Scratch keys end in .temp: those a crashed probe leaves behind are
	// temporary files to stack.Clean, removed after its grace period.
	id := rand.Uint64()
	key := fmt.Sprintf("%sprobe-%016x.temp", prefix, id)
	missing := fmt.Sprintf("%sprobe-%016x-missing.temp", prefix, id)
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

// RaceProbe checks what Probe cannot see from one client: that the store
// judges a condition and applies the write as one step. On scratch keys
// under prefix, which it removes afterwards, writers concurrent writers
// race in each of rounds rounds: first create-only writes of a new key,
// then If-Match swaps of one key with its current ETag. Exactly one of
// each must win, the others failing the precondition, and the key must
// then hold the winner's bytes and ETag. A store that checks a
// condition and then writes in a separate step (a HEAD, then a plain
// PUT, as a naive gateway does) passes Probe, whose writes come one at
// a time, and lets several racers win here. report, if not nil, is
// called after each round that passed, with the round's number from 1.
// A failed check is an error matching ErrUnsafeStore.
func RaceProbe(ctx context.Context, s Store, prefix string, writers, rounds int, report func(round int)) (err error) {
	base := fmt.Sprintf("%srace-%016x", prefix, rand.Uint64())
	cas := base + ".temp" // see Probe
	keys := []string{cas}
	defer func() {
		for _, k := range keys {
			if derr := s.Delete(context.WithoutCancel(ctx), k); err == nil && derr != nil {
				err = derr
			}
		}
	}()
	etag, err := s.Put(ctx, cas, []byte("start"), Cond{IfNoneMatch: true})
	if err != nil {
		return fmt.Errorf("race: create %s: %w", cas, err)
	}
	for r := range rounds {
		create := fmt.Sprintf("%s-%d.temp", base, r)
		keys = append(keys, create)
		if _, err := race(ctx, s, create, Cond{IfNoneMatch: true}, writers, r); err != nil {
			return err
		}
		if etag, err = race(ctx, s, cas, Cond{IfMatch: etag}, writers, r); err != nil {
			return err
		}
		if report != nil {
			report(r + 1)
		}
	}
	return nil
}

// race has writers write key under cond at once and checks that exactly
// one wins, the others fail the precondition, and key holds the winner's
// bytes. It returns the winner's ETag.
func race(ctx context.Context, s Store, key string, cond Cond, writers, round int) (string, error) {
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
		case !errors.Is(err, ErrPrecondition):
			return "", fmt.Errorf("race: round %d: %s %s: %w", round+1, kind, key, err)
		}
	}
	if won != 1 {
		return "", fmt.Errorf("race: round %d: %d of %d concurrent %ss of %s won, want exactly 1: %w",
			round+1, won, writers, kind, key, ErrUnsafeStore)
	}
	got, etag, err := s.Get(ctx, key, "")
	if err != nil {
		return "", fmt.Errorf("race: round %d: %w", round+1, err)
	}
	if !bytes.Equal(got, data(winner)) || etag != etags[winner] {
		return "", fmt.Errorf("race: round %d: %s holds %q (ETag %s), not the winner's %q (ETag %s): %w",
			round+1, key, got, etag, data(winner), etags[winner], ErrUnsafeStore)
	}
	return etag, nil
}

// The probe that NewBackend runs: Probe, then a RaceProbe of
// probeWriters writers for probeRounds rounds.
const (
	probeWriters = 8
	probeRounds  = 3
)

// A store that passed the probe gets a marker object under the stack's
// prefix saying so, which spares later backends on that prefix the
// probe's requests (about 70, half of them concurrent) for ProbeTTL: they
// read the marker instead, one GET. Its content names the probe's
// version: a later version that checks more probes again.
//
// The marker is kept in the store rather than in a local file so that
// every client of the stack shares it and a store that is new (or was
// emptied) is always probed, whatever ran on this machine before; the
// commit path still watches for a store that starts to fail (see
// Backend.StoreUnsafe), and the marker expires.
const (
	// ProbeMarker is the marker's name under the prefix.
	ProbeMarker = "probe.passed"
	// ProbeTTL is how long a marker is trusted.
	ProbeTTL = 24 * time.Hour
	// probeVersion changes when the probe checks something new.
	probeVersion = 2
)

// probeMarkerText is the marker's content for a probe passed at t.
func probeMarkerText(t time.Time) []byte {
	return fmt.Appendf(nil, "refstore probe %d passed %s\n", probeVersion, t.UTC().Format(time.RFC3339))
}

// probeMarkerValid reports whether data is a marker of this probe's
// version written within ProbeTTL of now.
func probeMarkerValid(data []byte, now time.Time) bool {
	var version int
	var when string
	if _, err := fmt.Sscanf(string(data), "refstore probe %d passed %s\n", &version, &when); err != nil || version != probeVersion {
		return false
	}
	t, err := time.Parse(time.RFC3339, when)
	if err != nil {
		return false
	}
	age := now.Sub(t)
	return age < ProbeTTL && age > -time.Hour
}

// ProbeCached checks the store for a stack under prefix as NewBackend
// does: when the prefix holds a valid marker of a passed probe it returns
// at once; otherwise it runs Probe and RaceProbe and, when the store
// passes, writes the marker (best effort).
func ProbeCached(ctx context.Context, s Store, prefix string) error {
	if data, _, err := s.Get(ctx, prefix+ProbeMarker, ""); err == nil && probeMarkerValid(data, time.Now()) {
		return nil
	}
	if err := Probe(ctx, s, prefix); err != nil {
		return err
	}
	if err := RaceProbe(ctx, s, prefix, probeWriters, probeRounds, nil); err != nil {
		return err
	}
	s.Put(ctx, prefix+ProbeMarker, probeMarkerText(time.Now()), Cond{})
	return nil
}
