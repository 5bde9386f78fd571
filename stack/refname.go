package stack

import (
	"fmt"
	"strings"
)

// CheckRefName reports whether name is a valid reference name for a
// transaction: valid by git's check-ref-format rules, and either under
// refs/, a root ref such as HEAD or FETCH_HEAD, or a worktree ref
// (worktrees/<id>/… and main-worktree/…). The error wraps ErrRefName.
func CheckRefName(name string) error {
	if err := checkRefFormat(name); err != nil {
		return fmt.Errorf("%q: %s: %w", name, err, ErrRefName)
	}
	switch {
	case strings.HasPrefix(name, "refs/"),
		strings.HasPrefix(name, "worktrees/") && strings.Count(name, "/") >= 2,
		strings.HasPrefix(name, "main-worktree/") && len(name) > len("main-worktree/"):
		return nil
	case isRootRef(name):
		return nil
	}
	return fmt.Errorf("%q: not under refs/ and not a root ref: %w", name, ErrRefName)
}

// isRootRef reports whether name has the syntax of a root ref: capital
// letters and underscores, such as HEAD, ORIG_HEAD or FETCH_HEAD.
func isRootRef(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		if (c < 'A' || c > 'Z') && c != '_' {
			return false
		}
	}
	return name == "HEAD" || strings.HasSuffix(name, "_HEAD") || name == "AUTO_MERGE" ||
		name == "BISECT_EXPECTED_REV" || name == "NOTES_MERGE_PARTIAL" ||
		name == "NOTES_MERGE_REF" || name == "MERGE_AUTOSTASH"
}

// checkRefFormat applies git's check-ref-format rules, allowing one-level
// names.
func checkRefFormat(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name")
	case name == "@":
		return fmt.Errorf("the name @ is reserved")
	case strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/"):
		return fmt.Errorf("begins or ends with a slash")
	case strings.HasSuffix(name, "."):
		return fmt.Errorf("ends with a dot")
	case strings.Contains(name, ".."):
		return fmt.Errorf("contains ..")
	case strings.Contains(name, "@{"):
		return fmt.Errorf("contains @{")
	case strings.Contains(name, "//"):
		return fmt.Errorf("contains consecutive slashes")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("contains a control character")
		}
		if strings.IndexByte(" ~^:?*[\\", c) >= 0 {
			return fmt.Errorf("contains %q", c)
		}
	}
	for comp := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(comp, ".") {
			return fmt.Errorf("a component begins with a dot")
		}
		if strings.HasSuffix(comp, ".lock") {
			return fmt.Errorf("a component ends with .lock")
		}
	}
	return nil
}
