package repo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

// TestParseWriteSettings reads each reftable.* setting as git 2.55 does:
// the values git accepts (its units, C's 0x and 0 prefixes, leading
// space, a sign) and those it dies on.
func TestParseWriteSettings(t *testing.T) {
	for _, tt := range []struct {
		key, val string
		want     Config // its reftable.* settings, when no error
		bad      bool
	}{
		{"blocksize", "256", Config{BlockSize: 256}, false},
		{"blocksize", "8k", Config{BlockSize: 8192}, false},
		{"blocksize", "1K", Config{BlockSize: 1024}, false},
		{"blocksize", "0x200", Config{BlockSize: 512}, false},
		{"blocksize", "0X400", Config{BlockSize: 1024}, false},
		{"blocksize", "01000", Config{BlockSize: 512}, false},
		{"blocksize", " 512", Config{BlockSize: 512}, false},
		{"blocksize", "+512", Config{BlockSize: 512}, false},
		{"blocksize", "0", Config{}, false},
		{"blocksize", "16777215", Config{BlockSize: 16777215}, false},
		{"blocksize", "16m", Config{}, true}, // 16777216
		{"blocksize", "99999999", Config{}, true},
		{"blocksize", "-5", Config{}, true},
		{"blocksize", "abc", Config{}, true},
		{"blocksize", "08", Config{}, true},
		{"blocksize", "1_000", Config{}, true},
		{"blocksize", "4 k", Config{}, true},
		{"blocksize", "", Config{}, true},
		{"blocksize", "99999999999999999999", Config{}, true},
		{"blocksize", "17179869184g", Config{}, true}, // 2^64
		{"restartinterval", "1", Config{RestartInterval: 1}, false},
		{"restartinterval", "65535", Config{RestartInterval: 65535}, false},
		{"restartinterval", "64k", Config{}, true}, // 65536
		{"restartinterval", "70000", Config{}, true},
		{"indexobjects", "false", Config{SkipIndexObjects: true}, false},
		{"indexobjects", "No", Config{SkipIndexObjects: true}, false},
		{"indexobjects", "off", Config{SkipIndexObjects: true}, false},
		{"indexobjects", "", Config{SkipIndexObjects: true}, false},
		{"indexobjects", "0", Config{SkipIndexObjects: true}, false},
		{"indexobjects", "true", Config{}, false},
		{"indexobjects", "YES", Config{}, false},
		{"indexobjects", "2", Config{}, false},
		{"indexobjects", "1k", Config{}, false},
		{"indexobjects", "maybe", Config{}, true},
		{"geometricfactor", "3", Config{GeometricFactor: 3}, false},
		{"geometricfactor", "0", Config{}, false},
		{"geometricfactor", "255", Config{GeometricFactor: 255}, false},
		{"geometricfactor", "256", Config{}, true},
		{"locktimeout", "250", Config{LockTimeout: 250 * time.Millisecond}, false},
		{"locktimeout", "1k", Config{LockTimeout: 1024 * time.Millisecond}, false},
		{"locktimeout", "0", Config{LockTimeout: stack.NoWait}, false},
		{"locktimeout", "-1", Config{LockTimeout: -1}, false},
		{"locktimeout", "9223372036854775807", Config{LockTimeout: -1}, false},
		{"locktimeout", "-2", Config{}, true},
		{"locktimeout", "99999999999999999999", Config{}, true},
		{"locktimeout", "1s", Config{}, true},
	} {
		m := map[string]string{"reftable." + tt.key: tt.val}
		got, err := parseConfig(m, true)
		tt.want.ObjectFormat, tt.want.RefStorage = reftable.SHA1, "files"
		switch {
		case tt.bad && !errors.Is(err, ErrConfig):
			t.Errorf("reftable.%s = %q: got %+v, %v; want an error matching ErrConfig", tt.key, tt.val, got, err)
		case !tt.bad && err != nil:
			t.Errorf("reftable.%s = %q: %v", tt.key, tt.val, err)
		case !tt.bad && got != tt.want:
			t.Errorf("reftable.%s = %q: got %+v, want %+v", tt.key, tt.val, got, tt.want)
		}
		// Opened only to read, the settings are ignored.
		if lenient, err := parseConfig(m, false); err != nil || lenient != (Config{ObjectFormat: reftable.SHA1, RefStorage: "files"}) {
			t.Errorf("reftable.%s = %q read leniently: %+v, %v", tt.key, tt.val, lenient, err)
		}
	}
}

