package main

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// marshalJSON returns v encoded as JSON, byte for byte as encoding/json's
// Marshal writes it, for the types the commands print: structs (their
// exported fields, named and omitted as json tags say), strings,
// booleans, integers, floats, slices, arrays and pointers. Maps, []byte
// and embedded structs are refused. (Linking encoding/json costs every
// run of the program a fifth of a millisecond to start: its initializers
// and its size; see README, Performance.)
func marshalJSON(v any) ([]byte, error) {
	return appendJSON(nil, reflect.ValueOf(v))
}

// appendJSON appends the JSON encoding of v to b (see marshalJSON).
func appendJSON(b []byte, v reflect.Value) ([]byte, error) {
	switch v.Kind() {
	case reflect.Invalid:
		return append(b, "null"...), nil
	case reflect.Bool:
		return strconv.AppendBool(b, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return appendJSONFloat(b, v.Float(), v.Type().Bits())
	case reflect.String:
		return appendJSONString(b, v.String()), nil
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		return appendJSON(b, v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			break // encoding/json writes base64
		}
		fallthrough
	case reflect.Array:
		b = append(b, '[')
		for i := range v.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, v.Index(i)); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case reflect.Struct:
		return appendJSONStruct(b, v)
	}
	return b, fmt.Errorf("json: unsupported type %s", v.Type())
}

// appendJSONStruct appends the JSON object of the struct v.
func appendJSONStruct(b []byte, v reflect.Value) ([]byte, error) {
	fields, err := jsonFields(v.Type())
	if err != nil {
		return b, err
	}
	b = append(b, '{')
	first := true
	for _, f := range fields {
		fv := v.Field(f.index)
		if f.omitEmpty && emptyJSON(fv) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.key...)
		if b, err = appendJSON(b, fv); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// A jsonField is a struct field as its JSON object shows it.
type jsonField struct {
	index     int
	key       string // the name, encoded, and a colon
	omitEmpty bool
}

// jsonFieldCache holds the []jsonField of each struct type met, or the
// error that refuses it: a listing prints one object a record.
var jsonFieldCache sync.Map

// jsonFields returns the fields of the struct type t that JSON shows.
func jsonFields(t reflect.Type) ([]jsonField, error) {
	if c, ok := jsonFieldCache.Load(t); ok {
		if err, ok := c.(error); ok {
			return nil, err
		}
		return c.([]jsonField), nil
	}
	var fields []jsonField
	var err error
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			err = fmt.Errorf("json: unsupported embedded field %s in %s", f.Name, t)
			break
		}
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && opts == "" {
			continue
		}
		if opts != "" && opts != "omitempty" {
			err = fmt.Errorf("json: unsupported option %q of %s.%s", opts, t, f.Name)
			break
		}
		if name == "" {
			name = f.Name
		}
		key := append(appendJSONString(nil, name), ':')
		fields = append(fields, jsonField{index: i, key: string(key), omitEmpty: opts == "omitempty"})
	}
	if err != nil {
		jsonFieldCache.Store(t, err)
		return nil, err
	}
	jsonFieldCache.Store(t, fields)
	return fields, nil
}

// emptyJSON reports whether omitempty leaves v out.
func emptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// appendJSONFloat appends f as encoding/json does: the shortest decimal,
// in exponent form below 1e-6 and from 1e21, with a one-digit negative
// exponent not padded.
func appendJSONFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, errors.New("json: unsupported value: " + strconv.FormatFloat(f, 'g', -1, bits))
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b, nil
}

// appendJSONString appends s as a JSON string the way encoding/json does:
// <, > and & escaped for HTML, invalid UTF-8 replaced by U+FFFD, U+2028
// and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
