package storepipe

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/refstore/refstore/objstore"
)

// Options says how a Client names its server and learns why it stopped.
type Options struct {
	// Name names the server in errors, such as "reftable-s3 helper
	// /usr/local/bin/reftable-s3"; empty means "storepipe server".
	Name string
	// Exited, if set, is called once, when the server's stream has
	// ended, and returns why the server stopped (a process's exit status
	// and the end of its stderr), or nil if it ended normally.
	Exited func() error
	// Kill, if set, stops the server at once. The client calls it when
	// the connection breaks while the server may still be running, and
	// when the server does not stop within CloseWait of Close.
	Kill func()
	// CloseWait is how long Close waits for the server to stop after
	// closing its input before it calls Kill; 0 means 5 seconds.
	CloseWait time.Duration
	// HelloWait is how long NewClient waits for the server's hello
	// before it gives up, calling Kill; 0 means 10 seconds. (A server
	// sends it before it reaches its store.)
	HelloWait time.Duration
}

// Client is an objstore.Store whose every call is a request to a server
// (see Serve). It is safe for concurrent use: requests are sent in the
// order they are made and their replies matched by id, in any order.
//
// A call whose context ends returns the context's error at once; its
// reply, if one comes, is dropped, and the server is asked to cancel it.
// When the connection breaks (the server exits, or sends what is not a
// reply), every pending and later call fails with an error that names
// the server and says why it stopped.
type Client struct {
	name string
	url  string
	opts Options
	r    io.ReadCloser
	w    io.WriteCloser

	mu      sync.Mutex // guards the fields below
	nextID  uint64
	pending map[uint64]*call
	queue   [][]byte // frames for the writer
	closing bool
	err     error // why the connection is gone, set when done is closed

	kick     chan struct{} // wakes the writer
	done     chan struct{} // closed when the connection is gone
	closeErr error         // why the server stopped, for Close
	once     sync.Once
}

// call is a request waiting for its reply.
type call struct {
	limit int         // the largest reply body accepted
	reply chan []byte // receives the reply's body
}

var _ objstore.Store = (*Client)(nil)

// NewClient reads the server's hello from r and returns a Client sending
// requests to w. It fails if the server's protocol version is not
// Version, and with the server's own error if the server has no store.
func NewClient(r io.ReadCloser, w io.WriteCloser, opts Options) (*Client, error) {
	if opts.Name == "" {
		opts.Name = "storepipe server"
	}
	c := &Client{name: opts.Name, opts: opts, r: r, w: w, pending: map[uint64]*call{},
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	br := bufio.NewReaderSize(r, 64<<10)
	url, err := c.awaitHello(br)
	if err != nil {
		w.Close()
		var herr helloError
		if !errors.As(err, &herr) {
			// Not a server we understand, or one that died: stop it
			// and say why it stopped.
			c.stop()
			err = c.why(fmt.Errorf("%s: %w", c.name, err))
		} else if opts.Exited != nil {
			opts.Exited()
		}
		r.Close()
		return nil, err
	}
	c.url = url
	go c.read(br)
	go c.write()
	return c, nil
}

// awaitHello reads the server's hello from br, giving up after
// HelloWait: then it stops the server and closes its output, which ends
// the read.
func (c *Client) awaitHello(br *bufio.Reader) (string, error) {
	wait := c.opts.HelloWait
	if wait <= 0 {
		wait = 10 * time.Second
	}
	type result struct {
		url string
		err error
	}
	got := make(chan result, 1)
	go func() {
		url, err := readHello(br)
		got <- result{url, err}
	}()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case h := <-got:
		return h.url, h.err
	case <-timer.C:
		c.stop()
		c.r.Close()
		<-got
		return "", fmt.Errorf("no hello within %v", wait)
	}
}

// helloError is the error a server sends in its hello.
type helloError string

func (e helloError) Error() string { return string(e) }

// readHello reads the server's hello and returns the store's URL.
func readHello(r io.Reader) (string, error) {
	n, kind, _, err := readHeader(r)
	if err == io.EOF {
		return "", errors.New("no hello")
	}
	if err != nil {
		return "", fmt.Errorf("read hello: %w", err)
	}
	if kind != kindHello || n > maxSmall {
		return "", fmt.Errorf("%w: no hello", ErrProtocol)
	}
	body, err := readBody(r, n)
	if err != nil {
		return "", fmt.Errorf("read hello: %w", err)
	}
	d := &decoder{b: body}
	if d.string() != magic || d.err != nil {
		return "", fmt.Errorf("%w: no hello", ErrProtocol)
	}
	if v := d.uint(); v != Version {
		return "", fmt.Errorf("speaks protocol version %d, this program version %d: install the same version of both", v, Version)
	}
	url, msg := d.string(), d.string()
	if err := d.end(); err != nil {
		return "", err
	}
	if msg != "" {
		return "", helloError(msg)
	}
	return url, nil
}

// URL returns the URL of the server's store, from its hello.
func (c *Client) URL() string { return c.url }

