package bench

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
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

	"github.com/refstore/refstore/repo"
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
	Usage:         "[-n N] [-commits C] [-lookups L] [-git PATH] [-json] [-keep]",
	Short:         "time reftable against git on the same workloads",
	Long: `Bench times this program against git, end to end, as separate processes
on the same inputs in the same run. In a temporary directory it makes a
repository with git init --ref-format=reftable and one commit, copies it
for each side, and runs (reftable command vs git command):

	create   N refs refs/heads/branch-%07d in one transaction, each side
	         on a fresh copy (update vs update-ref --stdin)
	list     all refs under refs/ (refs vs for-each-ref with
	         --format='%(refname) %(objectname)')
	lookup   L lookups of random existing refs, one process each
	         (show vs rev-parse --verify)
	commit   C single-ref commits with auto-compaction on the N-ref
	         repository, one process each (update vs update-ref REF OID)
	compact  full compaction of the resulting stack, each side on a copy
	         (compact vs pack-refs --all)

create, list and compact report the median of several runs, lookup and
commit the total of their processes. git is configured with
core.fsync=reference so that both sides flush tables and tables.list to
disk, and runs without any user or system configuration.

Between workloads bench checks the results with the library: after
create both stores hold N+1 refs under refs/ and have the same digest
(see digest), both listings are identical, every lookup prints the ref's
object id, after the commits the digests agree again, and after
compaction each stack has one table and the same digest. A failed check
exits 1.

git is -git, else $REFTABLE_GIT, else git on PATH; it needs the reftable
backend (2.45 or newer). Without one bench times this program only and
says so. Progress goes to standard error, the table to standard output;
with -json one JSON object a workload (JSON Lines):

	{"workload": "create", "what": "...", "runs": 3, "reftable_ns": 123,
	 "git_ns": 456, "ratio": 3.7}

where ratio is git_ns / reftable_ns (above 1: this program is faster);
git_ns and ratio are absent without git. -keep keeps the temporary
directory and prints its path.

Examples:

	reftable bench -git /opt/reftable-git/bin/git
	reftable bench -n 10000 -commits 100 -lookups 20 -json`,
	Flags: func(fs *flag.FlagSet) any {
		f := &benchFlags{}
		fs.IntVar(&f.n, "n", 100000, "number of refs `N` to create")
		fs.IntVar(&f.commits, "commits", 1000, "number of single-ref commits `C`")
		fs.IntVar(&f.lookups, "lookups", 100, "number of one-ref lookups `L`")
		fs.StringVar(&f.git, "git", "", "git binary to compare with (default $REFTABLE_GIT, then PATH)")
		fs.BoolVar(&f.json, "json", false, "print JSON Lines: workload, what, runs, reftable_ns, git_ns, ratio")
		fs.BoolVar(&f.keep, "keep", false, "keep the temporary directory")
		return f
	},
	Run: runBench,
}

type benchFlags struct {
	n, commits, lookups int
	git                 string
	json, keep          bool
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
}

