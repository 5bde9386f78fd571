package tool

import (
	"flag"
	"fmt"
	"iter"

	"github.com/refstore/refstore/reftable"
)

var cmdLogs = &Command{
	ReadOnly: true,
	Name:     "logs",
	Usage:    "[-json] [-markers] [-ref REFNAME] [PATH]",
	Short:    "list reflog entries",
	Long: `Logs lists the reflog entries of the merged view, refs in byte order and
newest first within a ref, one a line:

	<refname> TAB <old> <new> <name> <<email>> <time> <zone> TAB <message>

The zone is shown as git does (+0530, -0800) and the message without its
trailing newline. A deletion record of a reflog (a tombstone) is shown
as "<refname> TAB deleted (update index <n>)".

Reflog existence markers are left out, as git reflog leaves them out:
git writes a marker (an update from the zero id to the zero id, with no
identity, time or message) when it creates a reflog without an entry
and when git reflog expire or git gc empties a reflog, so that the
reflog keeps existing. -markers lists them too, each as
"<refname> TAB existence marker (update index <n>)".

With -json each entry is one JSON object a line (JSON Lines):

	{"name":N,"update_index":U,"type":T,"old":O,"new":W,"committer":C,
	 "email":E,"time":S,"zone":Z,"message":M,"marker":true}

name is the ref name; update_index orders the entries of one ref;
type is "update" or "deletion" (a tombstone, which has only name,
update_index, type and an empty message); old and new are the ids
before and after as lowercase hex; committer and email the identity;
time unix seconds; zone as in the text ("+0530"); message without its
trailing newline (message_bytes likewise); marker is present, true,
only on an existence marker (with -markers), an update whose old and
new are zero.

` + bytesJSONHelp + `
Examples:

	reftable logs
	reftable logs -ref refs/heads/main .git/reftable
	reftable logs -markers -json -ref HEAD ~/src/project`,
	Flags: func(fs *flag.FlagSet) any {
		f := &logsFlags{}
		fs.BoolVar(&f.json, "json", false, "print JSON Lines: name, update_index, type, old, new, committer, email, time, zone, message, marker")
		fs.StringVar(&f.ref, "ref", "", "only the reflog of `REFNAME`")
		fs.BoolVar(&f.markers, "markers", false, "also list reflog existence markers, which git reflog hides")
		return f
	},
	Run: runLogs,
}

type logsFlags struct {
	json    bool
	ref     string
	markers bool
}

func runLogs(e *Env, flags any, args []string) error {
	f := flags.(*logsFlags)
	path, err := onePath(args)
	if err != nil {
		return err
	}
	rd, err := e.openReader(path)
	if err != nil {
		return err
	}
	defer rd.Close()
	logs := rd.Logs(f.ref)
	if f.ref != "" {
		logs = logsOf(logs, f.ref)
	}
	p := &printer{w: e.stdout, json: f.json}
	for l, err := range logs {
		if err != nil {
			return err
		}
		text := ""
		if l.IsExistenceMarker() {
			if !f.markers {
				continue
			}
			text = fmt.Sprintf("%s\texistence marker (update index %d)", l.RefName, l.UpdateIndex)
		} else {
			text = logText(&l)
		}
		if err := p.record(text, toLogJSON(&l)); err != nil {
			return err
		}
	}
	return nil
}

// logsOf yields the records of logs, which are sorted by ref name
// starting with name's, that are of the ref name.
func logsOf(logs iter.Seq2[reftable.LogRecord, error], name string) iter.Seq2[reftable.LogRecord, error] {
	return func(yield func(reftable.LogRecord, error) bool) {
		for l, err := range logs {
			if err == nil && string(l.RefName) != name {
				return // past name's records
			}
			if !yield(l, err) || err != nil {
				return
			}
		}
	}
}
