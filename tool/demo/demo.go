package demo

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/tool"
)

// Command is the demo command: "reftable demo" runs writer processes and
// a reader on a new stack, each of them this program run again with the
// same command and REFTABLE_DEMO_WORKER set, so a program that offers it
// must list it in its Config.Commands under its name. It is not changed
// once made.
var Command = &tool.Command{
	Interruptible: true,
	Name:          "demo",
	Usage:         "[-writers N] [-commits N] [-keep] [DIR]",
	Short:         "run concurrent writer processes and a reader on a new stack; nothing is lost",
	Long: `Demo creates a reftable stack and shows the stack protocol at work:
several writer processes commit ref transactions to it at the same time
while a reader process reloads it over and over, and every commit is
followed by git's geometric auto-compaction.

Writer k creates the branches refs/heads/writer-k/commit-0000, -0001
and so on, each in one transaction that also advances the shared ref
refs/heads/counter by one with compare-and-swap; a writer that loses
that race (a ref conflict) reads the counter again and retries. The
counter's object id holds its value in its last 8 bytes. The reader
checks every state it sees: the update index and the counter never go
back, every listed table opens, every branch holds its value and the
counter equals the number of branches (both change in the same
transaction).

At the end demo prints what happened (commits, conflicts retried,
compactions, what the reader checked, the final tables as stats prints
them, some refs and the digest) and checks that nothing was lost: every
branch holds its value and the counter equals the number of commits. It
exits 1 if anything was lost or the reader saw an inconsistent state.

The stack is made in a new temporary directory, removed at the end
unless -keep is given, or in DIR, which must be empty or absent and is
kept.

Examples:

	reftable demo
	reftable demo -writers 8 -commits 200
	reftable demo -keep              # then: reftable verify <the printed path>
	reftable demo /tmp/st && reftable refs /tmp/st refs/heads/writer-1/`,
	Flags: func(fs *flag.FlagSet) any {
		f := &demoFlags{}
		fs.IntVar(&f.writers, "writers", 4, "run `N` writer processes")
		fs.IntVar(&f.commits, "commits", 100, "commit `N` transactions in each writer")
		fs.BoolVar(&f.keep, "keep", false, "keep the temporary directory and print its path")
		return f
	},
	Run: runDemo,
}

type demoFlags struct {
	writers, commits int
	keep             bool
}

// demoWorkerEnv names the environment variable that makes "reftable
// demo" a worker process: it holds the worker's demoArgs as a JSON
// object. The demo sets it for the processes it starts; it is not for
// people. A worker prints its report (demoWriterReport or
// demoReaderReport) on stdout as a JSON object too.
const demoWorkerEnv = "REFTABLE_DEMO_WORKER"

// demoArgs is the role and parameters of a worker process.
type demoArgs struct {
	Role string // "writer" or "reader"
	// Dir is bytes, not a string: a path need not be UTF-8, which a
	// JSON string must be (encoding/json writes []byte in base64).
	Dir     []byte
	Writer  int // writer number, from 1
	Commits int
}

// demoWriterReport is what a writer prints on stdout when it is done.
type demoWriterReport struct {
	Commits   int
	Conflicts int // lost compare-and-swaps, retried
	Stats     stack.Stats
	// CompactionErrors are the auto-compaction failures other than
	// finding the tables locked or replaced by another compaction.
	CompactionErrors []string
}

// demoReaderReport is what the reader prints on stdout when its stdin
// is closed. Problems holds the first few of NumProblems.
type demoReaderReport struct {
	Snapshots   int // states read and checked
	Reloads     int // of them, states with a new tables.list
	MaxTables   int
	Counter     uint64 // the last value seen
	NumProblems int
	Problems    []string
}

// Test hooks, nil outside tests.
var (
	// demoStarted is called with the worker processes' ids once all
	// of them run.
	demoStarted func(dir string, pids []int)
	// demoBeforeCheck is called before the final check.
	demoBeforeCheck func(dir string) error
)

const demoCounter = "refs/heads/counter"

// demoBranch is the ref that commit j (from 0) of writer k creates.
func demoBranch(k, j int) string { return fmt.Sprintf("refs/heads/writer-%d/commit-%04d", k, j) }

// demoID is the object id a writer stores in a branch: SHA-1 of its name.
func demoID(name string) []byte {
	sum := sha1.Sum([]byte(name))
	return sum[:]
}

