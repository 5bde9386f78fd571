package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/refstore/refstore/internal/testutil/gittest"
	"github.com/refstore/refstore/internal/testutil/versitygw"
	"github.com/refstore/refstore/objstore"
	"github.com/refstore/refstore/s3store"
	"github.com/refstore/refstore/tool"
)

// asCLI is the environment variable under which the test binary acts as
// the reftable program, so bench (which runs os.Executable) can be tested
// in-process.
const asCLI = "REFTABLE_TEST_AS_CLI"

// config is the tool with bench, as the reftable programs configure it.
// The test binary is reftable-s3 too (REFTABLE_S3 names it in
// TestBenchS3), with package s3store's opener.
var config = tool.Config{
	OpenS3:   func(_ context.Context, url string) (objstore.Store, error) { return s3store.FromEnv(url) },
	Commands: []*tool.Command{Command},
}

// TestMain makes the test binary the reftable program when asCLI is set:
// the processes bench starts.
func TestMain(m *testing.M) {
	if os.Getenv(asCLI) == "1" {
		os.Exit(tool.Process(config, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// result is what one run of the tool did.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n-- stdout --\n%s-- stderr --\n%s", r.code, r.stdout, r.stderr)
}

// run runs the tool with bench in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return tool.Main(ctx, config, args, stdin, stdout, stderr)
}

func runTool(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

var benchWorkloads = []string{"create", "list", "lookup", "commit", "compact", "create-large"}

var s3Workloads = []string{"s3-create", "s3-commit", "s3-reload", "s3-writers-1", "s3-writers-2", "s3-writers-4", "s3-writers-8"}

// benchArgs are small sizes: the test checks behaviour, not speed.
var benchArgs = []string{"bench", "-n", "200", "-n-large", "300", "-commits", "4", "-lookups", "3", "-s3-commits", "3"}

// benchColumns is the column header of the table.
const benchColumns = "workload runs reftable git git/reftable reftable-rss git-rss what"

// checkTable checks the shape of bench's table: the header line, the
// column header, one row a workload in order, whose times and sizes
// parse (git's "-" without git), and the checks' line. It asserts
// nothing about speed: under load any ratio may show.
func checkTable(t *testing.T, out string, workloads []string, withGit bool) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3+len(workloads) {
		t.Fatalf("bench printed %d lines, want %d:\n%s", len(lines), 3+len(workloads), out)
	}
	if !strings.HasPrefix(lines[0], "reftable bench -n ") || !strings.Contains(lines[0], " CPUs, ") {
		t.Errorf("header %q", lines[0])
	}
	if f := strings.Fields(lines[1]); len(f) != 8 || strings.Join(f, " ") != benchColumns {
		t.Errorf("column header %q, want %q", lines[1], benchColumns)
	}
	for i, w := range workloads {
		line := lines[2+i]
		f := strings.Fields(line)
		if len(f) < 8 || f[0] != w {
			t.Errorf("row %d = %q, want workload %s", i, line, w)
			continue
		}
		if runs, err := strconv.Atoi(f[1]); err != nil || runs < 1 {
			t.Errorf("%s: runs %q", w, f[1])
		}
		checkDuration(t, w, f[2])
		checkRSS(t, w, f[5])
		if !withGit || strings.HasPrefix(w, "s3-") {
			if f[3] != "-" || f[4] != "-" || f[6] != "-" {
				t.Errorf("%s: git columns %q, want - without git", w, f[3:7])
			}
			continue
		}
		checkDuration(t, w, f[3])
		if ratio, err := strconv.ParseFloat(f[4], 64); err != nil || !(ratio >= 0) {
			t.Errorf("%s: ratio %q is not a number >= 0", w, f[4])
		}
		checkRSS(t, w, f[6])
	}
	if !strings.HasPrefix(lines[len(lines)-1], "checks passed: ") {
		t.Errorf("last line %q, want the checks' line", lines[len(lines)-1])
	}
}

func checkDuration(t *testing.T, w, s string) {
	t.Helper()
	if d, err := time.ParseDuration(s); err != nil || d < 0 {
		t.Errorf("%s: time %q is not a duration", w, s)
	}
}

// checkRSS checks a peak RSS: n/a, or MiB where the system reports it.
func checkRSS(t *testing.T, w, s string) {
	t.Helper()
	if s == "n/a" && runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		return
	}
	mib, ok := strings.CutSuffix(s, "MiB")
	if v, err := strconv.ParseFloat(mib, 64); !ok || err != nil || !(v > 0) {
		t.Errorf("%s: peak RSS %q, want a size in MiB", w, s)
	}
}

// TestBench runs bench against real git and checks the table: every
// workload with times, ratios and sizes that parse, and the checks'
// line.
func TestBench(t *testing.T) {
	git := gittest.Git(t)
	t.Setenv(asCLI, "1")
	r := runTool(t, "", append(benchArgs, "-git", git)...)
	if r.code != 0 {
		t.Fatalf("bench: %v", r)
	}
	checkTable(t, r.stdout, benchWorkloads, true)
	if first, _, _ := strings.Cut(r.stdout, "\n"); !strings.Contains(first, "git 2.") || !strings.Contains(first, git) {
		t.Errorf("header %q does not name git", first)
	}
	for _, w := range benchWorkloads {
		if !strings.Contains(r.stderr, "reftable bench: "+w) {
			t.Errorf("no progress line for %s on stderr:\n%s", w, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "\r") {
		t.Errorf("progress rewrites lines on a stderr that is not a terminal")
	}
}

// TestBenchNoLarge: -n-large 0 leaves the create-large row out.
func TestBenchNoLarge(t *testing.T) {
	t.Setenv(asCLI, "1")
	t.Setenv("REFTABLE_GIT", "")
	t.Setenv("PATH", t.TempDir())
	r := runTool(t, "", "bench", "-n", "20", "-n-large", "0", "-commits", "2", "-lookups", "1")
	if r.code != 0 {
		t.Fatalf("bench -n-large 0: %v", r)
	}
	checkTable(t, r.stdout, benchWorkloads[:len(benchWorkloads)-1], false)
	for _, args := range [][]string{{"-n-large", "-1"}, {"-n-large", "x"}, {"-s3-commits", "0"}} {
		if r := runTool(t, "", append([]string{"bench"}, args...)...); r.code != 2 {
			t.Errorf("bench %v: %v, want exit 2", args, r)
		}
	}
}

// jsonRow is the documented JSON shape of a row.
type jsonRow struct {
	Workload         string   `json:"workload"`
	What             string   `json:"what"`
	Runs             int      `json:"runs"`
	Reftable         int64    `json:"reftable_ns"`
	Git              *int64   `json:"git_ns"`
	Ratio            *float64 `json:"ratio"`
	ReftableRSS      *int64   `json:"reftable_rss"`
	GitRSS           *int64   `json:"git_rss"`
	CommitsPerSecond *float64 `json:"commits_per_second"`
}

func decodeRows(t *testing.T, out string, workloads []string) []jsonRow {
	t.Helper()
	var rows []jsonRow
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var r jsonRow
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		rows = append(rows, r)
	}
	if len(rows) != len(workloads) {
		t.Fatalf("%d rows, want %d:\n%s", len(rows), len(workloads), out)
	}
	rssReported := runtime.GOOS == "linux" || runtime.GOOS == "darwin"
	for i, r := range rows {
		if r.Workload != workloads[i] || r.What == "" || r.Runs < 1 || r.Reftable <= 0 {
			t.Errorf("row %d: %+v", i, r)
		}
		if (r.ReftableRSS != nil) != rssReported || r.ReftableRSS != nil && *r.ReftableRSS <= 0 {
			t.Errorf("%s: reftable_rss %v", r.Workload, r.ReftableRSS)
		}
		if writers := strings.HasPrefix(r.Workload, "s3-writers-"); writers != (r.CommitsPerSecond != nil) ||
			writers && !(*r.CommitsPerSecond > 0) {
			t.Errorf("%s: commits_per_second %v", r.Workload, r.CommitsPerSecond)
		}
	}
	return rows
}

func TestBenchJSON(t *testing.T) {
	git := gittest.Git(t)
	t.Setenv(asCLI, "1")
	r := runTool(t, "", append(benchArgs, "-git", git, "-json")...)
	if r.code != 0 {
		t.Fatalf("bench -json: %v", r)
	}
	for _, row := range decodeRows(t, r.stdout, benchWorkloads) {
		if row.Git == nil || *row.Git <= 0 || row.Ratio == nil {
			t.Errorf("%s: git_ns %v, ratio %v", row.Workload, row.Git, row.Ratio)
			continue
		}
		if want := float64(*row.Git) / float64(row.Reftable); math.Abs(*row.Ratio-want) > 1e-9*want {
			t.Errorf("%s: ratio %v, want git_ns/reftable_ns = %v", row.Workload, *row.Ratio, want)
		}
		if (row.GitRSS != nil) != (row.ReftableRSS != nil) {
			t.Errorf("%s: git_rss %v, reftable_rss %v", row.Workload, row.GitRSS, row.ReftableRSS)
		}
	}
}

// TestBenchWithoutGit checks that bench times our side alone, and says
// so, when there is no git.
func TestBenchWithoutGit(t *testing.T) {
	t.Setenv(asCLI, "1")
	t.Setenv("REFTABLE_GIT", "")
	t.Setenv("PATH", t.TempDir())
	r := runTool(t, "", benchArgs...)
	if r.code != 0 || !strings.Contains(r.stdout, "timing reftable only") {
		t.Fatalf("bench without git does not say it times reftable only: %v", r)
	}
	checkTable(t, r.stdout, benchWorkloads, false)
	if r := runTool(t, "", "bench", "-git", "/nonexistent/git"); r.code != 1 || !strings.Contains(r.stderr, "-git /nonexistent/git") {
		t.Errorf("bench with a missing -git: %v", r)
	}
}

// TestBenchS3 runs the S3 rows against versitygw, with the test binary
// as reftable-s3, and checks the table and the JSON rows.
func TestBenchS3(t *testing.T) {
	bin, err := versitygw.Binary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(asCLI, "1")
	t.Setenv(tool.S3ProgramEnv, exe)
	t.Setenv("REFTABLE_GIT", "")
	t.Setenv("PATH", t.TempDir())
	r := runTool(t, "", append(benchArgs, "-versitygw", bin)...)
	if r.code != 0 {
		t.Fatalf("bench -versitygw: %v", r)
	}
	checkTable(t, r.stdout, append(slices.Clone(benchWorkloads), s3Workloads...), false)
	if !strings.Contains(r.stdout, "versitygw at "+bin+", reftable-s3 at "+exe) {
		t.Errorf("header does not name versitygw and reftable-s3:\n%s", r.stdout)
	}
	r = runTool(t, "", append(benchArgs, "-versitygw", bin, "-json", "-n-large", "0")...)
	if r.code != 0 {
		t.Fatalf("bench -versitygw -json: %v", r)
	}
	for _, row := range decodeRows(t, r.stdout, append(slices.Clone(benchWorkloads[:len(benchWorkloads)-1]), s3Workloads...)) {
		if strings.HasPrefix(row.Workload, "s3-") && (row.Git != nil || row.Ratio != nil || row.GitRSS != nil) {
			t.Errorf("%s: git fields in an S3 row: %+v", row.Workload, row)
		}
	}
	if r := runTool(t, "", "bench", "-versitygw", t.TempDir()); r.code != 1 || !strings.Contains(r.stderr, "not the versitygw binary") {
		t.Errorf("bench -versitygw DIR: %v", r)
	}
}

// TestBenchCheckFails loses or changes one of our refs after the bulk
// creation and expects the checks to fail the run.
func TestBenchCheckFails(t *testing.T) {
	git := gittest.Git(t)
	t.Setenv(asCLI, "1")
	defer func() { benchAfterCreate = nil }()
	for _, tc := range []struct{ change, want string }{
		{"delete refs/heads/branch-0000007\n", "check after create: reftable has 200 refs under refs/, want 201"},
		{"option no-deref\nsymref-update refs/heads/branch-0000007 refs/heads/main\n", "check after create: digest of reftable's stack"},
	} {
		benchAfterCreate = func(dir string) error {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), []string{"update", dir}, strings.NewReader(tc.change), &stdout, &stderr); code != 0 {
				t.Fatalf("%q: exit %d: %s", tc.change, code, stderr.String())
			}
			return nil
		}
		r := runTool(t, "", append(benchArgs, "-git", git)...)
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "reftable bench: "+tc.want) {
			t.Errorf("bench after %q: %v", tc.change, r)
		}
	}
}

func TestParseGitVersion(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want [2]int
		ok   bool
	}{
		{"git version 2.55.0\n", [2]int{2, 55}, true},
		{"git version 2.45.2.windows.1\n", [2]int{2, 45}, true},
		{"git version 3.0\n", [2]int{3, 0}, true},
		{"git version 2.39.5 (Apple Git-154)\n", [2]int{2, 39}, true},
		{"hub version 2.1\n", [2]int{}, false},
		{"git version two.one\n", [2]int{}, false},
		{"", [2]int{}, false},
	} {
		got, err := parseGitVersion(tc.out)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseGitVersion(%q) = %v, %v; want %v, ok %v", tc.out, got, err, tc.want, tc.ok)
		}
	}
}
