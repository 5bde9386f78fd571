package stack

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func TestCheckRefName(t *testing.T) {
	valid := []string{
		"HEAD", "FETCH_HEAD", "ORIG_HEAD", "refs/heads/main", "refs/heads/feature/x",
		"refs/tags/v1.0", "refs/heads/a.b", "refs/heads/@", "refs/heads/a@b",
		"worktrees/wt/HEAD", "worktrees/wt/refs/bisect/bad", "main-worktree/HEAD", "refs/heads/ünïcode",
	}
	invalid := []string{
		"", "@", "main", "head", "refs/heads/", "/refs/heads/x", "refs//heads", "refs/heads/x.",
		"refs/heads/a..b", "refs/heads/.hidden", "refs/heads/x.lock", "refs/heads/a.lock/b",
		"refs/heads/a b", "refs/heads/a~1", "refs/heads/a^", "refs/heads/a:b", "refs/heads/a?",
		"refs/heads/a*", "refs/heads/a[b", "refs/heads/a\\b", "refs/heads/a@{1}", "refs/heads/a\x01",
		"refs/heads/a\x7f", "refs/heads/bogus..name", "worktrees/x", "FOO", "HEAD_", "Refs/heads/x",
	}
	for _, name := range valid {
		if err := CheckRefName(name); err != nil {
			t.Errorf("CheckRefName(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range invalid {
		if err := CheckRefName(name); !errors.Is(err, ErrRefName) {
			t.Errorf("CheckRefName(%q) = %v, want ErrRefName", name, err)
		}
	}
}

// TestPlainRefName checks that every name the one-pass check accepts
// passes git's rules, over random names of the characters that matter.
func TestPlainRefName(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const alphabet = "ab/.-_@{}:lock~ \x7f*"
	accepted := 0
	for range 200000 {
		b := make([]byte, 1+rng.IntN(12))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		name := string(b)
		if !plainRefName(name) {
			continue
		}
		accepted++
		if err := checkRefFormatRules(name); err != nil {
			t.Errorf("plainRefName accepts %q, which breaks a rule: %v", name, err)
		}
	}
	for _, name := range []string{"refs/heads/main", "refs/tags/v1.0", "HEAD", "refs/heads/b/000001"} {
		if !plainRefName(name) {
			t.Errorf("plainRefName(%q) = false", name)
		}
	}
	if accepted < 1000 {
		t.Errorf("only %d random names accepted: the test tests little", accepted)
	}
}

// BenchmarkPlainRefName checks names as a bulk update's are checked, twice
// each (when update reads them and when the transaction is prepared).
func BenchmarkPlainRefName(b *testing.B) {
	names := []string{"refs/heads/branch-0000123", "refs/tags/v1.2.3", "refs/remotes/origin/feature/x-y_z"}
	for b.Loop() {
		for _, n := range names {
			if !plainRefName(n) {
				b.Fatal(n)
			}
		}
	}
}
