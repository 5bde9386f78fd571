package reftable

import (
	"errors"
	"fmt"
)

// Errors returned by this package. Errors about bytes read from a table are
// *[CorruptError] values that match [ErrFormat] (and [ErrChecksum] for a bad
// footer CRC) with [errors.Is]. Errors about records handed to a [Writer]
// wrap one of the other sentinels together with the offending name.
var (
	// ErrFormat reports a table whose bytes do not follow the format.
	ErrFormat = errors.New("corrupt reftable")

	// ErrChecksum reports a footer whose CRC-32 does not match. Errors
	// matching ErrChecksum also match ErrFormat.
	ErrChecksum = errors.New("reftable footer checksum mismatch")

	// ErrNotFound reports that a ref or log record does not exist.
	ErrNotFound = errors.New("not found")

	// ErrKeyOrder reports a record added out of order or twice.
	ErrKeyOrder = errors.New("records out of order")

	// ErrUpdateIndex reports an update index outside the writer's limits.
	ErrUpdateIndex = errors.New("update index out of range")

	// ErrRefName reports a reference name the format cannot store: empty,
	// or containing a NUL byte.
	ErrRefName = errors.New("invalid reference name")

	// ErrEntryTooBig reports a record that does not fit in an empty block.
	ErrEntryTooBig = errors.New("entry too large for block size")

	// ErrLogMessage reports a reflog message with an embedded newline.
	ErrLogMessage = errors.New("multi-line reflog message")

	// ErrHashMismatch reports tables or records with different hash
	// functions, or an object id of the wrong length.
	ErrHashMismatch = errors.New("hash function mismatch")

	// ErrWriterState reports a call that is not allowed at this point of
	// writing: limits set after the first record, a ref after a log, any
	// call after Close.
	ErrWriterState = errors.New("writer misuse")

	// ErrOptions reports invalid writer options.
	ErrOptions = errors.New("invalid options")
)

// CorruptError describes malformed table bytes: which table, at which byte
// offset, and what was wrong. It matches ErrFormat, and ErrChecksum when the
// footer checksum is wrong.
type CorruptError struct {
	Table  string // the table's name as given to NewTable
	Offset int64  // byte offset in the table where the problem was found
	Reason string // what was wrong
	Err    error  // ErrFormat or ErrChecksum
}

// Error implements error.
func (e *CorruptError) Error() string {
	name := e.Table
	if name == "" {
		name = "table"
	}
	return fmt.Sprintf("reftable %s: offset %d: %s: %v", name, e.Offset, e.Reason, e.Err)
}

// Unwrap returns ErrFormat or ErrChecksum.
func (e *CorruptError) Unwrap() error { return e.Err }

// Is reports whether target is ErrFormat, which every corruption matches.
func (e *CorruptError) Is(target error) bool { return target == ErrFormat }

// IOError wraps an error returned by a table's io.ReaderAt with the table
// name and offset.
type IOError struct {
	Table  string
	Offset int64
	Err    error
}

// Error implements error.
func (e *IOError) Error() string {
	return fmt.Sprintf("reftable %s: read at offset %d: %v", e.Table, e.Offset, e.Err)
}

// Unwrap returns the underlying error.
func (e *IOError) Unwrap() error { return e.Err }

// ioError returns err, a failed read of table name at off, as an
// *IOError: itself when it is one already, as a source that reads through
// a store reports its failures (see objstore), which would otherwise be
// told twice.
func ioError(name string, off int64, err error) error {
	var ioe *IOError
	if errors.As(err, &ioe) {
		return err
	}
	return &IOError{Table: name, Offset: off, Err: err}
}
