package zlib_test

import (
	"fmt"

	"github.com/refstore/refstore/reftable/internal/zlib"
)

// A stream is inflated into a destination of the size the caller knows
// (reftable stores it in the block header); the bytes after the stream
// are not part of it.
func Example() {
	var c zlib.Compressor
	data := []byte("refs/heads/main refs/heads/maint refs/heads/master")
	stream := c.AppendZlib(nil, data)
	stream = append(stream, "next block"...)

	var d zlib.Decompressor
	dst := make([]byte, len(data))
	n, err := d.InflateZlib(dst, stream)
	fmt.Println(string(dst), err)
	fmt.Println(string(stream[n:]))

	_, err = d.InflateZlib(dst, stream[:n-1])
	fmt.Println(err == zlib.ErrShortInput)
	// Output:
	// refs/heads/main refs/heads/maint refs/heads/master <nil>
	// next block
	// true
}
