package s3store_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refstore/refstore/internal/testutil/versitygw"
	"github.com/refstore/refstore/s3store"
	"github.com/refstore/refstore/stack"
)

// The benchmarks run against versitygw on 127.0.0.1 with its posix
// backend (go test -run '^$' -bench . ./s3store); they skip without it.

func benchStack(b *testing.B, g *versitygw.Gateway, prefix string) *stack.Stack {
	return openStack(b, gatewayStore(b, g, prefix), stack.Options{LockTimeout: time.Minute})
}

// countingStack is benchStack with a count of the HTTP requests it sends.
func countingStack(b *testing.B, g *versitygw.Gateway, prefix string) (*stack.Stack, *atomic.Int64) {
	n := &requestCounter{next: http.DefaultTransport}
	s, err := s3store.New(s3store.Config{Endpoint: g.URL, AccessKey: versitygw.AccessKey, SecretKey: versitygw.SecretKey,
		Bucket: versitygw.Bucket, Prefix: prefix, Transport: n})
	if err != nil {
		b.Fatal(err)
	}
	return openStack(b, s, stack.Options{LockTimeout: time.Minute}), &n.n
}

type requestCounter struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (c *requestCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func set(st *stack.Stack, name string, i int) error {
	tx := st.NewTransaction(stack.Identity{Name: "B", Email: "b@example.com", Time: time.Unix(1700000000, 0)}, stack.ReflogNormal)
	tx.Add(stack.Update{Ref: stack.Ref{Name: name, ID: oid(i + 1)}, Message: "bench"})
	return tx.Commit(ctx)
}

// BenchmarkCommit: one writer commits one ref per transaction, with
// auto-compaction: a conditional GET of the list (304), a table upload
// with If-None-Match, the list swap with If-Match, and now and then a
// compaction.
func BenchmarkCommit(b *testing.B) {
	st, requests := countingStack(b, versitygw.Start(b, ""), "commit/")
	b.ResetTimer()
	requests.Store(0)
	for i := range b.N {
		if err := set(st, fmt.Sprintf("refs/heads/b%d", i%100), i); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(requests.Load())/float64(b.N), "requests/op")
}

// BenchmarkReloadUnchanged: a reader checks for a new list when nothing
// changed: one conditional GET answered 304.
func BenchmarkReloadUnchanged(b *testing.B) {
	g := versitygw.Start(b, "")
	st, requests := countingStack(b, g, "reload/")
	if err := set(st, "refs/heads/main", 1); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	requests.Store(0)
	for range b.N {
		if err := st.Reload(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(requests.Load())/float64(b.N), "requests/op")
}

// BenchmarkWriters8: 8 writers, each with its own stack (as 8 processes
// would), commit to one prefix; commits/s is the total throughput.
func BenchmarkWriters8(b *testing.B) {
	const writers = 8
	g := versitygw.Start(b, "")
	stacks := make([]*stack.Stack, writers)
	for i := range stacks {
		stacks[i] = benchStack(b, g, "writers/")
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for w, st := range stacks {
		wg.Go(func() {
			for {
				i := int(n.Add(1))
				if i > b.N {
					return
				}
				if err := set(st, fmt.Sprintf("refs/heads/w%d/b%d", w, i%100), i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}
