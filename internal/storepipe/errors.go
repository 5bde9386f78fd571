package storepipe

import (
	"context"
	"errors"
	"io"

	"github.com/refstore/refstore/objstore"
)

// A reply's status byte: statusError marks a failure, and the other bits
// say which of sentinels the error matches, so that errors.Is answers on
// the client as it did on the server.
const statusError = 0x80

// sentinels are the errors whose identity crosses the pipe; bit i of a
// status stands for sentinels[i].
var sentinels = [...]error{
	objstore.ErrNotFound, // fs.ErrNotExist
	objstore.ErrNotModified,
	objstore.ErrPrecondition,
	objstore.ErrUnsafeStore,
	io.EOF,
	context.Canceled,
	context.DeadlineExceeded,
}

// status encodes err.
func status(err error) byte {
	if err == nil {
		return 0
	}
	st := byte(statusError)
	for i, s := range sentinels {
		if errors.Is(err, s) {
			st |= 1 << i
		}
	}
	return st
}

// remoteError is an error returned by the server's store: its text, and
// the sentinels it matched there.
type remoteError struct {
	msg    string
	status byte
}

func (e *remoteError) Error() string { return e.msg }

// Is reports whether the server's error matched target.
func (e *remoteError) Is(target error) bool {
	for i, s := range sentinels {
		if target == s && e.status&(1<<i) != 0 {
			return true
		}
	}
	return false
}

// decodeError rebuilds the error of status and msg: nil for success, the
// sentinel itself when the server returned it unwrapped (callers compare
// ReadAt's io.EOF with ==), a *remoteError otherwise.
func decodeError(st byte, msg string) error {
	if st&statusError == 0 {
		return nil
	}
	for i, s := range sentinels {
		if st == statusError|1<<i && msg == s.Error() {
			return s
		}
	}
	return &remoteError{msg: msg, status: st}
}
