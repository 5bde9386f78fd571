package tool

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"iter"

	"github.com/refstore/refstore/reftable"
)

var cmdDigest = &Command{
	ReadOnly: true,
	Name:     "digest",
	Usage:    "[-json] [PATH]",
	Short:    "print one hash of every live ref, to compare stores",
	Long: `Digest prints one SHA-256 of every live ref of the merged view and the
number of refs:

	sha256:<64 hex digits> <n> refs

In a linked worktree the refs are those refs lists: the worktree's own
HEAD and per-worktree refs with the shared refs of the main stack.

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
not in the stream; an empty store hashes the empty stream.

With -json it prints one JSON object:

	{"digest":"sha256:<hex>","refs":<n>}

digest is the same "sha256:" string as the text line, refs the number
of live refs hashed.

Examples:

	reftable digest ~/src/project
	reftable digest -json /tmp/project-refs`,
	Flags: func(fs *flag.FlagSet) any {
		return fs.Bool("json", false, "print JSON: digest, refs")
	},
	Run: runDigest,
}

// digestJSON is the JSON form of digest's output.
type digestJSON struct {
	Digest string `json:"digest"`
	Refs   int    `json:"refs"`
}

func runDigest(e *Env, flags any, args []string) error {
	path, err := onePath(args)
	if err != nil {
		return err
	}
	rd, err := e.openReader(path)
	if err != nil {
		return err
	}
	defer rd.Close()
	sum, n, err := digestSum(rd.RefRecords(""))
	if err != nil {
		return err
	}
	p := &printer{w: e.stdout, json: *flags.(*bool)}
	return p.record(digestLine(sum, n), digestJSON{Digest: sum, Refs: n})
}

// Digest returns the line reftable digest prints for refs, which must
// come in name order: "sha256:<hex> <n> refs", as the help of digest
// defines it. Deletions are skipped. Two stores with the same live refs
// have the same digest, whatever their tables.
func Digest(refs iter.Seq2[reftable.RefRecord, error]) (string, error) {
	sum, n, err := digestSum(refs)
	if err != nil {
		return "", err
	}
	return digestLine(sum, n), nil
}

func digestLine(sum string, n int) string { return fmt.Sprintf("%s %d refs", sum, n) }

// digestSum returns "sha256:<hex>" of refs and their number.
func digestSum(refs iter.Seq2[reftable.RefRecord, error]) (string, int, error) {
	h := sha256.New()
	n := 0
	var line []byte
	for r, err := range refs {
		if err != nil {
			return "", 0, err
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
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), n, nil
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