// counterID is the object id of the counter value n: zeros, then n
// big-endian in the last 8 bytes.
func counterID(n uint64) []byte {
	id := make([]byte, sha1.Size)
	binary.BigEndian.PutUint64(id[len(id)-8:], n)
	return id
}

// counterValue decodes an id made by counterID; ok is false for any
// other id.
func counterValue(id []byte) (n uint64, ok bool) {
	if len(id) != sha1.Size || !bytes.Equal(id[:len(id)-8], make([]byte, len(id)-8)) {
		return 0, false
	}
	return binary.BigEndian.Uint64(id[len(id)-8:]), true
}

func runDemo(e *tool.Env, flags any, args []string) error {
	if raw := os.Getenv(demoWorkerEnv); raw != "" {
		return runDemoWorker(e, raw)
	}
	f := flags.(*demoFlags)
	if err := tool.MaxArgs(args, 1); err != nil {
		return err
	}
	if f.writers < 1 || f.writers > 64 {
		return tool.Usagef("-writers %d: want 1 to 64", f.writers)
	}
	if f.commits < 1 || f.commits > 100000 {
		return tool.Usagef("-commits %d: want 1 to 100000", f.commits)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this program to start workers: %w", err)
	}
	dir, remove, err := demoDir(args)
	if err != nil {
		return err
	}
	if remove && !f.keep {
		defer os.RemoveAll(dir)
	}
	where := dir + " (removed at the end; -keep keeps it)"
	if !remove || f.keep {
		where = dir + " (kept)"
	}
	fmt.Fprintf(e.Stdout(), "stack: %s\n", where)
	fmt.Fprintf(e.Stdout(), "running %d writer processes, %d commits each, and a reader process...\n", f.writers, f.commits)
	if fl, ok := e.Stdout().(interface{ Flush() error }); ok {
		fl.Flush()
	}
	start := time.Now()
	writers, reader, err := runDemoProcs(e.Context(), exe, dir, f.writers, f.commits)
	if e.Context().Err() != nil {
		return errors.New("interrupted; every worker process was stopped")
	}
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	if demoBeforeCheck != nil {
		if err := demoBeforeCheck(dir); err != nil {
			return err
		}
	}
	if err := demoSummary(e.Stdout(), dir, f, writers, reader, elapsed); err != nil {
		return err
	}
	if !remove || f.keep {
		fmt.Fprintf(e.Stdout(), "look around: reftable stats %s; reftable logs -ref %s %s\n", dir, demoCounter, dir)
	}
	return nil
}

// demoDir returns the directory of the demo's stack: DIR, created if
// absent and refused unless empty, or a new temporary directory, which
// remove says the caller should remove.
func demoDir(args []string) (dir string, remove bool, err error) {
	if len(args) == 0 {
		dir, err = os.MkdirTemp("", "reftable-demo-")
		return dir, err == nil, err
	}
	dir = args[0]
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return dir, false, os.MkdirAll(dir, 0o777)
	case err != nil:
		return "", false, err
	case len(entries) > 0:
		return "", false, fmt.Errorf("%s: not empty (demo needs an empty or absent directory)", dir)
	}
	return dir, false, nil
}

// A demoProc is a running worker process.
type demoProc struct {
	name           string // "writer 2", "reader"
	cmd            *exec.Cmd
	stdin          io.WriteCloser
	stdout, stderr bytes.Buffer
}

func startDemoProc(ctx context.Context, exe, name string, a demoArgs) (*demoProc, error) {
	raw, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	p := &demoProc{name: name, cmd: exec.CommandContext(ctx, exe, "demo")}
	p.cmd.Env = append(os.Environ(), demoWorkerEnv+"="+string(raw))
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	// When ctx is done, ask the worker to stop (it stops at the end of
	// its stdin, between commits, so it leaves no lock behind), and kill
	// it if it has not exited a second later.
	p.cmd.Cancel = p.stdin.Close
	p.cmd.WaitDelay = time.Second
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	return p, nil
}

