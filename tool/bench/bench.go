package bench

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/tool"
)

// Command is the bench command: "reftable bench" times this program
// against git, running this program (os.Executable) for every step, so
// a program that offers it must offer the other commands too, as the
// reftable programs do. It is not changed once made.
var Command = &tool.Command{
	Interruptible: true,
	Name:          "bench",
	Usage:         "[-n N] [-n-large N] [-commits C] [-lookups L] [-git PATH] [-versitygw PATH] [-s3-commits S] [-json] [-keep]",
	Short:         "time reftable against git on the same workloads",
	Long: `Bench times this program against git, end to end, as separate processes
on the same inputs in the same run. In a temporary directory it makes a
repository with git init --ref-format=reftable and one commit, copies it
for each side, and runs (reftable command vs git command):

	create        N refs refs/heads/branch-%07d in one transaction, each
	              side on a fresh copy (update vs update-ref --stdin)
	list          all refs under refs/ (refs vs for-each-ref with
	              --format='%(refname) %(objectname)')
	lookup        L lookups of random existing refs, one process each
	              (show vs rev-parse --verify)
	commit        C single-ref commits with auto-compaction on the N-ref
	              repository, one process each (update vs update-ref
	              REF OID)
	compact       full compaction of the resulting stack, each side on a
	              copy (compact vs pack-refs --all)
	create-large  as create, once, with -n-large refs: by default ten
	              times N, 1,000,000 with the default N; -n-large 0
	              leaves the row out

create, list and compact report the median of several runs, lookup and
commit the total of their processes. Beside the times are the peak
resident set sizes of each program: the largest of the row's processes,
as the system accounts for a child that exited (Linux and macOS; n/a
elsewhere). On Linux that account includes the pages the child held
before it started the program, which are bench's: a figure is never
below bench's own peak at the time, which the header line gives ("bench
itself"), and one near it is an upper bound. bench keeps its own small:
inputs are files, outputs are hashed as they come, and the checks run
in child processes. git is configured with core.fsync=reference so that both
sides flush tables and tables.list to disk, and runs without any user or
system configuration.

With -versitygw PATH, bench also starts that versitygw (an S3 server)
on 127.0.0.1 with its posix backend in the temporary directory,
keeping connections open between requests as S3 does, and times this
project on a stack there; git has no S3 counterpart, so
these rows time reftable only. The steps run the reftable-s3 program,
found as reftable finds it for an s3:// PATH ($REFTABLE_S3, next to this
program, PATH): reftable links no S3 client, and given an s3:// PATH it
runs reftable-s3 in its place. The rows:

	s3-create     N refs in one transaction (update)
	s3-commit     S single-ref commits with auto-compaction, one
	              process each (update)
	s3-reload     L lookups of random refs, one process each, each
	              loading the stack's list and tables anew (show)
	s3-writers-W  S single-ref commits by W writers at once, for W = 1,
	              2, 4 and 8, each writer running one process a commit
	              (update -lock-timeout 1m); the row gives their wall
	              time and the commits per second

Between workloads bench checks the results, with this program's digest
and refs commands and the stacks' tables.list: after
create both stores hold N+1 refs under refs/ and have the same digest
(see digest), both listings are identical, every lookup prints the ref's
object id, after the commits the digests agree again, after compaction
each stack has one table and the same digest, and after create-large
both hold its refs with the same digest. On S3 every lookup prints its
ref and the stack ends with every ref committed (digest). A failed
check exits 1.

git is -git, else $REFTABLE_GIT, else git on PATH; it needs the reftable
backend (2.45 or newer). Without one bench times this program only and
says so. Progress goes to standard error, the table to standard output:
a header line, the columns workload, runs, reftable (time), git (time),
git/reftable (ratio), reftable-rss, git-rss (MiB) and what, one row a
workload, and the line of the checks passed. With -json bench prints one
JSON object a workload instead (JSON Lines):

	{"workload": "create", "what": "...", "runs": 3, "reftable_ns": 123,
	 "git_ns": 456, "ratio": 3.7, "reftable_rss": 31457280,
	 "git_rss": 20971520}

where ratio is git_ns / reftable_ns (above 1: this program is faster)
and the rss fields are peak resident set sizes in bytes. git_ns, ratio
and git_rss are absent without git and in the S3 rows, the rss fields
where the system does not report them; the s3-writers rows add
"commits_per_second". -keep keeps the temporary directory and prints its
path.

Examples:

	reftable bench -git /opt/reftable-git/bin/git
	reftable bench -n 10000 -commits 100 -lookups 20 -json
	reftable bench -n 2000 -commits 20 -lookups 10 -versitygw ~/go/bin/versitygw`,
	Flags: func(fs *flag.FlagSet) any {
		f := &benchFlags{}
		fs.IntVar(&f.n, "n", 100000, "number of refs `N` to create")
		fs.Var(&f.large, "n-large", "number of refs `N` of the create-large row (default ten times -n; 0: no such row)")
		fs.IntVar(&f.commits, "commits", 1000, "number of single-ref commits `C`")
		fs.IntVar(&f.lookups, "lookups", 100, "number of one-ref lookups `L`")
		fs.StringVar(&f.git, "git", "", "git binary to compare with (default $REFTABLE_GIT, then PATH)")
		fs.StringVar(&f.versitygw, "versitygw", "", "versitygw binary to run the S3 rows with (default: no S3 rows)")
		fs.IntVar(&f.s3Commits, "s3-commits", 100, "number of single-ref commits `S` of s3-commit and of each s3-writers row")
		fs.BoolVar(&f.json, "json", false, "print JSON Lines: workload, what, runs, reftable_ns, git_ns, ratio, reftable_rss, git_rss, commits_per_second")
		fs.BoolVar(&f.keep, "keep", false, "keep the temporary directory")
		return f
	},
	Run: runBench,
}

