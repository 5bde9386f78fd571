package reftable

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// ftRandomRefs returns n refs with random, distinct names (sharing
// prefixes, of random length and bytes) and values of every type,
// deletions included, sorted by name.
func ftRandomRefs(rng *rand.Rand, h Hash, n int) []RefRecord {
	prefixes := []string{"refs/heads/", "refs/tags/v", "refs/remotes/origin/feature/", "", "refs/heads/x/"}
	seen := map[string]bool{}
	var refs []RefRecord
	for len(refs) < n {
		name := []byte(prefixes[rng.IntN(len(prefixes))])
		for range 1 + rng.IntN(12) {
			if rng.IntN(8) == 0 {
				name = append(name, byte(1+rng.IntN(255)))
			} else {
				name = append(name, byte('a'+rng.IntN(6)))
			}
		}
		if seen[string(name)] {
			continue
		}
		seen[string(name)] = true
		r := RefRecord{Name: name, UpdateIndex: 1, Type: RefValueType(rng.IntN(4))}
		switch r.Type {
		case RefVal1:
			r.Value = utID(h, rng.IntN(1000))
		case RefVal2:
			r.Value, r.Peeled = utID(h, rng.IntN(1000)), utID(h, rng.IntN(1000))
		case RefSymref:
			r.Target = []byte("refs/heads/target")
		}
		refs = append(refs, r)
	}
	slices.SortFunc(refs, func(a, b RefRecord) int { return bytes.Compare(a.Name, b.Name) })
	return refs
}

// ftAbsent returns n random names none of which is in refs.
func ftAbsent(rng *rand.Rand, refs []RefRecord, n int) [][]byte {
	have := map[string]bool{}
	for _, r := range refs {
		have[string(r.Name)] = true
	}
	var out [][]byte
	for len(out) < n {
		name := fmt.Appendf(nil, "refs/heads/%x", rng.Uint64())
		if len(out)%2 == 1 && len(refs) > 0 {
			// Close to a present name: one byte more.
			name = append(clone(refs[rng.IntN(len(refs))].Name), byte(rng.IntN(256)))
		}
		if !have[string(name)] {
			out = append(out, name)
		}
	}
	return out
}

// ftOptions are the writer configurations the filter tests write: small
// blocks with multi-level indexes, git's defaults, unpadded, restart
// points at every record.
var ftOptions = []WriterOptions{
	{BlockSize: 256, RestartInterval: 3},
	{},
	{BlockSize: 300, Unpadded: true, RestartInterval: 1},
	{BlockSize: 1024, SkipIndexObjects: true},
}

// TestFilterHasEveryName builds the filters of random tables (deletions
// included) and checks that each has every name of its table, for both
// hashes and several block layouts, and that it rules out most absent
// names.
func TestFilterHasEveryName(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, h := range []Hash{SHA1, SHA256} {
		for _, opts := range ftOptions {
			for _, n := range []int{1, 50, 5000} {
				opts.Hash, opts.MinUpdateIndex, opts.MaxUpdateIndex = h, 1, 1
				refs := ftRandomRefs(rng, h, n)
				tab := utOpen(t, utWrite(t, opts, refs, nil))
				tab.buildFilter()
				f := tab.filter()
				if f == nil {
					t.Fatalf("%v %+v, %d refs: no filter built", h, opts, n)
				}
				for _, r := range refs {
					if !f.mayContain(hashName(r.Name)) {
						t.Fatalf("%v %+v: filter lacks %q (%v)", h, opts, r.Name, r.Type)
					}
				}
				if n < 1000 {
					continue
				}
				absent := ftAbsent(rng, refs, 20000)
				fp := 0
				for _, name := range absent {
					if f.mayContain(hashName(name)) {
						fp++
					}
				}
				if rate := float64(fp) / float64(len(absent)); rate > 0.025 {
					t.Errorf("%v %+v: %.2f%% false positives, want about 1%%", h, opts, 100*rate)
				}
			}
		}
	}
}

