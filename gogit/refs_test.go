package gogit

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage"
)

// refsOf lists the storage's refs as "<name> <value>" lines.
func refsOf(t testing.TB, st *Storage) []string {
	t.Helper()
	it, err := st.IterReferences()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for {
		r, err := it.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r.String())
	}
}

func TestSymbolicRefs(t *testing.T) {
	st := openEmpty(t)
	c1 := makeCommit(t, st, "c1")
	setRef(t, st, symRef("HEAD", "refs/heads/main"))
	setRef(t, st, hashRef("refs/heads/main", c1))
	setRef(t, st, symRef("refs/remotes/origin/HEAD", "refs/remotes/origin/main"))
	setRef(t, st, hashRef("ORIG_HEAD", c1)) // a root ref: read, not listed

	head, err := st.Reference(plumbing.HEAD)
	if err != nil || head.Type() != plumbing.SymbolicReference || head.Target() != "refs/heads/main" {
		t.Fatalf("HEAD = %v, %v; want symbolic to refs/heads/main", head, err)
	}
	resolved, err := storer.ResolveReference(st, plumbing.HEAD)
	if err != nil || resolved.Hash() != c1 {
		t.Fatalf("HEAD resolves to %v, %v; want %v", resolved, err, c1)
	}
	if r, err := st.Reference("ORIG_HEAD"); err != nil || r.Hash() != c1 {
		t.Errorf("ORIG_HEAD = %v, %v", r, err)
	}
	want := []string{
		"ref: refs/heads/main HEAD",
		c1.String() + " refs/heads/main",
		"ref: refs/remotes/origin/main refs/remotes/origin/HEAD",
	}
	if got := refsOf(t, st); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("IterReferences = %q, want %q", got, want)
	}
	if n, err := st.CountLooseRefs(); n != 0 || err != nil {
		t.Errorf("CountLooseRefs = %d, %v", n, err)
	}
}

func TestCheckAndSetReference(t *testing.T) {
	st := openEmpty(t)
	a := makeCommit(t, st, "a")
	b := makeCommit(t, st, "b")
	var zero plumbing.Hash
	setRef(t, st, hashRef("refs/heads/x", a))
	setRef(t, st, symRef("refs/heads/sym", "refs/heads/x"))
	tests := []struct {
		name     string
		new, old *plumbing.Reference
		changed  bool   // ErrReferenceHasChanged expected
		check    string // a ref whose value is then compared
		want     string
	}{
		{"matching id", hashRef("refs/heads/x", b), hashRef("refs/heads/x", a), false, "refs/heads/x", b.String()},
		{"stale id", hashRef("refs/heads/x", a), hashRef("refs/heads/x", a), true, "refs/heads/x", b.String()},
		{"zero id creates", hashRef("refs/heads/new", a), hashRef("refs/heads/new", zero), false, "refs/heads/new", a.String()},
		{"zero id on an existing ref", hashRef("refs/heads/new", b), hashRef("refs/heads/new", zero), true, "refs/heads/new", a.String()},
		{"old id but missing", hashRef("refs/heads/none", a), hashRef("refs/heads/none", a), true, "refs/heads/none", "missing"},
		{"symbolic matches", symRef("refs/heads/sym", "refs/heads/new"), symRef("refs/heads/sym", "refs/heads/x"), false, "refs/heads/sym", "ref: refs/heads/new"},
		{"symbolic stale", symRef("refs/heads/sym", "refs/heads/x"), symRef("refs/heads/sym", "refs/heads/x"), true, "refs/heads/sym", "ref: refs/heads/new"},
		{"id expected, symbolic found", hashRef("refs/heads/sym", a), hashRef("refs/heads/sym", zero), true, "refs/heads/sym", "ref: refs/heads/new"},
		// As go-git's filesystem storage, old may name another ref: it
		// is checked, and the transaction is one.
		{"other ref matches", hashRef("refs/heads/y", a), hashRef("refs/heads/x", b), false, "refs/heads/y", a.String()},
		{"other ref stale", hashRef("refs/heads/z", a), hashRef("refs/heads/x", a), true, "refs/heads/z", "missing"},
		{"nil old", hashRef("refs/heads/x", a), nil, false, "refs/heads/x", a.String()},
	}
	for _, tt := range tests {
		err := st.CheckAndSetReference(tt.new, tt.old)
		if tt.changed && err != storage.ErrReferenceHasChanged || !tt.changed && err != nil {
			t.Errorf("%s: CheckAndSetReference = %v", tt.name, err)
		}
		got := "missing"
		if r, err := st.Reference(plumbing.ReferenceName(tt.check)); err == nil {
			got = r.Hash().String()
			if r.Type() == plumbing.SymbolicReference {
				got = "ref: " + r.Target().String()
			}
		}
		if got != tt.want {
			t.Errorf("%s: %s = %s, want %s", tt.name, tt.check, got, tt.want)
		}
	}
}

