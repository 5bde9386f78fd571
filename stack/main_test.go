package stack

import (
	"context"
	"os"
	"testing"
)

// ctx is the context of the tests' calls.
var ctx = context.Background()

// TestMain runs the suite with tables.list compared by content instead of
// by inode when REFSTORE_CONTENT_COMPARE=1, as CI does once.
func TestMain(m *testing.M) {
	forceContentCompare = os.Getenv("REFSTORE_CONTENT_COMPARE") == "1"
	os.Exit(m.Run())
}