type benchFlags struct {
	n, commits, lookups int
	large               largeFlag
	git, versitygw      string
	s3Commits           int
	json, keep          bool
}

// largeFlag is -n-large: a number of refs, or unset for ten times -n.
type largeFlag struct {
	n   int
	set bool
}

// String returns "" when unset, so that help shows no default.
func (f *largeFlag) String() string {
	if f == nil || !f.set {
		return ""
	}
	return strconv.Itoa(f.n)
}

func (f *largeFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not a number")
	}
	f.n, f.set = n, true
	return nil
}

// nLarge returns the refs of the create-large row; 0 for none.
func (f *benchFlags) nLarge() int {
	if f.large.set {
		return f.large.n
	}
	return 10 * f.n
}

// Repetitions of the workloads that are cheap enough to repeat.
const (
	createRuns  = 3
	listRuns    = 5
	compactRuns = 3
)

// benchAfterCreate, when set by a test, runs on our repository after the
// bulk creation and before its checks.
var benchAfterCreate func(dir string) error

// A benchRow is the result of one workload.
type benchRow struct {
	Workload string  `json:"workload"`
	What     string  `json:"what"`
	Runs     int     `json:"runs"`
	Reftable int64   `json:"reftable_ns"`
	Git      int64   `json:"git_ns,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"`
	// ReftableRSS and GitRSS are peak resident set sizes in bytes; 0
	// where the system does not report them.
	ReftableRSS int64 `json:"reftable_rss,omitempty"`
	GitRSS      int64 `json:"git_rss,omitempty"`
	// CommitsPerSecond is the throughput of the s3-writers rows.
	CommitsPerSecond float64 `json:"commits_per_second,omitempty"`

	hasGit bool // git ran this workload
}

// A side is the program a step runs: ours or git.
type side int

const (
	ours side = iota
	theirs
)

func (s side) String() string { return [...]string{"reftable", "git"}[s] }

// An op is one process to run on each side, in the repository.
type op struct {
	ours, git []string
	stdin     []byte
	input     string // a file to read stdin from, instead of stdin
	stdout    func(side) io.Writer
}

// A proc is one process to run.
type proc struct {
	prog   string // its name in errors
	path   string
	args   []string
	dir    string
	env    []string
	stdin  []byte
	input  string    // a file to read stdin from, instead of stdin
	stdout io.Writer // where its output goes; nil for ran.stdout
}

