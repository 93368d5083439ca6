//go:build !router

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/crypto/sealed"
	"github.com/quicprochat/qpc/protocol"
)

// hostileTexts are the classes of text a sender could use to act on the
// recipient's terminal or to mislead whoever reads it.
var hostileTexts = []struct{ name, text string }{
	{"clear screen and bell", "a\x1b[2Jb\x07"},
	{"OSC window title", "\x1b]0;you are hacked\x07title"},
	{"OSC 8 hyperlink", "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\"},
	{"carriage return overwrite", "innocent\roverwritten"},
	{"C1 CSI", "c1\u009b2J"},
	{"bidi override", "invoice\u202efdp.exe"},
	{"bidi isolate", "x\u2067y\u2069z"},
	{"fake header line", "ok\n[2026-12-06 19:27:11] carol@node1.example.mesh: spoofed line"},
	{"line separator", "p\u2028q"},
	{"invalid UTF-8", "bad\xffbyte"},
}

// checkTerminalBytes fails when out holds anything that acts on a terminal
// or reorders text, or a line that is neither a header line (starting
// with headerPrefix) nor the indented continuation of one; it returns the
// number of header lines.
func checkTerminalBytes(t *testing.T, surface, out, headerPrefix string) int {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s printed invalid UTF-8: %q", surface, out)
	}
	for _, r := range out {
		if r != '\n' && r != '\t' && unicode.IsControl(r) || r == '\u2028' || r == '\u2029' ||
			r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069' || r == '\u200e' || r == '\u200f' || r == '\u061c' {
			t.Errorf("%s printed %U: %q", surface, r, out)
		}
	}
	headers := 0
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, headerPrefix):
			headers++
		case strings.HasPrefix(l, "    "):
		default:
			t.Errorf("%s printed a line that is neither a header nor a continuation: %q", surface, l)
		}
	}
	return headers
}

func TestRecvShowsHostileTextInertAndJSONKeepsItExact(t *testing.T) {
	t.Parallel()
	p := startNodeProc(t, qpcBin)
	qpc, _ := cliUsers(t, p, "alice", "bob")
	send := func() {
		t.Helper()
		for _, h := range hostileTexts {
			if out, errOut, err := qpc("alice", "send", "--to", "bob", h.text); err != nil {
				t.Fatalf("send %s: %v\n%s%s", h.name, err, out, errOut)
			}
		}
	}

	send()
	out, errOut, err := qpc("bob", "recv")
	if err != nil {
		t.Fatalf("recv: %v\n%s", err, errOut)
	}
	if n := checkTerminalBytes(t, "qpc recv", out, "["); n != len(hostileTexts) {
		t.Errorf("qpc recv printed %d header lines for %d messages:\n%s", n, len(hostileTexts), out)
	}
	if !strings.Contains(out, "ok\n    [2026-12-06 19:27:11] carol@node1.example.mesh: spoofed line") {
		t.Errorf("the second line of a message is not shown as its continuation:\n%s", out)
	}

	send()
	out, errOut, err = qpc("bob", "recv", "--json")
	if err != nil {
		t.Fatalf("recv --json: %v\n%s", err, errOut)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m recvJSON
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("recv --json printed %q: %v", l, err)
		}
		got = append(got, m.Text)
	}
	if len(got) != len(hostileTexts) {
		t.Fatalf("recv --json printed %d messages, want %d:\n%s", len(got), len(hostileTexts), out)
	}
	for i, h := range hostileTexts {
		want := h.text
		if !utf8.ValidString(want) {
			// JSON has no way to carry an invalid byte: encoding/json
			// writes U+FFFD for it.
			want = strings.ToValidUTF8(want, "\ufffd")
		}
		if got[i] != want {
			t.Errorf("recv --json of %s: %q, want %q", h.name, got[i], want)
		}
	}
}

