// Command reftable looks inside, checks, repairs and changes reftable
// stacks: the .git/reftable directory of a git repository, the stack of
// a linked working tree, a bare stack directory or a single table file.
// It is package tool's commands without S3: a command line that needs
// S3 (an s3:// argument, or doctor) runs reftable-s3 in its place (see
// tool.ExecS3), so that this program links no HTTP or S3 client.
//
// Usage:
//
//	reftable <command> [flags] [arguments]
//
// Run "reftable help" for the list of commands and "reftable help
// <command>" (or "reftable <command> -h") for the flags of one.
package main

import (
	"os"
	"runtime/debug"

	"github.com/refstore/refstore/tool"
	"github.com/refstore/refstore/tool/bench"
	"github.com/refstore/refstore/tool/demo"
	"github.com/refstore/refstore/tool/doctor"
)

func main() {
	if os.Getenv("GOGC") == "" {
		// A short-lived process: collecting half as often costs a bulk
		// update of 100,000 refs a tenth more memory and saves a
		// quarter of its CPU time (the marking and the preemption
		// signals it sends); small commands stay below the first
		// collection.
		debug.SetGCPercent(200)
	}
	cfg := tool.Config{
		Commands: []*tool.Command{demo.Command, bench.Command, doctor.Command},
		Delegate: tool.ExecS3,
	}
	os.Exit(tool.Process(cfg, os.Args[1:]))
}
