package main

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strings"
	"time"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

// The reftable.* settings of a repository's config shape what git writes
// into its stack, and the commands that write (update and the
// auto-compaction after it, compact, import) honour them as git does:
//
//	reftable.blockSize        block size in bytes; 0 or unset: 4096; at
//	                          most 16777215
//	reftable.restartInterval  records between restart points; 0 or
//	                          unset: 16; at most 65535
//	reftable.indexObjects     whether to write the object index; unset:
//	                          true
//	reftable.geometricFactor  the factor of auto-compaction; 0 or unset:
//	                          2; at most 255
//	reftable.lockTimeout      milliseconds to wait for tables.list.lock;
//	                          unset: 100; 0: try once; -1: wait forever
//
// Numbers are read as git reads them: decimal, 0x hexadecimal or 0 octal,
// with an optional unit suffix k, m or g (times 1024, 1024², 1024³);
// booleans as true/yes/on, false/no/off, empty (false) or a number. git
// refuses to run on an invalid value (a number that does not parse, one
// out of range, a negative lock timeout other than -1), and so do the
// commands that write; the commands that only read ignore these settings.
//
// Only the repository's own config file is read (the common directory's
// "config", without its includes), not the system or global config, a
// worktree's config.worktree or "git -c": the settings belong to the
// repository's stack, and git's tests and users set them there.

// writeSettings are the parsed reftable.* settings; zero values mean
// unset (git's defaults).
type writeSettings struct {
	blockSize, restartInterval int
	skipIndexObjects           bool
	geometricFactor            int
	// lockTimeout is as stack.Options.LockTimeout takes it: 0 unset,
	// stack.NoWait for git's 0, negative for -1.
	lockTimeout time.Duration
}

// errConfig reports an invalid reftable.* setting.
var errConfig = errors.New("invalid reftable setting")

// parseWriteSettings parses the reftable.* settings of cfg, as readConfig
// returns it (keys lowercased).
func parseWriteSettings(cfg map[string]string) (writeSettings, error) {
	var s writeSettings
	if v, ok := cfg["reftable.blocksize"]; ok {
		n, err := gitUnsigned(v, math.MaxUint64)
		if err == nil && n > reftable.MaxBlockSize {
			err = fmt.Errorf("cannot exceed %d (16MB)", reftable.MaxBlockSize)
		}
		if err != nil {
			return s, settingError("blockSize", v, err)
		}
		s.blockSize = int(n)
	}
	if v, ok := cfg["reftable.restartinterval"]; ok {
		n, err := gitUnsigned(v, math.MaxUint64)
		if err == nil && n > math.MaxUint16 {
			err = fmt.Errorf("cannot exceed %d", math.MaxUint16)
		}
		if err != nil {
			return s, settingError("restartInterval", v, err)
		}
		s.restartInterval = int(n)
	}
	if v, ok := cfg["reftable.indexobjects"]; ok {
		b, err := gitBool(v)
		if err != nil {
			return s, settingError("indexObjects", v, err)
		}
		s.skipIndexObjects = !b
	}
	if v, ok := cfg["reftable.geometricfactor"]; ok {
		n, err := gitUnsigned(v, math.MaxUint64)
		if err == nil && n > math.MaxUint8 {
			err = fmt.Errorf("cannot exceed %d", math.MaxUint8)
		}
		if err != nil {
			return s, settingError("geometricFactor", v, err)
		}
		s.geometricFactor = int(n)
	}
	if v, ok := cfg["reftable.locktimeout"]; ok {
		ms, err := gitSigned(v, math.MaxInt64)
		if err == nil && ms < -1 {
			err = errors.New("no negative value other than -1 (wait forever)")
		}
		if err != nil {
			return s, settingError("lockTimeout", v, err)
		}
		switch {
		case ms == 0:
			s.lockTimeout = stack.NoWait
		case ms < 0 || ms > int64(math.MaxInt64/time.Millisecond):
			s.lockTimeout = -1 // forever, or longer than a Duration holds
		default:
			s.lockTimeout = time.Duration(ms) * time.Millisecond
		}
	}
	return s, nil
}

func settingError(key, v string, err error) error {
	return fmt.Errorf("reftable.%s = %q: %w: %w", key, v, errConfig, err)
}

