package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/refstore/refstore/reftable"
)

// A printer writes a command's records: one text line each, or with
// -json one JSON object each (JSON Lines) with fixed lowercase field
// names.
type printer struct {
	w    io.Writer
	json bool
}

// record prints v as JSON in JSON mode, else the text line.
func (p *printer) record(text string, v any) error {
	if p.json {
		b, err := marshalJSON(v)
		if err != nil {
			return err
		}
		_, err = p.w.Write(append(b, '\n'))
		return err
	}
	_, err := io.WriteString(p.w, text+"\n")
	return err
}

func hexID(b []byte) string { return hex.EncodeToString(b) }

// refJSONHelp describes refJSON, for the help of the commands printing it.
const refJSONHelp = `With -json each ref is one JSON object a line (JSON Lines):

	{"name":N,"type":T,"oid":O,"peeled":P,"target":R,"update_index":U}

name is the ref name; type is "oid", "peeled" (an annotated tag: oid
and its peeled id) or "symref" (target is the name it points at);
oid, peeled and target are left out when they do not apply, ids are
lowercase hex; update_index is the update index of the record.
`

// refJSON is the JSON form of a ref record.
type refJSON struct {
	Name        string `json:"name"`
	Type        string `json:"type"` // "deletion", "oid", "peeled" or "symref"
	OID         string `json:"oid,omitempty"`
	Peeled      string `json:"peeled,omitempty"`
	Target      string `json:"target,omitempty"`
	UpdateIndex uint64 `json:"update_index"`
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
	j := refJSON{Name: string(r.Name), Type: refType(r.Type), UpdateIndex: r.UpdateIndex}
	switch r.Type {
	case reftable.RefVal1:
		j.OID = hexID(r.Value)
	case reftable.RefVal2:
		j.OID, j.Peeled = hexID(r.Value), hexID(r.Peeled)
	case reftable.RefSymref:
		j.Target = string(r.Target)
	}
	return j
}

// refText formats r as git's expected.txt does: "<name> <oid>",
// "<name> <oid> <peeled>" or "<name> ref: <target>" ("<name> deleted"
// for a tombstone).
func refText(r *reftable.RefRecord) string { return string(appendRefText(nil, r)) }

// appendRefText appends refText(r) to dst.
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

// logJSON is the JSON form of a log record.
type logJSON struct {
	Name        string `json:"name"`
	UpdateIndex uint64 `json:"update_index"`
	Type        string `json:"type"` // "update" or "deletion"
	Old         string `json:"old,omitempty"`
	New         string `json:"new,omitempty"`
	Committer   string `json:"committer,omitempty"`
	Email       string `json:"email,omitempty"`
	Time        uint64 `json:"time,omitempty"`
	Zone        string `json:"zone,omitempty"`
	Message     string `json:"message"`
}

func toLogJSON(l *reftable.LogRecord) logJSON {
	j := logJSON{Name: string(l.RefName), UpdateIndex: l.UpdateIndex, Type: "deletion"}
	if l.IsDeletion() {
		return j
	}
	j.Type = "update"
	j.Old, j.New = hexID(l.Old), hexID(l.New)
	j.Committer, j.Email = string(l.Name), string(l.Email)
	j.Time, j.Zone = l.Time, zone(l.TZOffset)
	j.Message = strings.TrimSuffix(string(l.Message), "\n")
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
