package objstore

import (
	"context"
	"errors"
	"io/fs"
	"time"
)

// Store is the little the stack needs of an object store. Keys are
// full object keys (the backend adds its prefix). Implementations must be
// safe for concurrent use.
type Store interface {
	// Get reads a whole object and its ETag. With ifNoneMatch set to the
	// object's current ETag it fails with ErrNotModified and no body.
	Get(ctx context.Context, key, ifNoneMatch string) (data []byte, etag string, err error)

	// ReadAt reads len(p) bytes of key at off (a ranged GET); it fails
	// like io.ReaderAt at the end of the object.
	ReadAt(ctx context.Context, key string, p []byte, off int64) (n int, err error)

	// Head returns an object's size and ETag.
	Head(ctx context.Context, key string) (size int64, etag string, err error)

	// Put writes an object under a condition. A failed condition (412,
	// 409 for a racing conditional write, 404 for If-Match on a missing
	// key) is ErrPrecondition.
	Put(ctx context.Context, key string, data []byte, cond Cond) (etag string, err error)

	// Delete removes an object; a missing one is not an error.
	Delete(ctx context.Context, key string) error

	// List lists the objects whose keys start with prefix.
	List(ctx context.Context, prefix string) ([]Object, error)
}

// HeadReader is implemented by a Store that reads the start of an object
// together with its size and ETag in one request (an S3 ranged GET
// answers them in Content-Range and ETag). Backend.OpenTable then opens
// a table with that request, which also brings its first block, instead
// of a HEAD and a ranged read.
type HeadReader interface {
	// ReadHead reads the first len(p) bytes of key into p, or the whole
	// object when it is shorter, and returns how many bytes it read and
	// the object's size and ETag. A missing object is ErrNotFound.
	ReadHead(ctx context.Context, key string, p []byte) (n int, size int64, etag string, err error)
}

// Cond is the precondition of a Put. The zero value writes unconditionally.
type Cond struct {
	IfNoneMatch bool   // create only: fail if the key exists (If-None-Match: *)
	IfMatch     string // replace only the version with this ETag (If-Match)
}

// Object describes a listed object.
type Object struct {
	Key     string
	Size    int64
	ETag    string
	ModTime time.Time
}

// Errors of a Store.
var (
	// ErrNotFound reports a missing object; it matches fs.ErrNotExist.
	ErrNotFound = fs.ErrNotExist
	// ErrNotModified answers a Get whose ifNoneMatch is the current ETag.
	ErrNotModified = errors.New("not modified")
	// ErrPrecondition reports a conditional Put whose condition failed.
	ErrPrecondition = errors.New("precondition failed")
)
