package repo

import (
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
// committer.name, else user.name, else the login name ($USER); the email
// from GIT_COMMITTER_EMAIL, else committer.email, else user.email, else
// $EMAIL, else login@hostname; the time from GIT_COMMITTER_DATE (unix
// seconds with a zone, "@1700000000 +0200", RFC 3339 or RFC 2822), else
// now. The zero Config gives the environment's identity alone.
func (c Config) Committer(now time.Time) (stack.Identity, error) {
	login := firstNonEmpty(os.Getenv("USER"), "reftable")
	who := stack.Identity{
		Name:  firstNonEmpty(os.Getenv("GIT_COMMITTER_NAME"), c.CommitterName, c.UserName, login),
		Email: firstNonEmpty(os.Getenv("GIT_COMMITTER_EMAIL"), c.CommitterEmail, c.UserEmail, os.Getenv("EMAIL")),
		Time:  now,
	}
	if who.Email == "" {
		host, _ := os.Hostname()
		who.Email = login + "@" + firstNonEmpty(host, "localhost")
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

// firstNonEmpty returns the first of vs that is not empty, or "".
func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// parseDate parses the date formats of GIT_COMMITTER_DATE that matter
// here: git's internal "[@]<unix> [<+hhmm>]", RFC 3339 and RFC 2822.
func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	secs, zoneStr, _ := strings.Cut(strings.TrimPrefix(s, "@"), " ")
	if n, err := strconv.ParseInt(secs, 10, 64); err == nil {
		loc := time.UTC
		if zoneStr != "" {
			z, err := strconv.Atoi(zoneStr)
			if err != nil || len(zoneStr) != 5 || zoneStr[0] != '+' && zoneStr[0] != '-' {
				return time.Time{}, fmt.Errorf("bad time zone %q in %q", zoneStr, s)
			}
			off := (z/100*60 + z%100) * 60
			loc = time.FixedZone("", off)
		}
		return time.Unix(n, 0).In(loc), nil
	}
	for _, layout := range []string{time.RFC3339, time.RFC1123Z, "Mon, 2 Jan 2006 15:04:05 -0700", "2006-01-02 15:04:05 -0700"} {
		if tm, err := time.Parse(layout, s); err == nil {
			return tm, nil
		}
	}
	return time.Time{}, errors.New("cannot parse date " + strconv.Quote(s))
}
