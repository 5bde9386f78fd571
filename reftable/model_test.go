package reftable

import (
	"cmp"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
)

// The metamorphic model test (in the style of pebble's metamorphic
// tests): a seeded random history of transactions is applied to a plain
// map, and written as a stack of tables under many writer configurations
// and stack shapes. Every configuration must show the model's refs and
// logs through every read API, and so the same as every other.

// mRef is a ref value of the model, with object ids as numbers so that
// SHA-1 and SHA-256 runs can be compared.
type mRef struct {
	typ    RefValueType
	val    int
	peeled int
	target string
}

// mLog is a reflog entry of the model; nil means a tombstone.
type mLog struct {
	old, new int
	time     uint64
	tz       int16
	msg      string // as given to the writer
}

type mLogKey struct {
	name string
	idx  uint64
}

// mTx is one transaction: the records of one table written at update
// index idx. A nil ref is a deletion, a nil log a log tombstone.
type mTx struct {
	idx  uint64
	refs map[string]*mRef
	logs map[mLogKey]*mLog
}

const mMaxID = 24 // object ids are numbered 1..mMaxID

// mNames is the universe of ref names, at most 24 bytes long so that
// every record fits the smallest block size of the test.
var mNames = func() []string {
	names := []string{"HEAD", "FETCH_HEAD", "refs/heads/main", "refs/heads/maint", "refs/stash"}
	for i := range 12 {
		names = append(names, fmt.Sprintf("refs/heads/feature/%d", i*7))
	}
	for i := range 8 {
		names = append(names, fmt.Sprintf("refs/tags/v1.%d", i))
	}
	for _, r := range []string{"main", "HEAD", "topic"} {
		names = append(names, "refs/remotes/o/"+r)
	}
	return names
}()

var mMessages = []string{"", "commit: x", "pull\n", "reset: moving to HEAD~2", "merge\n\n", "a"}

// mHistory generates n transactions from seed.
func mHistory(seed uint64, n int) []mTx {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var txs []mTx
	var logKeys []mLogKey // every log key written so far
	for i := range n {
		tx := mTx{idx: uint64(i + 1), refs: map[string]*mRef{}, logs: map[mLogKey]*mLog{}}
		for range 1 + rng.IntN(14) {
			name := mNames[rng.IntN(len(mNames))]
			var r *mRef
			switch rng.IntN(8) {
			case 0, 1, 2:
				r = &mRef{typ: RefVal1, val: 1 + rng.IntN(mMaxID)}
			case 3, 4:
				r = &mRef{typ: RefVal2, val: 1 + rng.IntN(mMaxID), peeled: 1 + rng.IntN(mMaxID)}
			case 5:
				r = &mRef{typ: RefSymref, target: mNames[rng.IntN(len(mNames))]}
			default: // deletion
			}
			tx.refs[name] = r
			if rng.IntN(3) > 0 {
				k := mLogKey{name, tx.idx}
				tx.logs[k] = &mLog{old: rng.IntN(mMaxID + 1), new: 1 + rng.IntN(mMaxID),
					time: 1700000000 + 60*tx.idx, tz: []int16{0, 530, -800, 100, -700}[rng.IntN(5)],
					msg: mMessages[rng.IntN(len(mMessages))]}
				logKeys = append(logKeys, k)
			}
		}
		// Expire or rewrite some older reflog entries, as reflog expiry
		// does: a record with the old key in a newer table.
		for range rng.IntN(3) {
			if len(logKeys) == 0 {
				break
			}
			k := logKeys[rng.IntN(len(logKeys))]
			if k.idx == tx.idx {
				continue
			}
			if rng.IntN(2) == 0 {
				tx.logs[k] = nil
			} else {
				tx.logs[k] = &mLog{old: 0, new: 1 + rng.IntN(mMaxID), time: 1600000000 + k.idx, tz: -800, msg: "rewritten"}
			}
		}
		txs = append(txs, tx)
	}
	return txs
}

// mView is what a reader sees, with ids as numbers: one line per record.
type mView struct {
	Refs    []string
	Logs    []string
	Lookups []string // Ref and LogsFor of each of mLookupNames
	ByID    []string // RefsFor of every id
	Prefix  []string // Refs for a few prefixes
}

// mLookupNames are the names looked up one by one (Ref and LogsFor); a
// subset of mNames to keep the test fast, plus a name never written.
var mLookupNames = []string{"HEAD", "refs/heads/main", "refs/heads/maint", "refs/heads/feature/14",
	"refs/heads/feature/77", "refs/tags/v1.3", "refs/remotes/o/HEAD", "refs/stash", "refs/heads/nope"}

