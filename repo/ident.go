package repo

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/refstore/refstore/stack"
)

// Committer returns who git records in reflogs as making a change now,
// as git finds its committer: the name from GIT_COMMITTER_NAME, else
// committer.name, else user.name, else the login name ($USER, $LOGNAME;
// git takes the account's full name); the email from
// GIT_COMMITTER_EMAIL, else committer.email, else user.email, else
// $EMAIL, else login@hostname; the time from GIT_COMMITTER_DATE (unix
// seconds with a zone, "@1700000000 +0200", RFC 2822 or ISO 8601), else
// now. The zero Config gives the environment's identity alone.
func (c Config) Committer(now time.Time) (stack.Identity, error) {
	who := stack.Identity{
		Name:  cmp.Or(os.Getenv("GIT_COMMITTER_NAME"), c.CommitterName, c.UserName),
		Email: cmp.Or(os.Getenv("GIT_COMMITTER_EMAIL"), c.CommitterEmail, c.UserEmail, os.Getenv("EMAIL")),
		Time:  now,
	}
	if who.Name == "" || who.Email == "" {
		// git asks the system's account database; package os/user would
		// link libc into every program of this module under cgo, and
		// loading it costs each process more than a commit's own work.
		login := cmp.Or(os.Getenv("USER"), os.Getenv("LOGNAME"), "unknown")
		host, _ := os.Hostname()
		who.Name = cmp.Or(who.Name, login)
		who.Email = cmp.Or(who.Email, login+"@"+cmp.Or(host, "(none)"))
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
