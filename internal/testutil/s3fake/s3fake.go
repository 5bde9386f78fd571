// Package s3fake is a small in-memory S3 server for tests: path-style
// PUT, GET, HEAD and DELETE of objects, ListObjectsV2, bucket creation,
// MD5 ETags, If-None-Match: * and If-Match on PUT (412, or 404 for
// If-Match on a missing key), If-None-Match on GET (304) and ranged GET.
// It checks no signature. Serve it with httptest.NewServer on
// 127.0.0.1; New does that.
//
// A Server with IgnoreConditions set behaves like a store that answers
// success to every conditional request, and one with NonAtomic set like
// a naive gateway that checks a condition and then writes in a separate
// step, to test that such stores are refused. Jitter delays requests at
// random, to test clients under every interleaving.
package s3fake

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is the fake S3 service. It is safe for concurrent use; every
// request is applied atomically.
type Server struct {
	// IgnoreConditions makes the server ignore If-Match and If-None-Match
	// and answer every request as if they were absent.
	IgnoreConditions bool

	// NonAtomic makes a conditional PUT check its condition, let other
	// requests run, and then write unconditionally (as a gateway doing a
	// HEAD and then a plain PUT): of concurrent conditional PUTs of one
	// key several may succeed.
	NonAtomic bool

	// Intercept, if set, sees every request first; when it returns true
	// it has answered the request and the server does nothing more (to
	// inject failures such as 409 or 503).
	Intercept func(w http.ResponseWriter, r *http.Request) bool

	// PageSize bounds the keys of one ListObjectsV2 page; 0 means 1000.
	PageSize int

	// Jitter, when positive, delays every request by a random time of up
	// to Jitter before the server applies it and again before it
	// answers, so that requests of concurrent clients interleave in
	// every order: a request applied is not answered at once, and
	// requests sent in one order may be applied in another. Set it
	// before serving.
	Jitter time.Duration

	mu      sync.Mutex
	buckets map[string]map[string]*object
	now     func() time.Time
}

type object struct {
	data    []byte
	etag    string // without quotes
	modTime time.Time
}

// NewServer returns a Server holding the given empty buckets.
func NewServer(buckets ...string) *Server {
	s := &Server{buckets: map[string]map[string]*object{}, now: time.Now}
	for _, b := range buckets {
		s.buckets[b] = map[string]*object{}
	}
	return s
}

// New starts a Server with the given buckets on 127.0.0.1 and returns it
// with its URL; it is stopped when the test ends.
func New(t testing.TB, buckets ...string) (*Server, string) {
	s := NewServer(buckets...)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, hs.URL
}

// Keys returns the keys of bucket, sorted.
func (s *Server) Keys(bucket string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.buckets[bucket] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Intercept != nil && s.Intercept(w, r) {
		return
	}
	if strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		fail(w, r, http.StatusNotImplemented, "NotImplemented", "streaming payloads are not supported")
		return
	}
	if s.Jitter > 0 {
		// Read the body first: a delay after it is a delay of the
		// server, not of the client's upload.
		if r.Body != nil {
			data, err := io.ReadAll(r.Body)
			if err != nil {
				fail(w, r, http.StatusBadRequest, "IncompleteBody", err.Error())
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(data))
		}
		time.Sleep(rand.N(s.Jitter))
		w = &delayedWriter{ResponseWriter: w, delay: rand.N(s.Jitter)}
		defer w.(*delayedWriter).flush()
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	objs, ok := s.buckets[bucket]
	if bucket == "" {
		fail(w, r, http.StatusNotImplemented, "NotImplemented", "no bucket in the path")
		return
	}
	if key == "" {
		s.bucketRequest(w, r, bucket, objs, ok)
		return
	}
	if !ok {
		fail(w, r, http.StatusNotFound, "NoSuchBucket", "no bucket "+bucket)
		return
	}
	switch r.Method {
	case http.MethodPut:
		s.put(w, r, objs, key)
	case http.MethodGet, http.MethodHead:
		s.get(w, r, objs[key])
	case http.MethodDelete:
		delete(objs, key)
		w.WriteHeader(http.StatusNoContent)
	default:
		fail(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method)
	}
}

