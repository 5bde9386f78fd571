// Package versitygw runs the versitygw S3 gateway for conformance tests:
// a real S3 server on 127.0.0.1 with its posix backend in a directory the
// test owns.
//
// Like gittest, Start fails the test when CI=true and the gateway cannot
// be found or started, and skips it otherwise. scripts/test.sh installs
// the gateway into .cache/bin.
package versitygw

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
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

// Version is the versitygw release scripts/test.sh installs.
const Version = "v1.8.0"

// Credentials of the gateway's root account in tests.
const (
	AccessKey = "refstoretest"
	SecretKey = "refstoretestsecret"
)

// Bucket is the bucket every gateway Start starts has.
const Bucket = "refstore"

// Binary returns the path of the versitygw binary: $VERSITYGW, the
// repository's .cache/bin/versitygw (where scripts/test.sh installs it),
// or versitygw on $PATH.
func Binary() (string, error) {
	var tried []string
	c := []string{os.Getenv("VERSITYGW")}
	if _, file, _, ok := runtime.Caller(0); ok {
		c = append(c, filepath.Join(filepath.Dir(file), "..", "..", "..", ".cache", "bin", "versitygw"))
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		c = append(c, p)
	}
	for _, p := range c {
		if p == "" {
			continue
		}
		tried = append(tried, p)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("no versitygw (tried %s); run scripts/test.sh or go install github.com/versity/versitygw/cmd/versitygw@%s, or set VERSITYGW",
		strings.Join(tried, ", "), Version)
}

// Gateway is a running versitygw process.
type Gateway struct {
	URL  string // http://127.0.0.1:<port>
	Root string // the posix backend's directory; buckets are its subdirectories
	Log  string // the file holding the gateway's output
	cmd  *exec.Cmd
	exit chan error // receives the process's exit
	once sync.Once  // stops it once
}

// Start starts a gateway on a free 127.0.0.1 port serving root (a new
// temporary directory when root is empty) with bucket Bucket, waits until
// it answers, and stops it by pid when the test ends. Two gateways may
// share a root.
func Start(t testing.TB, root string) *Gateway {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		unavailable(t, err)
	}
	if root == "" {
		root = t.TempDir()
	}
	if err := os.MkdirAll(filepath.Join(root, Bucket), 0o755); err != nil {
		t.Fatal(err)
	}
	// A port found free can be taken before the gateway binds it: try a
	// few times.
	for attempt := 1; ; attempt++ {
		g, err := start(bin, root, t.TempDir())
		if err == nil {
			t.Cleanup(g.stop)
			return g
		}
		if attempt == 3 {
			unavailable(t, err)
		}
	}
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(err)
	}
	t.Skip(err)
}

func start(bin, root, tmp string) (*Gateway, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	g := &Gateway{URL: "http://" + addr, Root: root, Log: filepath.Join(tmp, "versitygw.log")}
	log, err := os.Create(g.Log)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	g.cmd = exec.Command(bin, "--access", AccessKey, "--secret", SecretKey, "--port", addr, "--quiet", "posix", root)
	g.cmd.Stdout, g.cmd.Stderr = log, log
	// The gateway reads options from VGW_* variables; the test's
	// command line alone configures it.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VGW_") && !strings.HasPrefix(kv, "ROOT_") {
			g.cmd.Env = append(g.cmd.Env, kv)
		}
	}
	if err := g.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	g.exit = make(chan error, 1)
	go func() { g.exit <- g.cmd.Wait() }()
	deadline := time.Now().Add(15 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		// Any HTTP answer (an anonymous request is refused) means ready.
		if resp, err := client.Get(g.URL + "/"); err == nil {
			resp.Body.Close()
			if resp.Header.Get("Server") != "VERSITYGW" {
				g.stop()
				return nil, fmt.Errorf("%s answers, but is not versitygw (Server: %q)", g.URL, resp.Header.Get("Server"))
			}
			return g, nil
		}
		select {
		case err := <-g.exit:
			return nil, fmt.Errorf("versitygw on %s exited: %v\n%s", addr, err, tail(g.Log))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			g.stop()
			return nil, fmt.Errorf("versitygw on %s did not answer within 15s\n%s", addr, tail(g.Log))
		}
	}
}

// Pid returns the gateway's process id.
func (g *Gateway) Pid() int { return g.cmd.Process.Pid }

// stop terminates the gateway by its pid: SIGTERM, then SIGKILL if it
// has not exited within 5 seconds.
func (g *Gateway) stop() {
	g.once.Do(func() {
		g.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-g.exit:
		case <-time.After(5 * time.Second):
			g.cmd.Process.Kill()
			<-g.exit
		}
	})
}

// tail returns the last lines of the log file at path.
func tail(path string) string {
	data, _ := os.ReadFile(path)
	if i := len(data) - 2000; i > 0 {
		data = data[i:]
	}
	return string(bytes.TrimSpace(data))
}