// wait waits for p to exit and decodes its report into v.
func (p *demoProc) wait(v any) error {
	err := p.cmd.Wait()
	if err != nil {
		msg := strings.TrimSpace(p.stderr.String())
		if msg == "" {
			msg = "no message"
		}
		return fmt.Errorf("%s (pid %d): %v: %s", p.name, p.cmd.Process.Pid, err, msg)
	}
	if err := decodeDemo(p.stdout.Bytes(), v); err != nil {
		return fmt.Errorf("%s (pid %d): bad report: %w", p.name, p.cmd.Process.Pid, err)
	}
	return nil
}

// runDemoProcs starts the reader and the writers, waits for the
// writers, then stops the reader. Whatever happens, every process it
// started has exited when it returns: on an error or when ctx is done
// the others are stopped.
func runDemoProcs(ctx context.Context, exe, dir string, nwriters, commits int) ([]demoWriterReport, demoReaderReport, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var reader demoReaderReport
	var procs []*demoProc
	waitAll := func() {
		cancel()
		for _, p := range procs {
			p.cmd.Wait()
		}
	}
	rp, err := startDemoProc(ctx, exe, "reader", demoArgs{Role: "reader", Dir: []byte(dir)})
	if err != nil {
		return nil, reader, err
	}
	procs = append(procs, rp)
	for k := 1; k <= nwriters; k++ {
		p, err := startDemoProc(ctx, exe, fmt.Sprintf("writer %d", k), demoArgs{Role: "writer", Dir: []byte(dir), Writer: k, Commits: commits})
		if err != nil {
			waitAll()
			return nil, reader, err
		}
		procs = append(procs, p)
	}
	if demoStarted != nil {
		pids := make([]int, len(procs))
		for i, p := range procs {
			pids[i] = p.cmd.Process.Pid
		}
		demoStarted(dir, pids)
	}
	writers := make([]demoWriterReport, nwriters)
	errc := make(chan error, nwriters)
	for i, p := range procs[1:] {
		go func() { errc <- p.wait(&writers[i]) }()
	}
	var firstErr error
	for range nwriters {
		if err := <-errc; err != nil && firstErr == nil {
			firstErr = err
			cancel() // kill the others
		}
	}
	rp.stdin.Close() // the reader's signal to stop
	if err := rp.wait(&reader); err != nil && firstErr == nil {
		firstErr = err
	}
	return writers, reader, firstErr
}

// demoSummary prints what happened and checks that every update is
// present in the stack.
func demoSummary(w io.Writer, dir string, f *demoFlags, writers []demoWriterReport, reader demoReaderReport, elapsed time.Duration) error {
	var commits, conflicts, compactions, skipped int
	var compactionErrs []string
	for _, r := range writers {
		commits += r.Commits
		conflicts += r.Conflicts
		compactions += r.Stats.Compactions
		skipped += r.Stats.CompactionFailures - len(r.CompactionErrors)
		compactionErrs = append(compactionErrs, r.CompactionErrors...)
	}
	fmt.Fprintf(w, "writers: %d processes made %d commits in %.1fs\n", len(writers), commits, elapsed.Seconds())
	fmt.Fprintf(w, "compare-and-swap: %d conflicts on %s, each retried after reading it again\n", conflicts, demoCounter)
	fmt.Fprintf(w, "auto-compaction: %d compactions by the writers", compactions)
	if skipped > 0 {
		fmt.Fprintf(w, " (%d skipped: another process was compacting those tables)", skipped)
	}
	fmt.Fprintf(w, "\n")
	if len(compactionErrs) > 0 {
		fmt.Fprintf(w, "auto-compaction: %d failed after their commits, first: %s\n", len(compactionErrs), compactionErrs[0])
	}
	fmt.Fprintf(w, "reader: %d states checked, %d reloads of a new tables.list, at most %d tables, %d inconsistencies\n",
		reader.Snapshots, reader.Reloads, reader.MaxTables, reader.NumProblems)

	st, err := stack.Open(dir, stack.Options{DisableAutoCompaction: true})
	if err != nil {
		return err
	}
	defer st.Close()
	snap, err := st.Snapshot(context.Background())
	if err != nil {
		return err
	}
	defer snap.Close()
	fmt.Fprintf(w, "final tables (%d), as 'reftable stats' counts them:\n", len(snap.Merged().Tables()))
	lines, err := tool.StatsText(snap.Merged().Tables())
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Fprintf(w, "  %s\n", l)
	}

	digest, err := tool.Digest(snap.Merged().Refs(nil))
	if err != nil {
		return err
	}
	var nrefs int
	fmt.Sscanf(digest[strings.IndexByte(digest, ' ')+1:], "%d", &nrefs)
	fmt.Fprintf(w, "refs (%d):\n", nrefs)
	shown := 0
	for r, err := range snap.Merged().Refs(nil) {
		if err != nil {
			return err
		}
		if shown == 4 {
			fmt.Fprintf(w, "  ... and %d more\n", nrefs-shown)
			break
		}
		fmt.Fprintf(w, "  %s", tool.RefText(&r))
		if n, ok := counterValue(r.Value); ok && string(r.Name) == demoCounter {
			fmt.Fprintf(w, " (%d)", n)
		}
		fmt.Fprintf(w, "\n")
		shown++
	}
	fmt.Fprintf(w, "digest: %s\n", digest)

	want := f.writers * f.commits
	present, lost := demoCheck(snap.Merged(), f.writers, f.commits)
	if reader.NumProblems > 0 {
		for _, p := range reader.Problems {
			fmt.Fprintf(w, "reader: %s\n", p)
		}
	}
	if len(lost) > 0 {
		for _, l := range lost {
			fmt.Fprintf(w, "LOST: %s\n", l)
		}
		return fmt.Errorf("updates lost: %d of %d present; %s", present, want, lost[0])
	}
	if nrefs != want+1 {
		return fmt.Errorf("%s: %d refs, want %d branches and the counter", dir, nrefs, want)
	}
	if reader.NumProblems > 0 {
		return fmt.Errorf("the reader saw %d inconsistent states; first: %s", reader.NumProblems, reader.Problems[0])
	}
	fmt.Fprintf(w, "nothing lost: %d of %d updates present (every branch, and %s = %d)\n", present, want, demoCounter, want)
	return nil
}