// delayedWriter holds a reply until flush, which sleeps for delay
// before sending it.
type delayedWriter struct {
	http.ResponseWriter
	delay  time.Duration
	status int
	body   bytes.Buffer
}

func (d *delayedWriter) WriteHeader(status int) {
	if d.status == 0 {
		d.status = status
	}
}

func (d *delayedWriter) Write(p []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	return d.body.Write(p)
}

func (d *delayedWriter) flush() {
	time.Sleep(d.delay)
	if d.status == 0 {
		d.status = http.StatusOK
	}
	d.ResponseWriter.WriteHeader(d.status)
	d.ResponseWriter.Write(d.body.Bytes())
}

func (s *Server) bucketRequest(w http.ResponseWriter, r *http.Request, bucket string, objs map[string]*object, ok bool) {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPut:
		if ok {
			fail(w, r, http.StatusConflict, "BucketAlreadyOwnedByYou", bucket)
			return
		}
		s.buckets[bucket] = map[string]*object{}
	case !ok:
		fail(w, r, http.StatusNotFound, "NoSuchBucket", "no bucket "+bucket)
	case r.Method == http.MethodGet && q.Has("location"):
		writeXML(w, struct {
			XMLName xml.Name `xml:"LocationConstraint"`
		}{})
	case r.Method == http.MethodGet && q.Get("list-type") == "2":
		s.list(w, r, bucket, objs)
	case r.Method == http.MethodHead:
	default:
		fail(w, r, http.StatusNotImplemented, "NotImplemented", r.Method+" "+r.URL.RawQuery)
	}
}

