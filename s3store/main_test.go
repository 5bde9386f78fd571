package s3store_test

import (
	"fmt"
	"os"
	"testing"
)

// TestMain runs the test binary as a writer process when
// TestVersitygwWriters starts it so.
func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) == "writer" {
		if err := runWriter(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
