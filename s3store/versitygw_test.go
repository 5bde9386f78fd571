package s3store_test

// The conformance tier: the same store against versitygw, a real S3
// server, on 127.0.0.1 (see internal/testutil/versitygw).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/refstore/refstore/internal/testutil/versitygw"
	"github.com/refstore/refstore/objstore"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/s3store"
	"github.com/refstore/refstore/stack"
)

// gatewayStore returns a Store on prefix of the gateway's bucket.
func gatewayStore(t testing.TB, g *versitygw.Gateway, prefix string) *s3store.Store {
	t.Helper()
	s, err := s3store.New(s3store.Config{Endpoint: g.URL, AccessKey: versitygw.AccessKey, SecretKey: versitygw.SecretKey,
		Bucket: versitygw.Bucket, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openStack opens a stack on s, probing the store first.
func openStack(t testing.TB, s *s3store.Store, opts stack.Options) *stack.Stack {
	t.Helper()
	st, err := openS3Stack(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openS3Stack(s *s3store.Store, opts stack.Options) (*stack.Stack, error) {
	b, err := objstore.NewBackend(context.Background(), s, objstore.Options{})
	if err != nil {
		return nil, err
	}
	return stack.OpenBackend(ctx, b, s.URL(), opts)
}

func TestVersitygwProbe(t *testing.T) {
	g := versitygw.Start(t, "")
	if err := objstore.Probe(t.Context(), gatewayStore(t, g, "p/"), ""); err != nil {
		t.Fatal(err)
	}
}

// The writer processes of TestVersitygwWriters.
const (
	roleEnv     = "REFSTORE_S3_TEST_ROLE"
	endpointEnv = "REFSTORE_S3_TEST_ENDPOINT"
	writerEnv   = "REFSTORE_S3_TEST_WRITER"
	commitsEnv  = "REFSTORE_S3_TEST_COMMITS"
)

const counterRef = "refs/counter"

// counterID is the object id the counter ref holds at n.
func counterID(n int) []byte { return oid(n) }

func branchRef(writer, i int) string { return fmt.Sprintf("refs/heads/w%d/%03d", writer, i) }

func branchID(writer, i int) []byte { return oid(writer<<12 | (i + 1)) }

// counter reads the counter ref: its value, 0 when it does not exist.
func counter(st *stack.Stack) (int, error) {
	r, err := st.Ref(ctx, counterRef)
	if errors.Is(err, reftable.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return int(r.ID[0])<<8 | int(r.ID[1]), nil
}

// commitWithCounter creates branchRef(writer, i) and increments the
// counter by compare-and-swap in one transaction, retrying when another
// writer moved the counter first.
func commitWithCounter(st *stack.Stack, writer, i int) error {
	for {
		n, err := counter(st)
		if err != nil {
			return err
		}
		old := stack.Ref{}
		if n > 0 {
			old = stack.Ref{ID: counterID(n)}
		}
		tx := st.NewTransaction(stack.Identity{Name: "W", Email: "w@example.com", Time: time.Unix(1700000000, 0)}, stack.ReflogNormal)
		tx.Add(stack.Update{Ref: stack.Ref{Name: branchRef(writer, i), ID: branchID(writer, i)}, Old: &stack.Ref{}, Message: "create"})
		tx.Add(stack.Update{Ref: stack.Ref{Name: counterRef, ID: counterID(n + 1)}, Old: &old, Message: "count"})
		err = tx.Commit(ctx)
		if !errors.Is(err, stack.ErrRefConflict) {
			return err
		}
	}
}

// runWriter is the body of a writer process.
func runWriter() error {
	writer, err1 := strconv.Atoi(os.Getenv(writerEnv))
	commits, err2 := strconv.Atoi(os.Getenv(commitsEnv))
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	s, err := s3store.FromEnv(os.Getenv(endpointEnv))
	if err != nil {
		return err
	}
	st, err := openS3Stack(s, stack.Options{LockTimeout: 5 * time.Minute, OnCompactionError: func(err error) {
		fmt.Fprintf(os.Stderr, "writer %d: auto-compaction: %v\n", writer, err)
	}})
	if err != nil {
		return err
	}
	defer st.Close()
	for i := range commits {
		if err := commitWithCounter(st, writer, i); err != nil {
			return fmt.Errorf("writer %d, commit %d: %w", writer, i, err)
		}
	}
	return nil
}

// TestVersitygwWriters: 8 writer processes make 100 commits each on one
// prefix, with auto-compaction; every commit creates the writer's own ref
// and increments a shared counter by compare-and-swap. Nothing is lost:
// every ref is there and the counter counts every commit.
func TestVersitygwWriters(t *testing.T) {
	const writers, commits = 8, 100
	g := versitygw.Start(t, "")
	url := "s3://" + versitygw.Bucket + "/writers"
	var wg sync.WaitGroup
	errs := make([]error, writers)
	outs := make([]bytes.Buffer, writers)
	for w := range writers {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), roleEnv+"=writer", endpointEnv+"="+url, writerEnv+"="+strconv.Itoa(w), commitsEnv+"="+strconv.Itoa(commits),
			"AWS_ENDPOINT_URL="+g.URL, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID="+versitygw.AccessKey, "AWS_SECRET_ACCESS_KEY="+versitygw.SecretKey,
			"AWS_SESSION_TOKEN=")
		cmd.Stdout, cmd.Stderr = &outs[w], &outs[w]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { errs[w] = cmd.Wait() })
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil || outs[w].Len() > 0 {
			t.Errorf("writer %d: %v\n%s", w, err, outs[w].String())
		}
	}
	s := gatewayStore(t, g, "writers/")
	st := openStack(t, s, stack.Options{})
	if n, err := counter(st); n != writers*commits || err != nil {
		t.Errorf("counter = %d, %v; want %d", n, err, writers*commits)
	}
	found := 0
	for r, err := range st.Refs(ctx, "refs/heads/") {
		if err != nil {
			t.Fatal(err)
		}
		var w, i int
		if _, err := fmt.Sscanf(string(r.Name), "refs/heads/w%d/%d", &w, &i); err != nil || !bytes.Equal(r.ID, branchID(w, i)) {
			t.Errorf("unexpected ref %s %x", r.Name, r.ID)
		}
		found++
	}
	if found != writers*commits {
		t.Errorf("%d refs, want %d", found, writers*commits)
	}
	snap, err := st.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d tables after %d commits", len(snap.TableNames()), writers*commits)
	snap.Close()
}

// TestVersitygwTwoGateways: two gateway processes serve one posix root;
// one writer through each races conditional writes on the same keys,
// round after round. In every round exactly one create-only write and
// exactly one If-Match swap win, and the object holds the winner's bytes.
// Then two stacks, one through each gateway, count on a shared counter:
// no increment is lost.
func TestVersitygwTwoGateways(t *testing.T) {
	root := t.TempDir()
	gws := []*versitygw.Gateway{versitygw.Start(t, root), versitygw.Start(t, root)}
	stores := []*s3store.Store{gatewayStore(t, gws[0], "race/"), gatewayStore(t, gws[1], "race/")}
	ctx := t.Context()
	etag, err := stores[0].Put(ctx, "cas", []byte("round -1"), objstore.Cond{IfNoneMatch: true})
	if err != nil {
		t.Fatal(err)
	}
	const rounds = 100
	for r := range rounds {
		for _, kind := range []string{"create-only", "If-Match"} {
			key, cond := fmt.Sprintf("create/%d", r), objstore.Cond{IfNoneMatch: true}
			if kind == "If-Match" {
				key, cond = "cas", objstore.Cond{IfMatch: etag}
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			etags, errs := make([]string, 2), make([]error, 2)
			for w := range 2 {
				wg.Go(func() {
					<-start
					etags[w], errs[w] = stores[w].Put(ctx, key, fmt.Appendf(nil, "round %d writer %d", r, w), cond)
				})
			}
			close(start)
			wg.Wait()
			winner := -1
			for w, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Fatalf("round %d: both %s writes won: the gateways do not make conditional writes atomic", r, kind)
				case err == nil:
					winner = w
				case !errors.Is(err, objstore.ErrPrecondition):
					t.Fatalf("round %d, %s, writer %d: %v", r, kind, w, err)
				}
			}
			if winner < 0 {
				t.Fatalf("round %d: no %s write won: %v", r, kind, errs)
			}
			// Read through the other gateway.
			data, got, err := stores[1-winner].Get(ctx, key, "")
			if want := fmt.Sprintf("round %d writer %d", r, winner); err != nil || string(data) != want || got != etags[winner] {
				t.Fatalf("round %d, %s: %s holds %q (ETag %s), %v; want the winner's %q (ETag %s)", r, kind, key, data, got, err, want, etags[winner])
			}
			if kind == "If-Match" {
				etag = etags[winner]
			}
		}
	}

	const increments = 40
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for w := range 2 {
		st := openStack(t, gatewayStore(t, gws[w], "stack/"), stack.Options{LockTimeout: 5 * time.Minute})
		wg.Go(func() {
			for i := range increments {
				if err := commitWithCounter(st, w, i); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	st := openStack(t, gatewayStore(t, gws[0], "stack/"), stack.Options{})
	if n, err := counter(st); n != 2*increments || err != nil {
		t.Errorf("counter = %d, %v; want %d", n, err, 2*increments)
	}
}
