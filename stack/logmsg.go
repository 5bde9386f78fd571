package stack

import "bytes"

// Compaction re-adds every reflog entry through a writer. As git's
// compaction (which writes without exact_log_message), it lets the writer
// normalise each message unless Options.Write.ExactLogMessage is set:
// trailing newlines are replaced by exactly one, so "no-lf" becomes
// "no-lf\n" (git shows a message without it with its last character cut)
// and an empty message, as another writer may store it, becomes "\n", as
// git's compaction stores it (also for an existence marker, which stays a
// marker: only its ids make it one). Nothing else changes:
// carriage returns, tabs, runs of spaces, a leading space and bytes that
// are not UTF-8 are kept as they are, as git keeps them.
//
// A message with a newline before its trailing ones, which git itself
// never writes (it turns every run of white space into one space before
// logging), makes git's writer fail the whole compaction ("misuse of the
// reftable API"), so that git never compacts that stack again until the
// entry expires. Compaction here instead stores such a message on one
// line, each of those newlines replaced by a space: the stack stays
// compactable, by git too, and no entry is lost.

// oneLineMessage returns msg with every newline that precedes its
// trailing newlines replaced by a space, or msg itself when it has
// none; the writer then normalises the trailing ones. msg is not
// modified: it may alias a table's memory.
func oneLineMessage(msg []byte) []byte {
	body := bytes.TrimRight(msg, "\n")
	if bytes.IndexByte(body, '\n') < 0 {
		return msg
	}
	return bytes.ReplaceAll(body, []byte("\n"), []byte(" "))
}
