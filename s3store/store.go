// Package s3store is an objstore.Store on an S3-compatible object store
// that honours conditional writes (AWS S3, MinIO, versitygw, ...), through
// the minio-go client.
//
// A Store is scoped to one bucket and a key prefix: the keys objstore
// hands it are relative to the prefix, so a stack at s3://bucket/repo/
// keeps tables.list at repo/tables.list. Conditions map to S3 as follows:
//
//	Put, Cond{IfNoneMatch: true}   PUT with If-None-Match: *
//	Put, Cond{IfMatch: etag}       PUT with If-Match: "etag"
//	  412, 409 (a racing conditional write), 404 on If-Match  -> objstore.ErrPrecondition
//	Get with ifNoneMatch           GET with If-None-Match: "etag"; 304 -> objstore.ErrNotModified
//	ReadAt                         GET with Range: bytes=off-end
//	ReadHead                       GET with Range: bytes=0-end; the size from Content-Range
//	NoSuchKey                      objstore.ErrNotFound
//
// A conditional PUT is sent exactly once: the client's own retries are
// off for writes, because a retried PUT whose first attempt was accepted
// would fail its condition against itself and report a conflict for a
// write that happened. objstore's backend reads the list back after a
// failed PUT to tell the two apart. Reads, deletes and listings are
// retried by the client as usual.
//
// The package assumes what objstore documents of a store: strong
// read-after-write consistency per key and conditions judged against the
// latest accepted write. objstore.NewBackend checks both with a probe
// before trusting a store.
package s3store

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/refstore/refstore/objstore"
)

// Config says where a Store keeps its objects and how it reaches them.
type Config struct {
	// Endpoint is the server's URL, "http://127.0.0.1:7070" or
	// "https://s3.eu-west-1.amazonaws.com"; empty means AWS S3 in Region.
	Endpoint string
	// Region is the bucket's region; empty means us-east-1.
	Region string
	// AccessKey and SecretKey are the credentials; both empty sends
	// anonymous requests.
	AccessKey, SecretKey string
	// SessionToken is an optional session token for temporary credentials.
	SessionToken string
	// Bucket is the bucket's name.
	Bucket string
	// Prefix is prepended to every key. It is used as given: "repo/"
	// keeps objects under repo/.
	Prefix string
	// Transport replaces the default HTTP transport (tests).
	Transport http.RoundTripper
}

// ParseURL splits an s3://bucket/prefix URL into its bucket and prefix.
// A non-empty prefix is returned ending with "/".
func ParseURL(s string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%s: not an s3://bucket/prefix URL", s)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%s: no bucket", s)
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return bucket, prefix, nil
}

// IsURL reports whether s is an s3:// URL.
func IsURL(s string) bool { return strings.HasPrefix(s, "s3://") }

// ConfigFromEnv returns the Config of an s3://bucket/prefix URL with the
// endpoint, region and credentials of the standard variables
// AWS_ENDPOINT_URL, AWS_REGION (or AWS_DEFAULT_REGION),
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
func ConfigFromEnv(s3url string) (Config, error) {
	bucket, prefix, err := ParseURL(s3url)
	if err != nil {
		return Config{}, err
	}
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	return Config{
		Endpoint:     os.Getenv("AWS_ENDPOINT_URL"),
		Region:       region,
		AccessKey:    os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretKey:    os.Getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken: os.Getenv("AWS_SESSION_TOKEN"),
		Bucket:       bucket,
		Prefix:       prefix,
	}, nil
}