// demoCheck looks up every branch the writers made and the counter, and
// returns how many updates are present (branches with their value, no
// more than the counter counts) and what was lost.
func demoCheck(m *reftable.Merged, writers, commits int) (present int, lost []string) {
	for k := 1; k <= writers; k++ {
		for j := range commits {
			name := demoBranch(k, j)
			r, err := m.Ref([]byte(name))
			switch {
			case err != nil:
				lost = append(lost, fmt.Sprintf("%s: %v", name, err))
			case !bytes.Equal(r.Value, demoID(name)):
				lost = append(lost, fmt.Sprintf("%s = %s, want %x", name, tool.RefText(&r), demoID(name)))
			default:
				present++
			}
		}
	}
	want := uint64(writers * commits)
	r, err := m.Ref([]byte(demoCounter))
	n, ok := counterValue(r.Value)
	switch {
	case err != nil:
		lost = append(lost, fmt.Sprintf("%s: %v", demoCounter, err))
	case !ok:
		lost = append(lost, fmt.Sprintf("%s = %s, not a counter value", demoCounter, tool.RefText(&r)))
	case n != want:
		lost = append(lost, fmt.Sprintf("%s = %d, want %d", demoCounter, n, want))
	}
	// An increment of the counter that is missing is a lost update too.
	return min(present, int(n)), lost
}