func TestRemoveReference(t *testing.T) {
	setIdentity(t)
	st := openEmpty(t)
	a := makeCommit(t, st, "a")
	setRef(t, st, hashRef("refs/heads/x", a))
	setRef(t, st, symRef("refs/heads/s", "refs/heads/x"))
	if lastLog(t, st, "refs/heads/x").message == "" {
		t.Fatal("refs/heads/x has no reflog")
	}
	for _, name := range []plumbing.ReferenceName{"refs/heads/s", "refs/heads/x", "refs/heads/missing"} {
		if err := st.RemoveReference(name); err != nil {
			t.Fatalf("RemoveReference(%s): %v", name, err)
		}
		if _, err := st.Reference(name); err != plumbing.ErrReferenceNotFound {
			t.Errorf("%s after removal: %v", name, err)
		}
	}
	// As git, deleting a ref deletes its reflog.
	if logs, err := st.refs.reflog("refs/heads/x"); err != nil || len(logs) != 0 {
		t.Errorf("reflog of a removed ref: %v, %v", logs, err)
	}
}

func TestPackRefs(t *testing.T) {
	st := openEmpty(t)
	a := makeCommit(t, st, "a")
	for i := range 10 {
		setRef(t, st, hashRef(fmt.Sprintf("refs/heads/b%d", i), a))
	}
	if err := st.RemoveReference("refs/heads/b3"); err != nil {
		t.Fatal(err)
	}
	before := refsOf(t, st)
	if err := st.PackRefs(); err != nil {
		t.Fatal(err)
	}
	if after := refsOf(t, st); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("refs changed by PackRefs:\n%q\n%q", before, after)
	}
	if n := tablesIn(t, st.info.gitDir); n != 1 {
		t.Errorf("%d tables after PackRefs, want 1", n)
	}
}