// A ran is what one process did.
type ran struct {
	d      time.Duration // wall time
	rss    int64         // peak resident set size in bytes
	rssOK  bool          // whether the system reported rss
	stdout []byte
}

// A tally collects the times and peak RSS of one row's processes.
type tally struct {
	times [2][]time.Duration
	rss   [2]int64
	nrss  [2]int // processes whose rss is unknown
}

// run records r as one run of side s: rows of several runs report the
// median.
func (t *tally) run(s side, r ran) {
	t.times[s] = append(t.times[s], r.d)
	t.peak(s, r)
}

// sum adds r to the single total of side s.
func (t *tally) sum(s side, r ran) {
	if len(t.times[s]) == 0 {
		t.times[s] = []time.Duration{0}
	}
	t.times[s][0] += r.d
	t.peak(s, r)
}

func (t *tally) peak(s side, r ran) {
	if !r.rssOK {
		t.nrss[s]++
	}
	t.rss[s] = max(t.rss[s], r.rss)
}

// peakRSS returns the largest peak RSS of side s, 0 if a process's was
// not reported.
func (t *tally) peakRSS(s side) int64 {
	if t.nrss[s] > 0 {
		return 0
	}
	return t.rss[s]
}

type bench struct {
	e        *tool.Env
	f        *benchFlags
	self     string // this program
	git      string // the git binary; empty to time ours only
	dir      string // temporary directory
	environ  []string
	oid      string // the commit every ref points at
	template string // the repository copied for each run
	repo     [2]string
	prog     progress
	rows     []benchRow
	s3       *s3bench // the S3 rows' setting; nil without -versitygw
}

func runBench(e *tool.Env, flags any, args []string) error {
	f := flags.(*benchFlags)
	if err := tool.MaxArgs(args, 0); err != nil {
		return err
	}
	if f.n < 1 || f.commits < 1 || f.lookups < 1 || f.s3Commits < 1 {
		return tool.Usagef("-n, -commits, -lookups and -s3-commits must be at least 1")
	}
	if f.nLarge() < 0 {
		return tool.Usagef("-n-large must not be negative")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	b := &bench{e: e, f: f, self: self, prog: progress{w: e.Stderr(), tty: tool.IsTerminal(e.Stderr())}}
	git, note, err := findGit(f.git)
	if err != nil {
		return err
	}
	b.git = git
	if f.versitygw != "" {
		// Both programs must be there before the first workload.
		if b.s3, err = newS3Bench(f.versitygw); err != nil {
			return err
		}
		note += fmt.Sprintf("; versitygw at %s, reftable-s3 at %s", f.versitygw, b.s3.program)
	}
	if b.dir, err = os.MkdirTemp("", "reftable-bench-"); err != nil {
		return err
	}
	if f.keep {
		defer fmt.Fprintf(e.Stderr(), "reftable bench: kept %s\n", b.dir)
	} else {
		defer os.RemoveAll(b.dir)
	}
	home := filepath.Join(b.dir, "home")
	if err := os.Mkdir(home, 0o777); err != nil {
		return err
	}
	b.environ = benchEnviron(home)
	b.template = filepath.Join(b.dir, "template")
	if b.git != "" {
		err = b.gitTemplate()
	} else {
		err = b.ownTemplate()
	}
	if err != nil {
		return fmt.Errorf("making the repository: %w", err)
	}
	workloads := []func() error{b.create, b.list, b.lookup, b.commit, b.compact, b.createLarge}
	if b.s3 != nil {
		workloads = append(workloads, b.s3Rows)
	}
	for _, w := range workloads {
		if err := w(); err != nil {
			b.prog.clear()
			return err
		}
	}
	b.prog.clear()
	return b.print(note)
}

// findGit returns the git to compare with, or "" and why there is none.
// A -git that does not work is an error.
func findGit(explicit string) (path, note string, err error) {
	path = explicit
	if path == "" {
		path = os.Getenv("REFTABLE_GIT")
	}
	if path == "" {
		if path, err = exec.LookPath("git"); err != nil {
			return "", "no git found (-git, $REFTABLE_GIT, PATH): timing reftable only", nil
		}
	}
	v, err := gitVersion(path)
	if err == nil && (v[0] < 2 || v[0] == 2 && v[1] < 45) {
		err = fmt.Errorf("version %d.%d has no reftable backend (2.45 or newer needed)", v[0], v[1])
	}
	if err != nil {
		if explicit != "" {
			return "", "", fmt.Errorf("-git %s: %w", explicit, err)
		}
		return "", fmt.Sprintf("git %s: %v: timing reftable only", path, err), nil
	}
	return path, fmt.Sprintf("git %d.%d at %s", v[0], v[1], path), nil
}

// gitVersion returns the major and minor version of the git at path.
func gitVersion(path string) ([2]int, error) {
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return [2]int{}, err
	}
	return parseGitVersion(string(out))
}

