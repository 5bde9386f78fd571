package main

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// jsonTypes are the types the commands print with -json.
var jsonTypes = []any{
	benchRow{}, digestJSON{}, stackJSON{}, tableJSON{}, footerJSON{},
	blockJSON{}, recordJSON{}, refJSON{}, logJSON{}, countsJSON{},
	compactionJSON{}, lockJSON{}, findingJSON{}, verifySummaryJSON{},
}

// Strings and floats where JSON encoders differ.
var (
	jsonStrings = []string{
		"", "refs/heads/main", "a\"b\\c", "<tag>&amp;", "\x00\x01\x1f\x7f", "\b\f\n\r\t",
		"\u2028\u2029", "é日本\U0001F600", "bad \xff\xfe utf-8 \xe6\x97", "\xed\xa0\x80 surrogate",
	}
	jsonFloats = []float64{0, 1, -1.5, 0.1, 123.456, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 1.5e300, 5e-324, -1e-9, math.MaxFloat64}
)

// TestMarshalJSON checks that marshalJSON writes what encoding/json's
// Marshal does for every type the commands print, filled at random with
// values that JSON encoders treat differently, and for the strings and
// floats themselves.
func TestMarshalJSON(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	var values []any
	for _, s := range jsonStrings {
		values = append(values, s)
	}
	for _, f := range jsonFloats {
		values = append(values, f, -f)
		if f <= math.MaxFloat32 {
			values = append(values, float32(f))
		}
	}
	for range 200 {
		for _, proto := range jsonTypes {
			v := reflect.New(reflect.TypeOf(proto))
			fillJSON(rnd, v.Elem())
			values = append(values, v.Interface(), v.Elem().Interface())
		}
	}
	values = append(values, nil, []string(nil), []string{}, (*refJSON)(nil))
	for _, v := range values {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := marshalJSON(v)
		if err != nil {
			t.Fatalf("%#v: %v", v, err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Fatalf("%#v (-encoding/json +marshalJSON):\n%s", v, diff)
		}
	}
	for _, bad := range []any{math.NaN(), math.Inf(1), map[string]int{}, []byte("x"), struct{ refJSON }{}, struct {
		N int `json:"n,string"`
	}{}} {
		if got, err := marshalJSON(bad); err == nil {
			t.Errorf("%#v: %s, want an error", bad, got)
		}
	}
}

// fillJSON sets v to random values.
func fillJSON(rnd *rand.Rand, v reflect.Value) {
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(rnd.IntN(2) == 0)
	case reflect.Int, reflect.Int64:
		v.SetInt([]int64{0, 1, -1, rnd.Int64(), -rnd.Int64(), math.MaxInt64, math.MinInt64}[rnd.IntN(7)])
	case reflect.Uint64, reflect.Uint32, reflect.Uint8, reflect.Uint:
		v.SetUint([]uint64{0, 1, rnd.Uint64(), math.MaxUint64}[rnd.IntN(4)] & (1<<v.Type().Bits() - 1))
	case reflect.Float64:
		v.SetFloat(jsonFloats[rnd.IntN(len(jsonFloats))] * float64(1-2*rnd.IntN(2)))
	case reflect.String:
		if rnd.IntN(3) == 0 {
			b := make([]byte, rnd.IntN(12))
			for i := range b {
				b[i] = byte(rnd.Uint32())
			}
			v.SetString(string(b))
		} else {
			v.SetString(jsonStrings[rnd.IntN(len(jsonStrings))])
		}
	case reflect.Pointer:
		if rnd.IntN(3) > 0 {
			v.Set(reflect.New(v.Type().Elem()))
			fillJSON(rnd, v.Elem())
		}
	case reflect.Slice:
		if n := rnd.IntN(4) - 1; n >= 0 {
			v.Set(reflect.MakeSlice(v.Type(), n, n))
			for i := range n {
				fillJSON(rnd, v.Index(i))
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillJSON(rnd, v.Field(i))
			}
		}
	default:
		panic("fillJSON: no values for " + v.Type().String())
	}
}

// TestDemoFields: demo's worker arguments and reports come back as they
// were written, whatever their strings hold.
func TestDemoFields(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		for _, proto := range []any{demoArgs{}, demoWriterReport{}, demoReaderReport{}} {
			in := reflect.New(reflect.TypeOf(proto))
			fillJSON(rnd, in.Elem())
			out := reflect.New(reflect.TypeOf(proto))
			text := string(appendFields(nil, "", in.Elem()))
			if err := parseFields(text, out.Interface()); err != nil {
				t.Fatalf("%q: %v", text, err)
			}
			// Fields do not tell a nil slice from an empty one.
			if diff := cmp.Diff(in.Interface(), out.Interface(), cmp.Exporter(func(reflect.Type) bool { return true }), cmpEmptyNil); diff != "" {
				t.Fatalf("%q (-written +read):\n%s", text, diff)
			}
		}
	}
	for _, bad := range []string{"Nope 1\n", "Commits x\n", "Role unquoted\n", "Stats.Nope 1\n", "Commits.X 1\n"} {
		var a demoWriterReport
		var r demoArgs
		if parseFields(bad, &a) == nil && parseFields(bad, &r) == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if !strings.Contains(string(appendFields(nil, "", reflect.ValueOf(demoArgs{Dir: "a\nb"}))), `Dir "a\nb"`) {
		t.Error("a newline in a string is not quoted")
	}
}

// cmpEmptyNil treats nil and empty []string alike.
var cmpEmptyNil = cmp.FilterValues(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())
