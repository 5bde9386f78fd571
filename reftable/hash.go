package reftable

import "fmt"

// Hash identifies the hash function of the object ids a table stores.
// The zero value means SHA-1, git's default.
type Hash uint8

// The hash functions git supports.
const (
	SHA1   Hash = 1
	SHA256 Hash = 2
)

// Size returns the length of an object id in bytes: 20 or 32.
func (h Hash) Size() int {
	if h == SHA256 {
		return 32
	}
	return 20
}

// String returns "sha1" or "sha256", the names git uses for
// extensions.objectFormat.
func (h Hash) String() string {
	switch h {
	case 0, SHA1:
		return "sha1"
	case SHA256:
		return "sha256"
	}
	return fmt.Sprintf("Hash(%d)", uint8(h))
}

// norm maps the zero value to SHA1.
func (h Hash) norm() Hash {
	if h == 0 {
		return SHA1
	}
	return h
}

// version returns the table format version git writes for h: 1 for SHA-1,
// 2 otherwise.
func (h Hash) version() int {
	if h.norm() == SHA1 {
		return 1
	}
	return 2
}

// ParseHash returns the Hash named by s ("sha1" or "sha256").
func ParseHash(s string) (Hash, error) {
	switch s {
	case "sha1":
		return SHA1, nil
	case "sha256":
		return SHA256, nil
	}
	return 0, fmt.Errorf("unknown object format %q: %w", s, ErrOptions)
}
