package filesrefs

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

// The packed-refs file: an optional header line listing traits, then one
// line a ref, each optionally followed by the id its annotated tag peels
// to:
//
//	# pack-refs with: peeled fully-peeled sorted LF
//	<hex> SP <refname> LF
//	^<peeled-hex> LF
//
// The traits only say how complete the peeled lines are and whether the
// lines are sorted; a peeled line is used whatever they say.

// packedHeader is the header git writes (note the space before LF).
const packedHeader = "# pack-refs with: peeled fully-peeled sorted \n"

// parsePacked parses the packed-refs file path into refs sorted by name.
func parsePacked(path string, data []byte, hash reftable.Hash) ([]reftable.RefRecord, error) {
	var refs []reftable.RefRecord
	n := 0
	bad := func(format string, args ...any) error {
		return &SyntaxError{File: path, Line: n, Msg: fmt.Sprintf(format, args...)}
	}
	sorted := true
	for len(data) > 0 {
		n++
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return nil, bad("incomplete last line (no newline)")
		}
		line := data[:i]
		data = data[i+1:]
		switch {
		case n == 1 && len(line) > 0 && line[0] == '#':
			if !bytes.HasPrefix(line, []byte("# pack-refs with: ")) {
				return nil, bad("header is not \"# pack-refs with: <traits>\"")
			}
		case len(line) > 0 && line[0] == '^':
			if len(refs) == 0 || refs[len(refs)-1].Type != reftable.RefVal1 {
				return nil, bad("peeled line does not follow a ref")
			}
			if len(line) != 1+2*hash.Size() {
				return nil, bad("peeled line is not ^ and %d hex digits", 2*hash.Size())
			}
			id, err := decodeHex(line[1:])
			if err != nil {
				return nil, bad("peeled id: %v", err)
			}
			r := &refs[len(refs)-1]
			r.Type, r.Peeled = reftable.RefVal2, id
		default:
			hs := 2 * hash.Size()
			if len(line) < hs+2 || !isSpace(line[hs]) {
				return nil, bad("not \"<%d hex digits> <refname>\"", hs)
			}
			id, err := decodeHex(line[:hs])
			if err != nil {
				return nil, bad("object id: %v", err)
			}
			name := string(line[hs+1:])
			if err := stack.CheckRefName(name); err != nil {
				return nil, bad("%v", err)
			}
			if len(refs) > 0 && string(refs[len(refs)-1].Name) >= name {
				sorted = false
			}
			refs = append(refs, reftable.RefRecord{Name: []byte(name), Type: reftable.RefVal1, Value: id})
		}
	}
	if !sorted {
		slices.SortStableFunc(refs, func(a, b reftable.RefRecord) int { return bytes.Compare(a.Name, b.Name) })
		for i := 1; i < len(refs); i++ {
			if bytes.Equal(refs[i-1].Name, refs[i].Name) {
				return nil, &SyntaxError{File: path, Msg: fmt.Sprintf("%s is listed twice", refs[i].Name)}
			}
		}
	}
	return refs, nil
}

// appendPacked appends the packed-refs file of refs (sorted, RefVal1 or
// RefVal2) with git's header.
func appendPacked(b []byte, refs []*reftable.RefRecord) []byte {
	b = append(b, packedHeader...)
	for _, r := range refs {
		b = hex.AppendEncode(b, r.Value)
		b = append(b, ' ')
		b = append(b, r.Name...)
		b = append(b, '\n')
		if r.Type == reftable.RefVal2 {
			b = append(b, '^')
			b = hex.AppendEncode(b, r.Peeled)
			b = append(b, '\n')
		}
	}
	return b
}
