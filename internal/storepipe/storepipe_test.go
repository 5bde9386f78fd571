package storepipe

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/refstore/refstore/objstore"
	"github.com/refstore/refstore/stack/stacktest"
	"github.com/refstore/refstore/stack/storage"
)

// serverRole makes the test binary a server over stdin and stdout when
// set: "mem" serves an empty Mem store, "die" one whose every call
// exits the process with status 3 after writing to stderr, "mute" says
// nothing and never exits.
const serverRole = "STOREPIPE_TEST_SERVER"

func TestMain(m *testing.M) {
	switch os.Getenv(serverRole) {
	case "":
		os.Exit(m.Run())
	case "mem":
		if err := Serve(context.Background(), objstore.NewMem(), "mem://test", os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	case "die":
		m := objstore.NewMem()
		m.SetHook(func(op objstore.Op, key string, n int, apply func() error) error {
			fmt.Fprintf(os.Stderr, "test server: fatal: cannot %s %s\n", op, key)
			os.Exit(3)
			return nil
		})
		Serve(context.Background(), m, "mem://die", os.Stdin, os.Stdout)
		os.Exit(0)
	case "mute":
		fmt.Fprintln(os.Stderr, "test server: waiting for a password")
		time.Sleep(time.Hour)
		os.Exit(0)
	}
}

// connect serves s over in-process pipes and returns the client; the
// session is closed at the end of the test, and Serve must then return
// nil.
func connect(t *testing.T, s objstore.Store) *Client {
	t.Helper()
	c, _, _ := connectPipes(t, s)
	return c
}

// connectPipes is connect, also returning the server's ends of the
// pipes, to break them.
func connectPipes(t *testing.T, s objstore.Store) (*Client, *io.PipeReader, *io.PipeWriter) {
	t.Helper()
	cr, sw := io.Pipe() // server to client
	sr, cw := io.Pipe() // client to server
	served := make(chan error, 1)
	go func() {
		err := Serve(context.Background(), s, "mem://test", sr, sw)
		sw.Close()
		served <- err
	}()
	c, err := NewClient(cr, cw, Options{Name: "test server"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		if err := <-served; err != nil && !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("Serve: %v", err)
		}
	})
	return c, sr, sw
}

