package vfs

import (
	"math/rand/v2"
	"regexp"
	"testing"
)

// TestReplaceRandom checks the scanners of random name parts against the
// regular expressions they replace, on names of the stack and git and on
// random strings made of the names' pieces.
func TestReplaceRandom(t *testing.T) {
	tableRE := regexp.MustCompile(`(0x[0-9a-f]+-0x[0-9a-f]+-)([0-9a-f]{8})(\.ref|\.log)`)
	tempRE := regexp.MustCompile(`(tmp-)([0-9a-f]+)(\.temp)|(\.temp\.)([0-9A-Za-z]{6,})`)
	want := func(p string) string {
		p = tableRE.ReplaceAllStringFunc(p, func(m string) string {
			s := tableRE.FindStringSubmatch(m)
			return s[1] + "<" + s[2] + ">" + s[3]
		})
		return tempRE.ReplaceAllStringFunc(p, func(m string) string {
			s := tempRE.FindStringSubmatch(m)
			if s[1] != "" {
				return s[1] + "<" + s[2] + ">" + s[3]
			}
			return s[4] + "<" + s[5] + ">"
		})
	}
	got := func(p string) string {
		mark := func(r string) string { return "<" + r + ">" }
		return replaceRandom(replaceRandom(p, tableRandom, mark), tempRandom, mark)
	}
	names := []string{
		"", ".", "tables.list", "tables.list.lock",
		"0x000000000001-0x000000000002-0a1b2c3d.ref",
		"0x000000000001-0x000000000002-0a1b2c3d.ref.lock",
		"0x000000000001-0x000000000002-0a1b2c3d.log",
		"0x000000000001-0x000000000002-0a1b2c3.ref",
		"0x000000000001-0x000000000002-0a1b2c3d9.ref",
		"0x1-0x2-abcdefAB.ref", "0x-0x2-abcdef01.ref", "0x0x1-0x2-abcdef01.ref",
		"tmp-0123456789abcdef.temp", "tmp-.temp", "tmp-12G4.temp", "tmp-tmp-12.temp",
		"0x000000000009-0x000000000009-9ac3bfb4.temp.fat2aD",
		"x.temp.abc12", "x.temp.abc123", "x.temp.abc123.temp.ZZZZZZZ",
		"dir/0x1-0x2-01234567.ref/tmp-ab.temp",
	}
	for _, n := range names {
		if g, w := got(n), want(n); g != w {
			t.Errorf("%q: got %q, want %q", n, g, w)
		}
	}
	pieces := []string{"0x", "1", "a", "f", "g", "-", ".ref", ".log", ".temp", ".", "tmp-", "Z", "01234567", "/"}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 20000 {
		var b []byte
		for range rng.IntN(12) {
			b = append(b, pieces[rng.IntN(len(pieces))]...)
		}
		if g, w := got(string(b)), want(string(b)); g != w {
			t.Fatalf("%q: got %q, want %q", b, g, w)
		}
	}
}
