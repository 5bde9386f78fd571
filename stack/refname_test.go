package stack

import (
	"errors"
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