// parseGitVersion parses what git --version prints: "git version
// 2.55.0", possibly with more after the minor version.
func parseGitVersion(out string) ([2]int, error) {
	notDigit := func(r rune) bool { return r < '0' || r > '9' }
	_, rest, ok := strings.Cut(out, "git version ")
	major, rest, ok2 := strings.Cut(rest, ".")
	if i := strings.IndexFunc(rest, notDigit); i >= 0 {
		rest = rest[:i]
	}
	a, errA := strconv.Atoi(major)
	b, errB := strconv.Atoi(rest)
	if !ok || !ok2 || errA != nil || errB != nil {
		return [2]int{}, fmt.Errorf("unexpected --version output %q", strings.TrimSpace(out))
	}
	return [2]int{a, b}, nil
}

// benchEnviron is the environment of every process: ours without git's
// variables, a private home and fixed identities.
func benchEnviron(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			env = append(env, kv)
		}
	}
	return append(env, "HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C",
		"GIT_AUTHOR_NAME=reftable bench", "GIT_AUTHOR_EMAIL=bench@example.com",
		"GIT_COMMITTER_NAME=reftable bench", "GIT_COMMITTER_EMAIL=bench@example.com")
}

// gitTemplate makes the repository with git: one empty commit on main.
func (b *bench) gitTemplate() error {
	if _, err := b.gitOut("", "init", "-q", "--ref-format=reftable", "-b", "main", b.template); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"config", "core.fsync", "reference"},
		{"config", "gc.auto", "0"},
		{"config", "maintenance.auto", "false"},
		{"commit", "-q", "--allow-empty", "-m", "reftable bench"},
	} {
		if _, err := b.gitOut(b.template, args...); err != nil {
			return err
		}
	}
	out, err := b.gitOut(b.template, "rev-parse", "HEAD")
	b.oid = strings.TrimSpace(out)
	return err
}

func (b *bench) gitOut(dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(b.e.Context(), b.git, args...)
	cmd.Dir, cmd.Env = dir, b.environ
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return string(out), nil
}

// ownTemplate lays out a reftable repository without git: one commit (of
// the empty tree, which git knows without storing it), stored loose, on
// main.
func (b *bench) ownTemplate() error {
	gitDir := filepath.Join(b.template, ".git")
	for _, d := range []string{"objects", "refs/heads", "reftable"} {
		if err := os.MkdirAll(filepath.Join(gitDir, d), 0o777); err != nil {
			return err
		}
	}
	cfg := "[core]\n\trepositoryformatversion = 1\n\tbare = false\n[extensions]\n\trefStorage = reftable\n"
	if err := os.WriteFile(filepath.Join(gitDir, "config"), []byte(cfg), 0o666); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(gitDir, "HEAD"), []byte("ref: refs/heads/.invalid\n"), 0o666); err != nil {
		return err
	}
	body := "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n" +
		"author reftable bench <bench@example.com> 1700000000 +0000\n" +
		"committer reftable bench <bench@example.com> 1700000000 +0000\n\nreftable bench\n"
	object := fmt.Sprintf("commit %d\x00%s", len(body), body)
	id := sha1.Sum([]byte(object))
	b.oid = hex.EncodeToString(id[:])
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte(object))
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(gitDir, "objects", b.oid[:2]), 0o777); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(gitDir, "objects", b.oid[:2], b.oid[2:]), z.Bytes(), 0o444); err != nil {
		return err
	}
	st, err := stack.Open(filepath.Join(gitDir, "reftable"), stack.Options{})
	if err != nil {
		return err
	}
	tx := st.NewTransaction(stack.Identity{Name: "reftable bench", Email: "bench@example.com", Time: time.Now()}, stack.ReflogNormal)
	tx.Add(stack.Update{Ref: stack.Ref{Name: "HEAD", Target: "refs/heads/main"}})
	tx.Add(stack.Update{Ref: stack.Ref{Name: "refs/heads/main", ID: id[:]}, Message: "reftable bench"})
	return errors.Join(tx.Commit(context.Background()), st.Close())
}

