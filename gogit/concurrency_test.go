package gogit

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage"
)

// TestConcurrentWithGit: go-git writers through the adapter and git
// update-ref writers work on one repository at once, each creating its
// own branches and moving one shared counter branch forward along a chain
// of commits by compare-and-swap, retrying when it lost. Nothing is lost:
// every branch is there, the counter made every step and its reflog
// records each one, from the value it replaced; git and refstore find the
// repository clean.
func TestConcurrentWithGit(t *testing.T) {
	const writers = 2 // of each kind
	ops := 200        // per writer: one branch and one counter step each
	if testing.Short() {
		ops = 50
	}
	steps := 2 * writers * ops
	h := newInterop(t)
	g := h.in("repo")
	h.in(".").Run("init", "-q", "--ref-format=reftable", "--object-format="+formatOfBuild(), "-b", "main", "repo")
	// Writers wait for each other's locks instead of giving up after
	// git's 100 ms.
	g.Run("config", "reftable.lockTimeout", "60000")
	var script strings.Builder
	for i := 0; i <= steps; i++ {
		fmt.Fprintf(&script, "commit refs/heads/chain\nmark :%d\ncommitter C O Mitter <committer@example.com> %d +0000\ndata %d\n%d\n", i+1, 1700000000+i, len(fmt.Sprint(i))+1, i)
		if i > 0 {
			fmt.Fprintf(&script, "from :%d\n", i)
		}
	}
	if _, err := g.RunInput(script.String(), "fast-import", "--quiet"); err != nil {
		t.Fatal(err)
	}
	chain := strings.Fields(g.Run("rev-list", "--reverse", "refs/heads/chain"))
	if len(chain) != steps+1 {
		t.Fatalf("%d commits in the chain, want %d", len(chain), steps+1)
	}
	index := map[string]int{}
	for i, id := range chain {
		index[id] = i
	}
	g.Run("update-ref", "-m", "start", "refs/heads/counter", chain[0])
	g.Run("symbolic-ref", "HEAD", "refs/heads/chain")

	var lost atomic.Int64 // compare-and-swaps that lost and were retried
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers)
	start := time.Now()
	for w := range writers {
		wg.Add(2)
		go func() { // go-git, through the adapter
			defer wg.Done()
			st, err := OpenStorage(h.path("repo"), Options{})
			if err != nil {
				errs <- err
				return
			}
			defer st.Close()
			for j := range ops {
				if err := st.SetReference(plumbing.NewHashReference(plumbing.ReferenceName(fmt.Sprintf("refs/heads/gogit/%d/%d", w, j)), plumbing.NewHash(chain[j]))); err != nil {
					errs <- err
					return
				}
				for {
					cur, err := st.Reference("refs/heads/counter")
					if err != nil {
						errs <- err
						return
					}
					next := plumbing.NewHashReference("refs/heads/counter", plumbing.NewHash(chain[index[cur.Hash().String()]+1]))
					err = st.CheckAndSetReference(next, cur)
					if errors.Is(err, storage.ErrReferenceHasChanged) {
						lost.Add(1)
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					break
				}
			}
		}()
		go func() { // git, one transaction a step
			defer wg.Done()
			for j := range ops {
				for {
					cur, err := g.RunInput("", "rev-parse", "refs/heads/counter")
					if err != nil {
						errs <- err
						return
					}
					cur = strings.TrimSpace(cur)
					in := fmt.Sprintf("create refs/heads/git/%d/%d %s\nupdate refs/heads/counter %s %s\n", w, j, chain[j], chain[index[cur]+1], cur)
					_, err = g.RunInput(in, "update-ref", "-m", "git writer", "--stdin")
					var gerr interface{ Error() string }
					if errors.As(err, &gerr) && strings.Contains(err.Error(), "but expected") {
						lost.Add(1)
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					break
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d writers x %d steps (go-git and git), %d lost compare-and-swaps retried, in %v", 2*writers, ops, lost.Load(), time.Since(start).Round(time.Millisecond))

	if got := strings.TrimSpace(g.Run("rev-parse", "refs/heads/counter")); got != chain[steps] {
		t.Errorf("counter at step %d, want %d", index[got], steps)
	}
	branches := strings.Fields(g.Run("for-each-ref", "--format=%(refname)=%(objectname)", "refs/heads/gogit", "refs/heads/git"))
	if len(branches) != steps {
		t.Errorf("%d branches, want %d", len(branches), steps)
	}
	for _, b := range branches {
		name, id, _ := strings.Cut(b, "=")
		var w, j int
		if _, err := fmt.Sscanf(name[strings.LastIndexByte(name[:strings.LastIndexByte(name, '/')], '/')+1:], "%d/%d", &w, &j); err != nil || chain[j] != id {
			t.Errorf("%s = %s (step %d), want step %d", name, id, index[id], j)
		}
	}
	// The counter's reflog: one entry a step, newest first, each from the
	// value the step replaced.
	log := strings.Split(strings.TrimSpace(g.Run("reflog", "show", "--format=%H %gs", "refs/heads/counter", "--")), "\n")
	if len(log) != steps+1 {
		t.Fatalf("%d reflog entries for the counter, want %d", len(log), steps+1)
	}
	byGit := 0
	for i, l := range log[:steps] {
		id, msg, _ := strings.Cut(l, " ")
		if id != chain[steps-i] {
			t.Errorf("reflog entry %d: %s (step %d), want step %d", i, id, index[id], steps-i)
		}
		if msg == "git writer" {
			byGit++
		} else if msg != "branch: Reset to "+id {
			t.Errorf("reflog entry %d: message %q", i, msg)
		}
	}
	if byGit != writers*ops {
		t.Errorf("%d counter steps logged by git, want %d", byGit, writers*ops)
	}
	checkClean(t, g, nil, filepath.Join(h.path("repo"), ".git", "reftable"))
}