// TestParseCoreSettings reads what the core and extensions settings say
// about refs, as git does.
func TestParseCoreSettings(t *testing.T) {
	def := Config{ObjectFormat: reftable.SHA1, RefStorage: "files"}
	with := func(f func(*Config)) Config {
		c := def
		f(&c)
		return c
	}
	for _, tt := range []struct {
		name string
		m    map[string]string
		want Config
		bad  bool
	}{
		{"defaults", nil, def, false},
		{"sha256", map[string]string{"extensions.objectformat": "SHA256"}, with(func(c *Config) { c.ObjectFormat = reftable.SHA256 }), false},
		{"bad format", map[string]string{"extensions.objectformat": "md5"}, def, true},
		{"reftable", map[string]string{"extensions.refstorage": "Reftable"}, with(func(c *Config) { c.RefStorage = "reftable" }), false},
		{"bare", map[string]string{"core.bare": "true"}, with(func(c *Config) { c.Bare, c.LogAllRefUpdates = true, stack.ReflogExisting }), false},
		{"bare logging", map[string]string{"core.bare": "yes", "core.logallrefupdates": "true"}, with(func(c *Config) { c.Bare = true }), false},
		{"not bare", map[string]string{"core.bare": "false"}, def, false},
		{"always", map[string]string{"core.logallrefupdates": "Always"}, with(func(c *Config) { c.LogAllRefUpdates = stack.ReflogAlways }), false},
		{"never created", map[string]string{"core.logallrefupdates": "off"}, with(func(c *Config) { c.LogAllRefUpdates = stack.ReflogExisting }), false},
		{"numeric false", map[string]string{"core.logallrefupdates": "0"}, with(func(c *Config) { c.LogAllRefUpdates = stack.ReflogExisting }), false},
		{"fsync reference", map[string]string{"core.fsync": "reference"}, def, false},
		{"fsync committed", map[string]string{"core.fsync": "pack, committed"}, def, false},
		{"fsync prefix", map[string]string{"core.fsync": "ref"}, def, false},
		{"fsync all", map[string]string{"core.fsync": "all"}, def, false},
		{"fsync objects only", map[string]string{"core.fsync": "objects,derived-metadata"}, with(func(c *Config) { c.NoSync = true }), false},
		{"fsync none", map[string]string{"core.fsync": "none"}, with(func(c *Config) { c.NoSync = true }), false},
		{"fsync removed", map[string]string{"core.fsync": "all,-reference"}, def, false}, // as git: what is added wins
		{"fsync unknown", map[string]string{"core.fsync": "bogus"}, with(func(c *Config) { c.NoSync = true }), false},
	} {
		got, err := parseConfig(tt.m, true)
		if (err != nil) != tt.bad {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !tt.bad && got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// TestReadConfig reads a config file as git writes one: sections,
// subsections skipped, comments, quotes, keys without a value; a missing
// file is git's defaults; an invalid setting names the file.
func TestReadConfig(t *testing.T) {
	dir := t.TempDir()
	if c, err := ReadConfig(dir); err != nil || c != (Config{ObjectFormat: reftable.SHA1, RefStorage: "files"}) {
		t.Errorf("without a config file: %+v, %v", c, err)
	}
	cfg := `# a comment
[core]
	repositoryformatversion = 1
	bare
	logAllRefUpdates = "always" ; a comment
[remote "origin"]
	blockSize = 99
[extensions]
	objectFormat = sha256
	refStorage = reftable
[reftable]
	blockSize = 8k
	lockTimeout = 0
`
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o666); err != nil {
		t.Fatal(err)
	}
	c, err := ReadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{ObjectFormat: reftable.SHA256, RefStorage: "reftable", Bare: true, LogAllRefUpdates: stack.ReflogAlways,
		BlockSize: 8192, LockTimeout: stack.NoWait}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("ReadConfig (-want +got):\n%s", diff)
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte("[reftable]\n\tgeometricFactor = 256\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	_, err = ReadConfig(dir)
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), filepath.Join(dir, "config")) || !strings.Contains(err.Error(), "reftable.geometricFactor") {
		t.Errorf("invalid setting: %v, want ErrConfig naming the file and the setting", err)
	}
}

// TestConfigOptions: the config fills in the stack options a caller
// leaves zero, and a caller's own win.
func TestConfigOptions(t *testing.T) {
	c := Config{ObjectFormat: reftable.SHA256, NoSync: true, BlockSize: 1024, RestartInterval: 3, SkipIndexObjects: true,
		GeometricFactor: 4, LockTimeout: time.Second}
	got := c.Options(stack.Options{DisableAutoCompaction: true})
	if !got.DisableAutoCompaction || got.Hash != reftable.SHA256 || !got.NoSync || got.CompactionFactor != 4 || got.LockTimeout != time.Second ||
		got.Write != (reftable.WriterOptions{BlockSize: 1024, RestartInterval: 3, SkipIndexObjects: true}) {
		t.Errorf("Options = %+v", got)
	}
	own := c.Options(stack.Options{LockTimeout: stack.NoWait, CompactionFactor: 3, Write: reftable.WriterOptions{BlockSize: 512}})
	if own.LockTimeout != stack.NoWait || own.CompactionFactor != 3 || own.Write.BlockSize != 512 || own.Write.RestartInterval != 3 {
		t.Errorf("a caller's options lost to the config's: %+v", own)
	}
}