// sides lists the sides that run.
func (b *bench) sides() []side {
	if b.git == "" {
		return []side{ours}
	}
	return []side{ours, theirs}
}

// exec runs o on side s in dir.
func (b *bench) exec(s side, dir string, o op) (ran, error) {
	p := proc{prog: "reftable", path: b.self, args: o.ours, dir: dir, env: b.environ, stdin: o.stdin, input: o.input}
	if s == theirs {
		p.prog, p.path, p.args = "git", b.git, o.git
	}
	if o.stdout != nil {
		p.stdout = o.stdout(s)
	}
	return b.start(p)
}

// start runs p and returns what it did. Its wall time runs from just
// before the start to just after the exit, and its peak RSS is what the
// system accounts for the child.
//
// On Linux that account starts with the resident pages of the process
// before it executes the program, which are bench's own: bench keeps
// them few, reading no large input or output into memory (inputs are
// files, outputs are hashed as they come, the checks run in child
// processes).
func (b *bench) start(p proc) (ran, error) {
	cmd := exec.CommandContext(b.e.Context(), p.path, p.args...)
	cmd.Dir, cmd.Env = p.dir, p.env
	switch {
	case p.input != "":
		f, err := os.Open(p.input)
		if err != nil {
			return ran{}, err
		}
		defer f.Close()
		cmd.Stdin = f
	case p.stdin != nil:
		cmd.Stdin = bytes.NewReader(p.stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if p.stdout != nil {
		cmd.Stdout = p.stdout
	}
	start := time.Now()
	err := cmd.Run()
	r := ran{d: time.Since(start), stdout: stdout.Bytes()}
	if err != nil {
		return r, fmt.Errorf("%s %s in %s: %w: %s", p.prog, strings.Join(p.args, " "), p.dir, err, bytes.TrimSpace(stderr.Bytes()))
	}
	r.rss, r.rssOK = peakRSS(cmd.ProcessState)
	return r, nil
}

// A lines hashes what is written to it and counts its lines, to compare
// large outputs without keeping them. The hash is maphash, seeded alike
// for every lines of a run: reading a listing takes CPU from the program
// it times, and maphash reads a 100,000-ref listing in 0.7 ms here where
// SHA-256 took 3.9 (of the 10-20 ms it takes to list). Outputs of the
// same run are compared, and none is an adversary's.
type lines struct {
	h maphash.Hash
	n int
}

// linesSeed seeds the hash of every lines.
var linesSeed = maphash.MakeSeed()

func newLines() *lines {
	l := new(lines)
	l.h.SetSeed(linesSeed)
	return l
}

func (l *lines) Write(p []byte) (int, error) {
	l.n += bytes.Count(p, []byte("\n"))
	return l.h.Write(p)
}

func (l *lines) sum() string { return strconv.FormatUint(l.h.Sum64(), 16) }

// copyRepo copies the repository src to a new directory named name.
func (b *bench) copyRepo(src, name string) (string, error) {
	dst := filepath.Join(b.dir, name)
	return dst, filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o777)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o666)
	})
}

// createInput returns a file of the update commands that create n refs
// named refs/heads/branch-%07d, written once.
func (b *bench) createInput(n int) (string, error) {
	path := filepath.Join(b.dir, fmt.Sprintf("create-%d.in", n))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	w := bufio.NewWriter(f)
	for i := range n {
		fmt.Fprintf(w, "create refs/heads/branch-%07d %s\n", i, b.oid)
	}
	return path, errors.Join(w.Flush(), f.Close())
}

