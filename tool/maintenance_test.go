//go:build unix

package tool

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refstore/refstore/internal/testutil/gittest"
)

// TestProcessGitMaintenance runs, on one repository at once, two loops
// of `reftable update` processes (each with its auto-compaction), a loop
// of `reftable compact` (full and -auto) and a loop of git's maintenance
// (pack-refs --auto, pack-refs --all, gc), whose cleanup removes every
// table file the list does not name. Every update that reported success
// must be there at the end, and git and we must find the repository
// sound.
func TestProcessGitMaintenance(t *testing.T) {
	d := 10 * time.Second
	if testing.Short() {
		d = 3 * time.Second
	}
	r := gittest.Init(t, "sha1")
	r.Run("commit", "-q", "--allow-empty", "-m", "c1")
	r.Run("config", "reftable.lockTimeout", "5000")
	oid := strings.TrimSpace(r.Run("rev-parse", "HEAD"))
	cli := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), asCLI+"=1")
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	stop := time.Now().Add(d)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		ok       []string
		failures = map[string]int{}
	)
	fail := func(what string, err error, out string) {
		if i := strings.LastIndex(out, ": "); what[:3] == "git" && i > 0 {
			out = out[i+2:] // git's message
		}
		mu.Lock()
		defer mu.Unlock()
		key := what + ": " + strings.TrimSpace(out)
		if i := strings.Index(key, "(created"); i > 0 {
			key = key[:i] // the lock's age differs from one failure to the next
		}
		failures[key]++
	}
	for w := range 2 {
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); i++ {
				name := fmt.Sprintf("refs/heads/w%d/%04d", w, i)
				if out, err := cli("create "+name+" "+oid+"\n", "update", "-lock-timeout", "5s", r.Dir); err != nil {
					fail("update", err, out)
					continue
				}
				mu.Lock()
				ok = append(ok, name)
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		for i := 0; time.Now().Before(stop); i++ {
			args := []string{"compact", "-lock-timeout", "5s", r.Dir}
			if i%2 == 1 {
				args = []string{"compact", "-auto", "-lock-timeout", "5s", r.Dir}
			}
			if out, err := cli("", args...); err != nil {
				fail(strings.Join(args[:len(args)-1], " "), err, out)
			}
		}
	})
	wg.Go(func() {
		gits := [][]string{{"pack-refs", "--auto"}, {"pack-refs", "--all"}, {"gc", "--quiet"}}
		for i := 0; time.Now().Before(stop); i++ {
			args := gits[i%len(gits)]
			if _, err := r.RunInput("", args...); err != nil {
				fail("git "+strings.Join(args, " "), err, err.Error())
			}
		}
	})
	wg.Wait()
	for what, n := range failures {
		t.Logf("%d× %s", n, what)
	}
	if len(ok) < 20 {
		t.Fatalf("only %d updates succeeded in %v", len(ok), d)
	}

	have := map[string]bool{}
	out, err := r.RunInput("", "for-each-ref", "--format=%(refname)")
	if err != nil {
		t.Fatalf("git for-each-ref: %v", err)
	}
	for _, name := range strings.Fields(out) {
		have[name] = true
	}
	var lost []string
	for _, name := range ok {
		if !have[name] {
			lost = append(lost, name)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d updates that reported success are lost: %v", len(lost), len(ok), lost)
	}
	t.Logf("%d updates committed and kept", len(ok))
	for _, args := range [][]string{{"fsck", "--strict", "--no-progress"}, {"refs", "verify", "--strict"}} {
		if out, err := r.RunInput("", args...); err != nil || out != "" {
			t.Errorf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if res := runTool(t, "", "verify", r.Dir); res.code != exitOK {
		t.Errorf("verify: %v", res)
	}
}
