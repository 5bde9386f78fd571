package tool

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// built is the directory the reftable and reftable-s3 programs are built
// into, once per test binary (buildCLI), and removed by TestMain.
var built struct {
	once sync.Once
	dir  string
	err  error
}

// buildCLI builds the reftable and reftable-s3 programs into one
// directory and returns the path of reftable, which finds reftable-s3
// next to it.
func buildCLI(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "reftable-cli-"); built.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", built.dir+string(filepath.Separator), "./cmd/reftable", "./cmd/reftable-s3")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return filepath.Join(built.dir, exeName("reftable"))
}

// removeBuilt removes what buildCLI built.
func removeBuilt() {
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}

func exeName(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}

// cliEnv is the environment of the programs the tests start: ours,
// without a REFTABLE_S3 of the caller's.
func cliEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, S3ProgramEnv+"=") && !strings.HasPrefix(kv, asCLI+"=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// runProgram runs the program exe with stdin and args.
func runProgram(t *testing.T, exe string, env []string, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(exe, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// TestDelegateToS3Program: the reftable program runs the command lines
// that need S3 (an s3:// PATH, doctor) in reftable-s3, found next to it,
// with the same arguments, input, output and exit status; the rest it
// runs itself.
func TestDelegateToS3Program(t *testing.T) {
	exe := buildCLI(t)
	s3Env(t)
	env := cliEnv()
	const url = "s3://bkt/delegated"
	if r := runProgram(t, exe, env, "create refs/heads/main "+oidA+"\nsymref-create HEAD refs/heads/main\n", "update", "-m", "first", url); r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("reftable update %s: %v", url, r)
	}
	want := "HEAD ref: refs/heads/main\nrefs/heads/main " + oidA + "\n"
	if r := runProgram(t, exe, env, "", "refs", url); r.code != 0 || r.stdout != want {
		t.Errorf("reftable refs %s: %v, want stdout %q", url, r, want)
	}
	if r := runProgram(t, exe, env, "", "show", url, "refs/heads/nope"); r.code != 1 || r.stderr != "reftable show: refs/heads/nope: not found\n" {
		t.Errorf("reftable show of a missing ref: %v", r)
	}
	if r := runProgram(t, exe, env, "", "refs", "-nope", url); r.code != 2 || !strings.HasPrefix(r.stderr, "reftable refs: flag provided but not defined: -nope\n") {
		t.Errorf("reftable refs with a bad flag: %v", r)
	}
	r := runProgram(t, exe, env, "", "doctor", url)
	if r.code != 0 || !strings.Contains(r.stdout, "probe: ok\nstack: tables.list names 1 tables, all present\n") || !strings.HasSuffix(r.stdout, url+"/: ok\n") {
		t.Errorf("reftable doctor: %v", r)
	}
	// Without S3, nothing goes to reftable-s3: with REFTABLE_S3 naming
	// a program that fails, these still work.
	bad := cliEnv(S3ProgramEnv + "=" + filepath.Join(t.TempDir(), "missing"))
	if r := runProgram(t, exe, bad, "", "refs", filepath.Join(fixtures, "sha1-basic", "reftable"), "refs/heads/main"); r.code != 0 || r.stderr != "" {
		t.Errorf("reftable refs of a directory with a missing reftable-s3: %v", r)
	}
	if r := runProgram(t, exe, bad, "", "help", "doctor"); r.code != 0 || !strings.HasPrefix(r.stdout, "usage: reftable doctor [-race] URL\n") {
		t.Errorf("reftable help doctor: %v", r)
	}
}

// TestS3ProgramNotFound: without reftable-s3 (not at $REFTABLE_S3, next
// to reftable or in PATH), a command line that needs it fails saying
// what is missing and how to install it.
func TestS3ProgramNotFound(t *testing.T) {
	src := buildCLI(t)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	alone := filepath.Join(t.TempDir(), exeName("reftable"))
	if err := os.WriteFile(alone, data, 0o777); err != nil {
		t.Fatal(err)
	}
	env := cliEnv("PATH=" + t.TempDir())
	for _, args := range [][]string{{"refs", "s3://bkt/repo"}, {"doctor", "s3://bkt/repo"}} {
		r := runProgram(t, alone, env, "", args...)
		want := "reftable: S3 needs reftable-s3, the reftable program with S3, which is not at $REFTABLE_S3, next to " + alone +
			" or in PATH; install it with 'go install github.com/refstore/refstore/cmd/reftable-s3@latest' (or build both with 'go build -o bin/ ./cmd/...')\n"
		if r.code != 1 || r.stdout != "" || r.stderr != want {
			t.Errorf("reftable %s without reftable-s3: %v, want stderr %q", args[0], r, want)
		}
	}
	missing := filepath.Join(t.TempDir(), "missing")
	r := runProgram(t, alone, cliEnv("PATH="+t.TempDir(), S3ProgramEnv+"="+missing), "", "refs", "s3://bkt/repo")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "reftable: S3 needs reftable-s3, the reftable program with S3: REFTABLE_S3="+missing+": ") {
		t.Errorf("reftable refs with a missing REFTABLE_S3: %v", r)
	}
	// Found in PATH, and at $REFTABLE_S3.
	s3Env(t)
	s3 := filepath.Join(filepath.Dir(src), exeName(S3Program))
	if r := runProgram(t, alone, cliEnv("PATH="+filepath.Dir(src)), "", "refs", "s3://bkt/repo"); r.code != 0 || r.stderr != "" {
		t.Errorf("reftable refs with reftable-s3 in PATH: %v", r)
	}
	if r := runProgram(t, alone, cliEnv("PATH="+t.TempDir(), S3ProgramEnv+"="+s3), "", "refs", "s3://bkt/repo"); r.code != 0 || r.stderr != "" {
		t.Errorf("reftable refs with REFTABLE_S3: %v", r)
	}
}

// TestDelegateSignals: a stop signal that reaches reftable reaches the
// reftable-s3 it runs, which cleans up and exits 128 plus the signal's
// number, and reftable exits with that status.
func TestDelegateSignals(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no signals to send")
	}
	exe := buildCLI(t)
	s3Env(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT} {
		cmd := exec.Command(exe, "update", "s3://bkt/signals")
		cmd.Env = cliEnv()
		stdin, err := cmd.StdinPipe() // held open: update waits for its input
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Let reftable start reftable-s3 and reftable-s3 install its
		// handlers; a signal before then ends reftable-s3 by default,
		// with the same status.
		time.Sleep(500 * time.Millisecond)
		cmd.Process.Signal(sig)
		err = cmd.Wait()
		stdin.Close()
		ee, ok := err.(*exec.ExitError)
		if want := 128 + int(sig); !ok || ee.ExitCode() != want {
			t.Errorf("reftable update after %v: %v, want exit %d; stderr %q", sig, err, want, stderr.String())
		}
	}
}