// TestRoundTrip: every method returns through the pipe what the store
// returns, errors included, with their text.
func TestRoundTrip(t *testing.T) {
	ctx := t.Context()
	m := objstore.NewMem()
	c := connect(t, m)
	if c.URL() != "mem://test" {
		t.Errorf("URL %q", c.URL())
	}
	e1, err := c.Put(ctx, "a/x", []byte("hello, world"), objstore.Cond{IfNoneMatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, "a/x", []byte("again"), objstore.Cond{IfNoneMatch: true}); !errors.Is(err, objstore.ErrPrecondition) {
		t.Errorf("second create-only put: %v", err)
	}
	if _, err := c.Put(ctx, "a/x", []byte("stale"), objstore.Cond{IfMatch: `"stale"`}); !errors.Is(err, objstore.ErrPrecondition) {
		t.Errorf("put with a stale If-Match: %v", err)
	}
	e2, err := c.Put(ctx, "a/x", []byte("hello, pipe"), objstore.Cond{IfMatch: e1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, "a/y", nil, objstore.Cond{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, "b", bytes.Repeat([]byte{0, 1, 2}, 100000), objstore.Cond{}); err != nil {
		t.Fatal(err)
	}

	// Each read, piped and direct, must agree, errors by text.
	type got struct {
		Data  []byte
		S     string
		N     int64
		Objs  []objstore.Object
		Err   string
		Match []bool // errors.Is against the sentinels
	}
	result := func(data []byte, s string, n int64, objs []objstore.Object, err error) got {
		g := got{Data: data, S: s, N: n, Objs: objs}
		if err != nil {
			g.Err = err.Error()
			for _, s := range sentinels {
				g.Match = append(g.Match, errors.Is(err, s))
			}
		}
		return g
	}
	reads := []struct {
		name string
		f    func(s objstore.Store) got
	}{
		{"get", func(s objstore.Store) got { d, e, err := s.Get(ctx, "a/x", ""); return result(d, e, 0, nil, err) }},
		{"get big", func(s objstore.Store) got { d, e, err := s.Get(ctx, "b", ""); return result(d, e, 0, nil, err) }},
		{"get empty", func(s objstore.Store) got { d, e, err := s.Get(ctx, "a/y", ""); return result(d, e, 0, nil, err) }},
		{"get not modified", func(s objstore.Store) got { d, e, err := s.Get(ctx, "a/x", e2); return result(d, e, 0, nil, err) }},
		{"get stale", func(s objstore.Store) got { d, e, err := s.Get(ctx, "a/x", e1); return result(d, e, 0, nil, err) }},
		{"get missing", func(s objstore.Store) got { d, e, err := s.Get(ctx, "nope", ""); return result(d, e, 0, nil, err) }},
		{"head", func(s objstore.Store) got { n, e, err := s.Head(ctx, "a/x"); return result(nil, e, n, nil, err) }},
		{"head missing", func(s objstore.Store) got { n, e, err := s.Head(ctx, "nope"); return result(nil, e, n, nil, err) }},
		{"list", func(s objstore.Store) got { objs, err := s.List(ctx, "a/"); return result(nil, "", 0, objs, err) }},
		{"list all", func(s objstore.Store) got { objs, err := s.List(ctx, ""); return result(nil, "", 0, objs, err) }},
		{"list none", func(s objstore.Store) got { objs, err := s.List(ctx, "zz"); return result(nil, "", 0, objs, err) }},
	}
	for _, r := range [][2]int64{{3, 4}, {0, 12}, {7, 10}, {12, 1}, {20, 4}, {-1, 2}, {0, 0}, {1000, 200000}} {
		reads = append(reads, struct {
			name string
			f    func(s objstore.Store) got
		}{fmt.Sprintf("readat %d+%d", r[0], r[1]), func(s objstore.Store) got {
			p := make([]byte, r[1])
			key := "a/x"
			if r[1] > 100 {
				key = "b"
			}
			n, err := s.ReadAt(ctx, key, p, r[0])
			return result(p[:n], "", int64(n), nil, err)
		}})
	}
	for _, r := range reads {
		want, g := r.f(m), r.f(c)
		if diff := cmp.Diff(want, g); diff != "" {
			t.Errorf("%s (-direct +piped):\n%s", r.name, diff)
		}
	}
	if _, err := c.ReadAt(ctx, "a/x", make([]byte, 5), 10); err != io.EOF {
		t.Errorf("ReadAt past the end: %v, want io.EOF itself", err)
	}
	if err := c.Delete(ctx, "a/x"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Get(ctx, "a/x", ""); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("get after delete: %v", err)
	}
	if err := c.Delete(ctx, "a/x"); err != nil {
		t.Errorf("delete of a missing key: %v", err)
	}
}

// errStore fails every call with err.
type errStore struct{ err error }

func (s errStore) Get(context.Context, string, string) ([]byte, string, error) { return nil, "", s.err }
func (s errStore) ReadAt(context.Context, string, []byte, int64) (int, error)  { return 0, s.err }
func (s errStore) Head(context.Context, string) (int64, string, error)         { return 0, "", s.err }
func (s errStore) Put(context.Context, string, []byte, objstore.Cond) (string, error) {
	return "", s.err
}
func (s errStore) Delete(context.Context, string) error                    { return s.err }
func (s errStore) List(context.Context, string) ([]objstore.Object, error) { return nil, s.err }

// TestErrors: each sentinel error, bare or wrapped, matches errors.Is on
// the client as on the server, and only the ones it matched there; a bare
// sentinel comes back as itself.
func TestErrors(t *testing.T) {
	ctx := t.Context()
	var errs []error
	for _, s := range sentinels {
		errs = append(errs, s, fmt.Errorf("s3store: put s3://b/k: %w", s))
	}
	errs = append(errs,
		errors.New("s3store: get s3://b/k: connection refused"),
		fmt.Errorf("two: %w and %w", objstore.ErrPrecondition, objstore.ErrNotFound))
	for _, want := range errs {
		c := connect(t, errStore{want})
		calls := map[string]error{}
		_, _, calls["get"] = c.Get(ctx, "k", "")
		_, calls["readat"] = c.ReadAt(ctx, "k", make([]byte, 4), 0)
		_, _, calls["head"] = c.Head(ctx, "k")
		_, calls["put"] = c.Put(ctx, "k", []byte("x"), objstore.Cond{IfNoneMatch: true})
		calls["delete"] = c.Delete(ctx, "k")
		_, calls["list"] = c.List(ctx, "")
		for call, err := range calls {
			if err == nil || err.Error() != want.Error() {
				t.Errorf("%s failing with %q: got %v", call, want, err)
				continue
			}
			for _, s := range sentinels {
				if errors.Is(err, s) != errors.Is(want, s) {
					t.Errorf("%s failing with %q: errors.Is(err, %q) = %v", call, want, s, errors.Is(err, s))
				}
			}
			for _, s := range sentinels {
				if want == s && err != s {
					t.Errorf("%s failing with %q: got %#v, not the sentinel itself", call, want, err)
				}
			}
		}
	}
}

// gate is a store whose Gets wait for each other: each waits until
// n Gets are in flight at once, then all answer.
type gate struct {
	*objstore.Mem
	mu      sync.Mutex
	waiting int
	n       int
	open    chan struct{}
}

func (g *gate) Get(ctx context.Context, key, inm string) ([]byte, string, error) {
	g.mu.Lock()
	g.waiting++
	if g.waiting == g.n {
		close(g.open)
	}
	g.mu.Unlock()
	select {
	case <-g.open:
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
	return g.Mem.Get(ctx, key, inm)
}

// TestConcurrent: the server runs calls concurrently (the gate answers
// none until all are in flight) and each caller gets its own reply.
func TestConcurrent(t *testing.T) {
	const n = 32
	g := &gate{Mem: objstore.NewMem(), n: n, open: make(chan struct{})}
	c := connect(t, g)
	for i := range n {
		if _, err := c.Put(t.Context(), fmt.Sprint(i), []byte(fmt.Sprint("value ", i)), objstore.Cond{}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			data, _, err := c.Get(t.Context(), fmt.Sprint(i), "")
			if err != nil || string(data) != fmt.Sprint("value ", i) {
				t.Errorf("get %d: %q, %v", i, data, err)
			}
		})
	}
	wg.Wait()
}

// blocker is a store whose Get of "block..." blocks until its context
// ends (then reports that on canceled) or until release is closed, and
// of "deaf" until release is closed.
type blocker struct {
	*objstore.Mem
	started  chan string
	canceled chan string
	release  chan struct{}
}

func (b *blocker) Get(ctx context.Context, key, inm string) ([]byte, string, error) {
	switch {
	case key == "deaf":
		b.started <- key
		<-b.release
		return []byte("late"), "etag", nil
	case !strings.HasPrefix(key, "block"):
		return b.Mem.Get(ctx, key, inm)
	}
	b.started <- key
	select {
	case <-ctx.Done():
		b.canceled <- key
		return nil, "", ctx.Err()
	case <-b.release:
		return []byte("late " + key), "etag", nil
	}
}

func newBlocker() *blocker {
	return &blocker{Mem: objstore.NewMem(), started: make(chan string, 10), canceled: make(chan string, 10), release: make(chan struct{})}
}

// TestCancel: a call whose context ends returns ctx.Err() while the
// server is still busy with it; the server's call is cancelled; a late
// reply is dropped, and the client goes on working.
func TestCancel(t *testing.T) {
	b := newBlocker()
	c := connect(t, b)
	if _, err := c.Put(t.Context(), "k", []byte("v"), objstore.Cond{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, _, err := c.Get(ctx, "block1", "")
		errc <- err
	}()
	<-b.started
	cancel()
	if err := <-errc; err != context.Canceled {
		t.Errorf("cancelled Get: %v", err)
	}
	if key := <-b.canceled; key != "block1" {
		t.Errorf("server cancelled %s", key)
	}

	// The successful reply of a store that ignores the cancellation
	// comes after the call gave up, and is dropped.
	ctx, cancel = context.WithCancel(t.Context())
	go func() {
		_, _, err := c.Get(ctx, "deaf", "")
		errc <- err
	}()
	<-b.started
	cancel()
	if err := <-errc; err != context.Canceled {
		t.Errorf("cancelled Get: %v", err)
	}
	close(b.release)
	for range 3 {
		if data, _, err := c.Get(t.Context(), "k", ""); err != nil || string(data) != "v" {
			t.Errorf("get after a dropped reply: %q, %v", data, err)
		}
	}
	if _, _, err := c.Get(ctx, "k", ""); err != context.Canceled {
		t.Errorf("Get with a cancelled context: %v", err)
	}
}

// TestServerGone: when the server's pipes close mid-call, the pending
// call and every later one fail at once, naming the server.
func TestServerGone(t *testing.T) {
	b := newBlocker()
	c, sr, sw := connectPipes(t, b)
	errc := make(chan error, 1)
	go func() {
		_, _, err := c.Get(t.Context(), "block", "")
		errc <- err
	}()
	<-b.started
	sw.Close()
	sr.Close()
	err := <-errc
	if err == nil || !strings.Contains(err.Error(), "test server stopped") {
		t.Errorf("pending call: %v", err)
	}
	if _, err := c.Put(t.Context(), "k", nil, objstore.Cond{}); err == nil || !strings.Contains(err.Error(), "test server stopped") {
		t.Errorf("later call: %v", err)
	}
	close(b.release)
}

// startHelper starts the test binary as a server with role.
func startHelper(t *testing.T, role string, stderr io.Writer) (*Client, error) {
	t.Helper()
	return startHelperOpts(t, role, stderr, Options{Name: "test helper"})
}

func startHelperOpts(t *testing.T, role string, stderr io.Writer, opts Options) (*Client, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), serverRole+"="+role)
	cmd.Stderr = stderr
	return Start(cmd, opts)
}

// TestHelloWait: a server that never says hello is given up on after
// HelloWait, stopped, and named with why it stopped and its last words.
func TestHelloWait(t *testing.T) {
	start := time.Now()
	c, err := startHelperOpts(t, "mute", io.Discard, Options{Name: "test helper", HelloWait: 200 * time.Millisecond})
	if err == nil {
		c.Close()
		t.Fatal("a mute server was accepted")
	}
	for _, want := range []string{"test helper: no hello within 200ms", "killed", "waiting for a password"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("NewClient: %v, want %q in it", err, want)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %v", d)
	}
}

// TestStart: a server process serves as one in-process does, stops when
// the client closes, and its death mid-call is reported with its exit
// status and its last words, its stderr passing through.
func TestStart(t *testing.T) {
	c, err := startHelper(t, "mem", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	etag, err := c.Put(t.Context(), "k", []byte("v"), objstore.Cond{IfNoneMatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if data, got, err := c.Get(t.Context(), "k", ""); string(data) != "v" || got != etag || err != nil {
		t.Errorf("Get: %q %s %v", data, got, err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, _, err := c.Get(t.Context(), "k", ""); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Get after Close: %v", err)
	}

	var stderr bytes.Buffer
	c, err = startHelper(t, "die", &stderr)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Get(t.Context(), "k", "")
	for _, want := range []string{"test helper stopped", "exit status 3", "test server: fatal: cannot get k"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("call to a dying server: %v, want %q in it", err, want)
		}
	}
	if !strings.Contains(stderr.String(), "fatal: cannot get k") {
		t.Errorf("the server's stderr did not pass through: %q", stderr.String())
	}
	if err2 := c.Delete(t.Context(), "k"); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("later call: %v", err2)
	}
	c.Close()
}

// rawClient connects to a fake server that sends hello, then answers
// each request it reads with the next of frames, then closes its output.
func rawClient(t *testing.T, hello []byte, frames ...[]byte) (*Client, error) {
	t.Helper()
	cr, sw := io.Pipe()
	sr, cw := io.Pipe()
	go func() {
		sw.Write(hello)
		for _, f := range frames {
			n, _, _, err := readHeader(sr)
			if err == nil {
				_, err = readBody(sr, n)
			}
			if err == nil {
				_, err = sw.Write(f)
			}
			if err != nil {
				break
			}
		}
		sw.Close()
		io.Copy(io.Discard, sr)
	}()
	t.Cleanup(func() { sr.Close() })
	return NewClient(cr, cw, Options{Name: "raw server"})
}

// TestHandshake: a server of another protocol version, or with no store,
// or that is not a server at all, is refused with what it said.
func TestHandshake(t *testing.T) {
	other := appendHeader(nil, kindHello, 0)
	other = appendString(other, magic)
	other = binary.AppendUvarint(other, Version+1)
	other = appendString(appendString(other, "s3://b/"), "")
	var refused bytes.Buffer
	Refuse(&refused, errors.New("s3:///x: no bucket"))
	for _, tc := range []struct {
		name, hello, want string
	}{
		{"version", string(finish(other)), "raw server: speaks protocol version 2, this program version 1"},
		{"refused", refused.String(), "s3:///x: no bucket"},
		{"garbage", "HTTP/1.1 200 OK\r\n\r\n", "raw server: storepipe: protocol error"},
		{"silent", "", "raw server: no hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rawClient(t, []byte(tc.hello))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("NewClient: %v, want %q", err, tc.want)
			}
		})
	}
}

// TestBadReply: a reply larger than its request accepts, or a frame that
// is not a reply, breaks the connection with a protocol error, and the
// client reads no more than arrived.
func TestBadReply(t *testing.T) {
	hello := hello("mem://", "")
	huge := appendHeader(nil, kindReply, 1)
	binary.BigEndian.PutUint32(huge, MaxFrame) // claims 1 GiB, sends nothing more
	notReply := finish(appendHeader(nil, kindGet, 1))
	for name, frame := range map[string][]byte{"huge": huge, "not a reply": notReply} {
		c, err := rawClient(t, hello, frame)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ReadAt(t.Context(), "k", make([]byte, 10), 0)
		if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "raw server") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestBadRequest: Serve rejects a frame longer than MaxFrame, or too
// short to have a header, without reading it.
func TestBadRequest(t *testing.T) {
	for name, length := range map[string]uint32{"huge": MaxFrame + 1, "short": 3} {
		var req []byte
		req = binary.BigEndian.AppendUint32(req, length)
		req = append(req, kindPut, 0, 0, 0, 0, 0, 0, 0, 1)
		err := Serve(t.Context(), objstore.NewMem(), "mem://", bytes.NewReader(req), io.Discard)
		if !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: Serve: %v", name, err)
		}
	}
	// A request whose fields are malformed is answered with an error.
	req := appendString(appendHeader(nil, kindHead, 7), "k")
	req = finish(append(req, 0xff))
	var out bytes.Buffer
	if err := Serve(t.Context(), objstore.NewMem(), "mem://", bytes.NewReader(req), &out); err != nil {
		t.Fatal(err)
	}
	if _, err := readHello(&out); err != nil {
		t.Fatal(err)
	}
	n, kind, id, err := readHeader(&out)
	if err != nil || kind != kindReply || id != 7 {
		t.Fatalf("reply: %d %q %d %v", n, kind, id, err)
	}
	d := &decoder{b: out.Bytes()}
	if st, msg := d.byte(), d.string(); st != statusError || !strings.Contains(msg, "trailing bytes") {
		t.Errorf("reply to a malformed request: %x %q", st, msg)
	}
}

// TestReadBodyBounded: a frame that claims more than arrives costs
// memory for what arrived, not for what it claimed.
func TestReadBodyBounded(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := readBody(bytes.NewReader(make([]byte, 1000)), MaxFrame)
	runtime.ReadMemStats(&after)
	if err != io.ErrUnexpectedEOF {
		t.Errorf("readBody: %v", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
		t.Errorf("readBody of a short 1 GiB frame allocated %d bytes", got)
	}
	body, err := readBody(bytes.NewReader(bytes.Repeat([]byte("x"), 300000)), 300000)
	if err != nil || len(body) != 300000 {
		t.Errorf("readBody: %d bytes, %v", len(body), err)
	}
}

// TestStack runs the stack suite on Mem through the pipe, a connection
// for every Backend, as if each were another process.
func TestStack(t *testing.T) {
	stacktest.Run(t, func(t *testing.T) stacktest.Storage {
		m := objstore.NewMem()
		return func() storage.Backend {
			b, err := objstore.NewBackend(t.Context(), connect(t, m), objstore.Options{Prefix: "repo/"})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	})
}

// TestCloseKills: Close kills a server that does not stop when its
// input closes.
func TestCloseKills(t *testing.T) {
	cr, sw := io.Pipe()
	sr, cw := io.Pipe()
	go func() {
		sw.Write(hello("mem://", ""))
		io.Copy(io.Discard, sr) // reads to the end, never closes sw
	}()
	killed := false
	c, err := NewClient(cr, cw, Options{Name: "deaf server", CloseWait: time.Millisecond, Kill: func() {
		killed = true
		sw.Close()
	}})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if !killed {
		t.Error("Close returned without killing the server")
	}
}