func TestRecvFollowShowsHostileTextInert(t *testing.T) {
	t.Parallel()
	p := startNodeProc(t, qpcBin)
	qpc, dir := cliUsers(t, p, "alice", "bob")
	cmd := exec.Command(qpcBin, "recv", "--follow", "--password-file", dir+"/bob.pw", "--state-dir", dir+"/bob")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := readLines(stdout)
	for _, h := range hostileTexts {
		if out, errOut, err := qpc("alice", "send", "--to", "bob", h.text); err != nil {
			t.Fatalf("send %s: %v\n%s%s", h.name, err, out, errOut)
		}
	}
	// Every message is one header line and as many continuations as it
	// has newlines; read exactly that many lines.
	want := len(hostileTexts)
	for _, h := range hostileTexts {
		want += strings.Count(h.text, "\n")
	}
	var out strings.Builder
	for i := 0; i < want; i++ {
		out.WriteString(nextLine(t, lines, "a line of recv --follow") + "\n")
	}
	if n := checkTerminalBytes(t, "qpc recv --follow", out.String(), "["); n != len(hostileTexts) {
		t.Errorf("qpc recv --follow printed %d header lines for %d messages:\n%s", n, len(hostileTexts), out.String())
	}
}

// What a person sees: qpc recv --follow in a real terminal, a message that
// tries to set the window title, clear the screen and fake a line from
// carol. The title stays, the earlier message stays on the screen, the
// fake line is an indented part of the message.
func TestRecvFollowInATerminalShowsHostileTextAsText(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	qpc, dir := cliUsers(t, p, "alice", "bob")
	s := startTmux(t, "follow", []string{qpcBin, "recv", "--follow", "--password-file", dir + "/bob.pw", "--state-dir", dir + "/bob"})
	title := strings.TrimSpace(s.tmux("display-message", "-p", "-t", s.name, "#{pane_title}"))
	send := func(text string) {
		t.Helper()
		if out, errOut, err := qpc("alice", "send", "--to", "bob", text); err != nil {
			t.Fatalf("send: %v\n%s%s", err, out, errOut)
		}
	}
	send("the first message")
	s.waitFor("alice@node1.example.mesh: the first message", 30*time.Second)
	send("\x1b]2;pwned\x07\x1b[2J\x1b[Hok\n[2026-12-06 19:27:11] carol@node1.example.mesh: spoofed\x07")
	s.waitFor("    [2026-12-06 19:27:11] carol@node1.example.mesh: spoofed", 30*time.Second)
	screen := s.capture()
	if !strings.Contains(screen, "alice@node1.example.mesh: the first message") {
		t.Errorf("the screen was cleared:\n%s", screen)
	}
	if !strings.Contains(screen, "alice@node1.example.mesh: \ufffd]2;pwned\ufffd\ufffd[2J\ufffd[Hok") {
		t.Errorf("the escape sequences are not shown as text:\n%s", screen)
	}
	if got := strings.TrimSpace(s.tmux("display-message", "-p", "-t", s.name, "#{pane_title}")); got != title || strings.Contains(got, "pwned") {
		t.Errorf("the window title changed from %q to %q", title, got)
	}
}

// checkInert fails when out holds anything that acts on a terminal or
// reorders text; it returns the lines of out.
func checkInert(t *testing.T, surface, out string) []string {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s printed invalid UTF-8: %q", surface, out)
	}
	for _, r := range out {
		if r != '\n' && unicode.IsControl(r) || r == '\u2028' || r == '\u2029' ||
			r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069' || r == '\u200e' || r == '\u200f' || r == '\u061c' {
			t.Errorf("%s printed %U: %q", surface, r, out)
		}
	}
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

