package bench

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/refstore/refstore/tool"
)

// The S3 rows run the reftable-s3 program against a versitygw that bench
// starts: this program may be reftable, which links no network code, so
// everything that speaks HTTP is a child process. Even the gateway's
// readiness is seen through reftable-s3, reading the empty stack.

// The gateway's account and the stack on it.
const (
	s3AccessKey = "reftablebench"
	s3SecretKey = "reftablebenchsecret"
	s3Bucket    = "bench"
	s3URL       = "s3://" + s3Bucket + "/stack"
)

// s3Writers are the numbers of concurrent writers of the s3-writers rows.
var s3Writers = []int{1, 2, 4, 8}

// An s3bench is the setting of the S3 rows.
type s3bench struct {
	versitygw string // the gateway's binary
	program   string // the reftable-s3 program
	environ   []string
	gw        *exec.Cmd
	exited    chan error // receives the gateway's exit
	log       string     // the gateway's output
}

// newS3Bench checks that the versitygw binary exists and finds the
// reftable-s3 program.
func newS3Bench(versitygw string) (*s3bench, error) {
	fi, err := os.Stat(versitygw)
	if err != nil {
		return nil, fmt.Errorf("-versitygw: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("-versitygw %s: a directory, not the versitygw binary", versitygw)
	}
	program, err := tool.FindS3Program()
	if err != nil {
		return nil, fmt.Errorf("-versitygw: %w", err)
	}
	return &s3bench{versitygw: versitygw, program: program}, nil
}

// errGatewayExited reports a gateway that exited while starting, as one
// does when another program holds its port.
var errGatewayExited = errors.New("versitygw exited")

// startGateway starts versitygw on a random port of 127.0.0.1 serving
// a directory under b.dir, and returns once reftable-s3 reads the empty
// stack through it. A gateway that exits at its start (its port taken)
// is started again on another port, up to five times.
func (b *bench) startGateway() error {
	root := filepath.Join(b.dir, "s3")
	if err := os.MkdirAll(filepath.Join(root, s3Bucket), 0o777); err != nil {
		return err
	}
	b.s3.log = filepath.Join(b.dir, "versitygw.log")
	for attempt := 1; ; attempt++ {
		// Below Linux's ephemeral ports, which clients take.
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000))
		err := b.tryGateway(root, addr)
		if err == nil || !errors.Is(err, errGatewayExited) || attempt == 5 {
			return err
		}
	}
}

// tryGateway starts the gateway on addr and waits until it serves.
func (b *bench) tryGateway(root, addr string) error {
	log, err := os.Create(b.s3.log)
	if err != nil {
		return err
	}
	defer log.Close()
	// --keep-alive: S3 keeps a connection open for the client's next
	// request; versitygw by default closes it after every reply, which
	// costs each request a connection's setup on both sides.
	cmd := exec.Command(b.s3.versitygw, "--access", s3AccessKey, "--secret", s3SecretKey, "--port", addr, "--quiet", "--keep-alive", "posix", root)
	cmd.Stdout, cmd.Stderr = log, log
	// The gateway also reads options from variables: the command line
	// alone configures it.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VGW_") && !strings.HasPrefix(kv, "ROOT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("-versitygw: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	b.s3.gw, b.s3.exited = cmd, exited
	b.s3.environ = s3Environ(b.environ, "http://"+addr)
	ctx := b.e.Context()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			b.s3.gw = nil
			return fmt.Errorf("%w on %s: %v: %s", errGatewayExited, addr, err, b.gatewayLog())
		default:
		}
		_, perr := b.s3run([]string{"refs", s3URL}, nil)
		if perr == nil {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("versitygw on %s does not serve after 30s: %v; its output: %s", addr, perr, b.gatewayLog())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// gatewayLog returns the last lines of the gateway's output.
func (b *bench) gatewayLog() string {
	data, _ := os.ReadFile(b.s3.log)
	s := strings.TrimSpace(string(data))
	if len(s) > 1000 {
		s = "..." + s[len(s)-1000:]
	}
	if s == "" {
		return "(no output)"
	}
	return s
}

// stopGateway stops the gateway, if it runs.
func (b *bench) stopGateway() {
	if b.s3.gw == nil {
		return
	}
	b.s3.gw.Process.Kill()
	<-b.s3.exited
	b.s3.gw = nil
}

// s3Environ returns env with the variables of package s3store set for
// the gateway at endpoint, and no other AWS_ variable.
func s3Environ(env []string, endpoint string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "AWS_") {
			out = append(out, kv)
		}
	}
	return append(out, "AWS_ENDPOINT_URL="+endpoint, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID="+s3AccessKey, "AWS_SECRET_ACCESS_KEY="+s3SecretKey)
}