// Close ends the session: it closes the server's input, waits for the
// server to stop (killing it after Options.CloseWait) and returns why it stopped
// if that was abnormal. Pending and later calls fail.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.wake()
	t := time.NewTimer(cmp.Or(c.opts.CloseWait, 5*time.Second))
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		c.stop()
		<-c.done
	}
	return c.closeErr
}

func (c *Client) stop() {
	if c.opts.Kill != nil {
		c.opts.Kill()
	}
}

func (c *Client) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// why adds to err why the server stopped, waiting for it.
func (c *Client) why(err error) error {
	if c.opts.Exited == nil {
		return err
	}
	if why := c.opts.Exited(); why != nil {
		return fmt.Errorf("%w (%v)", err, why)
	}
	return err
}

// read delivers replies to their calls until the stream ends.
func (c *Client) read(r *bufio.Reader) {
	for {
		n, kind, id, err := readHeader(r)
		if err == nil && kind != kindReply {
			err = fmt.Errorf("%w: frame of kind %q", ErrProtocol, kind)
		}
		if err != nil {
			c.broken(err)
			return
		}
		c.mu.Lock()
		cl := c.pending[id]
		delete(c.pending, id)
		c.mu.Unlock()
		limit := MaxFrame
		if cl != nil {
			limit = cl.limit
		}
		if n > limit {
			c.broken(fmt.Errorf("%w: reply of %d bytes to a request that takes %d", ErrProtocol, n, limit))
			return
		}
		if cl == nil {
			// The reply to a call that was cancelled.
			_, err = io.CopyN(io.Discard, r, int64(n))
		} else {
			var body []byte
			if body, err = readBody(r, n); err == nil {
				cl.reply <- body
			}
		}
		if err != nil {
			c.broken(err)
			return
		}
	}
}

// broken ends the connection because of cause: it fails every pending
// and later call with an error naming the server and why it stopped.
func (c *Client) broken(cause error) {
	c.once.Do(func() {
		c.mu.Lock()
		closing := c.closing
		c.mu.Unlock()
		ended := errors.Is(cause, io.EOF) || errors.Is(cause, io.ErrUnexpectedEOF)
		if !ended {
			c.stop()
		}
		var why error
		if c.opts.Exited != nil {
			why = c.opts.Exited()
		}
		var err error
		switch {
		case closing:
			err = fmt.Errorf("%s: closed", c.name)
			if why != nil {
				c.closeErr = fmt.Errorf("%s: %w", c.name, why)
			}
		case ended && why != nil:
			err = fmt.Errorf("%s stopped: %w", c.name, why)
		case ended:
			err = fmt.Errorf("%s stopped", c.name)
		case why != nil:
			err = fmt.Errorf("%s: %w (%v)", c.name, cause, why)
		default:
			err = fmt.Errorf("%s: %w", c.name, cause)
		}
		c.r.Close()
		c.mu.Lock()
		c.err = err
		c.pending = nil
		c.queue = nil
		c.mu.Unlock()
		close(c.done)
	})
}

// write sends the queued frames, and closes the server's input once the
// client is closing and nothing is left to send.
func (c *Client) write() {
	bw := bufio.NewWriterSize(c.w, 64<<10)
	for {
		select {
		case <-c.kick:
		case <-c.done:
			c.w.Close()
			return
		}
		c.mu.Lock()
		frames, closing := c.queue, c.closing
		c.queue = nil
		c.mu.Unlock()
		var err error
		for _, f := range frames {
			if _, err = bw.Write(f); err != nil {
				break
			}
		}
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			// The server no longer reads: stop it, so that reading its
			// output ends and says why.
			c.w.Close()
			if c.opts.Kill == nil {
				c.broken(fmt.Errorf("write: %w", err))
			}
			c.stop()
			return
		}
		if closing {
			c.mu.Lock()
			empty := len(c.queue) == 0
			c.mu.Unlock()
			if empty {
				c.w.Close()
				return
			}
			c.wake()
		}
	}
}

// roundTrip sends the request frame (whose id it sets) and returns the
// reply's body, of at most limit bytes.
func (c *Client) roundTrip(ctx context.Context, frame []byte, limit int) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cl := &call{limit: limit, reply: make(chan []byte, 1)}
	c.mu.Lock()
	if c.err != nil || c.closing {
		err := c.err
		c.mu.Unlock()
		if err == nil {
			err = fmt.Errorf("%s: closed", c.name)
		}
		return nil, err
	}
	c.nextID++
	id := c.nextID
	binary.BigEndian.PutUint64(frame[5:], id)
	c.pending[id] = cl
	c.queue = append(c.queue, finish(frame))
	c.mu.Unlock()
	c.wake()
	select {
	case body := <-cl.reply:
		return body, nil
	case <-ctx.Done():
		c.mu.Lock()
		_, waiting := c.pending[id]
		if waiting {
			delete(c.pending, id)
			c.queue = append(c.queue, finish(appendHeader(nil, kindCancel, id)))
		}
		c.mu.Unlock()
		c.wake()
		return nil, ctx.Err()
	case <-c.done:
		select {
		case body := <-cl.reply:
			return body, nil
		default:
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return nil, c.err
	}
}