// ftStack writes k tables of random refs for overlapping names (later
// tables update, delete and add names of earlier ones) and returns their
// bytes, oldest first, and every name.
func ftStack(t testing.TB, rng *rand.Rand, h Hash, opts WriterOptions, k, n int) ([][]byte, [][]byte) {
	base := ftRandomRefs(rng, h, n)
	var datas [][]byte
	var names [][]byte
	for _, r := range base {
		names = append(names, r.Name)
	}
	for i := range k {
		var refs []RefRecord
		for _, r := range base {
			if rng.IntN(k) == 0 || i == 0 && rng.IntN(2) == 0 {
				r.UpdateIndex = uint64(i + 1)
				if rng.IntN(3) == 0 {
					r.Type, r.Value, r.Peeled, r.Target = RefDeletion, nil, nil, nil
				}
				refs = append(refs, r)
			}
		}
		opts.Hash, opts.MinUpdateIndex, opts.MaxUpdateIndex = h, uint64(i+1), uint64(i+1)
		datas = append(datas, utWrite(t, opts, refs, nil))
	}
	return datas, names
}

// ftOpenAll opens each table of datas, in place for every other one.
func ftOpenAll(t testing.TB, datas [][]byte) []*Table {
	var tabs []*Table
	for i, d := range datas {
		tab := utOpen(t, d)
		if i%2 == 1 {
			var err error
			if tab, err = NewTableBytes(d, "test.ref"); err != nil {
				t.Fatal(err)
			}
		}
		tabs = append(tabs, tab)
	}
	return tabs
}

// ftLookup returns what a lookup of name in m answers, as text.
func ftLookup(m *Merged, name []byte) string {
	var r RefRecord
	found, err := m.LookupRef(name, &r)
	if err != nil || !found {
		return fmt.Sprintf("%v %v", found, err)
	}
	return utRefStrings([]RefRecord{r})[0]
}

// TestFilterLookupsAgree looks up every name, and absent ones, in stacks
// of random tables with and without filters (and with deletions shown
// and hidden): the answers must be the same, in merged views and in each
// table alone.
func TestFilterLookupsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, h := range []Hash{SHA1, SHA256} {
		for _, opts := range ftOptions {
			datas, names := ftStack(t, rng, h, opts, 6, 1500)
			names = append(names, ftAbsent(rng, nil, 500)...)
			plain, filtered := ftOpenAll(t, datas), ftOpenAll(t, datas)
			for i, tab := range filtered {
				if i != 2 { // one table keeps searching unfiltered
					tab.buildFilter()
					if tab.filter() == nil {
						t.Fatalf("%v %+v: table %d got no filter", h, opts, i)
					}
				}
			}
			for _, show := range []bool{false, true} {
				mp, mf := utMerged(t, show, plain...), utMerged(t, show, filtered...)
				for _, name := range names {
					if want, got := ftLookup(mp, name), ftLookup(mf, name); got != want {
						t.Fatalf("%v %+v show=%v: lookup %q with filters = %s, without %s", h, opts, show, name, got, want)
					}
				}
			}
			for i := range plain {
				for _, name := range names {
					want, werr := plain[i].Ref(name)
					got, gerr := filtered[i].Ref(name)
					if fmt.Sprint(werr) != fmt.Sprint(gerr) || !sameRef(&want, &got) {
						t.Fatalf("%v %+v: table %d: Ref(%q) with filter = %+v, %v; without %+v, %v", h, opts, i, name, got, gerr, want, werr)
					}
				}
			}
		}
	}
}

// TestFilterBuiltAfterMisses checks the build rule: a few lookups (a
// process that looks up one name and exits) build no filter; a table
// builds its filter once merged lookups have searched it in vain
// filterAfter times, and lookups that find their name there do not
// count.
func TestFilterBuiltAfterMisses(t *testing.T) {
	refs := benchRefs(20000, SHA1)
	var older, newer []RefRecord
	for i, r := range refs {
		if i%2 == 0 {
			older = append(older, r)
		} else {
			newer = append(newer, r)
		}
	}
	opts := WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 1}
	old, tab := utOpen(t, utWrite(t, opts, older, nil)), utOpen(t, utWrite(t, opts, newer, nil))
	m := utMerged(t, false, old, tab)
	after := tab.filt.after
	if after < filterMinMisses || after != tab.refSectionBytes()/filterMissBytes {
		t.Fatalf("table of %d ref bytes builds after %d misses", tab.refSectionBytes(), after)
	}
	var r RefRecord
	// Hits in the newer table do not count.
	for i := range 2 * int(after) {
		if found, err := m.LookupRef(newer[i%len(newer)].Name, &r); !found || err != nil {
			t.Fatal(found, err)
		}
	}
	for i := range int(after) {
		if tab.filter() != nil {
			t.Fatalf("filter built after %d misses, want %d", i, after)
		}
		if found, err := m.LookupRef(older[i%len(older)].Name, &r); !found || err != nil {
			t.Fatal(found, err)
		}
	}
	if tab.filter() == nil {
		t.Fatalf("no filter after %d misses", after)
	}
	// The oldest table misses only names that are nowhere.
	if old.filter() != nil || old.filt.misses.Load() != 0 {
		t.Errorf("oldest table: filter %v after %d misses", old.filter() != nil, old.filt.misses.Load())
	}
	for _, name := range [][]byte{[]byte("refs/heads/nonexistent"), refs[5].Name} {
		if want, got := ftLookup(utMerged(t, false, utOpen(t, utWrite(t, opts, older, nil)), utOpen(t, utWrite(t, opts, newer, nil))), name), ftLookup(m, name); got != want {
			t.Errorf("lookup %q = %s, want %s", name, got, want)
		}
	}
	if n := filterAfter(maxFilterSection + 1); n != 0 {
		t.Errorf("a ref section of %d bytes builds a filter after %d misses, want never", maxFilterSection+1, n)
	}
}

