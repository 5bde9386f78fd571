package stack_test

import (
	"testing"

	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/stack/stacktest"
	"github.com/refstore/refstore/stack/storage"
)

// TestBackendSuite runs the backend-agnostic suite on a directory.
func TestBackendSuite(t *testing.T) {
	stacktest.Run(t, func(t *testing.T) stacktest.Storage {
		dir := t.TempDir()
		return func() storage.Backend { return stack.NewDirBackend(dir, stack.Options{NoSync: true}) }
	})
}
