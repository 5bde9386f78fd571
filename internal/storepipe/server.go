package storepipe

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/refstore/refstore/objstore"
)

// Serve serves s to the client at the other end of r and w: it writes
// the hello, naming the store by url, then answers the requests read from
// r with calls to s, concurrently, writing the replies to w. When r ends
// it cancels the requests in flight, waits for them and returns nil. A
// malformed or oversized request, or a failure to read r, ends it with an
// error. Once a write to w fails, later replies are dropped: a client that
// stopped reading has gone, and its end of r will close.
func Serve(ctx context.Context, s objstore.Store, url string, r io.Reader, w io.Writer) error {
	srv := &server{s: s, w: bufio.NewWriterSize(w, 64<<10), inflight: map[uint64]context.CancelFunc{}}
	if err := srv.send(hello(url, "")); err != nil {
		return fmt.Errorf("storepipe: write hello: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer srv.wg.Wait()
	defer cancel()
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		n, kind, id, err := readHeader(br)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("storepipe: read request: %w", err)
		}
		if n > MaxFrame-headerSize {
			return fmt.Errorf("%w: request of %d bytes, the limit is %d", ErrProtocol, n, MaxFrame)
		}
		body, err := readBody(br, n)
		if err != nil {
			return fmt.Errorf("storepipe: read request: %w", err)
		}
		srv.mu.Lock()
		if kind == kindCancel {
			if cancel := srv.inflight[id]; cancel != nil {
				cancel()
			}
			srv.mu.Unlock()
			continue
		}
		if srv.inflight[id] != nil {
			srv.mu.Unlock()
			return fmt.Errorf("%w: request id %d is in use", ErrProtocol, id)
		}
		rctx, rcancel := context.WithCancel(ctx)
		srv.inflight[id] = rcancel
		srv.mu.Unlock()
		srv.wg.Go(func() {
			reply := srv.handle(rctx, kind, id, body)
			srv.mu.Lock()
			delete(srv.inflight, id)
			srv.mu.Unlock()
			rcancel()
			srv.send(reply)
		})
	}
}

// Refuse writes the hello of a server that has no store, carrying err
// (such as a URL without a bucket), for the client to report.
func Refuse(w io.Writer, err error) error {
	_, werr := w.Write(hello("", err.Error()))
	return werr
}

func hello(url, errMsg string) []byte {
	b := appendHeader(nil, kindHello, 0)
	b = appendString(b, magic)
	b = binary.AppendUvarint(b, Version)
	b = appendString(b, url)
	b = appendString(b, errMsg)
	return finish(b)
}

type server struct {
	s objstore.Store

	wmu  sync.Mutex // guards w and werr
	w    *bufio.Writer
	werr error // the first write error

	mu       sync.Mutex // guards inflight
	inflight map[uint64]context.CancelFunc
	wg       sync.WaitGroup
}

// send writes one frame and flushes it.
func (srv *server) send(frame []byte) error {
	srv.wmu.Lock()
	defer srv.wmu.Unlock()
	if srv.werr == nil {
		_, srv.werr = srv.w.Write(frame)
	}
	if srv.werr == nil {
		srv.werr = srv.w.Flush()
	}
	return srv.werr
}

// handle runs one request and returns its reply frame.
func (srv *server) handle(ctx context.Context, kind byte, id uint64, body []byte) []byte {
	d := &decoder{b: body}
	b := appendHeader(nil, kindReply, id)
	fail := func(err error) []byte {
		b = append(b, status(err))
		return finish(appendString(b, err.Error()))
	}
	ok := func() []byte {
		return appendString(append(b, 0), "")
	}
	switch kind {
	case kindGet:
		key, inm := d.string(), d.string()
		if err := d.end(); err != nil {
			return fail(err)
		}
		data, etag, err := srv.s.Get(ctx, key, inm)
		if err == nil && len(data) > MaxGet {
			err = fmt.Errorf("get %s: %d bytes, more than the %d a reply carries", key, len(data), MaxGet)
		}
		if err != nil {
			return fail(err)
		}
		return finish(appendString(appendBytes(ok(), data), etag))
	case kindReadAt:
		key, off, n := d.string(), d.int(), d.uint()
		if err := d.end(); err != nil {
			return fail(err)
		}
		if n > MaxGet {
			return fail(fmt.Errorf("read %s: %d bytes, more than the %d a reply carries", key, n, MaxGet))
		}
		p := make([]byte, n)
		m, err := srv.s.ReadAt(ctx, key, p, off)
		m = max(0, min(m, len(p)))
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		return finish(appendBytes(appendString(append(b, status(err)), msg), p[:m]))
	case kindHead:
		key := d.string()
		if err := d.end(); err != nil {
			return fail(err)
		}
		size, etag, err := srv.s.Head(ctx, key)
		if err != nil {
			return fail(err)
		}
		return finish(appendString(binary.AppendVarint(ok(), size), etag))
	case kindPut:
		key, data := d.string(), d.bytes()
		cond := objstore.Cond{IfNoneMatch: d.byte() != 0, IfMatch: d.string()}
		if err := d.end(); err != nil {
			return fail(err)
		}
		etag, err := srv.s.Put(ctx, key, data, cond)
		if err != nil {
			return fail(err)
		}
		return finish(appendString(ok(), etag))
	case kindDelete:
		key := d.string()
		if err := d.end(); err != nil {
			return fail(err)
		}
		if err := srv.s.Delete(ctx, key); err != nil {
			return fail(err)
		}
		return finish(ok())
	case kindList:
		prefix := d.string()
		if err := d.end(); err != nil {
			return fail(err)
		}
		objs, err := srv.s.List(ctx, prefix)
		if err != nil {
			return fail(err)
		}
		b = binary.AppendUvarint(ok(), uint64(len(objs)))
		for _, o := range objs {
			b = appendString(b, o.Key)
			b = binary.AppendVarint(b, o.Size)
			b = appendString(b, o.ETag)
			b = binary.AppendVarint(b, o.ModTime.Unix())
			b = binary.AppendUvarint(b, uint64(o.ModTime.Nanosecond()))
			if len(b) > MaxFrame {
				b = appendHeader(b[:0], kindReply, id)
				return fail(fmt.Errorf("list %s: %d objects, too many for a reply", prefix, len(objs)))
			}
		}
		return finish(b)
	}
	return fail(fmt.Errorf("unknown request kind %q", kind))
}
