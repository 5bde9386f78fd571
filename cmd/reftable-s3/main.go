// Command reftable-s3 is the reftable command with S3: every command of
// reftable, a PATH of the form s3://bucket/prefix naming a stack on
// S3-compatible storage (package s3store, configured by
// AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY), and doctor, which checks such a store.
// reftable runs it for the command lines that need S3; install both:
//
//	go install github.com/refstore/refstore/cmd/reftable@latest github.com/refstore/refstore/cmd/reftable-s3@latest
//
// Usage:
//
//	reftable-s3 <command> [flags] [arguments]
package main

import (
	"context"
	"os"

	"github.com/refstore/refstore/objstore"
	"github.com/refstore/refstore/s3store"
	"github.com/refstore/refstore/tool"
	"github.com/refstore/refstore/tool/bench"
	"github.com/refstore/refstore/tool/demo"
	"github.com/refstore/refstore/tool/doctor"
)

func main() {
	cfg := tool.Config{
		OpenS3:   openS3,
		Commands: []*tool.Command{demo.Command, bench.Command, doctor.Command},
	}
	os.Exit(tool.Process(cfg, os.Args[1:]))
}

// openS3 opens the store of an s3:// URL, configured from the
// environment.
func openS3(_ context.Context, url string) (objstore.Store, error) {
	return s3store.FromEnv(url)
}
