package tool

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

// A printer writes a command's records: one text line each, or with
// -json one JSON object each (JSON Lines) with fixed lowercase field
// names, as encoding/json writes them (fields in struct order, <, > and
// & escaped).
type printer struct {
	w    io.Writer
	json bool
	enc  *json.Encoder // of w, made at the first JSON record
}

// record prints v as JSON in JSON mode, else the text line.
func (p *printer) record(text string, v any) error {
	if p.json {
		if p.enc == nil {
			p.enc = json.NewEncoder(p.w)
		}
		return p.enc.Encode(v)
	}
	_, err := io.WriteString(p.w, text+"\n")
	return err
}

func hexID(b []byte) string { return hex.EncodeToString(b) }

// bytesJSONHelp describes the _bytes fields of refJSON and logJSON.
const bytesJSONHelp = `A ref name, symbolic target, reflog identity or message is bytes, and
a JSON string holds UTF-8 only: where such a field is not valid UTF-8,
it shows each invalid byte as U+FFFD, and a field named after it with
"_bytes" (name_bytes, target_bytes, committer_bytes, email_bytes,
message_bytes) follows it with its exact bytes, base64-encoded (RFC
4648, padded); a _bytes field is left out otherwise.
`

// refJSONHelp describes refJSON, for the help of the commands printing it.
const refJSONHelp = `With -json each ref is one JSON object a line (JSON Lines):

	{"name":N,"type":T,"oid":O,"peeled":P,"target":R,"update_index":U}

name is the ref name; type is "oid", "peeled" (an annotated tag: oid
and its peeled id) or "symref" (target is the name it points at);
oid, peeled and target are left out when they do not apply, ids are
lowercase hex; update_index is the update index of the record.

` + bytesJSONHelp

// refJSON is the JSON form of a ref record. A field X_bytes holds the
// exact bytes of X, base64-encoded, when they are not valid UTF-8 (X
// shows U+FFFD for each invalid byte); it is left out otherwise.
type refJSON struct {
	Name        string `json:"name"`
	NameBytes   string `json:"name_bytes,omitempty"`
	Type        string `json:"type"` // "deletion", "oid", "peeled" or "symref"
	OID         string `json:"oid,omitempty"`
	Peeled      string `json:"peeled,omitempty"`
	Target      string `json:"target,omitempty"`
	TargetBytes string `json:"target_bytes,omitempty"`
	UpdateIndex uint64 `json:"update_index"`
}

// exactBytes returns b base64-encoded when it is not valid UTF-8, which
// a JSON string cannot carry, and "" when it is.
func exactBytes(b []byte) string {
	if utf8.Valid(b) {
		return ""
	}
	return base64.StdEncoding.EncodeToString(b)
}

func refType(t reftable.RefValueType) string {
	switch t {
	case reftable.RefDeletion:
		return "deletion"
	case reftable.RefVal1:
		return "oid"
	case reftable.RefVal2:
		return "peeled"
	case reftable.RefSymref:
		return "symref"
	}
	return fmt.Sprintf("type%d", t)
}

func toRefJSON(r *reftable.RefRecord) refJSON {
	j := refJSON{Name: string(r.Name), NameBytes: exactBytes(r.Name), Type: refType(r.Type), UpdateIndex: r.UpdateIndex}
	switch r.Type {
	case reftable.RefVal1:
		j.OID = hexID(r.Value)
	case reftable.RefVal2:
		j.OID, j.Peeled = hexID(r.Value), hexID(r.Peeled)
	case reftable.RefSymref:
		j.Target, j.TargetBytes = string(r.Target), exactBytes(r.Target)
	}
	return j
}

// RefText formats r as reftable refs prints it, and git's expected.txt
// lists it: "<name> <oid>", "<name> <oid> <peeled>" or "<name> ref:
// <target>" ("<name> deleted" for a tombstone), ids in lowercase hex.
func RefText(r *reftable.RefRecord) string { return string(appendRefText(nil, r)) }

// appendRefText appends RefText(r) to dst.
func appendRefText(dst []byte, r *reftable.RefRecord) []byte {
	dst = append(dst, r.Name...)
	switch r.Type {
	case reftable.RefVal1:
		return hex.AppendEncode(append(dst, ' '), r.Value)
	case reftable.RefVal2:
		dst = hex.AppendEncode(append(dst, ' '), r.Value)
		return hex.AppendEncode(append(dst, ' '), r.Peeled)
	case reftable.RefSymref:
		return append(append(dst, " ref: "...), r.Target...)
	}
	return append(dst, " deleted"...)
}

// refJSONOf is the JSON form of a ref.
func refJSONOf(r stack.Ref) refJSON {
	rec := r.Record(r.UpdateIndex)
	return toRefJSON(&rec)
}

// logJSON is the JSON form of a log record, with X_bytes fields as
// refJSON's.
type logJSON struct {
	Name           string `json:"name"`
	NameBytes      string `json:"name_bytes,omitempty"`
	UpdateIndex    uint64 `json:"update_index"`
	Type           string `json:"type"` // "update" or "deletion"
	Old            string `json:"old,omitempty"`
	New            string `json:"new,omitempty"`
	Committer      string `json:"committer,omitempty"`
	CommitterBytes string `json:"committer_bytes,omitempty"`
	Email          string `json:"email,omitempty"`
	EmailBytes     string `json:"email_bytes,omitempty"`
	Time           uint64 `json:"time,omitempty"`
	Zone           string `json:"zone,omitempty"`
	Message        string `json:"message"`
	MessageBytes   string `json:"message_bytes,omitempty"`
	Marker         bool   `json:"marker,omitempty"` // a reflog existence marker
}

func toLogJSON(l *reftable.LogRecord) logJSON {
	j := logJSON{Name: string(l.RefName), NameBytes: exactBytes(l.RefName), UpdateIndex: l.UpdateIndex, Type: "deletion"}
	if l.IsDeletion() {
		return j
	}
	j.Type = "update"
	j.Old, j.New = hexID(l.Old), hexID(l.New)
	j.Committer, j.CommitterBytes = string(l.Name), exactBytes(l.Name)
	j.Email, j.EmailBytes = string(l.Email), exactBytes(l.Email)
	j.Time, j.Zone = l.Time, zone(l.TZOffset)
	msg := bytes.TrimSuffix(l.Message, []byte("\n"))
	j.Message, j.MessageBytes = string(msg), exactBytes(msg)
	j.Marker = l.IsExistenceMarker()
	return j
}

// logText formats l as git's expected-logs.txt does:
// "<ref>\t<old> <new> <name> <<email>> <time> <zone>\t<message>".
func logText(l *reftable.LogRecord) string {
	if l.IsDeletion() {
		return fmt.Sprintf("%s\tdeleted (update index %d)", l.RefName, l.UpdateIndex)
	}
	return fmt.Sprintf("%s\t%s %s %s <%s> %d %s\t%s", l.RefName, hexID(l.Old), hexID(l.New),
		l.Name, l.Email, l.Time, zone(l.TZOffset), strings.TrimSuffix(string(l.Message), "\n"))
}

// zone formats git's HHMM-as-decimal offset (530, -800) as +0530, -0800.
func zone(tz int16) string {
	sign := byte('+')
	v := int(tz)
	if v < 0 {
		sign, v = '-', -v
	}
	return fmt.Sprintf("%c%04d", sign, v)
}