// FromEnv returns a Store for an s3://bucket/prefix URL configured from
// the environment (see ConfigFromEnv).
func FromEnv(s3url string) (*Store, error) {
	cfg, err := ConfigFromEnv(s3url)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// Store is an objstore.Store on one bucket and key prefix. It is safe for
// concurrent use.
type Store struct {
	bucket, prefix string
	read           *minio.Core // retries as the client does by default
	write          *minio.Core // sends every request once
}

var _ objstore.Store = (*Store)(nil)

// New returns a Store for cfg. It sends no request.
func New(cfg Config) (*Store, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("s3store: no bucket")
	}
	host, secure := "s3.amazonaws.com", true
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("s3store: endpoint %q: want http(s)://host[:port]", cfg.Endpoint)
		}
		host, secure = u.Host, u.Scheme == "https"
	}
	region := cfg.Region
	if region == "" {
		// Naming the region spares a GetBucketLocation request.
		region = "us-east-1"
	}
	creds := credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken)
	if cfg.AccessKey == "" && cfg.SecretKey == "" {
		creds = credentials.New(&credentials.Static{Value: credentials.Value{SignerType: credentials.SignatureAnonymous}})
	}
	// One transport for both clients: one pool of connections, so that
	// a process's reads and writes reuse one connection.
	transport := cfg.Transport
	if transport == nil {
		t, err := minio.DefaultTransport(secure)
		if err != nil {
			return nil, fmt.Errorf("s3store: %s: %w", cfg.Endpoint, err)
		}
		transport = t
	}
	client := func(retries int) (*minio.Core, error) {
		return minio.NewCore(host, &minio.Options{
			Creds:      creds,
			Secure:     secure,
			Region:     region,
			Transport:  transport,
			MaxRetries: retries,
		})
	}
	read, err := client(0)
	if err != nil {
		return nil, fmt.Errorf("s3store: %s: %w", cfg.Endpoint, err)
	}
	write, err := client(1)
	if err != nil {
		return nil, fmt.Errorf("s3store: %s: %w", cfg.Endpoint, err)
	}
	return &Store{bucket: cfg.Bucket, prefix: cfg.Prefix, read: read, write: write}, nil
}

// Bucket returns the Store's bucket.
func (s *Store) Bucket() string { return s.bucket }

// Prefix returns the Store's key prefix.
func (s *Store) Prefix() string { return s.prefix }

// URL returns s3://bucket/prefix.
func (s *Store) URL() string { return "s3://" + s.bucket + "/" + s.prefix }

// MaxGet bounds what Get reads of one object (Get reads tables.list,
// whose lines are table names: 64 MiB is over a million tables), so a
// misbehaving server cannot make it allocate without bound.
const MaxGet = 64 << 20

// Get implements objstore.Store.
func (s *Store) Get(ctx context.Context, key, ifNoneMatch string) ([]byte, string, error) {
	var opts minio.GetObjectOptions
	if ifNoneMatch != "" {
		if err := opts.SetMatchETagExcept(ifNoneMatch); err != nil {
			return nil, "", s.fail("get", key, err)
		}
	}
	body, info, _, err := s.read.GetObject(ctx, s.bucket, s.prefix+key, opts)
	if err != nil {
		return nil, "", s.fail("get", key, err)
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, MaxGet+1))
	if err != nil {
		return nil, "", s.fail("get", key, err)
	}
	if len(data) > MaxGet {
		return nil, "", s.fail("get", key, fmt.Errorf("object larger than %d bytes", MaxGet))
	}
	if info.Size >= 0 && int64(len(data)) != info.Size {
		return nil, "", s.fail("get", key, fmt.Errorf("read %d bytes of %d", len(data), info.Size))
	}
	return data, info.ETag, nil
}

// ReadAt implements objstore.Store with a ranged GET.
func (s *Store) ReadAt(ctx context.Context, key string, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, s.fail("read", key, fmt.Errorf("negative offset %d", off))
	}
	if len(p) == 0 {
		return 0, nil
	}
	var opts minio.GetObjectOptions
	if err := opts.SetRange(off, off+int64(len(p))-1); err != nil {
		return 0, s.fail("read", key, err)
	}
	body, _, _, err := s.read.GetObject(ctx, s.bucket, s.prefix+key, opts)
	if err != nil {
		if minio.ToErrorResponse(err).StatusCode == http.StatusRequestedRangeNotSatisfiable {
			return 0, io.EOF
		}
		return 0, s.fail(fmt.Sprintf("read %d bytes at %d of", len(p), off), key, err)
	}
	defer body.Close()
	n, err := io.ReadFull(body, p)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return n, io.EOF
	case err != nil:
		return n, s.fail(fmt.Sprintf("read %d bytes at %d of", len(p), off), key, err)
	}
	return n, nil
}

// ReadHead implements objstore.HeadReader with a ranged GET, whose
// Content-Range gives the object's size.
func (s *Store) ReadHead(ctx context.Context, key string, p []byte) (int, int64, string, error) {
	if len(p) == 0 {
		size, etag, err := s.Head(ctx, key)
		return 0, size, etag, err
	}
	var opts minio.GetObjectOptions
	if err := opts.SetRange(0, int64(len(p))-1); err != nil {
		return 0, 0, "", s.fail("read", key, err)
	}
	body, info, h, err := s.read.GetObject(ctx, s.bucket, s.prefix+key, opts)
	if err != nil {
		if minio.ToErrorResponse(err).StatusCode == http.StatusRequestedRangeNotSatisfiable {
			size, etag, err := s.Head(ctx, key) // an empty object
			return 0, size, etag, err
		}
		return 0, 0, "", s.fail(fmt.Sprintf("read %d bytes at 0 of", len(p)), key, err)
	}
	defer body.Close()
	size := info.Size // the whole object, if the server ignored the range
	if cr := h.Get("Content-Range"); cr != "" {
		_, total, ok := strings.Cut(cr, "/")
		v, err := strconv.ParseInt(total, 10, 64)
		if !ok || err != nil || v < 0 {
			return 0, 0, "", s.fail("read", key, fmt.Errorf("Content-Range %q", cr))
		}
		size = v
	}
	want := int(min(int64(len(p)), size))
	n, err := io.ReadFull(body, p[:want])
	if err != nil {
		return n, 0, "", s.fail(fmt.Sprintf("read %d bytes at 0 of", want), key, err)
	}
	return n, size, info.ETag, nil
}