// s3run runs reftable-s3 with args and stdin.
func (b *bench) s3run(args []string, stdin []byte) (ran, error) {
	return b.start(proc{prog: tool.S3Program, path: b.s3.program, args: args, dir: b.dir, env: b.s3.environ, stdin: stdin})
}

// s3Rows times the S3 workloads and checks what they leave.
func (b *bench) s3Rows() error {
	b.prog.say("s3: starting versitygw")
	if err := b.startGateway(); err != nil {
		return err
	}
	defer b.stopGateway()
	n, commits := b.f.n, b.f.s3Commits

	var t tally
	b.prog.say("s3-create %d refs", n)
	input, err := b.createInput(n)
	if err != nil {
		return err
	}
	r, err := b.start(proc{prog: tool.S3Program, path: b.s3.program, args: []string{"update", s3URL}, dir: b.dir, env: b.s3.environ, input: input})
	if err != nil {
		return err
	}
	t.run(ours, r)
	b.add("s3-create", fmt.Sprintf("%d refs in one transaction (update)", n), &t)

	t = tally{}
	for i := range commits {
		if i%50 == 0 {
			b.prog.say("s3-commit: %d of %d", i+1, commits)
		}
		r, err := b.s3run([]string{"update", s3URL}, fmt.Appendf(nil, "update refs/heads/s3-commit-%04d %s\n", i, b.oid))
		if err != nil {
			return err
		}
		t.sum(ours, r)
	}
	b.add("s3-commit", fmt.Sprintf("%d single-ref commits, one process each (update)", commits), &t)

	t = tally{}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range b.f.lookups {
		if i%10 == 0 {
			b.prog.say("s3-reload: %d of %d", i+1, b.f.lookups)
		}
		name := fmt.Sprintf("refs/heads/branch-%07d", rng.IntN(n))
		r, err := b.s3run([]string{"show", s3URL, name}, nil)
		if err != nil {
			return err
		}
		if want := name + " " + b.oid + "\n"; string(r.stdout) != want {
			return fmt.Errorf("check after s3-reload: reftable-s3 printed %q for %s, want %q", r.stdout, name, want)
		}
		t.sum(ours, r)
	}
	b.add("s3-reload", fmt.Sprintf("%d lookups, one process each loading the stack (show)", b.f.lookups), &t)

	for _, w := range s3Writers {
		if err := b.s3Writers(w, commits); err != nil {
			return err
		}
	}

	r, err = b.s3run([]string{"digest", s3URL}, nil)
	if err != nil {
		return err
	}
	var sum string
	var refs int
	want := n + commits + len(s3Writers)*commits
	if _, err := fmt.Sscanf(string(r.stdout), "%s %d refs", &sum, &refs); err != nil || refs != want {
		return fmt.Errorf("check after the S3 rows: reftable-s3 digest printed %q, want %d refs", r.stdout, want)
	}
	return nil
}

// s3Writers times commits single-ref commits by w writers at once, each
// running one reftable-s3 process a commit until all are done.
func (b *bench) s3Writers(w, commits int) error {
	workload := fmt.Sprintf("s3-writers-%d", w)
	b.prog.say("%s: %d commits", workload, commits)
	var (
		mu    sync.Mutex
		t     tally
		next  int
		first error
		wg    sync.WaitGroup
	)
	// take returns the number of the next commit, or false when all
	// are taken or a writer failed.
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next == commits || first != nil {
			return 0, false
		}
		next++
		return next - 1, true
	}
	start := time.Now()
	for range w {
		wg.Go(func() {
			for {
				i, ok := take()
				if !ok {
					return
				}
				in := fmt.Appendf(nil, "update refs/heads/%s/%04d %s\n", workload, i, b.oid)
				r, err := b.s3run([]string{"update", "-lock-timeout", "1m", s3URL}, in)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				if err == nil {
					t.peak(ours, r)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if first != nil {
		return first
	}
	t.times[ours] = []time.Duration{elapsed}
	b.add(workload, fmt.Sprintf("%d single-ref commits by %d writers at once, one process each (update): %.1f commits/s",
		commits, w, float64(commits)/elapsed.Seconds()), &t)
	b.rows[len(b.rows)-1].CommitsPerSecond = float64(commits) / elapsed.Seconds()
	return nil
}