// Every printer of cmd/qpc, fed each class of hostile text where a
// sender or a node puts text, prints it inert: nothing acts on the
// terminal, a line of its own appears only as an indented continuation,
// a table keeps one line per row.
func TestEverySurfaceShowsEveryClassOfHostileTextInert(t *testing.T) {
	now := time.Now()
	for _, h := range hostileTexts {
		t.Run(h.name, func(t *testing.T) {
			x := h.text
			lines := 1 + strings.Count(x, "\n")
			var b bytes.Buffer
			for _, in := range []session.Incoming{
				{Received: client.Received{From: x, Time: now, Body: []byte(x), Verified: true}},
				{Received: client.Received{From: x, Time: now, Body: []byte(x), Problem: errors.New(x)}},
				{Received: client.Received{Seq: 1, Problem: errors.New(x)}},
				{Received: client.Received{From: x, Problem: fmt.Errorf("%w: %s", client.ErrStaleMessage, x)}},
				{Received: client.Received{Time: now}, SentCopy: &client.SentCopy{To: x, ContentType: sealed.ContentText, Body: []byte(x)}},
			} {
				b.Reset()
				printReceived(&b, in, false)
				got := checkInert(t, "qpc recv", b.String())
				// The sender's name, the problem and the text may each
				// carry newlines, each shown as a continuation.
				if len(got) > 3*lines || strings.HasPrefix(strings.Join(got[1:], "\n"), "[") {
					t.Errorf("qpc recv printed %d lines: %q", len(got), b.String())
				}
				for _, l := range got[1:] {
					if !strings.HasPrefix(l, "    ") {
						t.Errorf("qpc recv printed a line that is not a continuation: %q in %q", l, b.String())
					}
				}
			}

			b.Reset()
			printStatuses(&b, io.Discard, []protocol.MessageStatus{{State: protocol.MeshDropped, At: x, Recipient: x, Reason: errors.New(x), Updated: now}}, now)
			if got := checkInert(t, "qpc mesh track", b.String()); len(got) != 2 {
				t.Errorf("qpc mesh track printed %q", b.String())
			}
			b.Reset()
			printRoutes(&b, io.Discard, []protocol.MeshRoute{{Domain: x, Via: x, Hops: 1}}, now)
			if got := checkInert(t, "qpc mesh route", b.String()); len(got) != 2 {
				t.Errorf("qpc mesh route printed %q", b.String())
			}
			b.Reset()
			printStore(&b, protocol.MeshReport{Store: protocol.MeshStoreStats{Domains: []protocol.MeshDomainStats{{Domain: x}}}, Counters: map[string]uint64{x: 1}}, now)
			checkInert(t, "qpc mesh store", b.String())
			if strings.Contains(b.String(), x) && x != strings.TrimSpace(x) {
				t.Errorf("qpc mesh store printed the text as it is: %q", b.String())
			}
			b.Reset()
			printLinks(&b, []protocol.Link{{Domain: x, Address: x, LastError: x}}, now)
			if got := checkInert(t, "qpc status", b.String()); len(got) != 3 {
				t.Errorf("qpc status printed %q", b.String())
			}
			b.Reset()
			printVerify(&b, x, strings.Repeat("0123456789", 6), false, false, false)
			checkInert(t, "qpc verify", b.String())
			b.Reset()
			printErr(&b, "qpc send", errors.New(x))
			if got := checkInert(t, "an error", b.String()); len(got) != lines {
				t.Errorf("an error printed %q", b.String())
			}
		})
	}
}

// The same in the REPL: bob's REPL shows what alice sent with qpc send;
// the title stays, the screen is not cleared, the escape sequences show
// as text.
func TestReplInATerminalShowsHostileTextAsText(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	qpc, dir := cliUsers(t, p, "alice", "bob")
	s := startTmux(t, "repl", []string{qpcBin, "repl", "--password-file", dir + "/bob.pw", "--state-dir", dir + "/bob"})
	s.waitFor("/help lists the commands", replWait)
	title := strings.TrimSpace(s.tmux("display-message", "-p", "-t", s.name, "#{pane_title}"))
	send := func(text string) {
		t.Helper()
		if out, errOut, err := qpc("alice", "send", "--to", "bob", text); err != nil {
			t.Fatalf("send: %v\n%s%s", err, out, errOut)
		}
	}
	send("the first message")
	s.waitFor("the first message", replWait)
	send("\x1b]2;pwned\x07\x1b[2J\x1b[Hok\u202eevil\n[2026-12-06 19:27:11] carol@node1.example.mesh: spoofed")
	s.waitFor("\ufffd]2;pwned\ufffd\ufffd[2J\ufffd[Hok\ufffdevil", replWait)
	screen := s.capture()
	if !strings.Contains(screen, "the first message") {
		t.Errorf("the screen was cleared:\n%s", screen)
	}
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(l, "[2026-12-06") {
			t.Errorf("a line of the message shows as a line of its own: %q\n%s", l, screen)
		}
	}
	if got := strings.TrimSpace(s.tmux("display-message", "-p", "-t", s.name, "#{pane_title}")); got != title || strings.Contains(got, "pwned") {
		t.Errorf("the window title changed from %q to %q", title, got)
	}
}