// Head implements objstore.Store.
func (s *Store) Head(ctx context.Context, key string) (int64, string, error) {
	info, err := s.read.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return 0, "", s.fail("head", key, err)
	}
	return info.Size, info.ETag, nil
}

// Put implements objstore.Store. The request is sent once (see the
// package documentation).
func (s *Store) Put(ctx context.Context, key string, data []byte, cond objstore.Cond) (string, error) {
	// The body's SHA-256 is computed here and signed; without
	// DisableContentSha256 the client would use a streaming (chunked)
	// signature on plain HTTP.
	opts := minio.PutObjectOptions{DisableContentSha256: true}
	op := "put"
	switch {
	case cond.IfNoneMatch && cond.IfMatch != "":
		return "", s.fail("put", key, errors.New("both If-None-Match and If-Match"))
	case cond.IfNoneMatch:
		opts.SetMatchETagExcept("*")
		op = "create-only put"
	case cond.IfMatch != "":
		opts.SetMatchETag(cond.IfMatch)
		op = fmt.Sprintf("put If-Match %s", cond.IfMatch)
	}
	sum := md5.Sum(data)
	sha := sha256.Sum256(data)
	info, err := s.write.PutObject(ctx, s.bucket, s.prefix+key, bytes.NewReader(data), int64(len(data)),
		base64.StdEncoding.EncodeToString(sum[:]), hex.EncodeToString(sha[:]), opts)
	if err != nil {
		r := minio.ToErrorResponse(err)
		conditional := cond.IfNoneMatch || cond.IfMatch != ""
		switch {
		case conditional && (r.StatusCode == http.StatusPreconditionFailed || r.StatusCode == http.StatusConflict),
			cond.IfMatch != "" && r.StatusCode == http.StatusNotFound && r.Code != minio.NoSuchBucket:
			return "", fmt.Errorf("s3store: %s %s: %w: %w", op, s.name(key), objstore.ErrPrecondition, err)
		}
		return "", s.fail(op, key, err)
	}
	if info.ETag == "" {
		return "", s.fail(op, key, errors.New("the reply has no ETag"))
	}
	return info.ETag, nil
}

// Delete implements objstore.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	err := s.read.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchKey {
		return s.fail("delete", key, err)
	}
	return nil
}

// List implements objstore.Store. Keys are returned relative to the
// Store's prefix.
func (s *Store) List(ctx context.Context, prefix string) ([]objstore.Object, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var objs []objstore.Object
	for info := range s.read.Client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if info.Err != nil {
			return nil, s.fail("list", prefix+"*", info.Err)
		}
		key, ok := strings.CutPrefix(info.Key, s.prefix)
		if !ok {
			continue
		}
		objs = append(objs, objstore.Object{Key: key, Size: info.Size, ETag: info.ETag, ModTime: info.LastModified})
	}
	return objs, nil
}

// name is the s3:// URL of key.
func (s *Store) name(key string) string { return "s3://" + s.bucket + "/" + s.prefix + key }

// fail wraps err of operation op on key, mapping S3's answers to
// objstore's errors.
func (s *Store) fail(op, key string, err error) error {
	r := minio.ToErrorResponse(err)
	switch {
	case r.StatusCode == http.StatusNotModified:
		return fmt.Errorf("s3store: %s %s: %w", op, s.name(key), objstore.ErrNotModified)
	case r.Code == minio.NoSuchKey:
		return fmt.Errorf("s3store: %s %s: %w", op, s.name(key), objstore.ErrNotFound)
	case r.Code == minio.NoSuchBucket:
		return fmt.Errorf("s3store: %s %s: no such bucket: %w", op, s.name(key), err)
	}
	return fmt.Errorf("s3store: %s %s: %w", op, s.name(key), err)
}
