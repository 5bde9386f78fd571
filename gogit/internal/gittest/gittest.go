// Package gittest finds a git with the reftable backend for the interop
// tests of package gogit, and runs it with fixed identities and a clock.
//
// It is this module's small equivalent of the root module's
// internal/testutil/gittest, which another module cannot import. As that one, it
// fails a test, rather than skipping it, when CI=true and no such git is
// found, so that CI cannot pass without the interop tests.
package gittest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// Git returns the path of a git of version 2.45 or later, which has the
// reftable backend: $REFTABLE_GIT, then the root module's
// .cache/reftable-git (where scripts/test.sh installs it), then
// /opt/reftable-git, then git in $PATH. Without one it fails the test
// when CI=true and skips it otherwise.
func Git(t testing.TB) string {
	t.Helper()
	path, tried := find()
	if path != "" {
		return path
	}
	msg := "no git >= 2.45 with the reftable backend (tried " + strings.Join(tried, ", ") + "); run scripts/test.sh or set REFTABLE_GIT"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Find returns the git Git would, or "" if there is none.
func Find() string {
	path, _ := find()
	return path
}

func find() (string, []string) {
	candidates := []string{os.Getenv("REFTABLE_GIT")}
	if _, file, _, ok := runtime.Caller(0); ok {
		// gogit/internal/gittest -> the root module's .cache.
		root := filepath.Join(filepath.Dir(file), "..", "..", "..")
		candidates = append(candidates, filepath.Join(root, ".cache", "reftable-git", "bin", "git"))
	}
	candidates = append(candidates, "/opt/reftable-git/bin/git")
	if p, err := exec.LookPath("git"); err == nil {
		candidates = append(candidates, p)
	}
	var tried []string
	for _, c := range candidates {
		if c == "" {
			continue
		}
		tried = append(tried, c)
		if recentEnough(c) {
			return c, tried
		}
	}
	return "", tried
}

var versionRE = regexp.MustCompile(`git version (\d+)\.(\d+)`)

func recentEnough(git string) bool {
	out, err := exec.Command(git, "--version").Output()
	if err != nil {
		return false
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return false
	}
	major, _ := strconv.Atoi(string(m[1]))
	minor, _ := strconv.Atoi(string(m[2]))
	return major > 2 || major == 2 && minor >= 45
}

// Env returns the environment of every git command a test runs: no
// system or global config but home's, fixed identities, UTC, the C
// locale, and PATH starting with git's own directories, so that
// git-upload-pack and git-receive-pack (which go-git's file transport
// runs) are this git's, with GIT_EXEC_PATH so that the programs they run
// are too (a git installed outside its build prefix, as scripts/test.sh
// installs it, would otherwise run the system's git pack-objects).
func Env(t testing.TB, git, home string) []string {
	t.Helper()
	out, err := exec.Command(git, "--exec-path").Output()
	if err != nil {
		t.Fatalf("%s --exec-path: %v", git, err)
	}
	execPath := strings.TrimSpace(string(out))
	path := execPath + string(os.PathListSeparator) + filepath.Dir(git) +
		string(os.PathListSeparator) + os.Getenv("PATH")
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	return append(env,
		"PATH="+path, "GIT_EXEC_PATH="+execPath, "HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=A U Thor", "GIT_AUTHOR_EMAIL=author@example.com",
		"GIT_COMMITTER_NAME=C O Mitter", "GIT_COMMITTER_EMAIL=committer@example.com",
		"TZ=UTC", "LC_ALL=C",
	)
}

// Runner runs git in a directory with Env's environment and a clock that
// advances 60 seconds a command. Its methods are safe for concurrent use.
type Runner struct {
	t     testing.TB
	Git   string
	Dir   string // where commands run (-C)
	Env   []string
	Clock *int64 // shared by runners of one test, so that times keep increasing; updated atomically
}

// NewRunner returns a runner of git in dir; runners made with the same
// env and clock share them.
func NewRunner(t testing.TB, git, dir string, env []string, clock *int64) *Runner {
	return &Runner{t: t, Git: git, Dir: dir, Env: env, Clock: clock}
}

// In returns a runner of the same git in another directory.
func (r *Runner) In(dir string) *Runner {
	c := *r
	c.Dir = dir
	return &c
}

// Run runs git and returns its standard output; a failure fails the test.
func (r *Runner) Run(args ...string) string {
	r.t.Helper()
	out, err := r.RunInput("", args...)
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

// RunInput runs git with stdin and returns its standard output, or an
// error carrying its standard error.
func (r *Runner) RunInput(stdin string, args ...string) (string, error) {
	date := strconv.FormatInt(atomic.AddInt64(r.Clock, 60), 10) + " +0000"
	cmd := exec.Command(r.Git, append([]string{"-C", r.Dir}, args...)...)
	cmd.Env = slices.Concat(r.Env, []string{"GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date})
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
