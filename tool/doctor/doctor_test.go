package doctor

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/refstore/refstore/internal/testutil/s3fake"
	"github.com/refstore/refstore/objstore"
	"github.com/refstore/refstore/s3store"
	"github.com/refstore/refstore/tool"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden files under testdata/")

// config is the tool as reftable-s3 configures it.
var config = tool.Config{
	OpenS3:   func(_ context.Context, url string) (objstore.Store, error) { return s3store.FromEnv(url) },
	Commands: []*tool.Command{Command},
}

// s3Env starts an in-process S3 server with bucket "bkt" and points the
// AWS_* variables at it.
func s3Env(t *testing.T) *s3fake.Server {
	t.Helper()
	srv, url := s3fake.New(t, "bkt")
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testsecret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	return srv
}

// runTool runs the tool with doctor in-process and returns what it did
// as the golden files show it.
func runTool(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := tool.Main(t.Context(), config, args, strings.NewReader(stdin), &stdout, &stderr)
	return code, fmt.Sprintf("exit %d\n-- stdout --\n%s-- stderr --\n%s", code, stdout.String(), stderr.String())
}

// checkGolden compares got with testdata/<name>.golden, or rewrites it
// with -rewrite.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *rewrite {
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

var scratchKey = regexp.MustCompile(`-[0-9a-f]{16}`)

// TestDoctor runs doctor against the in-process S3 server, with and
// without -race, on an empty prefix and on a stack, and against a server
// that ignores conditions.
func TestDoctor(t *testing.T) {
	srv := s3Env(t)
	if code, out := runTool(t, "create refs/heads/main 0102030405060708090a0b0c0d0e0f1011121314\n", "update", "s3://bkt/repo"); code != 0 {
		t.Fatal(out)
	}
	for _, tc := range []struct {
		name   string
		unsafe bool
		args   []string
	}{
		{"doctor/empty", false, []string{"doctor", "s3://bkt/empty"}},
		{"doctor/stack", false, []string{"doctor", "s3://bkt/repo"}},
		{"doctor/race", false, []string{"doctor", "-race", "s3://bkt/empty"}},
		{"doctor/unsafe", true, []string{"doctor", "-race", "s3://bkt/empty"}},
		{"doctor/not-s3", false, []string{"doctor", "/tmp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.IgnoreConditions = tc.unsafe
			_, out := runTool(t, "", tc.args...)
			checkGolden(t, tc.name, scratchKey.ReplaceAllString(out, "-X"))
		})
	}
	srv.IgnoreConditions = false
	for _, k := range srv.Keys("bkt") {
		if !strings.HasPrefix(k, "repo/") {
			t.Errorf("doctor left %s behind", k)
		}
	}
}

// TestDoctorWithoutS3: in a program without S3 and without a delegate,
// doctor fails saying so.
func TestDoctorWithoutS3(t *testing.T) {
	var stdout, stderr bytes.Buffer
	cfg := tool.Config{Commands: []*tool.Command{Command}}
	code := tool.Main(t.Context(), cfg, []string{"doctor", "s3://bkt/x"}, strings.NewReader(""), &stdout, &stderr)
	if code != 1 || !strings.HasPrefix(stderr.String(), "reftable doctor: s3://bkt/x: this program has no S3 access") {
		t.Errorf("doctor without S3: exit %d, stderr %q", code, stderr.String())
	}
}

// TestRaceCheckUnsafe: the race of doctor -race fails on a store where
// every conditional write wins.
func TestRaceCheckUnsafe(t *testing.T) {
	srv := s3Env(t)
	srv.IgnoreConditions = true
	s, err := s3store.FromEnv("s3://bkt/race")
	if err != nil {
		t.Fatal(err)
	}
	err = raceCheck(t.Context(), s, io.Discard, 16, 2)
	if !errors.Is(err, objstore.ErrUnsafeStore) || !strings.Contains(err.Error(), "16 of 16 concurrent create-only writes") {
		t.Errorf("raceCheck on a store that ignores conditions: %v", err)
	}
	if keys := srv.Keys("bkt"); len(keys) != 0 {
		t.Errorf("the race left %q behind", keys)
	}
}
