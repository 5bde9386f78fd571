package gogit

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestReftableSettings: the reftable.* settings of the config reach the
// stacks (package repo reads them): an invalid one is refused, and a
// table is written with the block size set.
func TestReftableSettings(t *testing.T) {
	for _, bad := range []string{"blockSize = 32m", "blockSize = lots", "restartInterval = 70000", "geometricFactor = 256",
		"indexObjects = maybe", "lockTimeout = -2", "lockTimeout = soon"} {
		dir := newEmptyRepo(t, t.TempDir())
		writeFiles(t, dir, map[string]string{"config": readFile(t, dir+"/config") + "[reftable]\n\t" + bad + "\n"})
		if _, err := OpenStorage(dir, Options{}); err == nil {
			t.Errorf("reftable.%s accepted", bad)
		}
	}
	dir := newEmptyRepo(t, t.TempDir())
	writeFiles(t, dir, map[string]string{"config": readFile(t, dir+"/config") +
		"[reftable]\n\tblockSize = 1k\n\trestartInterval = 4\n\tindexObjects = false\n\tgeometricFactor = 3\n\tlockTimeout = 0\n"})
	st, err := OpenStorage(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range 40 {
		setRef(t, st, hashRef("refs/heads/branch-with-a-long-name-"+string(rune('a'+i%26))+string(rune('a'+i/26)), makeCommit(t, st, "x")))
	}
	if err := st.PackRefs(); err != nil {
		t.Fatal(err)
	}
	// The table's header: "REFT", the version, the block size in 3 bytes.
	list := strings.Fields(readFile(t, filepath.Join(dir, "reftable", "tables.list")))
	if len(list) != 1 {
		t.Fatalf("tables after PackRefs: %q", list)
	}
	h := readFile(t, filepath.Join(dir, "reftable", list[0]))
	if bs := int(h[5])<<16 | int(h[6])<<8 | int(h[7]); h[:4] != "REFT" || bs != 1024 {
		t.Errorf("table header %q: block size %d, want 1024 (reftable.blockSize)", h[:8], bs)
	}
}
