// Command reftable-s3 is the S3 helper of the reftable command, which
// starts it for every s3://bucket/prefix PATH; it keeps the HTTP and S3
// client code out of reftable. Build both with
//
//	go build -o bin/ ./cmd/...
//
// Usage:
//
//	reftable-s3 serve s3://bucket/prefix
package main

import (
	"os"

	"github.com/refstore/refstore/internal/s3helper"
)

func main() {
	os.Exit(s3helper.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