// apply sets the options s configures; unset settings leave git's
// defaults.
func (s writeSettings) apply(opts *stack.Options) {
	opts.Write.BlockSize = s.blockSize
	opts.Write.RestartInterval = s.restartInterval
	opts.Write.SkipIndexObjects = s.skipIndexObjects
	opts.CompactionFactor = s.geometricFactor
	if s.lockTimeout != 0 {
		opts.LockTimeout = s.lockTimeout
	}
}

// writeOptions returns opts with the repository's reftable.* settings
// applied (none for a stack outside a repository), and then the
// -lock-timeout flag if it was given: flags override the config.
func (t *target) writeOptions(opts stack.Options, lock lockTimeoutFlag) (stack.Options, error) {
	s, err := parseWriteSettings(t.Config)
	if err != nil {
		return opts, fmt.Errorf("%s: %w", t.ConfigPath, err)
	}
	s.apply(&opts)
	if lock.set {
		opts.LockTimeout = lock.d
	}
	return opts, nil
}

// lockTimeoutFlag is the -lock-timeout flag of the commands that write: a
// duration that remembers whether it was given.
type lockTimeoutFlag struct {
	d   time.Duration
	set bool
}

func (f *lockTimeoutFlag) String() string { return f.d.String() }

func (f *lockTimeoutFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("not a duration such as 500ms or 2s")
	}
	f.d, f.set = d, true
	return nil
}

// lockTimeoutUsage is the help of -lock-timeout.
const lockTimeoutUsage = "wait at most `duration` for tables.list.lock, instead of reftable.lockTimeout (0: 100ms as git, negative: forever)"

// gitUnsigned parses v as git_parse_unsigned does: no '-' anywhere, then a
// number that is at most max once multiplied by its unit.
func gitUnsigned(v string, max uint64) (uint64, error) {
	if strings.Contains(v, "-") {
		return 0, errors.New("not a number of at least 0")
	}
	_, n, err := gitNumber(v)
	if err != nil {
		return 0, err
	}
	if n > max {
		return 0, errors.New("out of range")
	}
	return n, nil
}

// gitSigned parses v as git_parse_signed does: a number whose magnitude,
// multiplied by its unit, is at most max.
func gitSigned(v string, max int64) (int64, error) {
	neg, n, err := gitNumber(v)
	if err != nil {
		return 0, err
	}
	if n > uint64(max) {
		return 0, errors.New("out of range")
	}
	if neg {
		return -int64(n), nil
	}
	return int64(n), nil
}

// gitNumber parses a number as C's strtoimax with base 0 followed by
// git's unit suffix: leading white space, a sign, then 0x and hex digits,
// 0 and octal digits, or decimal digits, and right after them nothing or
// one of k, m, g (either case). It returns the sign and the magnitude
// multiplied by the unit.
func gitNumber(v string) (neg bool, n uint64, err error) {
	s := strings.TrimLeft(v, " \t\n\v\f\r")
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	base := uint64(10)
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && digitValue(s[2]) < 16:
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base = 8
	}
	i := 0
	for ; i < len(s) && digitValue(s[i]) < base; i++ {
		hi, lo := bits.Mul64(n, base)
		lo, carry := bits.Add64(lo, digitValue(s[i]), 0)
		if hi != 0 || carry != 0 {
			return false, 0, errors.New("out of range")
		}
		n = lo
	}
	if i == 0 {
		return false, 0, errors.New("not a number")
	}
	var unit uint64
	switch strings.ToLower(s[i:]) {
	case "":
		unit = 1
	case "k":
		unit = 1 << 10
	case "m":
		unit = 1 << 20
	case "g":
		unit = 1 << 30
	default:
		return false, 0, fmt.Errorf("invalid unit %q (want k, m or g)", s[i:])
	}
	hi, lo := bits.Mul64(n, unit)
	if hi != 0 {
		return false, 0, errors.New("out of range")
	}
	return neg, lo, nil
}

// digitValue is the value of the digit c in bases up to 16, or 16.
func digitValue(c byte) uint64 {
	switch {
	case c >= '0' && c <= '9':
		return uint64(c - '0')
	case c >= 'a' && c <= 'f':
		return uint64(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return uint64(c-'A') + 10
	}
	return 16
}

// gitBool parses v as git_config_bool does: true, yes, on; false, no,
// off and the empty value; otherwise a number, true unless 0.
func gitBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "yes", "on":
		return true, nil
	case "false", "no", "off", "":
		return false, nil
	}
	n, err := gitSigned(v, math.MaxInt32)
	if err != nil {
		return false, errors.New("not a boolean")
	}
	return n != 0, nil
}
