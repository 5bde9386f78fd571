package storepipe

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
)

// Start starts cmd, a server speaking on its stdin and stdout, and
// returns a client of it. What the server writes to stderr goes on to
// cmd.Stderr (nil discards it), and its end is kept to say, with the exit
// status, why the server stopped if it dies. opts.Name defaults to the
// command's path; Start sets opts.Exited and opts.Kill.
func Start(cmd *exec.Cmd, opts Options) (*Client, error) {
	if opts.Name == "" {
		opts.Name = cmd.Path
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Name, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Name, err)
	}
	tail := &tailWriter{w: cmd.Stderr}
	cmd.Stderr = tail
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", opts.Name, err)
	}
	opts.Exited = func() error {
		err := cmd.Wait()
		if last := tail.last(); last != "" {
			if err == nil {
				err = errors.New("exit status 0")
			}
			return fmt.Errorf("%w: %s", err, last)
		}
		return err
	}
	opts.Kill = func() { cmd.Process.Kill() }
	return NewClient(stdout, stdin, opts)
}

// tailWriter passes writes on to w and keeps the last line written.
type tailWriter struct {
	w   io.Writer
	mu  sync.Mutex
	buf []byte // the end of what was written, at most 4 KiB
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4096 {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-4096:]...)
	}
	t.mu.Unlock()
	if t.w == nil {
		return len(p), nil
	}
	return t.w.Write(p)
}

// last returns the last non-empty line written.
func (t *tailWriter) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
