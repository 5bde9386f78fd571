package storage

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseList(t *testing.T) {
	tests := []struct {
		data  string
		names []string
		bad   bool
	}{
		{"", nil, false},
		{"a.ref\n", []string{"a.ref"}, false},
		{"a.ref\n\nb.ref\n", []string{"a.ref", "b.ref"}, false},
		{"a.ref", nil, true},
		{"dir/a.ref\n", nil, true},
		{`dir\a.ref` + "\n", nil, true},
		{"..\n", nil, true},
		{"a\x00.ref\n", nil, true},
	}
	for _, tt := range tests {
		names, err := ParseList([]byte(tt.data))
		if (err != nil) != tt.bad {
			t.Errorf("ParseList(%q): %v", tt.data, err)
			continue
		}
		if diff := cmp.Diff(tt.names, names); diff != "" {
			t.Errorf("ParseList(%q) (-want +got):\n%s", tt.data, diff)
		}
		if !tt.bad {
			back, err := ParseList(FormatList(names))
			if err != nil || !cmp.Equal(back, names) {
				t.Errorf("FormatList of %q does not parse back: %q, %v", names, back, err)
			}
		}
	}
}

func TestTableName(t *testing.T) {
	for _, tt := range []struct {
		name     string
		min, max uint64
		ok       bool
	}{
		{"0x000000000001-0x00000000000f-5c22e66e.ref", 1, 15, true},
		{"000000000001-00000000000f-5c22e66e.ref", 1, 15, true},
		{"0x1-0x2-3.log", 1, 2, true},
		{"0x1-0x2.ref", 0, 0, false},
		{"0x1-0xg-3.ref", 0, 0, false},
		{"tables.list", 0, 0, false},
		{"0x-0x2-3.ref", 0, 0, false},
	} {
		min, max, ok := ParseTableName(tt.name)
		if ok != tt.ok || min != tt.min || max != tt.max {
			t.Errorf("ParseTableName(%q) = %d, %d, %v; want %d, %d, %v", tt.name, min, max, ok, tt.min, tt.max, tt.ok)
		}
	}
	name := TableName(3, 700)
	if min, max, ok := ParseTableName(name); !ok || min != 3 || max != 700 {
		t.Errorf("TableName(3, 700) = %q, which parses as %d, %d, %v", name, min, max, ok)
	}
	if TableName(1, 1) == TableName(1, 1) && TableName(1, 1) == TableName(1, 1) {
		t.Errorf("TableName returns the same name again and again")
	}
}
