package gogit

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/config"
	formatcfg "github.com/go-git/go-git/v5/plumbing/format/config"
)

// hiddenExtensions are the extensions go-git v5 refuses as unknown
// (ErrUnknownExtension) although this storage honours them: refStorage,
// which it implements, and objectFormat, which a build of go-git for that
// format handles (Open checks that it is the one).
var hiddenExtensions = []string{"refstorage", "objectformat"}

// Config returns the repository's config as go-git's filesystem storage
// reads it, without extensions.refStorage and extensions.objectFormat:
// go-git would refuse to open the repository for them. The object format
// is still in Extensions.ObjectFormat.
func (s *Storage) Config() (*config.Config, error) {
	cfg, err := s.Storage.Config()
	if err != nil {
		return nil, err
	}
	if cfg.Raw.HasSection("extensions") {
		ext := cfg.Raw.Section("extensions")
		if v := ext.Option("objectformat"); v != "" {
			cfg.Extensions.ObjectFormat = formatcfg.ObjectFormat(strings.ToLower(v))
		}
		for _, k := range hiddenExtensions {
			ext.RemoveOption(k)
		}
	}
	return cfg, nil
}

// SetConfig writes cfg as go-git's filesystem storage would, with three
// differences that keep the repository git's: the extensions Config hid
// are written back as the config file has them (go-git would drop
// refStorage and write an empty objectFormat), core.repositoryFormatVersion
// stays at least 1 while there are extensions, and the file is replaced
// atomically under config.lock, as git writes it, instead of truncated
// and rewritten in place.
func (s *Storage) SetConfig(cfg *config.Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	// Marshal brings the fields into cfg.Raw; the bytes it returns are
	// made again below, from cfg.Raw with the extensions restored.
	if _, err := cfg.Marshal(); err != nil {
		return err
	}
	path := filepath.Join(s.info.commonDir, "config")
	disk, err := readConfigFile(path)
	if err != nil {
		return err
	}
	ext := cfg.Raw.Section("extensions")
	for _, k := range hiddenExtensions {
		ext.RemoveOption(k)
	}
	if disk.HasSection("extensions") {
		for _, o := range disk.Section("extensions").Options {
			if isHidden(o.Key) {
				ext.AddOption(o.Key, o.Value)
			}
		}
	}
	if len(ext.Options) == 0 {
		cfg.Raw.RemoveSection("extensions")
	} else if v := cfg.Raw.Section("core").Option("repositoryformatversion"); v == "" || v == "0" {
		cfg.Raw.Section("core").SetOption("repositoryformatversion", "1")
	}
	var buf bytes.Buffer
	err = formatcfg.NewEncoder(&buf).Encode(cfg.Raw)
	// The caller's config stays as Config returned it.
	if cfg.Raw.HasSection("extensions") {
		for _, k := range hiddenExtensions {
			cfg.Raw.Section("extensions").RemoveOption(k)
		}
	}
	if err != nil {
		return err
	}
	return writeLocked(path, buf.Bytes())
}

func isHidden(key string) bool {
	for _, k := range hiddenExtensions {
		if strings.EqualFold(key, k) {
			return true
		}
	}
	return false
}

// errConfigLocked reports a config file another process is writing.
var errConfigLocked = errors.New("config file is locked")

// writeLocked replaces the file at path by data as git does: it creates
// path.lock exclusively (failing if another writer holds it), writes and
// syncs it, and renames it over path. The file keeps its mode.
func writeLocked(path string, data []byte) (err error) {
	perm := fs.FileMode(0o666)
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
	}
	lock := path + ".lock"
	f, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s: %w (another process is writing it)", lock, errConfigLocked)
	} else if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(lock)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(lock, path)
}

// readConfigFile reads a git config file as go-git parses it; a missing
// one is empty.
func readConfigFile(path string) (*formatcfg.Config, error) {
	cfg := formatcfg.New()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := formatcfg.NewDecoder(f).Decode(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}
