package storage

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// TableName returns a fresh table name for update indexes min..max, as
// git forms them: 0x<min>-0x<max>-<32 random bits>.ref. A backend that
// finds the name taken asks for another.
func TableName(min, max uint64) string {
	return fmt.Sprintf("0x%012x-0x%012x-%08x.ref", min, max, rand.Uint32())
}

// ParseTableName parses a table file name as git's fsck does
// (hex-hex-hex.ref, each part optionally 0x-prefixed) and returns its
// update index range; ok is false for a name that is not a table name.
func ParseTableName(name string) (min, max uint64, ok bool) {
	base, found := strings.CutSuffix(name, ".ref")
	if !found {
		if base, found = strings.CutSuffix(name, ".log"); !found {
			return 0, 0, false
		}
	}
	parts := strings.Split(base, "-")
	if len(parts) != 3 {
		return 0, 0, false
	}
	var vals [3]uint64
	for i, p := range parts {
		p = strings.TrimPrefix(p, "0x")
		v, err := strconv.ParseUint(p, 16, 64)
		if err != nil || p == "" {
			return 0, 0, false
		}
		vals[i] = v
	}
	return vals[0], vals[1], true
}

// ParseList parses the contents of tables.list: one name a line, each
// line terminated by a newline, empty lines skipped. Names with a path
// separator or NUL are refused. Backends share it, so the list has the
// same bytes on every storage.
func ParseList(data []byte) ([]string, error) {
	if len(data) > 0 && data[len(data)-1] != '\n' {
		return nil, fmt.Errorf("last line not terminated by a newline")
	}
	var names []string
	for line := range bytes.Lines(data) {
		line = bytes.TrimSuffix(line, []byte("\n"))
		if len(line) == 0 {
			continue
		}
		name := string(line)
		if strings.ContainsAny(name, "/\\\x00") || name == "." || name == ".." {
			return nil, fmt.Errorf("invalid table name %q", name)
		}
		names = append(names, name)
	}
	return names, nil
}

// FormatList returns the contents of tables.list for names.
func FormatList(names []string) []byte {
	var b bytes.Buffer
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
