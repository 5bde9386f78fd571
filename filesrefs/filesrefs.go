// Package filesrefs reads and writes the refs and reflogs of git's "files"
// ref backend: loose refs under refs/, root refs such as HEAD and
// ORIG_HEAD, the packed-refs file with its peeled lines, and the reflogs
// under logs/. It converts between that layout and reftable records, the
// way `git refs migrate` does, so that a repository can be moved to a
// reftable stack and back.
//
// What is read is what git migrates: every ref under refs/ (a loose ref
// wins over a packed one), the root refs of the git directory (HEAD,
// ORIG_HEAD, any *_HEAD except the pseudorefs FETCH_HEAD and MERGE_HEAD,
// and git's irregular ones such as AUTO_MERGE), and every reflog file
// under logs/. Reflog entries are normalised as git's migration
// normalises them: the committer's name and email lose leading and
// trailing "crud" (spaces, punctuation, angle brackets), and runs of
// white space in the message become one space. Malformed input is an
// error naming the file and line (*SyntaxError), where git would silently
// skip a reflog line it cannot parse.
//
// All file access goes through a vfs.FS. Nothing here is safe for
// concurrent use with writers of the same directory: like git's
// migration, it assumes no one changes the refs meanwhile.
package filesrefs

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/vfs"
)

// Errors of this package; match them with errors.Is.
var (
	// ErrSyntax reports a malformed loose ref, packed-refs line or reflog
	// line. The *SyntaxError wrapping it names the file and line.
	ErrSyntax = errors.New("malformed ref data")

	// ErrUnrepresentable reports records the files backend cannot hold,
	// such as a ref named like a directory of another ref.
	ErrUnrepresentable = errors.New("cannot be represented in the files backend")
)

// SyntaxError describes malformed input: the file, the line (1-based; 0
// for a whole file) and what was wrong. It matches ErrSyntax.
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

// Error implements error.
func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Unwrap returns ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// Contents is what a files-backend git directory holds of refs and
// reflogs, as reftable records with update index 0.
type Contents struct {
	// Refs are the refs sorted by name: RefVal1, RefVal2 (a packed ref
	// with a peeled line) or RefSymref.
	Refs []reftable.RefRecord
	// Logs are the reflog entries of type LogUpdate with their messages
	// ending in one newline, as git stores them in reftable. Read returns
	// them in the order git migrates them: reflog files in the order of a
	// sorted depth-first walk of logs/, each file's entries oldest first.
	// Write writes each ref's entries in the order given.
	Logs []reftable.LogRecord
}

// FS is the file system Write creates a layout in: a vfs.FS that can
// also create directories.
type FS interface {
	vfs.FS
	// Mkdir creates the directory name, failing with an error matching
	// fs.ErrExist if it exists. Remove must remove an empty directory.
	Mkdir(name string, perm fs.FileMode) error
}
