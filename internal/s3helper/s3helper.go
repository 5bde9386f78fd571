// Package s3helper is the reftable-s3 program, the S3 helper of the
// reftable command: it serves an S3 store configured from the
// environment to the reftable CLI over its stdin and stdout, with package
// storepipe. The CLI starts it for every s3:// PATH, so the CLI itself
// links no HTTP, TLS or S3 client code and starts fast.
package s3helper

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/refstore/refstore/internal/storepipe"
	"github.com/refstore/refstore/s3store"
)

const usage = `usage: reftable-s3 serve s3://bucket/prefix

reftable-s3 is the S3 helper of the reftable command, which starts it
for every s3://bucket/prefix PATH and for doctor: it serves the objects
under the prefix on its standard input and output, in the binary
protocol of package internal/storepipe, until its input ends. It is not
meant to be run by hand; install it next to reftable or in PATH:

	go build -o bin/ ./cmd/...
	go install github.com/refstore/refstore/cmd/reftable-s3@latest

or name it in REFTABLE_S3_HELPER. It reaches the store with the
endpoint, region and credentials of AWS_ENDPOINT_URL, AWS_REGION (or
AWS_DEFAULT_REGION), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
AWS_SESSION_TOKEN.
`

// Main runs reftable-s3 with args (without the program name) and returns
// its exit status: 0 when its input ended, 1 when the store cannot be
// configured (the reason goes to the client in the hello, not to stderr)
// or the protocol failed, 2 on a bad command line. Serving ignores
// SIGINT: on Ctrl-C the client finishes or abandons its requests and
// then closes the helper's input.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help"):
		fmt.Fprint(stdout, usage)
		return 0
	case len(args) != 2 || args[0] != "serve":
		fmt.Fprint(stderr, usage)
		return 2
	}
	signal.Ignore(os.Interrupt)
	s, err := s3store.FromEnv(args[1])
	if err != nil {
		storepipe.Refuse(stdout, err)
		return 1
	}
	if err := storepipe.Serve(context.Background(), s, s.URL(), stdin, stdout); err != nil {
		fmt.Fprintf(stderr, "reftable-s3: %s: %v\n", s.URL(), err)
		return 1
	}
	return 0
}
