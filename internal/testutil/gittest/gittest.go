// Package gittest finds and runs a reftable-capable git for interop tests.
//
// Interop tests must fail, not skip, when CI=true and no such git exists:
// Git calls t.Fatal then, and t.Skip only on a developer machine without
// git.
package gittest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// MinVersion is the oldest git whose reftable backend the tests accept.
var MinVersion = [2]int{2, 45}

// Git returns the path of a git binary with the reftable backend. It looks
// at $REFTABLE_GIT, the repository's .cache/reftable-git (where
// scripts/test.sh installs it), /opt/reftable-git and $PATH.
func Git(t testing.TB) string {
	t.Helper()
	var tried []string
	for _, c := range candidates() {
		if c == "" {
			continue
		}
		tried = append(tried, c)
		if ok(c) {
			return c
		}
	}
	msg := "no git >= 2.45 with the reftable backend (tried " + strings.Join(tried, ", ") + "); run scripts/test.sh or set REFTABLE_GIT"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func candidates() []string {
	c := []string{os.Getenv("REFTABLE_GIT")}
	if _, file, _, ok := runtime.Caller(0); ok {
		root := filepath.Join(filepath.Dir(file), "..", "..", "..")
		c = append(c, filepath.Join(root, ".cache", "reftable-git", "bin", "git"))
	}
	c = append(c, "/opt/reftable-git/bin/git")
	if p, err := exec.LookPath("git"); err == nil {
		c = append(c, p)
	}
	return c
}

var versionRE = regexp.MustCompile(`git version (\d+)\.(\d+)`)

func ok(path string) bool {
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return false
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return false
	}
	major, _ := strconv.Atoi(string(m[1]))
	minor, _ := strconv.Atoi(string(m[2]))
	return major > MinVersion[0] || major == MinVersion[0] && minor >= MinVersion[1]
}

// IsolateConfig makes this process, and those it starts, read no system
// or user git config: GIT_CONFIG_NOSYSTEM=1 and GIT_CONFIG_GLOBAL=/dev/null,
// and no GIT_CONFIG_COUNT. A TestMain calls it before the tests run, so
// that the machine's config (a user.name, a core.logAllRefUpdates)
// changes nothing a test sees.
func IsolateConfig() {
	os.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	os.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	os.Unsetenv("GIT_CONFIG_SYSTEM")
	os.Unsetenv("GIT_CONFIG_COUNT")
}

// Repo is a git repository used by a test.
type Repo struct {
	t    testing.TB
	Git  string // git binary
	Dir  string // working tree
	Env  []string
	time int64
}

// Init creates a reftable repository in a temporary directory with the
// given object format ("sha1" or "sha256"), with auto-compaction off so
// that every transaction adds one table, fixed identities and a clock
// that advances 60 seconds per command.
func Init(t testing.TB, objectFormat string) *Repo {
	t.Helper()
	r := &Repo{t: t, Git: Git(t), Dir: t.TempDir(), time: 1700000000}
	home := t.TempDir()
	r.Env = append(os.Environ(),
		"HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=A U Thor", "GIT_AUTHOR_EMAIL=author@example.com",
		"GIT_COMMITTER_NAME=C O Mitter", "GIT_COMMITTER_EMAIL=committer@example.com",
		"GIT_TEST_REFTABLE_AUTOCOMPACTION=false", "TZ=UTC", "LC_ALL=C",
	)
	r.Run("init", "-q", "--ref-format=reftable", "--object-format="+objectFormat, "-b", "main", r.Dir)
	r.Run("config", "maintenance.auto", "false")
	r.Run("config", "gc.auto", "0")
	return r
}

// Run runs git in the repository and returns its standard output; it
// fails the test if git fails.
func (r *Repo) Run(args ...string) string {
	r.t.Helper()
	out, err := r.RunInput("", args...)
	if err != nil {
		r.t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// RunInput runs git with stdin and returns its standard output, or an
// error carrying its standard error.
func (r *Repo) RunInput(stdin string, args ...string) (string, error) {
	r.time += 60
	date := strconv.FormatInt(r.time, 10) + " +0000"
	cmd := exec.Command(r.Git, append([]string{"-C", r.Dir}, args...)...)
	cmd.Env = append(r.Env, "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), &Error{Args: args, Err: err, Stderr: stderr.String()}
	}
	return string(out), nil
}

// Error is a failed git command.
type Error struct {
	Args   []string
	Err    error
	Stderr string
}

func (e *Error) Error() string {
	return "git " + strings.Join(e.Args, " ") + ": " + e.Err.Error() + ": " + strings.TrimSpace(e.Stderr)
}

// T returns the test the repository belongs to.
func (r *Repo) T() testing.TB { return r.t }

// ReftableDir returns the repository's .git/reftable directory.
func (r *Repo) ReftableDir() string { return filepath.Join(r.Dir, ".git", "reftable") }
