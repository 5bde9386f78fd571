package repo

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/vfs"
)

// Committer returns who git records in reflogs as making a change now,
// as git finds its committer: the name from GIT_COMMITTER_NAME, else
// committer.name, else user.name, else the account's full name; the
// email from GIT_COMMITTER_EMAIL, else committer.email, else
// user.email, else $EMAIL, else the account's login name at the mail
// host (see defaultIdentity); the time from GIT_COMMITTER_DATE (unix
// seconds with a zone, "@1700000000 +0200", RFC 2822 or ISO 8601), else
// now. The zero Config gives the environment's identity alone.
func (c Config) Committer(now time.Time) (stack.Identity, error) {
	who := stack.Identity{
		Name:  cmp.Or(os.Getenv("GIT_COMMITTER_NAME"), c.CommitterName, c.UserName),
		Email: cmp.Or(os.Getenv("GIT_COMMITTER_EMAIL"), c.CommitterEmail, c.UserEmail, os.Getenv("EMAIL")),
		Time:  now,
	}
	if who.Name == "" || who.Email == "" {
		name, email := defaultIdentity()
		who.Name, who.Email = cmp.Or(who.Name, name), cmp.Or(who.Email, email)
	}
	if d := os.Getenv("GIT_COMMITTER_DATE"); d != "" {
		tm, err := parseDate(d)
		if err != nil {
			return who, fmt.Errorf("GIT_COMMITTER_DATE: %w", err)
		}
		who.Time = tm
	}
	return who, nil
}

// parseDate parses the date formats GIT_COMMITTER_DATE takes most often:
// git's internal "[@]<unix seconds> [<+hhmm>]", RFC 2822 and ISO 8601.
func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	secs, zone, hasZone := strings.Cut(strings.TrimPrefix(s, "@"), " ")
	if n, err := strconv.ParseInt(secs, 10, 64); err == nil {
		loc := time.UTC
		if hasZone {
			if loc = parseZone(zone); loc == nil {
				return time.Time{}, fmt.Errorf("bad time zone %q in %q", zone, s)
			}
		}
		return time.Unix(n, 0).In(loc), nil
	}
	for _, layout := range []string{time.RFC1123Z, "Mon, 2 Jan 2006 15:04:05 -0700", time.RFC3339, "2006-01-02 15:04:05 -0700", "2006-01-02T15:04:05 -0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("cannot parse date " + strconv.Quote(s))
}

// parseZone parses a zone as git writes it, +hhmm or -hhmm; nil if it is
// not one.
func parseZone(z string) *time.Location {
	if len(z) != 5 || z[0] != '+' && z[0] != '-' {
		return nil
	}
	n, err := strconv.Atoi(z[1:])
	if err != nil {
		return nil
	}
	secs := (n/100*60 + n%100) * 60
	if z[0] == '-' {
		secs = -secs
	}
	return time.FixedZone("", secs)
}

// The files defaultIdentity reads, and how it learns the host's name;
// variables for tests.
var (
	passwdFile   = "/etc/passwd"
	mailnameFile = "/etc/mailname"
	hostsFile    = "/etc/hosts"
	hostname     = os.Hostname
)

// defaultIdentity returns the name and email git makes up when nothing
// configures them, as git's ident.c does on a Unix system: the account
// of the process's user id, its full name the GECOS field up to the first
// comma ("&" the capitalized login name), else the login name; the email
// login@mailhost, mailhost the first line of /etc/mailname, else the host
// name if it has a dot, else its canonical name if that has one, else
// the host name followed by ".(none)".
//
// git asks the system's account database and resolver; this reads
// /etc/passwd and /etc/hosts, as package os/user and net do without cgo
// (which would make every program of this module load the C library, at
// a cost greater than a commit's own work). So an account known only to
// a directory service (LDAP) is taken from $USER or $LOGNAME, and a
// canonical name only DNS knows is not found. Without an account git's
// is "unknown" and the name "Unknown".
func defaultIdentity() (name, email string) {
	login, gecos := account()
	name = login
	if gecos != "" {
		var b strings.Builder
		for _, c := range []byte(gecos) {
			if c == ',' {
				break
			}
			if c == '&' && login != "" {
				b.WriteString(strings.ToUpper(login[:1]) + login[1:])
				continue
			}
			b.WriteByte(c)
		}
		name = cmp.Or(strings.TrimSpace(b.String()), login)
	}
	return name, login + "@" + mailHost()
}

// account returns the login name and GECOS field of the process's user
// id in /etc/passwd; else $USER or $LOGNAME (where an account database
// other than the file knows the user, or on Windows, which has no user
// ids), with no GECOS; else git's stand-in for a missing account.
func account() (login, gecos string) {
	if uid := os.Getuid(); uid >= 0 {
		if data, err := vfs.ReadFile(vfs.OS, passwdFile); err == nil {
			want := strconv.Itoa(uid)
			for line := range strings.Lines(string(data)) {
				f := strings.Split(strings.TrimRight(line, "\r\n"), ":")
				if len(f) >= 5 && f[2] == want && f[0] != "" {
					return f[0], f[4]
				}
			}
		}
	}
	if login := cmp.Or(os.Getenv("USER"), os.Getenv("LOGNAME"), os.Getenv("USERNAME")); login != "" {
		return login, ""
	}
	return "unknown", "Unknown"
}

// mailHost returns the host part of git's made-up email (see
// defaultIdentity).
func mailHost() string {
	if data, err := vfs.ReadFile(vfs.OS, mailnameFile); err == nil {
		if line, _, _ := strings.Cut(string(data), "\n"); line != "" {
			return strings.TrimSuffix(line, "\r")
		}
	}
	host, err := hostname()
	if err != nil || host == "" {
		return "(none)"
	}
	if strings.Contains(host, ".") {
		return host
	}
	if data, err := vfs.ReadFile(vfs.OS, hostsFile); err == nil {
		for line := range strings.Lines(string(data)) {
			line, _, _ = strings.Cut(line, "#")
			f := strings.Fields(line)
			if len(f) >= 2 && slices.ContainsFunc(f[1:], func(n string) bool { return strings.EqualFold(n, host) }) {
				if strings.Contains(f[1], ".") {
					return f[1]
				}
				break
			}
		}
	}
	return host + ".(none)"
}
