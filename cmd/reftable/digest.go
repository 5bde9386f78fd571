package main

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"

	"github.com/refstore/refstore/reftable"
)

var cmdDigest = &command{
	Name:  "digest",
	Usage: "[PATH]",
	Short: "print one hash of every live ref, to compare stores",
	Long: `Digest prints one SHA-256 of every live ref of the merged view and the
number of refs:

	sha256:<64 hex digits> <n> refs

Two stores with the same refs have the same digest, however their refs
are spread over tables, compacted, block-sized or indexed, so it
compares a store before and after a migration or compaction. Reflogs
and update indexes are not part of it.

The digest is the SHA-256 of this byte stream: for each live ref, in
bytewise name order,

	<name> NUL <type> <value> LF

where <type> is one byte, "1" (an object id), "2" (an object id and its
peeled id) or "3" (a symbolic ref), and <value> is the object id as
lowercase hex for "1", the object id, one space and the peeled id as
lowercase hex for "2", and the target name for "3". Deleted refs are
not in the stream; an empty store hashes the empty stream.`,
	Run: runDigest,
}

func runDigest(e *env, _ any, args []string) error {
	_, v, err := openArg(args)
	if err != nil {
		return err
	}
	defer v.Close()
	h := sha256.New()
	n, err := digestRefs(h, v.Merged)
	if err != nil {
		return err
	}
	fprintf(e.stdout, "sha256:%s %d refs\n", hex.EncodeToString(h.Sum(nil)), n)
	return nil
}

// digestRefs writes the canonical stream of m's live refs (see the help
// of digest) to h and returns how many refs it wrote.
func digestRefs(h hash.Hash, m *reftable.Merged) (int, error) {
	n := 0
	var line []byte
	for r, err := range m.Refs(nil) {
		if err != nil {
			return n, err
		}
		line = append(line[:0], r.Name...)
		line = append(line, 0)
		switch r.Type {
		case reftable.RefVal1:
			line = append(line, '1')
			line = hex.AppendEncode(line, r.Value)
		case reftable.RefVal2:
			line = append(line, '2')
			line = hex.AppendEncode(line, r.Value)
			line = append(line, ' ')
			line = hex.AppendEncode(line, r.Peeled)
		case reftable.RefSymref:
			line = append(line, '3')
			line = append(line, r.Target...)
		default:
			continue // a deletion; merged views hide them
		}
		line = append(line, '\n')
		if _, err := h.Write(line); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