// request sends a request and decodes the reply's status: it returns the
// server's error, or a decoder positioned at the result.
func (c *Client) request(ctx context.Context, frame []byte, limit int) (*decoder, error) {
	body, err := c.roundTrip(ctx, frame, limit)
	if err != nil {
		return nil, err
	}
	d := &decoder{b: body}
	st, msg := d.byte(), d.string()
	if d.err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, d.err)
	}
	return d, decodeError(st, msg)
}

// result checks that the result was decoded entirely.
func (c *Client) result(d *decoder) error {
	if err := d.end(); err != nil {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	return nil
}

// Get implements objstore.Store.
func (c *Client) Get(ctx context.Context, key, ifNoneMatch string) ([]byte, string, error) {
	f := appendString(appendString(appendHeader(nil, kindGet, 0), key), ifNoneMatch)
	d, err := c.request(ctx, f, MaxGet+maxSmall)
	if err != nil {
		return nil, "", err
	}
	data, etag := d.bytes(), d.string()
	if err := c.result(d); err != nil {
		return nil, "", err
	}
	return data, etag, nil
}

// ReadAt implements objstore.Store, with a request for every MaxGet
// bytes of p.
func (c *Client) ReadAt(ctx context.Context, key string, p []byte, off int64) (int, error) {
	if len(p) <= MaxGet {
		return c.readAt(ctx, key, p, off)
	}
	done := 0
	for done < len(p) {
		n := min(len(p)-done, MaxGet)
		m, err := c.readAt(ctx, key, p[done:done+n], off+int64(done))
		done += m
		if err != nil {
			return done, err
		}
		if m < n {
			return done, io.ErrUnexpectedEOF
		}
	}
	return done, nil
}

func (c *Client) readAt(ctx context.Context, key string, p []byte, off int64) (int, error) {
	f := appendString(appendHeader(nil, kindReadAt, 0), key)
	f = binary.AppendVarint(f, off)
	f = binary.AppendUvarint(f, uint64(len(p)))
	d, err := c.request(ctx, f, len(p)+maxSmall)
	if d == nil {
		return 0, err
	}
	data := d.bytes()
	if rerr := c.result(d); rerr != nil {
		return 0, rerr
	}
	if len(data) > len(p) {
		return 0, fmt.Errorf("%s: %w: %d bytes for a read of %d", c.name, ErrProtocol, len(data), len(p))
	}
	return copy(p, data), err
}

// Head implements objstore.Store.
func (c *Client) Head(ctx context.Context, key string) (int64, string, error) {
	d, err := c.request(ctx, appendString(appendHeader(nil, kindHead, 0), key), maxSmall)
	if err != nil {
		return 0, "", err
	}
	size, etag := d.int(), d.string()
	if err := c.result(d); err != nil {
		return 0, "", err
	}
	return size, etag, nil
}

// Put implements objstore.Store.
func (c *Client) Put(ctx context.Context, key string, data []byte, cond objstore.Cond) (string, error) {
	if len(data) > MaxFrame-maxSmall {
		return "", fmt.Errorf("put %s: %d bytes, more than %s carries", key, len(data), c.name)
	}
	f := appendBytes(appendString(appendHeader(make([]byte, 0, headerSize+len(key)+len(data)+32), kindPut, 0), key), data)
	inm := byte(0)
	if cond.IfNoneMatch {
		inm = 1
	}
	f = appendString(append(f, inm), cond.IfMatch)
	d, err := c.request(ctx, f, maxSmall)
	if err != nil {
		return "", err
	}
	etag := d.string()
	if err := c.result(d); err != nil {
		return "", err
	}
	return etag, nil
}

// Delete implements objstore.Store.
func (c *Client) Delete(ctx context.Context, key string) error {
	d, err := c.request(ctx, appendString(appendHeader(nil, kindDelete, 0), key), maxSmall)
	if err != nil {
		return err
	}
	return c.result(d)
}

// List implements objstore.Store.
func (c *Client) List(ctx context.Context, prefix string) ([]objstore.Object, error) {
	d, err := c.request(ctx, appendString(appendHeader(nil, kindList, 0), prefix), MaxFrame)
	if err != nil {
		return nil, err
	}
	n := d.uint()
	// Each object takes at least 5 bytes, so the count claimed cannot
	// make this allocate more than the reply's size.
	var objs []objstore.Object
	if n > 0 {
		objs = make([]objstore.Object, 0, min(n, uint64(len(d.b)/5)))
	}
	for range n {
		o := objstore.Object{Key: d.string(), Size: d.int(), ETag: d.string()}
		sec, nsec := d.int(), d.uint()
		o.ModTime = time.Unix(sec, int64(nsec%1e9)).UTC()
		if d.err != nil {
			break
		}
		objs = append(objs, o)
	}
	if err := c.result(d); err != nil {
		return nil, err
	}
	return objs, nil
}