// runDemoWorker is the body of a worker process. It stops when its
// stdin reaches end of file: the reader's signal to finish, and for a
// writer a sign that the demo is gone.
func runDemoWorker(e *tool.Env, raw string) error {
	var a demoArgs
	if err := decodeDemo([]byte(raw), &a); err != nil {
		return fmt.Errorf("%s: %w", demoWorkerEnv, err)
	}
	ctx, cancel := context.WithCancel(e.Context())
	defer cancel()
	go func() {
		io.Copy(io.Discard, e.Stdin())
		cancel()
	}()
	var rep any
	var err error
	switch a.Role {
	case "writer":
		rep, err = demoWrite(ctx, a, e.Cleanup())
	case "reader":
		rep, err = demoRead(ctx, a)
	default:
		err = fmt.Errorf("%s: unknown role %q", demoWorkerEnv, a.Role)
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(e.Stdout()).Encode(rep)
}

// demoWrite commits a.Commits transactions, each creating one branch
// and advancing the counter, retrying lost compare-and-swaps.
func demoWrite(ctx context.Context, a demoArgs, held *stack.Cleanup) (*demoWriterReport, error) {
	rep := &demoWriterReport{}
	st, err := stack.Open(string(a.Dir), stack.Options{
		Cleanup:           held,
		LockTimeout:       10 * time.Second,
		OnCompactionError: func(err error) { rep.CompactionErrors = append(rep.CompactionErrors, err.Error()) },
	})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	who := stack.Identity{Name: fmt.Sprintf("Writer %d", a.Writer), Email: fmt.Sprintf("writer-%d@example.com", a.Writer)}
	for j := range a.Commits {
		name := demoBranch(a.Writer, j)
		for attempt := 0; ; attempt++ {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("stopped before %s: %w", name, err)
			}
			who.Time = time.Now()
			err := demoCommit(st, who, name)
			var ce *stack.RefConflictError
			if errors.As(err, &ce) && ce.Name == demoCounter && attempt < 1000 {
				rep.Conflicts++
				// Someone else advanced the counter: let them go on.
				time.Sleep(rand.N(500 * time.Microsecond))
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			break
		}
		rep.Commits++
	}
	rep.Stats = st.Stats()
	return rep, nil
}

// demoCommit creates the branch name and advances the counter from the
// value it reads, in one transaction.
func demoCommit(st *stack.Stack, who stack.Identity, name string) error {
	old := &stack.Ref{}
	var n uint64
	r, err := st.Ref(context.Background(), demoCounter)
	switch {
	case err == nil:
		var ok bool
		if n, ok = counterValue(r.ID); !ok {
			return fmt.Errorf("%s = %s, not a counter value", demoCounter, r)
		}
		old = &stack.Ref{ID: r.ID}
	case !errors.Is(err, reftable.ErrNotFound):
		return err
	}
	tx := st.NewTransaction(who, stack.ReflogNormal)
	tx.Add(stack.Update{Ref: stack.Ref{Name: name, ID: demoID(name)}, Old: &stack.Ref{}, Message: "demo: branch"})
	tx.Add(stack.Update{Ref: stack.Ref{Name: demoCounter, ID: counterID(n + 1)}, Old: old, Message: fmt.Sprintf("demo: counter %d", n+1)})
	return tx.Commit(context.Background())
}

// demoRead checks states of the stack until ctx is done, then once more.
func demoRead(ctx context.Context, a demoArgs) (*demoReaderReport, error) {
	st, err := stack.Open(string(a.Dir), stack.Options{DisableAutoCompaction: true})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	rep := &demoReaderReport{}
	var lastIndex uint64
	problem := func(format string, args ...any) {
		rep.NumProblems++
		if len(rep.Problems) < 5 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("state %d: ", rep.Snapshots)+fmt.Sprintf(format, args...))
		}
	}
	check := func() {
		rep.Snapshots++
		snap, err := st.Snapshot(context.Background()) // reloads; fails if a listed table cannot be opened
		if err != nil {
			problem("%v", err)
			return
		}
		defer snap.Close()
		rep.MaxTables = max(rep.MaxTables, len(snap.TableNames()))
		if idx := snap.Merged().MaxUpdateIndex(); idx < lastIndex {
			problem("update index went back from %d to %d", lastIndex, idx)
		} else {
			lastIndex = idx
		}
		var counter uint64
		branches := 0
		for r, err := range snap.Merged().Refs(nil) {
			if err != nil {
				problem("%v", err)
				return
			}
			name := string(r.Name)
			if name == demoCounter {
				n, ok := counterValue(r.Value)
				if !ok {
					problem("%s", tool.RefText(&r))
				}
				counter = n
				continue
			}
			branches++
			if !bytes.Equal(r.Value, demoID(name)) {
				problem("%s", tool.RefText(&r))
			}
		}
		if counter < rep.Counter {
			problem("%s went back from %d to %d", demoCounter, rep.Counter, counter)
		}
		if counter != uint64(branches) {
			problem("%s = %d but %d branches", demoCounter, counter, branches)
		}
		rep.Counter = max(rep.Counter, counter)
	}
	for ctx.Err() == nil {
		check()
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Millisecond): // leave the CPU to the writers
		}
	}
	check()
	rep.Reloads = st.Stats().Reloads
	return rep, nil
}

// decodeDemo sets v from data, the one JSON object of a worker's
// arguments or report. A field v does not have is an error, as is
// anything after the object.
func decodeDemo(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}