var mPrefixes = []string{"refs/heads/", "refs/heads/feature/", "refs/heads/main", "refs/tags/v1.", "refs/remotes/o/", "Z"}

func mFormatRef(name string, idx uint64, r *mRef) string {
	switch r.typ {
	case RefVal1:
		return fmt.Sprintf("%s@%d #%d", name, idx, r.val)
	case RefVal2:
		return fmt.Sprintf("%s@%d #%d^#%d", name, idx, r.val, r.peeled)
	case RefSymref:
		return fmt.Sprintf("%s@%d -> %s", name, idx, r.target)
	}
	return fmt.Sprintf("%s@%d deleted", name, idx)
}

func mNormalize(msg string) string {
	return strings.TrimRight(msg, "\n") + "\n"
}

func mFormatLog(k mLogKey, l *mLog) string {
	return fmt.Sprintf("%s@%d #%d->#%d %d %d %q", k.name, k.idx, l.old, l.new, l.time, l.tz, mNormalize(l.msg))
}

// mModelView replays txs on maps and returns what every reader must see.
func mModelView(txs []mTx) mView {
	type ref struct {
		idx uint64
		r   *mRef
	}
	refs := map[string]ref{}
	logs := map[mLogKey]*mLog{}
	for _, tx := range txs {
		for name, r := range tx.refs {
			if r == nil {
				delete(refs, name)
			} else {
				refs[name] = ref{tx.idx, r}
			}
		}
		for k, l := range tx.logs {
			if l == nil {
				delete(logs, k)
			} else {
				logs[k] = l
			}
		}
	}
	var v mView
	names := mSortedKeys(refs)
	for _, n := range names {
		v.Refs = append(v.Refs, mFormatRef(n, refs[n].idx, refs[n].r))
	}
	logKeys := mSortedLogKeys(logs)
	for _, k := range logKeys {
		v.Logs = append(v.Logs, mFormatLog(k, logs[k]))
	}
	for _, n := range mLookupNames {
		if r, ok := refs[n]; ok {
			v.Lookups = append(v.Lookups, mFormatRef(n, r.idx, r.r))
		} else {
			v.Lookups = append(v.Lookups, n+" not found")
		}
		for _, k := range logKeys {
			if k.name == n {
				v.Lookups = append(v.Lookups, mFormatLog(k, logs[k]))
			}
		}
	}
	for id := 1; id <= mMaxID; id++ {
		v.ByID = append(v.ByID, fmt.Sprintf("#%d:", id))
		for _, n := range names {
			r := refs[n]
			if (r.r.typ == RefVal1 || r.r.typ == RefVal2) && r.r.val == id || r.r.typ == RefVal2 && r.r.peeled == id {
				v.ByID = append(v.ByID, mFormatRef(n, r.idx, r.r))
			}
		}
	}
	for _, p := range mPrefixes {
		v.Prefix = append(v.Prefix, p+":")
		for _, n := range names {
			if strings.HasPrefix(n, p) {
				v.Prefix = append(v.Prefix, mFormatRef(n, refs[n].idx, refs[n].r))
			}
		}
	}
	return v
}

func mSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// mSortedLogKeys orders log keys as tables do: by name, newest first.
func mSortedLogKeys[V any](m map[mLogKey]V) []mLogKey {
	keys := make([]mLogKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b mLogKey) int {
		return cmp.Or(strings.Compare(a.name, b.name), cmp.Compare(b.idx, a.idx))
	})
	return keys
}

// mConfig is one way of writing the history.
type mConfig struct {
	blockSize, restart int
	hash               Hash
	skipObjects        bool
	unpadded           bool
	shape              int // how transactions are grouped into tables, see mGroups
}

func (c mConfig) String() string {
	return fmt.Sprintf("bs%d/ri%d/%v/skipobj=%v/unpadded=%v/shape%d", c.blockSize, c.restart, c.hash, c.skipObjects, c.unpadded, c.shape)
}

// mGroups splits n transactions into ranges [a, b) that become one table
// each, oldest first.
func mGroups(shape, n int) [][2]int {
	var g [][2]int
	switch shape {
	case 0: // one table per transaction
		for i := range n {
			g = append(g, [2]int{i, i + 1})
		}
	case 1: // pairs
		for i := 0; i < n; i += 2 {
			g = append(g, [2]int{i, min(i+2, n)})
		}
	case 2: // the bottom half compacted into one table, then singles
		g = append(g, [2]int{0, n / 2})
		for i := n / 2; i < n; i++ {
			g = append(g, [2]int{i, i + 1})
		}
	case 3: // everything in one table
		g = append(g, [2]int{0, n})
	}
	return g
}

