//go:build !sha256

// go-git's storage suite spells its object ids in SHA-1; under -tags
// sha256 its object tests cannot pass on any storage.

package gogit

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/storage/test"
	"gopkg.in/check.v1"
)

// conformanceSuite is go-git's BaseStorageSuite on a fresh Storage for
// every test.
type conformanceSuite struct {
	test.BaseStorageSuite
	t  testing.TB
	st *Storage
}

func (s *conformanceSuite) SetUpTest(c *check.C) {
	st, err := OpenStorage(newEmptyRepo(s.t, c.MkDir()), Options{})
	c.Assert(err, check.IsNil)
	s.st = st
	s.BaseStorageSuite = test.NewBaseStorageSuite(st)
}

func (s *conformanceSuite) TearDownTest(c *check.C) {
	s.BaseStorageSuite.TearDownTest(c)
	c.Assert(s.st.Close(), check.IsNil)
}

// referenceTests are the suite's tests of storer.ReferenceStorer, all of
// which must pass.
var referenceTests = []string{
	"TestSetReferenceAndGetReference",
	"TestCheckAndSetReference",
	"TestCheckAndSetReferenceNil",
	"TestCheckAndSetReferenceError",
	"TestRemoveReference",
	"TestRemoveReferenceNonExistent",
	"TestGetReferenceNotFound",
	"TestIterReferences",
}

// skippedTests are the suite's tests that skip on this storage, and why:
// they need object transactions (storer.Transactioner), which go-git's
// filesystem storage, holding the objects here, does not offer either.
var skippedTests = map[string]string{
	"TestObjectStorerTxSetEncodedObjectAndCommit": "not a plumbing.ObjectStorerTx",
	"TestObjectStorerTxSetObjectAndGetObject":     "not a plumbing.ObjectStorerTx",
	"TestObjectStorerTxGetObjectNotFound":         "not a plumbing.ObjectStorerTx",
	"TestObjectStorerTxSetObjectAndRollback":      "not a plumbing.ObjectStorerTx",
}

var resultLine = regexp.MustCompile(`(?m)^(PASS|FAIL|SKIP|PANIC|MISS): \S+ \w+Suite\.(\w+)(?:\s+\((.*)\))?`)

// TestConformance runs go-git's storage conformance suite against the
// adapter: every reference test passes, the object, config, index,
// shallow and module tests pass on go-git's filesystem storage beneath
// it, and the only tests skipped are skippedTests, for their reasons.
func TestConformance(t *testing.T) {
	var out bytes.Buffer
	res := check.Run(&conformanceSuite{t: t}, &check.RunConf{Output: &out, Verbose: true})
	t.Log(out.String())
	if !res.Passed() || res.RunError != nil {
		t.Fatalf("suite failed: %v (run error %v)", res, res.RunError)
	}
	passed := map[string]bool{}
	skipped := map[string]string{}
	for _, m := range resultLine.FindAllStringSubmatch(out.String(), -1) {
		switch m[1] {
		case "PASS":
			passed[m[2]] = true
		case "SKIP":
			skipped[m[2]] = m[3]
		default:
			t.Errorf("%s: %s", m[2], m[1])
		}
	}
	for _, name := range referenceTests {
		if !passed[name] {
			t.Errorf("reference test %s did not pass", name)
		}
	}
	for name, why := range skipped {
		if skippedTests[name] != why {
			t.Errorf("%s skipped (%s), which it should not be", name, why)
		}
	}
	for name := range skippedTests {
		if _, ok := skipped[name]; !ok {
			t.Errorf("%s was expected to skip and did not: update skippedTests", name)
		}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range passed {
			if !yield(n) {
				return
			}
		}
	})
	t.Logf("go-git storage suite: %d passed (%s), %d skipped, %d failed",
		res.Succeeded, strings.Join(names, " "), res.Skipped, res.Failed+res.Panicked+res.FixturePanicked)
	if res.Succeeded != len(passed) || res.Skipped != len(skipped) {
		t.Errorf("result counts %v disagree with the output parsed: %d passed, %d skipped", res, len(passed), len(skipped))
	}
}
