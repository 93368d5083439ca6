//go:build !router

package main

import (
	"encoding/json"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseFlagsTakesFlagsWhereverTheyStandAndStopsAtDoubleDash(t *testing.T) {
	for _, tt := range []struct {
		name  string
		args  []string
		to    string
		ttl   time.Duration
		words []string
	}{
		{"flags first", []string{"--to", "carol", "--ttl", "1h", "text"}, "carol", time.Hour, []string{"text"}},
		{"a flag after the text is a flag, not text", []string{"--to", "carol", "text first", "--ttl", "1h"}, "carol", time.Hour, []string{"text first"}},
		{"flags between words", []string{"a", "--to", "carol", "b"}, "carol", 0, []string{"a", "b"}},
		{"-- makes the rest text", []string{"--to", "carol", "--", "--ttl", "1h"}, "carol", 0, []string{"--ttl", "1h"}},
		{"-- after a word", []string{"--to", "carol", "x", "--", "-1 for that"}, "carol", 0, []string{"x", "-1 for that"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("qpc test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			to := fs.String("to", "", "")
			ttl := fs.Duration("ttl", 0, "")
			if err := parseFlags(fs, tt.args); err != nil {
				t.Fatal(err)
			}
			if *to != tt.to || *ttl != tt.ttl || strings.Join(fs.Args(), "|") != strings.Join(tt.words, "|") {
				t.Errorf("to %q ttl %s words %q; want %q %s %q", *to, *ttl, fs.Args(), tt.to, tt.ttl, tt.words)
			}
		})
	}
}

func TestAWrongFlagIsOneLineThatPointsAtHelp(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"send", "--to", "bob", "hi", "--colour"}, `qpc send: unknown flag --colour (for a text that starts with "-", put -- before it); see qpc send --help` + "\n"},
		{[]string{"recv", "--timeout"}, "qpc recv: --timeout needs a value; see qpc recv --help\n"},
		{[]string{"status", "--timeout", "soon"}, `qpc status: invalid value "soon" for flag --timeout: parse error; see qpc status --help` + "\n"},
		{[]string{"channel", "send", "kiez", "x", "--nope"}, `qpc channel send: unknown flag --nope (for a text that starts with "-", put -- before it); see qpc channel send --help` + "\n"},
	} {
		code, out, errOut := runQPC(tt.args...)
		if code != exitUsage || out != "" || errOut != tt.want {
			t.Errorf("qpc %q: exit %d, stdout %q, stderr %q; want %d and %q", tt.args, code, out, errOut, exitUsage, tt.want)
		}
	}
}

func TestHelpWritesFlagsAsPeopleTypeThem(t *testing.T) {
	for _, cmd := range [][]string{{"send"}, {"status"}, {"recv"}, {"channel", "send"}, {"device", "list"}} {
		code, _, errOut := runQPC(append(cmd, "--help")...)
		if code != exitOK || !strings.Contains(errOut, "\n  --server ") || strings.Contains(errOut, "\n  -server") {
			t.Errorf("qpc %s --help: exit %d\n%s", strings.Join(cmd, " "), code, errOut)
		}
	}
}

func TestServerWithoutAPortMeansPort7000(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"auto":             "auto",
		"10.0.0.1":         "10.0.0.1:7000",
		"node1.mesh":       "node1.mesh:7000",
		"node1.mesh:7443":  "node1.mesh:7443",
		"fd00::1":          "[fd00::1]:7000",
		"[fd00::1]":        "[fd00::1]:7000",
		"[fd00::1]:7001":   "[fd00::1]:7001",
		"not:a:valid:host": "not:a:valid:host",
	} {
		if got := withDefaultPort(in); got != want {
			t.Errorf("withDefaultPort(%q) = %q, want %q", in, got, want)
		}
	}
}

// The findings of issue 24 with real processes: a flag after the text was
// sent as text; register refused Carol; status wanted --server.
func TestCommandLineFlagsAfterTextCaseFoldedNamesAndTheAccountsNode(t *testing.T) {
	t.Parallel()
	p := startNodeProc(t, qpcBin)
	alice, bob := newChanUser(t, p, "alice"), newChanUser(t, p, "Bob")
	if out, err := exec.Command(qpcBin, "whoami", "--state-dir", bob.state).Output(); err != nil || !strings.HasPrefix(string(out), "bob@node1.example.mesh\n") {
		t.Errorf("registered as Bob, whoami says %q; want bob", out)
	}
	alice.must("", "send", "--to", "bob", "text first", "--ttl", "1h")
	var got recvJSON
	if out := bob.must("", "recv", "--json"); json.Unmarshal([]byte(out), &got) != nil || got.Text != "text first" {
		t.Errorf("bob received %q, want %q", out, "text first")
	}
	alice.must("", "send", "--to", "bob", "--", "--ttl is text here")
	if out := bob.must("", "recv", "--json"); json.Unmarshal([]byte(out), &got) != nil || got.Text != "--ttl is text here" {
		t.Errorf("bob received %q after --", out)
	}

	// Errors in the user's words, not the chain (it was "resolve
	// nosuchuser: store: keys: no such user").
	for to, want := range map[string]string{
		"nosuchuser":     "qpc send: no such user on that node",
		"bob@gamma.mesh": "qpc send: unknown domain",
	} {
		_, errOut, code := alice.run("", "send", "--to", to, "hello")
		if code != exitFailure || !strings.HasPrefix(errOut, want) || strings.Count(errOut, "\n") != 1 || strings.Contains(errOut, "store:") {
			t.Errorf("send --to %s: exit %d, stderr %q; want one line starting %q", to, code, errOut, want)
		}
	}

	share := strings.TrimSpace(alice.must("", "channel", "create", "kiez-news"))
	bob.must("", "channel", "join", share)
	alice.must("", "channel", "send", "kiez-news", "text then flag", "--ttl", "1h")
	var post channelPostJSON
	if out := bob.must("", "channel", "recv", "kiez-news", "--json"); json.Unmarshal([]byte(out), &post) != nil || post.Text != "text then flag" {
		t.Errorf("the channel post is %q, want %q", out, "text then flag")
	}

	// status asks the current account's node without --server; the
	// default state dir is $XDG_STATE_HOME/qpc.
	xdg := t.TempDir()
	carol := &chanUser{t: t, name: "carol", pw: alice.pw, state: filepath.Join(xdg, "qpc")}
	carol.must("", "register", "--server", p.addr, "--pin", p.fp, "--username", "carol")
	cmd := exec.Command(qpcBin, "status", "--json")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+xdg)
	out, err := cmd.CombinedOutput()
	var st statusJSON
	if err != nil || json.Unmarshal(out, &st) != nil || st.Server != p.addr || st.Domain != "node1.example.mesh" {
		t.Errorf("qpc status without --server: %v\n%s", err, out)
	}
}
