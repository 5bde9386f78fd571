package filesrefs

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/refstore/refstore/reftable"
)

// A reflog file holds one entry a line, oldest first:
//
//	<old-hex> SP <new-hex> SP <name> SP "<" <email> ">" SP <time> SP <+|-><HHMM> [TAB <message>] LF
//
// git writes the TAB only before a non-empty message; when reading it
// takes the message to start right after the zone, skipping one TAB.

// parseReflog parses the reflog file path of ref name and appends its
// entries to logs.
func parseReflog(logs []reftable.LogRecord, path, name string, data []byte, hash reftable.Hash) ([]reftable.LogRecord, error) {
	for n := 1; len(data) > 0; n++ {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return logs, &SyntaxError{File: path, Line: n, Msg: "incomplete last line (no newline)"}
		}
		l, err := parseLogLine(data[:i], hash)
		if err != nil {
			return logs, &SyntaxError{File: path, Line: n, Msg: err.Error()}
		}
		l.RefName = []byte(name)
		logs = append(logs, l)
		data = data[i+1:]
	}
	return logs, nil
}

// parseLogLine parses one reflog line without its newline, accepting
// what git's reader accepts.
func parseLogLine(line []byte, hash reftable.Hash) (reftable.LogRecord, error) {
	l := reftable.LogRecord{Type: reftable.LogUpdate}
	var err error
	if l.Old, line, err = parseID(line, hash, "old"); err != nil {
		return l, err
	}
	if l.New, line, err = parseID(line, hash, "new"); err != nil {
		return l, err
	}
	// The identity runs up to the first '>', which a space must follow.
	end := bytes.IndexByte(line, '>')
	if end < 0 || end+1 >= len(line) || line[end+1] != ' ' {
		return l, fmt.Errorf("no \"<email> \" after the object ids")
	}
	ident, rest := line[:end+1], line[end+2:]
	lt := bytes.IndexByte(ident, '<')
	if lt < 0 {
		return l, fmt.Errorf("no '<' before the email")
	}
	l.Name = stripCrud(ident[:lt])
	l.Email = stripCrud(ident[lt+1 : end])
	digits := 0
	for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
		digits++
	}
	if digits == 0 {
		return l, fmt.Errorf("no time after the email")
	}
	if l.Time, err = strconv.ParseUint(string(rest[:digits]), 10, 64); err != nil {
		return l, fmt.Errorf("time %s out of range", rest[:digits])
	}
	if l.Time == 0 {
		return l, fmt.Errorf("time 0 (git ignores such an entry)")
	}
	zone := rest[digits:]
	if len(zone) < 6 || zone[0] != ' ' || zone[1] != '+' && zone[1] != '-' || !isDigits(zone[2:6]) ||
		len(zone) > 6 && zone[6] >= '0' && zone[6] <= '9' {
		return l, fmt.Errorf("no time zone +HHMM or -HHMM after the time")
	}
	tz, _ := strconv.Atoi(string(zone[2:6]))
	if zone[1] == '-' {
		tz = -tz
	}
	l.TZOffset = int16(tz)
	msg := zone[6:]
	if len(msg) > 0 && msg[0] == '\t' {
		msg = msg[1:]
	}
	l.Message = append(normalizeMessage(msg), '\n')
	return l, nil
}

// parseID parses a hex object id followed by one space.
func parseID(line []byte, hash reftable.Hash, what string) ([]byte, []byte, error) {
	n := 2 * hash.Size()
	if len(line) < n+1 || line[n] != ' ' {
		return nil, nil, fmt.Errorf("no %s object id of %d hex digits", what, n)
	}
	id, err := decodeHex(line[:n])
	if err != nil {
		return nil, nil, fmt.Errorf("%s object id: %w", what, err)
	}
	return id, line[n+1:], nil
}

// decodeHex decodes a lowercase or uppercase hex object id.
func decodeHex(s []byte) ([]byte, error) {
	id := make([]byte, len(s)/2)
	if _, err := hex.Decode(id, s); err != nil {
		return nil, fmt.Errorf("%q is not hex", s)
	}
	return id, nil
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isSpace is C's isspace in the C locale, which git uses.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// normalizeMessage is git's reflog message cleanup: leading white space
// dropped, each run of white space turned into one space, trailing white
// space dropped.
func normalizeMessage(msg []byte) []byte {
	out := make([]byte, 0, len(msg))
	wasSpace := true
	for _, c := range msg {
		if isSpace(c) {
			if !wasSpace {
				out = append(out, ' ')
			}
			wasSpace = true
			continue
		}
		wasSpace = false
		out = append(out, c)
	}
	return bytes.TrimSuffix(out, []byte(" "))
}

// isCrud reports the bytes git strips from both ends of identity names
// and emails.
func isCrud(c byte) bool {
	return c <= ' ' || bytes.IndexByte([]byte(",:;<>\"\\'"), c) >= 0
}

// stripCrud is git's cleanup of an identity's name or email: crud removed
// from both ends, and '<', '>' and newlines removed inside.
func stripCrud(s []byte) []byte {
	for len(s) > 0 && isCrud(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isCrud(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	out := make([]byte, 0, len(s))
	for _, c := range s {
		if c != '<' && c != '>' && c != '\n' {
			out = append(out, c)
		}
	}
	return out
}

// appendLogLine appends l as a reflog line, as git's migration writes it.
func appendLogLine(b []byte, l *reftable.LogRecord) []byte {
	b = hex.AppendEncode(b, l.Old)
	b = append(b, ' ')
	b = hex.AppendEncode(b, l.New)
	b = append(b, ' ')
	b = append(b, stripCrud(l.Name)...)
	b = append(b, " <"...)
	b = append(b, stripCrud(l.Email)...)
	b = append(b, "> "...)
	b = strconv.AppendUint(b, l.Time, 10)
	tz := int(l.TZOffset)
	sign := byte('+')
	if tz < 0 {
		sign, tz = '-', -tz
	}
	b = append(b, ' ', sign)
	b = fmt.Appendf(b, "%04d", tz)
	if msg := normalizeMessage(l.Message); len(msg) > 0 {
		b = append(b, '\t')
		b = append(b, msg...)
	}
	return append(b, '\n')
}

// checkLogWritable rejects an entry the files backend cannot hold: git
// ignores a reflog line with time 0 or a zone of more than four digits.
func checkLogWritable(l *reftable.LogRecord, hash reftable.Hash) error {
	switch {
	case l.Time == 0:
		return fmt.Errorf("reflog entry of %s at time 0: %w", l.RefName, ErrUnrepresentable)
	case l.TZOffset > 9999 || l.TZOffset < -9999:
		return fmt.Errorf("reflog entry of %s with zone offset %d: %w", l.RefName, l.TZOffset, ErrUnrepresentable)
	case len(l.Old) != hash.Size() || len(l.New) != hash.Size():
		return fmt.Errorf("reflog entry of %s: object ids of %d and %d bytes, want %d", l.RefName, len(l.Old), len(l.New), hash.Size())
	}
	return nil
}