// createRefs times runs bulk creations of n refs, each on a fresh copy of
// the template, and returns the last run's repositories, the others
// removed.
func (b *bench) createRefs(workload string, n, runs int, t *tally) ([2]string, error) {
	var repos [2]string
	input, err := b.createInput(n)
	if err != nil {
		return repos, err
	}
	o := op{ours: []string{"update"}, git: []string{"update-ref", "--stdin"}, input: input}
	for run := range runs {
		for _, s := range b.sides() {
			b.prog.say("%s %d refs: %s, run %d of %d", workload, n, s, run+1, runs)
			dir, err := b.copyRepo(b.template, fmt.Sprintf("%s-%s-%d", workload, s, run))
			if err != nil {
				return repos, err
			}
			r, err := b.exec(s, dir, o)
			if err != nil {
				return repos, err
			}
			t.run(s, r)
			if old := repos[s]; old != "" {
				if err := os.RemoveAll(old); err != nil {
					return repos, err
				}
			}
			repos[s] = dir
		}
	}
	return repos, nil
}

// create times the bulk creation of N refs; the last run's repositories
// serve the later workloads.
func (b *bench) create() error {
	var t tally
	repos, err := b.createRefs("create", b.f.n, createRuns, &t)
	if err != nil {
		return err
	}
	b.repo = repos
	b.add("create", fmt.Sprintf("%d refs in one transaction (update vs update-ref --stdin)", b.f.n), &t)
	if benchAfterCreate != nil {
		if err := benchAfterCreate(b.repo[ours]); err != nil {
			return err
		}
	}
	_, err = b.checkSame("create", b.repo, b.f.n+1)
	return err
}

