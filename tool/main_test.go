package tool

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/refstore/refstore/internal/testutil/gittest"
	"github.com/refstore/refstore/objstore"
	"github.com/refstore/refstore/s3store"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden files under testdata/")

// fixtures is the directory of git-written stacks.
const fixtures = "../reftable/testdata/git"

// result is what one run of the tool did.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n-- stdout --\n%s-- stderr --\n%s", r.code, r.stdout, r.stderr)
}

// testConfig is the tool as reftable-s3 configures it, with package
// s3store's opener (configured by the AWS_* variables s3Env sets) and
// the commands of the subpackages, which programs_test.go adds; the test
// binary is this program when it runs as the CLI (see TestMain).
var testConfig = Config{OpenS3: func(_ context.Context, url string) (objstore.Store, error) {
	return s3store.FromEnv(url)
}}

// AddTestCommands adds cmds to the configuration of the tests, as a
// main program lists them in Config.Commands. The external test package
// calls it from an init function: it can import the subpackages that
// define commands (demo, bench, doctor), which import this package, so
// that the tests of help and of docs/cli.md see every command of the
// reftable programs, in their order.
func AddTestCommands(cmds ...*Command) {
	testConfig.Commands = append(testConfig.Commands, cmds...)
}

// asCLI is the environment variable under which the test binary acts as
// the reftable program (with S3, as reftable-s3 is), for the tests that
// run it as a process.
const asCLI = "REFTABLE_TEST_AS_CLI"

// TestMain makes the test binary the CLI when asCLI is set. The tests,
// and the processes they start, read no system or user git config (see
// repo.Config), as git run by gittest reads none: the machine's would
// change identities and reflog policies.
func TestMain(m *testing.M) {
	if os.Getenv(asCLI) == "1" {
		os.Exit(Process(testConfig, os.Args[1:]))
	}
	gittest.IsolateConfig()
	code := m.Run()
	removeBuilt()
	os.Exit(code)
}

// run runs the tool with testConfig in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return Main(ctx, testConfig, args, stdin, stdout, stderr)
}

// runTool runs the tool in-process with stdin and args.
func runTool(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// mustRun runs the tool and fails the test unless it exits 0.
func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := runTool(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("reftable %s: %v", strings.Join(args, " "), r)
	}
	return r.stdout
}

// checkGolden compares got with testdata/<name>.golden, or rewrites it
// with -rewrite.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *rewrite {
		if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o666); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -rewrite to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// copyDir copies the regular files of src into a new directory dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o777); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o666); err != nil {
			t.Fatal(err)
		}
	}
}

// makeRepo lays out a reftable repository in a new directory (working
// tree with .git) holding a copy of fixture's stack, and returns the
// working tree. objectFormat "" leaves extensions.objectFormat unset. The
// repository has no objects directory: the fixtures' ids name no objects,
// and update checks ids only where there is an object database.
func makeRepo(t *testing.T, fixture, objectFormat string) string {
	t.Helper()
	wt := t.TempDir()
	git := filepath.Join(wt, ".git")
	for _, d := range []string{"refs/heads"} {
		if err := os.MkdirAll(filepath.Join(git, d), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	cfg := "[core]\n\trepositoryformatversion = 1\n\tbare = false\n[extensions]\n\trefStorage = reftable\n"
	if objectFormat != "" {
		cfg += "\tobjectFormat = " + objectFormat + "\n"
	}
	writeFile(t, filepath.Join(git, "config"), cfg)
	writeFile(t, filepath.Join(git, "HEAD"), "ref: refs/heads/.invalid\n")
	if fixture != "" {
		copyDir(t, filepath.Join(fixtures, fixture, "reftable"), filepath.Join(git, "reftable"))
	} else if err := os.MkdirAll(filepath.Join(git, "reftable"), 0o777); err != nil {
		t.Fatal(err)
	}
	return wt
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o666); err != nil {
		t.Fatal(err)
	}
}

// fixtureNames lists the git fixtures.
func fixtureNames(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatal("no fixtures")
	}
	return names
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"usage/none", nil},
		{"usage/unknown", []string{"frobnicate"}},
		{"usage/help", []string{"help"}},
		{"usage/help-refs", []string{"help", "refs"}},
		{"usage/help-unknown", []string{"help", "nope"}},
		{"usage/refs-h", []string{"refs", "-h"}},
		{"usage/logs-badflag", []string{"logs", "-nope"}},
		{"usage/refs-toomany", []string{"refs", "a", "b", "c"}},
		{"usage/show-noargs", []string{"show"}},
		{"usage/show-toomany", []string{"show", "a", "b", "c"}},
		{"usage/dump-toomany", []string{"dump", "a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGolden(t, tc.name, runTool(t, "", tc.args...).String())
		})
	}
}

// TestHelpEveryCommand checks that every command has a description with
// examples, answers -h with it as help does, and compares it with
// testdata/usage/help-<command>.golden.
func TestHelpEveryCommand(t *testing.T) {
	for _, c := range testConfig.commands() {
		if c.Short == "" || c.Long == "" || c.Usage == "" && c.Name != "help" {
			t.Errorf("command %s lacks Short, Long or Usage", c.Name)
		}
		if !strings.Contains(c.Long, "\nExamples:\n\n\treftable "+c.Name) && !strings.Contains(c.Long, "\nExamples:\n\n\t$ ") {
			t.Errorf("command %s: Long has no Examples section starting with an example", c.Name)
		}
		r := runTool(t, "", c.Name, "-h")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: reftable "+c.Name) {
			t.Errorf("reftable %s -h: %v", c.Name, r)
		}
		if h := runTool(t, "", "help", c.Name); h.String() != r.String() {
			t.Errorf("reftable help %s differs from -h:\n%v\n%v", c.Name, h, r)
		}
		checkGolden(t, filepath.Join("usage", "help-"+c.Name), r.String())
	}
}