// TestFilterConcurrentBuild looks up names from many goroutines while
// the lookups that cross the thresholds build the tables' filters (run
// it with -race): every answer must be right before, during and after.
func TestFilterConcurrentBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	datas, names := ftStack(t, rng, SHA1, WriterOptions{BlockSize: 512}, 5, 3000)
	want := map[string]string{}
	plain := utMerged(t, false, ftOpenAll(t, datas)...)
	names = append(names, ftAbsent(rng, nil, 300)...)
	for _, name := range names {
		want[string(name)] = ftLookup(plain, name)
	}
	for round := range 3 {
		tabs := ftOpenAll(t, datas)
		for _, tab := range tabs {
			tab.filt.after = int64(1 + round*20) // build early, while others look up
		}
		m := utMerged(t, false, tabs...)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range len(names) {
					name := names[(i*7919+g*131)%len(names)]
					if got := ftLookup(m, name); got != want[string(name)] {
						t.Errorf("round %d: lookup %q = %s, want %s", round, name, got, want[string(name)])
						return
					}
				}
			}()
		}
		wg.Wait()
		for i, tab := range tabs[1:] {
			if tab.filter() == nil {
				t.Errorf("round %d: table %d got no filter", round, i+1)
			}
		}
	}
}

// ftCheckDamaged builds the filter of the damaged table data and checks
// that it only rules out names that a lookup without it does not find,
// without error, and that a merged view over an older table holding
// every name answers the same with and without the filter. The answers
// without the filter come from the same table, the filter set aside,
// after a first round of lookups: those cache the index blocks the
// build also caches, which changes which damage a lookup meets.
func ftCheckDamaged(t *testing.T, what string, data, older []byte, names [][]byte) (built bool) {
	t.Helper()
	tab, err := NewTableBytes(data, "damaged.ref")
	if err != nil {
		return false
	}
	base, err := NewTableBytes(older, "older.ref")
	if err != nil {
		t.Fatal(err)
	}
	m := utMerged(t, false, base, tab)
	tab.buildFilter()
	f := tab.filter()
	if f == nil {
		return false
	}
	tab.filt.f.Store(nil)
	var r RefRecord
	for _, name := range names {
		tab.LookupRef(name, &r)
	}
	want := make([]string, len(names))
	for i, name := range names {
		want[i] = ftLookup(m, name)
		if !f.mayContain(hashName(name)) {
			if found, err := tab.LookupRef(name, &r); found || err != nil {
				t.Fatalf("%s: the filter rules out %q, which a lookup finds: %v, %v", what, name, found, err)
			}
		}
	}
	tab.filt.f.Store(f)
	for i, name := range names {
		if got := ftLookup(m, name); got != want[i] {
			t.Fatalf("%s: lookup %q with filter = %s, without %s", what, name, got, want[i])
		}
	}
	return true
}