// createLarge times one bulk creation of -n-large refs, checks it and
// removes its repositories.
func (b *bench) createLarge() error {
	n := b.f.nLarge()
	if n == 0 {
		return nil
	}
	var t tally
	repos, err := b.createRefs("create-large", n, 1, &t)
	if err != nil {
		return err
	}
	b.add("create-large", fmt.Sprintf("%d refs in one transaction (update vs update-ref --stdin)", n), &t)
	if _, err := b.checkSame("create-large", repos, n+1); err != nil {
		return err
	}
	for _, dir := range repos {
		if dir != "" {
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// list times listing every ref and checks both listings are the same.
func (b *bench) list() error {
	var out [2]*lines
	o := op{ours: []string{"refs", ".", "refs/"}, git: []string{"for-each-ref", "--format=%(refname) %(objectname)"},
		stdout: func(s side) io.Writer { out[s] = newLines(); return out[s] }}
	var t tally
	for run := range listRuns {
		for _, s := range b.sides() {
			b.prog.say("list: %s, run %d of %d", s, run+1, listRuns)
			r, err := b.exec(s, b.repo[s], o)
			if err != nil {
				return err
			}
			t.run(s, r)
		}
	}
	b.add("list", fmt.Sprintf("%d refs (refs vs for-each-ref)", b.f.n+1), &t)
	if n := out[ours].n; n != b.f.n+1 {
		return fmt.Errorf("check after list: reftable refs printed %d lines, want %d", n, b.f.n+1)
	}
	if b.git != "" && out[ours].sum() != out[theirs].sum() {
		return fmt.Errorf("check after list: reftable refs and git for-each-ref differ")
	}
	return nil
}

// lookup times one-ref lookups of random existing refs.
func (b *bench) lookup() error {
	rng := rand.New(rand.NewPCG(1, 2))
	var t tally
	for i := range b.f.lookups {
		name := fmt.Sprintf("refs/heads/branch-%07d", rng.IntN(b.f.n))
		o := op{ours: []string{"show", ".", name}, git: []string{"rev-parse", "--verify", name}}
		want := [2]string{name + " " + b.oid + "\n", b.oid + "\n"}
		if i%10 == 0 {
			b.prog.say("lookup: %d of %d", i+1, b.f.lookups)
		}
		for _, s := range b.sides() {
			r, err := b.exec(s, b.repo[s], o)
			if err != nil {
				return err
			}
			if string(r.stdout) != want[s] {
				return fmt.Errorf("check after lookup: %s printed %q for %s, want %q", s, r.stdout, name, want[s])
			}
			t.sum(s, r)
		}
	}
	b.add("lookup", fmt.Sprintf("%d refs, one process each (show vs rev-parse --verify)", b.f.lookups), &t)
	return nil
}

// commit times single-ref commits with auto-compaction, one process each.
func (b *bench) commit() error {
	var t tally
	for i := range b.f.commits {
		name := fmt.Sprintf("refs/heads/commit-%04d", i)
		o := op{ours: []string{"update"}, git: []string{"update-ref", name, b.oid},
			stdin: []byte("update " + name + " " + b.oid + "\n")}
		if i%50 == 0 {
			b.prog.say("commit: %d of %d", i+1, b.f.commits)
		}
		for _, s := range b.sides() {
			r, err := b.exec(s, b.repo[s], o)
			if err != nil {
				return err
			}
			t.sum(s, r)
		}
	}
	b.add("commit", fmt.Sprintf("%d single-ref commits, one process each (update vs update-ref)", b.f.commits), &t)
	_, err := b.checkSame("commit", b.repo, b.f.n+1+b.f.commits)
	return err
}

// compact times full compaction, each run on a copy of the stack the
// commits left.
func (b *bench) compact() error {
	before, err := b.checkSame("compact", b.repo, b.f.n+1+b.f.commits)
	if err != nil {
		return err
	}
	o := op{ours: []string{"compact"}, git: []string{"pack-refs", "--all"}}
	var t tally
	for run := range compactRuns {
		for _, s := range b.sides() {
			b.prog.say("compact: %s, run %d of %d", s, run+1, compactRuns)
			dir, err := b.copyRepo(b.repo[s], fmt.Sprintf("compact-%s-%d", s, run))
			if err != nil {
				return err
			}
			r, err := b.exec(s, dir, o)
			if err != nil {
				return err
			}
			t.run(s, r)
			after, err := b.summarize(dir)
			if err != nil {
				return err
			}
			if after.tables != 1 || after.digest != before[s].digest {
				return fmt.Errorf("check after compact: %s left %d tables, digest %s, want 1 table, digest %s",
					s, after.tables, after.digest, before[s].digest)
			}
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
		}
	}
	tables := fmt.Sprint(before[ours].tables)
	if b.git != "" && before[theirs].tables != before[ours].tables {
		tables += "/" + fmt.Sprint(before[theirs].tables)
	}
	b.add("compact", fmt.Sprintf("%d refs in %s tables into one (compact vs pack-refs --all)", b.f.n+1+b.f.commits, tables), &t)
	return nil
}

// A summary is what the checks compare of a repository, read by this
// program's digest and refs commands in child processes (so that bench
// itself stays small) and from its tables.list.
type summary struct {
	digest string // as reftable digest computes it
	refs   int    // live refs under refs/
	tables int
}

func (b *bench) summarize(dir string) (summary, error) {
	var s summary
	r, err := b.start(proc{prog: "reftable", path: b.self, args: []string{"digest", "-json", "."}, dir: dir, env: b.environ})
	if err != nil {
		return s, err
	}
	var d struct {
		Digest string `json:"digest"`
		Refs   int    `json:"refs"`
	}
	if err := json.Unmarshal(r.stdout, &d); err != nil {
		return s, fmt.Errorf("reftable digest -json printed %q: %w", r.stdout, err)
	}
	s.digest = fmt.Sprintf("%s %d refs", d.Digest, d.Refs)
	count := newLines()
	if _, err := b.start(proc{prog: "reftable", path: b.self, args: []string{"refs", ".", "refs/"}, dir: dir, env: b.environ, stdout: count}); err != nil {
		return s, err
	}
	s.refs = count.n
	list, err := os.ReadFile(filepath.Join(dir, ".git", "reftable", "tables.list"))
	if err != nil {
		return s, err
	}
	s.tables = len(strings.Fields(string(list)))
	return s, nil
}

// checkSame checks that each side's repository of repos has want refs
// under refs/ and that both have the same digest.
func (b *bench) checkSame(after string, repos [2]string, want int) ([2]summary, error) {
	var sum [2]summary
	for _, s := range b.sides() {
		var err error
		if sum[s], err = b.summarize(repos[s]); err != nil {
			return sum, fmt.Errorf("check after %s: %s: %w", after, s, err)
		}
		if sum[s].refs != want {
			return sum, fmt.Errorf("check after %s: %s has %d refs under refs/, want %d", after, s, sum[s].refs, want)
		}
	}
	if b.git != "" && sum[ours].digest != sum[theirs].digest {
		return sum, fmt.Errorf("check after %s: digest of reftable's stack %s differs from git's %s", after, sum[ours].digest, sum[theirs].digest)
	}
	return sum, nil
}

// add records a workload's row from the tally of its processes; git's
// side is in it when git ran.
func (b *bench) add(workload, what string, t *tally) {
	r := benchRow{Workload: workload, What: what, Runs: len(t.times[ours]), Reftable: int64(median(t.times[ours])),
		ReftableRSS: t.peakRSS(ours)}
	if len(t.times[theirs]) > 0 {
		r.hasGit = true
		r.Git = int64(median(t.times[theirs]))
		r.Ratio = float64(r.Git) / float64(max(r.Reftable, 1))
		r.GitRSS = t.peakRSS(theirs)
	}
	b.rows = append(b.rows, r)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// print writes the table, or JSON Lines with -json.
func (b *bench) print(note string) error {
	w := b.e.Stdout()
	if b.f.json {
		enc := json.NewEncoder(w)
		for _, r := range b.rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(w, "reftable bench -n %d -n-large %d -commits %d -lookups %d", b.f.n, b.f.nLarge(), b.f.commits, b.f.lookups)
	if b.s3 != nil {
		fmt.Fprintf(w, " -s3-commits %d", b.f.s3Commits)
	}
	self, _ := selfPeakRSS()
	fmt.Fprintf(w, "; %s; %d CPUs, %s/%s; bench itself %s\n", note, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, fmtRSS(self))
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "workload\truns\treftable\tgit\tgit/reftable\treftable-rss\tgit-rss\twhat\n")
	for _, r := range b.rows {
		g, ratio, grss := "-", "-", "-"
		if r.hasGit {
			g, ratio, grss = fmtDuration(time.Duration(r.Git)), fmt.Sprintf("%.2f", r.Ratio), fmtRSS(r.GitRSS)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Workload, r.Runs, fmtDuration(time.Duration(r.Reftable)),
			g, ratio, fmtRSS(r.ReftableRSS), grss, r.What)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	checks := "ref counts, digests, listings, lookups, one table after compaction"
	if b.s3 != nil {
		checks += ", S3 lookups and ref count"
	}
	fmt.Fprintf(w, "checks passed: %s\n", checks)
	return nil
}

// fmtRSS prints a peak RSS in MiB, or n/a for 0 (not reported).
func fmtRSS(n int64) string {
	if n <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
}

// fmtDuration prints d with three significant digits.
func fmtDuration(d time.Duration) string {
	switch {
	case d >= 100*time.Second:
		return d.Round(time.Second).String()
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond).String()
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(10 * time.Microsecond).String()
}

// progress shows what bench is doing on standard error: one line
// rewritten in place on a terminal, plain lines otherwise.
type progress struct {
	w    io.Writer
	tty  bool
	last int // length of the line shown on the terminal
}

func (p *progress) say(format string, args ...any) {
	msg := "reftable bench: " + fmt.Sprintf(format, args...)
	if !p.tty {
		fmt.Fprintf(p.w, "%s\n", msg)
		return
	}
	fmt.Fprintf(p.w, "\r%-*s", p.last, msg)
	p.last = len(msg)
}

// clear removes the terminal line.
func (p *progress) clear() {
	if p.tty && p.last > 0 {
		fmt.Fprintf(p.w, "\r%*s\r", p.last, "")
		p.last = 0
	}
}
