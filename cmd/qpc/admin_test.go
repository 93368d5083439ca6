package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseExpiryTakesDaysAndGoDurations(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
	}{
		{"7d", 7 * 24 * time.Hour},
		{"1d", 24 * time.Hour},
		{"365d", 365 * 24 * time.Hour},
		{"12h", 12 * time.Hour},
		{"30m", 30 * time.Minute},
		{"1m", time.Minute},
	} {
		if got, err := parseExpiry(c.in); err != nil || got != c.want {
			t.Errorf("parseExpiry(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "d", "0d", "366d", "-1d", "7days", "59s", "9000h", "1.5d", "abc"} {
		if _, err := parseExpiry(bad); !errors.Is(err, errBadExpiry) {
			t.Errorf("parseExpiry(%q): %v, want errBadExpiry", bad, err)
		}
	}
}

func TestAdminCommandWordsAreUnambiguous(t *testing.T) {
	// "invite list" must be found before "invite", which takes flags.
	seen := map[string]int{}
	for i, c := range adminCommands() {
		for w, j := range seen {
			if strings.HasPrefix(c.words+" ", w+" ") && j < i {
				t.Errorf("%q comes after %q, which would take its words", c.words, w)
			}
		}
		seen[c.words] = i
	}
}

// FuzzAdminAnswers feeds whatever a node could answer on the admin socket
// to every command's rendering: a malformed answer is an error, never a
// panic, and whatever is printed went through termtext (no control
// characters from the node reach the terminal).
func FuzzAdminAnswers(f *testing.F) {
	for _, seed := range []string{
		`{"domain":"a.mesh","links":[{"domain":"b","address":"x","state":"up","since":1}],"nearby":[{"instance":"n"}]}`,
		`{"users":[{"name":"ann","devices":2,"last_seen":1}]}`,
		`{"code":"abcde-fghij","id":"01234567","uses":1,"expires":1}`,
		`{"invites":[{"id":"x","uses_left":1,"for":"ann"}]}`,
		`{"entries":[{"time":1,"action":"drain","target":"\u001b[2J"}]}`,
		`{"reports":[{"reporter":"a","note":"\u009b31m"}]}`,
		`{"routes":[{"domain":"d","via":"v","hops":2}],"store":{}}`,
		`{"reset":"ann","code":"c","expires":0}`,
		`[]`, `null`, `{`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, answer []byte) {
		for _, c := range adminCommands() {
			var out strings.Builder
			err := c.print(&out, answer, time.Unix(1765000000, 0))
			if err != nil && !errors.Is(err, errBadAdminAnswer) && c.method != "createInvite" {
				t.Fatalf("%s: %v, want errBadAdminAnswer", c.words, err)
			}
			for _, r := range out.String() {
				if r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r < 0xa0 {
					t.Fatalf("%s printed control character %U from the answer %q", c.words, r, answer)
				}
			}
		}
	})
}