// mWriteStack writes txs as a stack of tables with configuration c.
func mWriteStack(t *testing.T, txs []mTx, c mConfig) []*Table {
	t.Helper()
	var tabs []*Table
	for _, g := range mGroups(c.shape, len(txs)) {
		refs := map[string]RefRecord{}
		logs := map[mLogKey]LogRecord{}
		for _, tx := range txs[g[0]:g[1]] {
			for name, r := range tx.refs {
				rec := RefRecord{Name: []byte(name), UpdateIndex: tx.idx, Type: RefDeletion}
				if r != nil {
					rec.Type = r.typ
					switch r.typ {
					case RefVal1:
						rec.Value = utID(c.hash, r.val)
					case RefVal2:
						rec.Value, rec.Peeled = utID(c.hash, r.val), utID(c.hash, r.peeled)
					case RefSymref:
						rec.Target = []byte(r.target)
					}
				}
				refs[name] = rec
			}
			for k, l := range tx.logs {
				rec := LogRecord{RefName: []byte(k.name), UpdateIndex: k.idx, Type: LogDeletion}
				if l != nil {
					rec.Type = LogUpdate
					rec.Old, rec.New = utID(c.hash, l.old), utID(c.hash, l.new)
					if l.old == 0 {
						rec.Old = nil // the zero id
					}
					rec.Name, rec.Email = []byte("C O Mitter"), []byte("c@example.com")
					rec.Time, rec.TZOffset, rec.Message = l.time, l.tz, []byte(l.msg)
				}
				logs[k] = rec
			}
		}
		bottom := g[0] == 0 // nothing below: tombstones can go, as git's compaction does
		var rs []RefRecord
		for _, name := range mSortedKeys(refs) {
			if r := refs[name]; !(bottom && r.IsDeletion()) {
				rs = append(rs, r)
			}
		}
		var ls []LogRecord
		for _, k := range mSortedLogKeys(logs) {
			if l := logs[k]; !(bottom && l.IsDeletion()) {
				ls = append(ls, l)
			}
		}
		opts := WriterOptions{
			BlockSize: c.blockSize, RestartInterval: c.restart, Hash: c.hash,
			SkipIndexObjects: c.skipObjects, Unpadded: c.unpadded,
			MinUpdateIndex: txs[g[0]].idx, MaxUpdateIndex: txs[g[1]-1].idx,
		}
		data := utWrite(t, opts, rs, ls)
		tab := utOpen(t, data)
		if len(tabs)%2 == 1 { // every other table is read in place
			var err error
			if tab, err = NewTableBytes(data, "test.ref"); err != nil {
				t.Fatal(err)
			}
		}
		utCheckBlocks(t, tab, c.restart, rs)
		// The table holds what was written, deletions included.
		wantLogs := make([]LogRecord, len(ls))
		for i, l := range ls {
			wantLogs[i] = l.Clone()
			if !l.IsDeletion() {
				wantLogs[i].Message = []byte(mNormalize(string(l.Message)))
				if l.Old == nil {
					wantLogs[i].Old = make([]byte, c.hash.Size())
				}
			}
		}
		if diff := gocmp.Diff(utLogStrings(wantLogs), utLogStrings(utLogs(t, tab.Logs(nil)))); diff != "" {
			t.Errorf("%v: logs of table %d..%d (-want +got):\n%s", c, opts.MinUpdateIndex, opts.MaxUpdateIndex, diff)
		}
		tabs = append(tabs, tab)
	}
	return tabs
}