// TestFilterHostile damages tables (every byte of small tables written by
// git and by the writer, overwritten with 0x00, 0xff and its value xor
// 0x80, with the footer CRC fixed, and truncations with the footer put
// back) and checks that a filter built from a damaged table never makes
// a lookup answer "not found" where the table has the name, or hide an
// error behind an older table's record.
func TestFilterHostile(t *testing.T) {
	type fixture struct {
		name  string
		data  []byte
		names [][]byte
	}
	var fixtures []fixture
	for _, f := range hostileFixtures[:4] {
		fx := loadHostileFixture(t, f.path, 0)
		fixtures = append(fixtures, fixture{f.path, fx.data, fx.names})
	}
	for _, opts := range []WriterOptions{{BlockSize: 128, RestartInterval: 2}, {BlockSize: 200, Unpadded: true, RestartInterval: 3}} {
		opts.MinUpdateIndex, opts.MaxUpdateIndex = 2, 2
		refs := ftRandomRefs(rand.New(rand.NewPCG(1, 1)), SHA1, 24)
		for i := range refs {
			refs[i].UpdateIndex = 2
		}
		fx := fixture{name: fmt.Sprintf("written %+v", opts), data: utWrite(t, opts, refs, nil)}
		for _, r := range refs {
			fx.names = append(fx.names, r.Name)
		}
		fixtures = append(fixtures, fx)
	}
	for _, fx := range fixtures {
		tab := utOpen(t, fx.data)
		// The older table holds every name, so that a lookup the
		// damaged table wrongly skips would find one.
		var older []RefRecord
		for _, name := range fx.names {
			older = append(older, RefRecord{Name: name, UpdateIndex: 1, Type: RefSymref, Target: []byte("older")})
		}
		slices.SortFunc(older, func(a, b RefRecord) int { return bytes.Compare(a.Name, b.Name) })
		older = slices.CompactFunc(older, func(a, b RefRecord) bool { return bytes.Equal(a.Name, b.Name) })
		olderData := utWrite(t, WriterOptions{Hash: tab.Hash(), MinUpdateIndex: 1, MaxUpdateIndex: 1}, older, nil)
		names := append(slices.Clone(fx.names), []byte("refs/heads/nonexistent"))
		if !ftCheckDamaged(t, fx.name+" pristine", fx.data, olderData, names) {
			t.Fatalf("%s: no filter for the pristine table", fx.name)
		}
		hs, fs := headerSize(int(fx.data[4])), footerSize(int(fx.data[4]))
		end := tab.Layout().FooterOffset
		built, runs := 0, 0
		buf := clone(fx.data)
		for pos := hs; pos < int(end); pos++ {
			orig := buf[pos]
			for _, v := range []byte{0, 0xff, orig ^ 0x80} {
				if v == orig {
					continue
				}
				buf[pos] = v
				runs++
				if ftCheckDamaged(t, fmt.Sprintf("%s: byte %d set to %#x", fx.name, pos, v), hostileFooterFix(buf, hs, fs, false), olderData, names) {
					built++
				}
			}
			buf[pos] = orig
			cut := append(clone(fx.data[:pos]), fx.data[len(fx.data)-fs:]...)
			ftCheckDamaged(t, fmt.Sprintf("%s: truncated to %d + footer", fx.name, pos), cut, olderData, names)
		}
		t.Logf("%s: %d damaged tables, %d with a filter", fx.name, runs, built)
	}
}

// TestFilterRestartIntoRecord crafts a block whose second restart point
// lies inside a symref target that reads as a record of its own: a
// lookup finds that name, a scan of the records does not, so the table
// must get no filter and lookups must still find it.
func TestFilterRestartIntoRecord(t *testing.T) {
	fake := craftRef("refs/heads/evil", RefSymref, append(appendVarint(nil, 1), 'x'))
	real := craftRef("refs/heads/a", RefSymref, append(appendVarint(nil, uint64(len(fake))), fake...))
	hs := headerSizeV1
	recs := real
	inner := hs + 4 + len(real) - len(fake)
	b := []byte{blockTypeRef, 0, 0, 0}
	b = append(b, recs...)
	b = appendUint24(b, uint32(hs+4))
	b = appendUint24(b, uint32(inner))
	b = binary.BigEndian.AppendUint16(b, 2)
	putUint24(b[1:], uint32(hs+len(b)))
	data := craftTable(1, 0, b, craftFooter{})
	plain, err := NewTableBytes(data, "crafted.ref")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := plain.Ref([]byte("refs/heads/evil")); err != nil || string(r.Target) != "x" {
		t.Fatalf("crafted table: Ref(refs/heads/evil) = %+v, %v; the test needs a lookup to find it", r, err)
	}
	older := utWrite(t, WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 1}, []RefRecord{
		{Name: []byte("refs/heads/evil"), UpdateIndex: 1, Type: RefSymref, Target: []byte("older")}}, nil)
	if ftCheckDamaged(t, "restart into a record", data, older, [][]byte{[]byte("refs/heads/evil"), []byte("refs/heads/a")}) {
		t.Errorf("a filter was built for a table whose restart point is inside a record")
	}
}