func runBench(e *tool.Env, flags any, args []string) error {
	f := flags.(*benchFlags)
	if err := tool.MaxArgs(args, 0); err != nil {
		return err
	}
	if f.n < 1 || f.commits < 1 || f.lookups < 1 {
		return tool.Usagef("-n, -commits and -lookups must be at least 1")
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
	for _, w := range []func() error{b.create, b.list, b.lookup, b.commit, b.compact} {
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

// exec runs o on side s in dir and returns its wall time and output.
func (b *bench) exec(s side, dir string, o op) (time.Duration, []byte, error) {
	name, args := b.self, o.ours
	if s == theirs {
		name, args = b.git, o.git
	}
	cmd := exec.CommandContext(b.e.Context(), name, args...)
	cmd.Dir, cmd.Env = dir, b.environ
	if o.stdin != nil {
		cmd.Stdin = bytes.NewReader(o.stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		prog := "reftable"
		if s == theirs {
			prog = "git"
		}
		return d, nil, fmt.Errorf("%s %s in %s: %w: %s", prog, strings.Join(args, " "), dir, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return d, stdout.Bytes(), nil
}

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

// create times the bulk creation of N refs, each run on a fresh copy of
// the template; the last run's repositories serve the later workloads.
func (b *bench) create() error {
	var in bytes.Buffer
	for i := range b.f.n {
		fmt.Fprintf(&in, "create refs/heads/branch-%07d %s\n", i, b.oid)
	}
	o := op{ours: []string{"update"}, git: []string{"update-ref", "--stdin"}, stdin: in.Bytes()}
	var times [2][]time.Duration
	for run := range createRuns {
		for _, s := range b.sides() {
			b.prog.say("create %d refs: %s, run %d of %d", b.f.n, s, run+1, createRuns)
			dir, err := b.copyRepo(b.template, fmt.Sprintf("create-%s-%d", s, run))
			if err != nil {
				return err
			}
			d, _, err := b.exec(s, dir, o)
			if err != nil {
				return err
			}
			times[s] = append(times[s], d)
			if old := b.repo[s]; old != "" {
				if err := os.RemoveAll(old); err != nil {
					return err
				}
			}
			b.repo[s] = dir
		}
	}
	b.add("create", fmt.Sprintf("%d refs in one transaction (update vs update-ref --stdin)", b.f.n), times)
	if benchAfterCreate != nil {
		if err := benchAfterCreate(b.repo[ours]); err != nil {
			return err
		}
	}
	_, err := b.checkSame("create", b.f.n+1)
	return err
}

// list times listing every ref and checks both listings are the same.
func (b *bench) list() error {
	o := op{ours: []string{"refs", ".", "refs/"}, git: []string{"for-each-ref", "--format=%(refname) %(objectname)"}}
	var times [2][]time.Duration
	var out [2][]byte
	for run := range listRuns {
		for _, s := range b.sides() {
			b.prog.say("list: %s, run %d of %d", s, run+1, listRuns)
			d, stdout, err := b.exec(s, b.repo[s], o)
			if err != nil {
				return err
			}
			times[s] = append(times[s], d)
			out[s] = stdout
		}
	}
	b.add("list", fmt.Sprintf("%d refs (refs vs for-each-ref)", b.f.n+1), times)
	if n := bytes.Count(out[ours], []byte("\n")); n != b.f.n+1 {
		return fmt.Errorf("check after list: reftable refs printed %d lines, want %d", n, b.f.n+1)
	}
	if b.git != "" && !bytes.Equal(out[ours], out[theirs]) {
		return fmt.Errorf("check after list: reftable refs and git for-each-ref differ")
	}
	return nil
}

// lookup times one-ref lookups of random existing refs.
func (b *bench) lookup() error {
	rng := rand.New(rand.NewPCG(1, 2))
	var times [2][]time.Duration
	total := [2]time.Duration{}
	for i := range b.f.lookups {
		name := fmt.Sprintf("refs/heads/branch-%07d", rng.IntN(b.f.n))
		o := op{ours: []string{"show", ".", name}, git: []string{"rev-parse", "--verify", name}}
		want := [2]string{name + " " + b.oid + "\n", b.oid + "\n"}
		if i%10 == 0 {
			b.prog.say("lookup: %d of %d", i+1, b.f.lookups)
		}
		for _, s := range b.sides() {
			d, out, err := b.exec(s, b.repo[s], o)
			if err != nil {
				return err
			}
			if string(out) != want[s] {
				return fmt.Errorf("check after lookup: %s printed %q for %s, want %q", s, out, name, want[s])
			}
			total[s] += d
		}
	}
	for _, s := range b.sides() {
		times[s] = []time.Duration{total[s]}
	}
	b.add("lookup", fmt.Sprintf("%d refs, one process each (show vs rev-parse --verify)", b.f.lookups), times)
	return nil
}

// commit times single-ref commits with auto-compaction, one process each.
func (b *bench) commit() error {
	var times [2][]time.Duration
	total := [2]time.Duration{}
	for i := range b.f.commits {
		name := fmt.Sprintf("refs/heads/commit-%04d", i)
		o := op{ours: []string{"update"}, git: []string{"update-ref", name, b.oid},
			stdin: []byte("update " + name + " " + b.oid + "\n")}
		if i%50 == 0 {
			b.prog.say("commit: %d of %d", i+1, b.f.commits)
		}
		for _, s := range b.sides() {
			d, _, err := b.exec(s, b.repo[s], o)
			if err != nil {
				return err
			}
			total[s] += d
		}
	}
	for _, s := range b.sides() {
		times[s] = []time.Duration{total[s]}
	}
	b.add("commit", fmt.Sprintf("%d single-ref commits, one process each (update vs update-ref)", b.f.commits), times)
	_, err := b.checkSame("commit", b.f.n+1+b.f.commits)
	return err
}

// compact times full compaction, each run on a copy of the stack the
// commits left.
func (b *bench) compact() error {
	before, err := b.checkSame("compact", b.f.n+1+b.f.commits)
	if err != nil {
		return err
	}
	o := op{ours: []string{"compact"}, git: []string{"pack-refs", "--all"}}
	var times [2][]time.Duration
	for run := range compactRuns {
		for _, s := range b.sides() {
			b.prog.say("compact: %s, run %d of %d", s, run+1, compactRuns)
			dir, err := b.copyRepo(b.repo[s], fmt.Sprintf("compact-%s-%d", s, run))
			if err != nil {
				return err
			}
			d, _, err := b.exec(s, dir, o)
			if err != nil {
				return err
			}
			times[s] = append(times[s], d)
			after, err := summarize(b.e.Context(), dir)
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
	b.add("compact", fmt.Sprintf("%d refs in %s tables into one (compact vs pack-refs --all)", b.f.n+1+b.f.commits, tables), times)
	return nil
}

// A summary is what the checks compare of a repository, read with the
// library.
type summary struct {
	digest string // as reftable digest computes it
	refs   int    // live refs under refs/
	tables int
}

func summarize(ctx context.Context, dir string) (summary, error) {
	r, err := repo.Open(dir, repo.Options{NoParents: true, ReadOnly: true})
	if err != nil {
		return summary{}, err
	}
	defer r.Close()
	snap, err := r.Snapshot(ctx)
	if err != nil {
		return summary{}, err
	}
	defer snap.Close()
	st, err := r.Stack()
	if err != nil {
		return summary{}, err
	}
	own, err := st.Snapshot(ctx)
	if err != nil {
		return summary{}, err
	}
	defer own.Close()
	d, err := tool.Digest(snap.RefRecords(""))
	if err != nil {
		return summary{}, err
	}
	s := summary{digest: d, tables: len(own.TableNames())}
	for _, err := range snap.RefRecords("refs/") {
		if err != nil {
			return summary{}, err
		}
		s.refs++
	}
	return s, nil
}

// checkSame checks that each side's repository has want refs under refs/
// and that both have the same digest.
func (b *bench) checkSame(after string, want int) ([2]summary, error) {
	var sum [2]summary
	for _, s := range b.sides() {
		var err error
		if sum[s], err = summarize(b.e.Context(), b.repo[s]); err != nil {
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

// add records a workload's row from the times of each side.
func (b *bench) add(workload, what string, times [2][]time.Duration) {
	r := benchRow{Workload: workload, What: what, Runs: len(times[ours]), Reftable: int64(median(times[ours]))}
	if b.git != "" {
		r.Git = int64(median(times[theirs]))
		r.Ratio = float64(r.Git) / float64(max(r.Reftable, 1))
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
	if b.f.json {
		enc := json.NewEncoder(b.e.Stdout())
		for _, r := range b.rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(b.e.Stdout(), "reftable bench -n %d -commits %d -lookups %d; %s; %d CPUs, %s/%s\n",
		b.f.n, b.f.commits, b.f.lookups, note, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	tw := tabwriter.NewWriter(b.e.Stdout(), 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "workload\truns\treftable\tgit\tgit/reftable\twhat\n")
	for _, r := range b.rows {
		g, ratio := "-", "-"
		if b.git != "" {
			g, ratio = fmtDuration(time.Duration(r.Git)), fmt.Sprintf("%.2f", r.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", r.Workload, r.Runs, fmtDuration(time.Duration(r.Reftable)), g, ratio, r.What)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(b.e.Stdout(), "checks passed: ref counts, digests, listings, lookups, one table after compaction\n")
	return nil
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
