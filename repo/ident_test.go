package repo

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/refstore/refstore/internal/testutil/gittest"
)

// TestCommitter finds the committer as git does: the environment first,
// then committer.*, then user.*, then $EMAIL, then the account and the
// host; GIT_COMMITTER_DATE, else now.
func TestCommitter(t *testing.T) {
	now := time.Unix(1700000000, 0)
	fakeSystem(t, "someone:x:"+strconv.Itoa(os.Getuid())+":0:Some One,,,:/home/someone:/bin/sh\n", "", "127.0.0.1 localhost\n", "box")
	name, login, host := "Some One", "someone", "box.(none)"
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
		{"account and host", Config{}, nil, name, login + "@" + host, now},
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
			t.Setenv("USER", "else") // git does not look at it
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

// fakeSystem makes defaultIdentity read passwd, mailname (none if "")
// and hosts, and take host as the host name, until the test ends.
func fakeSystem(t *testing.T, passwd, mailname, hosts, host string) {
	dir := t.TempDir()
	files := map[*string]string{&passwdFile: passwd, &mailnameFile: mailname, &hostsFile: hosts}
	for v, content := range files {
		old := *v
		*v = filepath.Join(dir, filepath.Base(old))
		t.Cleanup(func() { *v = old })
		if content != "" {
			writeFile(t, *v, content)
		}
	}
	old := hostname
	hostname = func() (string, error) { return host, nil }
	t.Cleanup(func() { hostname = old })
}

// TestDefaultIdentity makes up a name and email as git does when nothing
// configures them: the account's full name from its GECOS field (to the
// first comma, "&" the capitalized login), else its login; the login at
// /etc/mailname's host, else at the host name if it has a dot, else at
// its canonical name in /etc/hosts if that has one, else at the host
// name and ".(none)"; $USER without an account in /etc/passwd.
func TestDefaultIdentity(t *testing.T) {
	uid := strconv.Itoa(os.Getuid())
	other := "nobody:x:65534:65534:Nobody Else:/:/bin/false\n"
	for _, tc := range []struct {
		name                          string
		passwd, mailname, hosts, host string
		user                          string // $USER, "" unset
		wantName, wantEmail           string
	}{
		{"gecos", other + "ann:x:" + uid + ":0:Ann Example,Room 1,555:/home/ann:/bin/sh\n", "", "", "box", "ann", "Ann Example", "ann@box.(none)"},
		{"ampersand", "mcd:x:" + uid + ":0:Mr. &:/:/bin/sh\n", "", "", "box", "", "Mr. Mcd", "mcd@box.(none)"},
		{"no gecos", "ann:x:" + uid + ":0::/:/bin/sh\n", "", "", "box", "", "ann", "ann@box.(none)"},
		{"mailname", "ann:x:" + uid + ":0:Ann:/:/bin/sh\n", "mail.example.com\nignored\n", "", "box", "", "Ann", "ann@mail.example.com"},
		{"dotted host", "ann:x:" + uid + ":0:Ann:/:/bin/sh\n", "", "", "box.example.org", "", "Ann", "ann@box.example.org"},
		{"canonical name", "ann:x:" + uid + ":0:Ann:/:/bin/sh\n", "", "# hosts\n127.0.0.1 localhost\n10.0.0.2 box.example.net box # here\n", "box", "", "Ann", "ann@box.example.net"},
		{"canonical name without a dot", "ann:x:" + uid + ":0:Ann:/:/bin/sh\n", "", "10.0.0.2 box box.example.net\n", "box", "", "Ann", "ann@box.(none)"},
		{"no account", other, "", "", "box", "carol", "carol", "carol@box.(none)"},
		{"nothing", other, "", "", "box", "", "Unknown", "unknown@box.(none)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fakeSystem(t, tc.passwd, tc.mailname, tc.hosts, tc.host)
			for _, k := range []string{"USER", "LOGNAME", "USERNAME"} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			if tc.user != "" {
				t.Setenv("USER", tc.user)
			}
			if name, email := defaultIdentity(); name != tc.wantName || email != tc.wantEmail {
				t.Errorf("%q <%s>, want %q <%s>", name, email, tc.wantName, tc.wantEmail)
			}
		})
	}
}

// TestDefaultIdentityAsGit: where nothing configures an identity, the
// committer is the one git writes into a reflog on this machine, whatever
// $USER says.
func TestDefaultIdentityAsGit(t *testing.T) {
	r := gittest.Init(t, "sha1")
	var env []string
	for _, kv := range r.Env {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(k, "GIT_COMMITTER_") && !strings.HasPrefix(k, "GIT_AUTHOR_") && k != "EMAIL" {
			env = append(env, kv)
		}
	}
	r.Env = append(env, "USER=else", "LOGNAME=else")
	for _, k := range []string{"GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("USER", "else")
	r.Run("-c", "user.name=I", "-c", "user.email=i@example.com", "commit", "-q", "--allow-empty", "-m", "first")
	r.Run("update-ref", "refs/heads/made-up", "HEAD")
	want := strings.TrimSpace(r.Run("reflog", "show", "--format=%gn <%ge>", "refs/heads/made-up"))
	c, err := ReadConfig(filepath.Join(r.Dir, ".git"))
	if err != nil {
		t.Fatal(err)
	}
	who, err := c.Committer(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := who.Name + " <" + who.Email + ">"; got != want {
		t.Errorf("made-up identity %s, git wrote %s", got, want)
	}
}
