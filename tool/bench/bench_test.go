package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/refstore/refstore/internal/testutil/gittest"
	"github.com/refstore/refstore/tool"
)

// asCLI is the environment variable under which the test binary acts as
// the reftable program, so bench (which runs os.Executable) can be tested
// in-process.
const asCLI = "REFTABLE_TEST_AS_CLI"

// config is the tool with bench, as the reftable programs configure it.
var config = tool.Config{Commands: []*tool.Command{Command}}

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

var benchWorkloads = []string{"create", "list", "lookup", "commit", "compact"}

// benchArgs are small sizes: the test checks behaviour, not speed.
var benchArgs = []string{"bench", "-n", "200", "-commits", "4", "-lookups", "3"}

// TestBench runs bench against real git and checks the table: every
// workload, positive times and ratios, and the checks' line.
func TestBench(t *testing.T) {
	git := gittest.Git(t)
	t.Setenv(asCLI, "1")
	r := runTool(t, "", append(benchArgs, "-git", git)...)
	if r.code != 0 {
		t.Fatalf("bench: %v", r)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 3+len(benchWorkloads) {
		t.Fatalf("bench printed %d lines, want %d:\n%s", len(lines), 3+len(benchWorkloads), r.stdout)
	}
	if !strings.Contains(lines[0], "git 2.") || !strings.Contains(lines[0], git) {
		t.Errorf("header %q does not name git", lines[0])
	}
	if f := strings.Fields(lines[1]); strings.Join(f[:5], " ") != "workload runs reftable git git/reftable" {
		t.Errorf("column header %q", lines[1])
	}
	for i, w := range benchWorkloads {
		f := strings.Fields(lines[2+i])
		if len(f) < 6 || f[0] != w {
			t.Errorf("row %d = %q, want workload %s", i, lines[2+i], w)
			continue
		}
		if runs, err := strconv.Atoi(f[1]); err != nil || runs < 1 {
			t.Errorf("%s: runs %q", w, f[1])
		}
		for _, d := range f[2:4] {
			if v, err := time.ParseDuration(d); err != nil || v <= 0 {
				t.Errorf("%s: time %q is not a positive duration", w, d)
			}
		}
		if ratio, err := strconv.ParseFloat(f[4], 64); err != nil || !(ratio > 0) {
			t.Errorf("%s: ratio %q is not a positive number", w, f[4])
		}
	}
	if !strings.HasPrefix(lines[len(lines)-1], "checks passed") {
		t.Errorf("last line %q, want the checks' line", lines[len(lines)-1])
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

// jsonRow is the documented JSON shape of a row.
type jsonRow struct {
	Workload string   `json:"workload"`
	What     string   `json:"what"`
	Runs     int      `json:"runs"`
	Reftable int64    `json:"reftable_ns"`
	Git      *int64   `json:"git_ns"`
	Ratio    *float64 `json:"ratio"`
}

func decodeRows(t *testing.T, out string) []jsonRow {
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
	if len(rows) != len(benchWorkloads) {
		t.Fatalf("%d rows, want %d:\n%s", len(rows), len(benchWorkloads), out)
	}
	for i, r := range rows {
		if r.Workload != benchWorkloads[i] || r.What == "" || r.Runs < 1 || r.Reftable <= 0 {
			t.Errorf("row %d: %+v", i, r)
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
	for _, row := range decodeRows(t, r.stdout) {
		if row.Git == nil || *row.Git <= 0 || row.Ratio == nil {
			t.Errorf("%s: git_ns %v, ratio %v", row.Workload, row.Git, row.Ratio)
			continue
		}
		if want := float64(*row.Git) / float64(row.Reftable); math.Abs(*row.Ratio-want) > 1e-9*want {
			t.Errorf("%s: ratio %v, want git_ns/reftable_ns = %v", row.Workload, *row.Ratio, want)
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
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 3+len(benchWorkloads) {
		t.Fatalf("bench printed %d lines, want %d:\n%s", len(lines), 3+len(benchWorkloads), r.stdout)
	}
	for i, w := range benchWorkloads {
		if f := strings.Fields(lines[2+i]); len(f) < 6 || f[0] != w || f[3] != "-" || f[4] != "-" {
			t.Errorf("row %q, want %s without git time and ratio", lines[2+i], w)
		}
	}
	if r := runTool(t, "", "bench", "-git", "/nonexistent/git"); r.code != 1 || !strings.Contains(r.stderr, "-git /nonexistent/git") {
		t.Errorf("bench with a missing -git: %v", r)
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
