package s3store_test

import (
	"bytes"
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
// Each reports the HTTP requests its stacks sent per commit (or reload),
// counted at the transport: the request counts of objstore's tests
// against its in-memory store are the same on a real server.

// countingStack opens a stack on prefix, through a transport that counts
// the HTTP requests the stack sends into n.
func countingStack(b *testing.B, g *versitygw.Gateway, prefix string, opts stack.Options, n *atomic.Int64) *stack.Stack {
	s, err := s3store.New(s3store.Config{Endpoint: g.URL, AccessKey: versitygw.AccessKey, SecretKey: versitygw.SecretKey,
		Bucket: versitygw.Bucket, Prefix: prefix, Transport: &requestCounter{n: n, next: http.DefaultTransport}})
	if err != nil {
		b.Fatal(err)
	}
	opts.LockTimeout = time.Minute
	return openStack(b, s, opts)
}

// runs numbers the benchmarks' runs, for prefixes of their own: a stack
// a run (-count, or the first run with b.N = 1) left behind would
// otherwise start the next one's with its refs and reflogs.
var runs atomic.Int64

type requestCounter struct {
	n    *atomic.Int64
	next http.RoundTripper
}

func (c *requestCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func commit(st *stack.Stack, name string, i int) error {
	tx := st.NewTransaction(stack.Identity{Name: "B", Email: "b@example.com", Time: time.Unix(1700000000, 0)}, stack.ReflogNormal)
	tx.Add(stack.Update{Ref: stack.Ref{Name: name, ID: oid(i + 1)}, Message: "bench"})
	return tx.Commit(ctx)
}

// BenchmarkCommit: one writer commits one ref per transaction on a stack
// it has open. Without compaction that is a conditional GET of the list
// (304), the table's upload with If-None-Match and the list's swap with
// If-Match; with auto-compaction, some commits merge tables too.
func BenchmarkCommit(b *testing.B) {
	g := versitygw.Start(b, "")
	for _, tc := range []struct {
		name string
		opts stack.Options
	}{{"auto-compaction", stack.Options{}}, {"no-compaction", stack.Options{DisableAutoCompaction: true}}} {
		b.Run(tc.name, func(b *testing.B) {
			var requests atomic.Int64
			st := countingStack(b, g, fmt.Sprintf("commit-%s-%d/", tc.name, runs.Add(1)), tc.opts, &requests)
			b.ResetTimer()
			requests.Store(0)
			for i := range b.N {
				if err := commit(st, fmt.Sprintf("refs/heads/b%d", i%100), i); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(requests.Load())/float64(b.N), "requests/op")
		})
	}
}

// BenchmarkReloadUnchanged: a reader checks for a new list when nothing
// changed: one conditional GET answered 304.
func BenchmarkReloadUnchanged(b *testing.B) {
	var requests atomic.Int64
	st := countingStack(b, versitygw.Start(b, ""), "reload/", stack.Options{}, &requests)
	if err := commit(st, "refs/heads/main", 1); err != nil {
		b.Fatal(err)
	}
	if err := st.Reload(ctx); err != nil {
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

// BenchmarkWriters: 1, 2, 4 and 8 writers, each with its own stack (as
// that many processes would have), commit one ref per transaction to one
// prefix with auto-compaction, b.N commits in all: commits/s is their
// total throughput, requests/commit what they sent per commit and
// rebases/commit how many commits published the table of a lost swap
// again (see objstore's documentation). With -benchtime 400x, 8 writers
// make 50 commits each. At the end every commit is checked to be there,
// each ref with the value its writer set last and a reflog entry for
// every value it set, newest first.
func BenchmarkWriters(b *testing.B) {
	g := versitygw.Start(b, "")
	for _, writers := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			prefix := fmt.Sprintf("writers-%d-%d/", writers, runs.Add(1))
			var requests atomic.Int64
			stacks := make([]*stack.Stack, writers)
			for i := range stacks {
				stacks[i] = countingStack(b, g, prefix, stack.Options{}, &requests)
			}
			// set[w] is what writer w set each of its refs to, in order.
			set := make([]map[string][]int, writers)
			var n atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			requests.Store(0)
			for w, st := range stacks {
				set[w] = map[string][]int{}
				wg.Go(func() {
					for {
						i := int(n.Add(1))
						if i > b.N {
							return
						}
						name := fmt.Sprintf("refs/heads/w%d/b%d", w, i%100)
						if err := commit(st, name, i); err != nil {
							b.Error(err)
							return
						}
						set[w][name] = append(set[w][name], i)
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
			b.ReportMetric(float64(requests.Load())/float64(b.N), "requests/commit")
			rebases := 0
			for _, st := range stacks {
				rebases += st.Stats().Rebases
			}
			b.ReportMetric(float64(rebases)/float64(b.N), "rebases/commit")
			b.ReportMetric(0, "ns/op")

			check := openStack(b, gatewayStore(b, g, prefix), stack.Options{})
			for w := range writers {
				for name, values := range set[w] {
					i := values[len(values)-1]
					r, err := check.Ref(ctx, name)
					if err != nil || !bytes.Equal(r.ID, oid(i+1)) {
						b.Errorf("%s = %x, %v; writer %d committed %x: lost", name, r.ID, err, w, oid(i+1))
					}
					n := len(values)
					for l, err := range check.Reflog(ctx, name) {
						if err != nil {
							b.Fatal(err)
						}
						if n--; n < 0 || !bytes.Equal(l.New, oid(values[n]+1)) {
							b.Errorf("%s: reflog entry %x, want the %d values writer %d set, newest first", name, l.New, len(values), w)
							break
						}
					}
					if n > 0 {
						b.Errorf("%s: %d reflog entries missing", name, n)
					}
				}
			}
		})
	}
}

// BenchmarkSharedStack: 1 and 8 goroutines commit through one Stack, as
// a server handling several pushes to one repository does, b.N commits
// in all: commits/s is their throughput, requests/commit what the stack
// sent per commit. (Until the stack read its list again when another
// goroutine loaded one meanwhile, 8 goroutines failed commits with a
// false ErrLostCommit; until they took turns from the read of the list
// to its swap, they made 5.0-5.2 requests a commit, and 0.85-0.89 of one
// goroutine's commits/s, against 4.0 and 1.0-1.2 since.)
func BenchmarkSharedStack(b *testing.B) {
	g := versitygw.Start(b, "")
	for _, writers := range []int{1, 8} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			prefix := fmt.Sprintf("shared-%d-%d/", writers, runs.Add(1))
			var requests atomic.Int64
			st := countingStack(b, g, prefix, stack.Options{}, &requests)
			var n atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			requests.Store(0)
			for w := range writers {
				wg.Go(func() {
					for {
						i := int(n.Add(1))
						if i > b.N {
							return
						}
						if err := commit(st, fmt.Sprintf("refs/heads/w%d/b%d", w, i%100), i); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
			b.ReportMetric(float64(requests.Load())/float64(b.N), "requests/commit")
			b.ReportMetric(0, "ns/op")
		})
	}
}