func TestReflogMessages(t *testing.T) {
	setIdentity(t)
	st := openEmpty(t)
	c1 := makeCommit(t, st, "first\n\nbody")
	c2 := makeCommit(t, st, "second", c1)
	amended := makeCommit(t, st, "second, amended", c1)
	side := makeCommit(t, st, "side", c1)
	merge := makeCommit(t, st, "merge side", amended, side)
	far := makeCommit(t, st, "far", makeCommit(t, st, "near", merge))
	hex := func(h plumbing.Hash) string { return h.String() }

	steps := []struct {
		ref        *plumbing.Reference
		cas        bool   // by CheckAndSetReference, as go-git's fetch
		want       string // the message of ref's new entry
		headLogged bool   // HEAD logs it too
		old        string // the old id logged, hex; "" for none
	}{
		{symRef("HEAD", "refs/heads/main"), false, "", false, ""},
		{hashRef("refs/heads/main", c1), false, "commit (initial): first", true, ""},
		{hashRef("refs/heads/main", c2), false, "commit: second", true, hex(c1)},
		{hashRef("refs/heads/main", amended), false, "commit (amend): second, amended", true, hex(c2)},
		{hashRef("refs/heads/main", merge), false, "commit (merge): merge side", true, hex(amended)},
		{hashRef("refs/heads/main", c1), false, "reset: moving to " + hex(c1), true, hex(merge)},
		{hashRef("refs/heads/main", merge), false, "reset: moving to " + hex(merge), true, hex(c1)},
		{hashRef("refs/heads/topic", merge), false, "branch: Created from main", false, ""},
		{hashRef("refs/heads/other", side), false, "branch: Created from " + hex(side), false, ""},
		{hashRef("refs/heads/other", c2), false, "branch: Reset to " + hex(c2), false, hex(side)},
		{symRef("HEAD", "refs/heads/topic"), false, "checkout: moving from main to topic", false, hex(merge)},
		{hashRef("HEAD", side), false, "checkout: moving from topic to " + hex(side), false, hex(merge)},
		{hashRef("HEAD", makeCommit(t, st, "detached", side)), false, "commit: detached", false, hex(side)},
		{hashRef("refs/heads/fromdetached", side), false, "branch: Created from " + hex(side), false, ""},
		{symRef("HEAD", "refs/heads/main"), false, "", false, ""},
		{hashRef("refs/remotes/origin/main", c1), true, "fetch origin: storing head", false, ""},
		{hashRef("refs/remotes/origin/main", merge), true, "fetch origin: fast-forward", false, hex(c1)},
		{hashRef("refs/remotes/origin/main", side), true, "fetch origin: forced-update", false, hex(merge)},
		{hashRef("refs/remotes/origin/main", far), false, "update by push", false, hex(side)},
		{hashRef("refs/tags/v1", c1), false, "", false, ""}, // not logged: a tag
	}
	for i, s := range steps {
		var err error
		if s.cas {
			// As go-git's fetch: old is the ref as it is, nil if missing.
			old, _ := st.Reference(s.ref.Name())
			err = st.CheckAndSetReference(s.ref, old)
		} else {
			err = st.SetReference(s.ref)
		}
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		name := s.ref.Name().String()
		got := lastLog(t, st, name)
		if s.want == "" {
			if name == "HEAD" {
				continue
			}
			if got.message != "" && name != "HEAD" {
				t.Errorf("step %d: %s logged %q, want nothing", i, name, got.message)
			}
			continue
		}
		if got.message != s.want {
			t.Errorf("step %d: %s logged %q, want %q", i, name, got.message, s.want)
		}
		if oldHex := fmt.Sprintf("%x", got.old); s.old != "" && oldHex != s.old || s.old == "" && !isZero(got.old) {
			t.Errorf("step %d: %s logged old %s, want %q", i, name, oldHex, s.old)
		}
		if got.name != "C O Mitter" || got.email != "committer@example.com" || got.when.Unix() != 1700000000 {
			t.Errorf("step %d: entry by %s <%s> at %v", i, got.name, got.email, got.when)
		}
		if _, off := got.when.Zone(); off != 3600 {
			t.Errorf("step %d: zone offset %d, want +0100", i, off)
		}
		if h := lastLog(t, st, "HEAD"); s.headLogged && h.message != s.want {
			t.Errorf("step %d: HEAD logged %q, want %q", i, h.message, s.want)
		}
	}
}

func isZero(id []byte) bool {
	for _, b := range id {
		if b != 0 {
			return false
		}
	}
	return true
}

func TestCheckoutIsLoggedInHEAD(t *testing.T) {
	setIdentity(t)
	st := openEmpty(t)
	c1 := makeCommit(t, st, "one")
	c2 := makeCommit(t, st, "two", c1)
	setRef(t, st, hashRef("refs/heads/main", c1))
	setRef(t, st, hashRef("refs/heads/topic", c2))
	setRef(t, st, symRef("HEAD", "refs/heads/main"))
	setRef(t, st, symRef("HEAD", "refs/heads/topic"))
	h := lastLog(t, st, "HEAD")
	if h.message != "checkout: moving from main to topic" || fmt.Sprintf("%x", h.old) != c1.String() || fmt.Sprintf("%x", h.new) != c2.String() {
		t.Errorf("HEAD's entry: %x -> %x %q", h.old, h.new, h.message)
	}
}

