package repo

import (
	"os"
	"testing"
	"time"
)

// TestCommitter finds the committer as git does: the environment first,
// then committer.*, then user.*, then $EMAIL, then the login name and
// host; GIT_COMMITTER_DATE, else now.
func TestCommitter(t *testing.T) {
	now := time.Unix(1700000000, 0)
	host, _ := os.Hostname()
	if host == "" {
		host = "(none)"
	}
	login, name := "someone", "someone" // $USER, set below
	full := Config{CommitterName: "Com Mitter", CommitterEmail: "c@example.com", UserName: "U Ser", UserEmail: "u@example.com"}
	for _, tc := range []struct {
		name        string
		cfg         Config
		env         map[string]string
		name2, mail string
		when        time.Time
	}{
		{"environment first", full, map[string]string{"GIT_COMMITTER_NAME": "E Nv", "GIT_COMMITTER_EMAIL": "e@example.com"}, "E Nv", "e@example.com", now},
		{"committer.*", full, nil, "Com Mitter", "c@example.com", now},
		{"user.*", Config{UserName: "U Ser", UserEmail: "u@example.com"}, map[string]string{"EMAIL": "mail@example.com"}, "U Ser", "u@example.com", now},
		{"mixed", Config{CommitterName: "Com Mitter", UserEmail: "u@example.com"}, map[string]string{"GIT_COMMITTER_EMAIL": "e@example.com"}, "Com Mitter", "e@example.com", now},
		{"EMAIL", Config{}, map[string]string{"EMAIL": "mail@example.com"}, name, "mail@example.com", now},
		{"login and host", Config{}, nil, name, login + "@" + host, now},
		{"zone", full, map[string]string{"GIT_COMMITTER_DATE": "1700000000 -0730"}, "Com Mitter", "c@example.com", time.Unix(1700000000, 0)},
		{"RFC 2822", full, map[string]string{"GIT_COMMITTER_DATE": "Tue, 14 Nov 2023 23:13:20 +0100"}, "Com Mitter", "c@example.com", time.Unix(1700000000, 0)},
		{"ISO 8601", full, map[string]string{"GIT_COMMITTER_DATE": "2023-11-14T22:13:20Z"}, "Com Mitter", "c@example.com", time.Unix(1700000000, 0)},
		{"date", full, map[string]string{"GIT_COMMITTER_DATE": "@1600000000 +0200"}, "Com Mitter", "c@example.com", time.Unix(1600000000, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE", "EMAIL"} {
				t.Setenv(k, tc.env[k])
				if _, ok := tc.env[k]; !ok {
					os.Unsetenv(k)
				}
			}
			t.Setenv("USER", "someone")
			who, err := tc.cfg.Committer(now)
			if err != nil {
				t.Fatal(err)
			}
			if who.Name != tc.name2 || who.Email != tc.mail || !who.Time.Equal(tc.when) {
				t.Errorf("got %q <%s> at %v, want %q <%s> at %v", who.Name, who.Email, who.Time, tc.name2, tc.mail, tc.when)
			}
		})
	}
	t.Setenv("GIT_COMMITTER_DATE", "1700000000 -0730")
	if who, err := full.Committer(now); err != nil {
		t.Error(err)
	} else if _, off := who.Time.Zone(); off != -(7*3600 + 30*60) {
		t.Errorf("GIT_COMMITTER_DATE with zone -0730: offset %d s", off)
	}
	for _, bad := range []string{"yesterday-ish", "1700000000 0000"} {
		t.Setenv("GIT_COMMITTER_DATE", bad)
		if _, err := full.Committer(now); err == nil {
			t.Errorf("GIT_COMMITTER_DATE=%q: no error", bad)
		}
	}
}
