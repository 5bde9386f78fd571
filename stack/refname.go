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
	if plainRefName(name) {
		return nil
	}
	return checkRefFormatRules(name)
}

// checkRefFormatRules checks name against git's rules one by one, to
// say which it breaks.
func checkRefFormatRules(name string) error {
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

// plainRefName reports, in one pass, whether name is made of components
// of letters, digits, '-', '_' and '.', separated by single slashes, none
// of them empty, beginning with a dot or ending with ".lock", and has no
// ".." and no final dot: the names of a bulk update, which checkRefFormat
// accepts without its several passes. Any other name it leaves to them.
func plainRefName(name string) bool {
	start := 0 // where the current component starts
	for i := 0; i < len(name); i++ {
		c := name[i]
		if plainByte[c] {
			continue
		}
		switch c {
		case '/':
			if !plainComponent(name[start:i]) {
				return false
			}
			start = i + 1
		case '.':
			if i+1 < len(name) && name[i+1] == '.' {
				return false
			}
		default:
			return false
		}
	}
	return plainComponent(name[start:]) && name[len(name)-1] != '.'
}

// plainComponent reports whether comp, a component of a name of plain
// bytes, is neither empty nor begins with a dot nor ends with ".lock".
func plainComponent(comp string) bool {
	return comp != "" && comp[0] != '.' && !strings.HasSuffix(comp, ".lock")
}

// plainByte marks the bytes a plain name's components may hold anywhere:
// letters, digits, '-' and '_' (a dot may too, but not everywhere).
var plainByte = func() (t [256]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
	}
	return t
}()
