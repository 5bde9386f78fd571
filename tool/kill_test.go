//go:build unix

package tool

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/refstore/refstore/internal/testutil/gittest"
)

// TestProcessKillUpdates kills `reftable update` processes with SIGKILL at
// random moments of a 200-ref transaction, 200 times. After every other
// kill, `unlock -stale` must leave no lock (the holder of any lock left is
// judged, at every instant of a commit); after the others nobody unlocks:
// our next commit breaks what the killed one left. The killed transaction
// must be all there or not at all, and both we and git must commit next.
// At the end git's fsck and refs verify and our verify are clean, and
// every commit that reported success is there.
func TestProcessKillUpdates(t *testing.T) {
	kills := 200
	if testing.Short() {
		kills = 40
	}
	r := gittest.Init(t, "sha1")
	r.Run("commit", "-q", "--allow-empty", "-m", "c1")
	oid := strings.TrimSpace(r.Run("rev-parse", "HEAD"))
	dir := filepath.Join(r.Dir, ".git", "reftable")
	want := map[string]bool{} // refs that must exist at the end
	update := func(i int) *exec.Cmd {
		var script strings.Builder
		for j := range 200 {
			fmt.Fprintf(&script, "create refs/heads/k%03d/r%03d %s\n", i, j, oid)
		}
		cmd := exec.Command(os.Args[0], "update", r.Dir)
		cmd.Env = append(os.Environ(), asCLI+"=1")
		cmd.Stdin = strings.NewReader(script.String())
		return cmd
	}
	// How long an update runs here (the fastest of three, the first
	// being slowed by a cold start), so that kills fall anywhere in it,
	// and some after it.
	var span time.Duration
	for k := range 3 {
		start := time.Now()
		if out, err := update(kills + k).CombinedOutput(); err != nil {
			t.Fatalf("update: %v\n%s", err, out)
		}
		if d := time.Since(start) * 5 / 4; k == 0 || d < span {
			span = d
		}
	}
	var killed, committed, none int
	for i := range kills {
		cmd := update(i)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(rand.N(span))
		cmd.Process.Signal(syscall.SIGKILL)
		werr := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			killed++
		} else if werr != nil {
			t.Fatalf("kill %d: update failed without being killed: %v", i, werr)
		}

		if i%2 == 0 || i == kills-1 {
			if res := runTool(t, "", "unlock", "-stale", r.Dir); res.code != exitOK {
				t.Fatalf("kill %d: unlock -stale: %v", i, res)
			}
			if out := mustRun(t, "", "locks", r.Dir); out != "" {
				t.Fatalf("kill %d: locks after unlock -stale:\n%s", i, out)
			}
		}
		n := strings.Count(mustRun(t, "", "refs", r.Dir, fmt.Sprintf("refs/heads/k%03d/", i)), "\n")
		switch n {
		case 200:
			committed++
			for j := range 200 {
				want[fmt.Sprintf("refs/heads/k%03d/r%03d", i, j)] = true
			}
		case 0:
			none++
		default:
			t.Fatalf("kill %d: %d of the transaction's 200 refs exist", i, n)
		}

		if res := runTool(t, fmt.Sprintf("create refs/heads/ours/%03d %s\n", i, oid), "update", r.Dir); res.code != exitOK {
			t.Fatalf("kill %d: our commit after it: %v", i, res)
		}
		want[fmt.Sprintf("refs/heads/ours/%03d", i)] = true
		if _, err := r.RunInput("", "update-ref", fmt.Sprintf("refs/heads/git/%03d", i), oid); err != nil {
			t.Fatalf("kill %d: git's commit after it: %v", i, err)
		}
		want[fmt.Sprintf("refs/heads/git/%03d", i)] = true
		if i%20 == 19 || i == kills-1 {
			if res := runTool(t, "", "verify", r.Dir); res.code != exitOK {
				t.Fatalf("kill %d: verify: %v", i, res)
			}
		}
	}
	t.Logf("%d kills in the first %v of an update (%d processes killed): %d transactions committed whole, %d not at all", kills, span, killed, committed, none)
	if killed < kills/4 || committed == 0 {
		t.Errorf("%d of %d processes were killed before they ended, %d committed: the kills miss the commits", killed, kills, committed)
	}

	refs := strings.Fields(r.Run("for-each-ref", "--format=%(refname)"))
	have := map[string]bool{}
	for _, name := range refs {
		have[name] = true
	}
	for k := range 3 {
		for j := range 200 {
			want[fmt.Sprintf("refs/heads/k%03d/r%03d", kills+k, j)] = true
		}
	}
	for name := range want {
		if !have[name] {
			t.Errorf("git does not list %s", name)
		}
	}
	for _, args := range [][]string{{"fsck", "--strict", "--no-progress"}, {"refs", "verify", "--strict"}} {
		if out, err := r.RunInput("", args...); err != nil || out != "" {
			t.Errorf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".lock") {
			t.Errorf("lock left at the end: %s", e.Name())
		}
	}
}