func TestAnnotatedTagPeeled(t *testing.T) {
	st := openEmpty(t)
	c := makeCommit(t, st, "tagged")
	tag := makeTag(t, st, "v1", c, plumbing.CommitObject)
	tagOfTag := makeTag(t, st, "v1-again", tag, plumbing.TagObject)
	setRef(t, st, hashRef("refs/tags/v1", tag))
	setRef(t, st, hashRef("refs/tags/v1-again", tagOfTag))
	setRef(t, st, hashRef("refs/tags/light", c))
	for name, want := range map[string]plumbing.Hash{"refs/tags/v1": c, "refs/tags/v1-again": c, "refs/tags/light": {}} {
		v, err := st.refs.read(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := hashOf(v.Peeled); got != want {
			t.Errorf("%s peels to %v, want %v", name, got, want)
		}
	}
}

func TestConcurrentCheckAndSet(t *testing.T) {
	dir := newEmptyRepo(t, t.TempDir())
	writeFiles(t, dir, map[string]string{"config": readFile(t, dir+"/config") + "[reftable]\n\tlockTimeout = 20000\n"})
	const writers, increments = 4, 25
	first, err := OpenStorage(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	chain := []plumbing.Hash{makeCommit(t, first, "0")}
	index := map[plumbing.Hash]int{chain[0]: 0}
	for i := 1; i <= writers*increments; i++ {
		chain = append(chain, makeCommit(t, first, fmt.Sprint(i), chain[i-1]))
		index[chain[i]] = i
	}
	setRef(t, first, hashRef("refs/heads/counter", chain[0]))
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := first
			if w%2 == 1 { // half share a Storage, half open their own
				var err error
				if st, err = OpenStorage(dir, Options{}); err != nil {
					errs <- err
					return
				}
				defer st.Close()
			}
			for done := 0; done < increments; {
				cur, err := st.Reference("refs/heads/counter")
				if err != nil {
					errs <- err
					return
				}
				next := hashRef("refs/heads/counter", chain[index[cur.Hash()]+1])
				switch err := st.CheckAndSetReference(next, cur); {
				case err == nil:
					done++
				case !errors.Is(err, storage.ErrReferenceHasChanged):
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	cur, err := first.Reference("refs/heads/counter")
	if err != nil || cur.Hash() != chain[writers*increments] {
		t.Fatalf("counter = %v, %v; want %v (step %d)", cur, err, chain[writers*increments], writers*increments)
	}
	logs, err := first.refs.reflog("refs/heads/counter")
	if err != nil || len(logs) != writers*increments+1 {
		t.Fatalf("%d reflog entries (%v), want %d", len(logs), err, writers*increments+1)
	}
	for i, l := range logs[:len(logs)-1] {
		if n := writers*increments - i; hashOf(l.new) != chain[n] || hashOf(l.old) != chain[n-1] {
			t.Errorf("entry %d: %x -> %x, want step %d", i, l.old, l.new, n)
		}
	}
}

func TestZeroIDDeletes(t *testing.T) {
	st := openEmpty(t)
	c := makeCommit(t, st, "c")
	setRef(t, st, hashRef("refs/heads/x", c))
	setRef(t, st, hashRef("refs/heads/x", plumbing.ZeroHash))
	if _, err := st.Reference("refs/heads/x"); err != plumbing.ErrReferenceNotFound {
		t.Errorf("after storing the zero id: %v", err)
	}
	setRef(t, st, hashRef("refs/heads/never", plumbing.ZeroHash))
	if got := refsOf(t, st); len(got) != 0 {
		t.Errorf("refs: %q", got)
	}
}
