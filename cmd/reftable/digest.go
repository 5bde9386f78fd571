package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"iter"

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
	d, err := digestOf(v.Refs(nil))
	if err != nil {
		return err
	}
	fprintf(e.stdout, "%s\n", d)
	return nil
}

// digestOf returns the digest line "sha256:<hex> <n> refs" of refs, in
// name order, as the help of digest defines it. Deletions are skipped.
func digestOf(refs iter.Seq2[reftable.RefRecord, error]) (string, error) {
	h := sha256.New()
	n := 0
	var line []byte
	for r, err := range refs {
		if err != nil {
			return "", err
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
		h.Write(line)
		n++
	}
	return fmt.Sprintf("sha256:%s %d refs", hex.EncodeToString(h.Sum(nil)), n), nil
}

// records iterates over refs.
func records(refs []reftable.RefRecord) iter.Seq2[reftable.RefRecord, error] {
	return func(yield func(reftable.RefRecord, error) bool) {
		for _, r := range refs {
			if !yield(r, nil) {
				return
			}
		}
	}
}