// mReadView reads everything the model predicts through the public API,
// translating object ids back to their numbers.
func mReadView(t *testing.T, m *Merged, h Hash) mView {
	t.Helper()
	num := map[string]int{string(make([]byte, h.Size())): 0}
	for i := 1; i <= mMaxID; i++ {
		num[string(utID(h, i))] = i
	}
	id := func(b []byte) int {
		n, ok := num[string(b)]
		if !ok {
			t.Fatalf("unknown object id %x", b)
		}
		return n
	}
	ref := func(r *RefRecord) string {
		mr := &mRef{typ: r.Type, target: string(r.Target)}
		if r.Type == RefVal1 || r.Type == RefVal2 {
			mr.val = id(r.Value)
		}
		if r.Type == RefVal2 {
			mr.peeled = id(r.Peeled)
		}
		return mFormatRef(string(r.Name), r.UpdateIndex, mr)
	}
	log := func(l *LogRecord) string {
		if l.IsDeletion() {
			return fmt.Sprintf("%s@%d deleted", l.RefName, l.UpdateIndex)
		}
		return fmt.Sprintf("%s@%d #%d->#%d %d %d %q", l.RefName, l.UpdateIndex, id(l.Old), id(l.New), l.Time, l.TZOffset, l.Message)
	}
	var v mView
	for r, err := range m.Refs(nil) {
		if err != nil {
			t.Fatal(err)
		}
		v.Refs = append(v.Refs, ref(&r))
	}
	for l, err := range m.Logs(nil) {
		if err != nil {
			t.Fatal(err)
		}
		v.Logs = append(v.Logs, log(&l))
	}
	var reused RefRecord
	for _, n := range mLookupNames {
		r, err := m.Ref([]byte(n))
		found, lerr := m.LookupRef([]byte(n), &reused)
		if lerr != nil || found != (err == nil) || found && !sameRef(&r, &reused) {
			t.Fatalf("LookupRef(%q) = %v, %v, %+v; Ref = %+v, %v", n, found, lerr, reused, r, err)
		}
		switch {
		case err == nil:
			v.Lookups = append(v.Lookups, ref(&r))
		case isNotFound(err):
			v.Lookups = append(v.Lookups, n+" not found")
		default:
			t.Fatalf("Ref(%q): %v", n, err)
		}
		for l, err := range m.LogsFor([]byte(n)) {
			if err != nil {
				t.Fatal(err)
			}
			v.Lookups = append(v.Lookups, log(&l))
		}
	}
	for i := 1; i <= mMaxID; i++ {
		v.ByID = append(v.ByID, fmt.Sprintf("#%d:", i))
		for r, err := range m.RefsFor(utID(h, i)) {
			if err != nil {
				t.Fatal(err)
			}
			v.ByID = append(v.ByID, ref(&r))
		}
	}
	for _, p := range mPrefixes {
		v.Prefix = append(v.Prefix, p+":")
		for r, err := range m.Refs([]byte(p)) {
			if err != nil {
				t.Fatal(err)
			}
			v.Prefix = append(v.Prefix, ref(&r))
		}
	}
	return v
}

// mConfigs returns the writer configurations under test: every
// combination of block size, restart interval and hash, each with two of
// the four combinations of object index and padding, chosen so that
// every pair of option values (and every block size and restart interval
// with every index/padding combination) occurs. The stack shape rotates.
func mConfigs() []mConfig {
	var cs []mConfig
	// 192 bytes is about the smallest block that holds this workload's
	// largest record (a SHA-256 reflog entry) in the first block, after
	// the 28-byte file header; 64 cannot hold even one SHA-256 id there.
	for _, bs := range []int{192, 256, 4096} {
		for i, ri := range []int{1, 3, 16} {
			for j, h := range []Hash{SHA1, SHA256} {
				pairs := [][2]bool{{false, false}, {true, true}}
				if (i+j)%2 == 1 {
					pairs = [][2]bool{{false, true}, {true, false}}
				}
				for _, p := range pairs {
					cs = append(cs, mConfig{bs, ri, h, p[0], p[1], len(cs) % 4})
				}
			}
		}
	}
	return cs
}

var mSeeds = flag.Int("reftable.modelseeds", 1, "number of random histories TestModelMetamorphic tries")

func TestModelMetamorphic(t *testing.T) {
	for seed := uint64(1); seed <= uint64(*mSeeds); seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			txs := mHistory(seed, 10)
			want := mModelView(txs)
			if len(want.Refs) < 10 || len(want.Logs) < 10 {
				t.Fatalf("thin history: %d refs, %d logs", len(want.Refs), len(want.Logs))
			}
			var first *mView
			var firstName string
			for _, c := range mConfigs() {
				tabs := mWriteStack(t, txs, c)
				got := mReadView(t, utMerged(t, false, tabs...), c.hash)
				if diff := gocmp.Diff(want, got); diff != "" {
					t.Errorf("%v: merged view differs from the model (-want +got):\n%s", c, diff)
				}
				// Lookups through filters answer the same.
				for i, tab := range tabs {
					if tab.buildFilter(); tab.filter() == nil && tab.Layout().HasRefs {
						t.Errorf("%v: table %d got no filter", c, i)
					}
				}
				if diff := gocmp.Diff(got, mReadView(t, utMerged(t, false, tabs...), c.hash)); diff != "" {
					t.Errorf("%v: merged view with filters differs (-without +with):\n%s", c, diff)
				}
				if first == nil {
					first, firstName = &got, c.String()
				} else if diff := gocmp.Diff(*first, got); diff != "" {
					t.Errorf("%v differs from %s (-%s +this):\n%s", c, firstName, firstName, diff)
				}
			}
		})
	}
}
