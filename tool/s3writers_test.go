package tool

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refstore/refstore/internal/testutil/versitygw"
	"github.com/refstore/refstore/objstore"
)

// The multi-process tests of commits on S3 run every commit as a user
// does: a reftable process of its own (the program built by buildCLI)
// that runs reftable-s3 for the s3:// PATH, which probes the store,
// opens the stack, commits one update with auto-compaction, and exits. They are named TestProcess... so that
// scripts/test.sh runs them without the race detector, which sees
// nothing between processes.

// writerRun is what the writer processes of one run did.
type writerRun struct {
	ok     map[string]string // ref -> id of every update that exited 0
	failed []string          // the stderr of every update that failed
}

// runS3Writers starts writers goroutines, each running commits update
// processes one after the other on url, and returns what they did. The
// environment (AWS_*) must be set.
func runS3Writers(t *testing.T, url string, writers, commits int) writerRun {
	t.Helper()
	exe := buildCLI(t)
	env := cliEnv("GIT_COMMITTER_NAME=W", "GIT_COMMITTER_EMAIL=w@example.com")
	var mu sync.Mutex
	run := writerRun{ok: map[string]string{}}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range commits {
				ref := fmt.Sprintf("refs/heads/w%d/%03d", w, i)
				id := fmt.Sprintf("%08x%032x", w, i+1)
				cmd := exec.Command(exe, "update", "-m", fmt.Sprintf("writer %d commit %d", w, i), url)
				cmd.Env = env
				cmd.Stdin = strings.NewReader("create " + ref + " " + id + "\n")
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				err := cmd.Run()
				mu.Lock()
				if err == nil {
					run.ok[ref] = id
				} else {
					run.failed = append(run.failed, fmt.Sprintf("%s: %v: %s", ref, err, stderr.String()))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return run
}

// checkS3Writers checks the stack at url after a run: every update that
// exited 0 is there with its reflog entry, no ref is there that no
// writer created, and verify -strict exits 0: the stack is sound, and
// every writer whose swap was refused removed the tables it wrote for
// it.
func checkS3Writers(t *testing.T, url string, run writerRun) {
	t.Helper()
	refs := map[string]string{}
	for line := range strings.Lines(mustRun(t, "", "refs", url)) {
		name, id, _ := strings.Cut(strings.TrimSpace(line), " ")
		refs[name] = id
	}
	logged := map[string]string{}
	for line := range strings.Lines(mustRun(t, "", "logs", "-json", url)) {
		var e struct{ Name, New, Message string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		logged[e.Name] = e.New
	}
	lost := 0
	for ref, id := range run.ok {
		if refs[ref] != id || logged[ref] != id {
			lost++
			t.Errorf("%s: reported committed, but its ref is %q and its reflog %q, want %s", ref, refs[ref], logged[ref], id)
		}
	}
	for ref := range refs {
		if !strings.HasPrefix(ref, "refs/heads/w") {
			t.Errorf("unexpected ref %s", ref)
		}
	}
	t.Logf("%d updates exited 0, %d failed, %d lost; %d refs", len(run.ok), len(run.failed), lost, len(refs))
	if r := runTool(t, "", "verify", "-strict", url); r.code != 0 {
		t.Errorf("verify -strict after the writers: %v", r)
	}
}

// TestProcessS3Writers: 8 writer processes make 50 commits each through
// the CLI on one stack of an S3 server that delays every request at
// random (before applying it and again before answering it), so that
// the commits, retries, auto-compactions and the deletion of compacted
// tables of the processes interleave in every order. Every update that
// exited 0 is in the stack with its reflog, and verify finds nothing
// wrong. A few updates may fail (after a bounded number of lost races)
// but must say why.
func TestProcessS3Writers(t *testing.T) {
	if testing.Short() {
		t.Skip("400 processes")
	}
	srv := s3Env(t)
	srv.Jitter = 3 * time.Millisecond
	const url = "s3://bkt/writers"
	start := time.Now()
	run := runS3Writers(t, url, 8, 50)
	t.Logf("%v", time.Since(start))
	srv.Jitter = 0
	checkS3Writers(t, url, run)
	for _, f := range run.failed {
		t.Logf("failed: %s", f)
	}
}

// TestProcessS3NonAtomic: a store whose conditional writes are checked
// and applied in separate steps passes the sequential probe, but the
// race every write command runs refuses it: the update fails naming the
// race and writes nothing but the probe's scratch keys, which it
// removes.
func TestProcessS3NonAtomic(t *testing.T) {
	srv := s3Env(t)
	srv.NonAtomic = true
	r := runTool(t, "create refs/heads/main "+oidA+"\n", "update", "s3://bkt/repo")
	if r.code != 1 || !strings.Contains(r.stderr, "want exactly 1") || !strings.Contains(r.stderr, objstore.ErrUnsafeStore.Error()) {
		t.Errorf("update on a non-atomic store: %v", r)
	}
	if keys := srv.Keys("bkt"); len(keys) != 0 {
		t.Errorf("objects after the refused update: %q", keys)
	}
}

// TestVersitygwWritersCLI is TestProcessS3Writers on versitygw, a real
// S3 server, after 4 writer processes of 25 commits each, which must all
// succeed.
func TestVersitygwWritersCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("400 processes")
	}
	g := versitygw.Start(t, "")
	t.Setenv("AWS_ENDPOINT_URL", g.URL)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", versitygw.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", versitygw.SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	url := "s3://" + versitygw.Bucket + "/four"
	run := runS3Writers(t, url, 4, 25)
	if len(run.ok) != 100 {
		t.Errorf("4 x 25: %d of 100 updates succeeded: %q", len(run.ok), run.failed)
	}
	checkS3Writers(t, url, run)

	url = "s3://" + versitygw.Bucket + "/writers"
	start := time.Now()
	run = runS3Writers(t, url, 8, 50)
	t.Logf("%v", time.Since(start))
	checkS3Writers(t, url, run)
	for _, f := range run.failed {
		t.Logf("failed: %s", f)
	}
}