func (s *Server) put(w http.ResponseWriter, r *http.Request, objs map[string]*object, key string) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		fail(w, r, http.StatusBadRequest, "IncompleteBody", err.Error())
		return
	}
	if n := r.Header.Get("Content-Length"); n != "" && n != strconv.Itoa(len(data)) {
		fail(w, r, http.StatusBadRequest, "IncompleteBody", "body shorter than Content-Length")
		return
	}
	old := objs[key]
	if !s.IgnoreConditions {
		if inm := r.Header.Get("If-None-Match"); inm != "" {
			if inm != "*" {
				fail(w, r, http.StatusNotImplemented, "NotImplemented", "If-None-Match on PUT takes only *")
				return
			}
			if old != nil {
				fail(w, r, http.StatusPreconditionFailed, "PreconditionFailed", "the object exists")
				return
			}
		}
		if im := r.Header.Get("If-Match"); im != "" {
			if old == nil {
				fail(w, r, http.StatusNotFound, "NoSuchKey", "If-Match on a missing object")
				return
			}
			if !matches(im, old.etag) {
				fail(w, r, http.StatusPreconditionFailed, "PreconditionFailed", "ETag does not match")
				return
			}
		}
	}
	if s.NonAtomic && (r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Match") != "") {
		s.mu.Unlock()
		time.Sleep(time.Millisecond + rand.N(time.Millisecond))
		s.mu.Lock()
	}
	sum := md5.Sum(data)
	o := &object{data: data, etag: hex.EncodeToString(sum[:]), modTime: s.now()}
	objs[key] = o
	w.Header().Set("ETag", `"`+o.etag+`"`)
	w.WriteHeader(http.StatusOK)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, o *object) {
	if o == nil {
		fail(w, r, http.StatusNotFound, "NoSuchKey", "no such key")
		return
	}
	h := w.Header()
	h.Set("ETag", `"`+o.etag+`"`)
	h.Set("Last-Modified", o.modTime.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	if inm := r.Header.Get("If-None-Match"); inm != "" && !s.IgnoreConditions && matches(inm, o.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if im := r.Header.Get("If-Match"); im != "" && !s.IgnoreConditions && !matches(im, o.etag) {
		fail(w, r, http.StatusPreconditionFailed, "PreconditionFailed", "ETag does not match")
		return
	}
	body, status := o.data, http.StatusOK
	if rg := r.Header.Get("Range"); rg != "" {
		start, end, ok := parseRange(rg, int64(len(o.data)))
		if !ok {
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", len(o.data)))
			fail(w, r, http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "range "+rg)
			return
		}
		body, status = o.data[start:end+1], http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, len(o.data)))
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method == http.MethodGet {
		w.Write(body)
	}
}

// parseRange parses "bytes=a-b" or "bytes=a-" against an object of size
// n and returns the inclusive range it selects.
func parseRange(rg string, n int64) (start, end int64, ok bool) {
	spec, found := strings.CutPrefix(rg, "bytes=")
	a, b, dash := strings.Cut(spec, "-")
	if !found || !dash || a == "" {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 || start >= n {
		return 0, 0, false
	}
	end = n - 1
	if b != "" {
		e, err := strconv.ParseInt(b, 10, 64)
		if err != nil || e < start {
			return 0, 0, false
		}
		end = min(e, n-1)
	}
	return start, end, true
}

// matches reports whether an If-Match or If-None-Match header value names
// etag: "*", or a (quoted) ETag in a comma-separated list.
func matches(header, etag string) bool {
	for v := range strings.SplitSeq(header, ",") {
		v = strings.TrimSpace(v)
		if v == "*" || strings.Trim(v, `"`) == etag {
			return true
		}
	}
	return false
}

type listEntry struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}

type listResult struct {
	XMLName               xml.Name    `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string      `xml:"Name"`
	Prefix                string      `xml:"Prefix"`
	KeyCount              int         `xml:"KeyCount"`
	MaxKeys               int         `xml:"MaxKeys"`
	IsTruncated           bool        `xml:"IsTruncated"`
	ContinuationToken     string      `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string      `xml:"NextContinuationToken,omitempty"`
	Contents              []listEntry `xml:"Contents"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, bucket string, objs map[string]*object) {
	q := r.URL.Query()
	if q.Get("delimiter") != "" {
		fail(w, r, http.StatusNotImplemented, "NotImplemented", "delimiter")
		return
	}
	prefix := q.Get("prefix")
	after := max(q.Get("start-after"), q.Get("continuation-token"))
	maxKeys := 1000
	if s.PageSize > 0 {
		maxKeys = s.PageSize
	}
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fail(w, r, http.StatusBadRequest, "InvalidArgument", "max-keys "+v)
			return
		}
		maxKeys = min(n, maxKeys)
	}
	var keys []string
	for k := range objs {
		if strings.HasPrefix(k, prefix) && k > after {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	res := listResult{Name: bucket, Prefix: prefix, MaxKeys: maxKeys, ContinuationToken: q.Get("continuation-token")}
	if len(keys) > maxKeys {
		keys = keys[:maxKeys]
		res.IsTruncated = true
		res.NextContinuationToken = keys[len(keys)-1]
	}
	for _, k := range keys {
		o := objs[k]
		res.Contents = append(res.Contents, listEntry{
			Key: k, LastModified: o.modTime.UTC().Format(time.RFC3339Nano),
			ETag: `"` + o.etag + `"`, Size: int64(len(o.data)), StorageClass: "STANDARD",
		})
	}
	res.KeyCount = len(res.Contents)
	writeXML(w, res)
}

// fail writes an S3 error reply.
func fail(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	var buf bytes.Buffer
	xml.NewEncoder(&buf).Encode(struct {
		XMLName  xml.Name `xml:"Error"`
		Code     string   `xml:"Code"`
		Message  string   `xml:"Message"`
		Resource string   `xml:"Resource"`
	}{Code: code, Message: msg, Resource: r.URL.Path})
	w.Write(buf.Bytes())
}

func writeXML(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Write(buf.Bytes())
}
