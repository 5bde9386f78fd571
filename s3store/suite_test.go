package s3store_test

import (
	"testing"

	"github.com/refstore/refstore/internal/testutil/s3fake"
	"github.com/refstore/refstore/internal/testutil/versitygw"
	"github.com/refstore/refstore/objstore"
	"github.com/refstore/refstore/s3store"
	"github.com/refstore/refstore/stack/stacktest"
	"github.com/refstore/refstore/stack/storage"
)

// backends returns a stacktest.Storage on s: every call probes the store
// and returns a new Backend on it.
func backends(t *testing.T, s *s3store.Store) stacktest.Storage {
	return func() storage.Backend {
		b, err := objstore.NewBackend(t.Context(), s, objstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// TestSuiteFake runs the backend-agnostic stack suite on s3store over the
// in-process S3 server.
func TestSuiteFake(t *testing.T) {
	stacktest.Run(t, func(t *testing.T) stacktest.Storage {
		_, url := s3fake.New(t, "bkt")
		return backends(t, open(t, url, "repo/"))
	})
}

// TestSuiteVersitygw runs the backend-agnostic stack suite on s3store over
// versitygw, each test on its own prefix of one gateway.
func TestSuiteVersitygw(t *testing.T) {
	g := versitygw.Start(t, "")
	stacktest.Run(t, func(t *testing.T) stacktest.Storage {
		return backends(t, gatewayStore(t, g, t.Name()+"/"))
	})
}
