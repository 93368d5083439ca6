package repl

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/cmd/qpc/internal/repl/repltest"
)

func TestParseCommandFindsCommandsByNameAndAlias(t *testing.T) {
	tests := []struct {
		line, name string
		args       []string
	}{
		{"/dm bob", "dm", []string{"bob"}},
		{"  /dm   bob@b.example  ", "dm", []string{"bob@b.example"}},
		{"/cg friends", "create-group", []string{"friends"}},
		{"/CREATE-GROUP friends", "create-group", []string{"friends"}},
		{"/sw #friends", "switch", []string{"#friends"}},
		{"/ls", "list", nil},
		{"/hist 5", "history", []string{"5"}},
		{"/history", "history", nil},
		{"/join", "join", nil},
		{"/join #friends", "join", []string{"#friends"}},
		{"/verify bob confirm", "verify", []string{"bob", "confirm"}},
		{"/rotate-key", "update-key", nil},
		{"/mesh server 10.0.0.1:7000", "mesh", []string{"server", "10.0.0.1:7000"}},
		{"/channel send news hello there", "channel", []string{"send", "news", "hello", "there"}},
		{"/exit", "quit", nil},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			cmd, args, err := parseCommand(tt.line)
			if err != nil {
				t.Fatal(err)
			}
			if cmd.name != tt.name || strings.Join(args, "|") != strings.Join(tt.args, "|") {
				t.Errorf("got /%s %q, want /%s %q", cmd.name, args, tt.name, tt.args)
			}
		})
	}
}

func TestParseCommandExplainsMistakesInOneLine(t *testing.T) {
	tests := []struct{ line, want string }{
		{"/foo", "unknown command /foo (try /help)"},
		{"/", "a command follows the / (try /help)"},
		{"/invite", "usage: /invite <user>"},
		{"/invite bob carol", "usage: /invite <user>"},
		{"/dm", "usage: /dm <user[@domain]>"},
		{"/cg", "usage: /create-group <name> [classic]"},
		{"/leave now", "usage: /leave"},
		{"/verify", "usage: /verify <user> [confirm]"},
		{"/verify bob confirm twice", "usage: /verify <user> [confirm]"},
		{"/switch", "usage: /switch @user|#group"},
		{"/foo\x1b[2J", "unknown command /foo\ufffd[2J (try /help)"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			_, _, err := parseCommand(tt.line)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestEveryCommandHasAUniqueNameHelpAndAHandler(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range replCommands() {
		for _, n := range append([]string{c.name}, c.aliases...) {
			if seen[n] {
				t.Errorf("/%s is in the table twice", n)
			}
			seen[n] = true
		}
		if c.help == "" || c.run == nil {
			t.Errorf("/%s has no help or no handler", c.name)
		}
	}
	for _, want := range []string{"dm", "create-group", "cg", "invite", "remove", "join", "leave", "switch", "sw", "list", "ls",
		"members", "history", "hist", "verify", "update-key", "rotate-key", "mesh", "channel", "whoami", "help", "quit", "exit"} {
		if !seen[want] {
			t.Errorf("no /%s", want)
		}
	}
}

// scriptIO is a LineIO that reads lines from a script and keeps what is
// written.
type scriptIO struct {
	mu     sync.Mutex
	lines  []string
	out    bytes.Buffer
	prompt string
}

func (s *scriptIO) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.Write(p)
}

func (s *scriptIO) ReadLine() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.lines) == 0 {
		return "", io.EOF
	}
	l := s.lines[0]
	s.lines = s.lines[1:]
	return l, nil
}

func (s *scriptIO) SetPrompt(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prompt = p
}

func (s *scriptIO) Dim(text string) string { return text }
func (s *scriptIO) Close() error           { return nil }

// output returns what was written since the last call.
func (s *scriptIO) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.out.String()
	s.out.Reset()
	return o
}

// testRepl is alice's REPL on a fake engine; type runs lines through it.
type testRepl struct {
	t   *testing.T
	eng *repltest.Engine
	io  *scriptIO
	r   *REPL
}

func newTestRepl(t *testing.T) *testRepl {
	eng := repltest.New("alice@a.example")
	sio := &scriptIO{}
	return &testRepl{t: t, eng: eng, io: sio, r: New(Config{Engine: eng, Label: repltest.Label, IO: sio})}
}

// do runs lines and returns what they printed, errors included, as the
// REPL loop prints them.
func (tr *testRepl) do(lines ...string) string {
	tr.t.Helper()
	for _, l := range lines {
		if err := tr.r.handle(context.Background(), l); err != nil {
			tr.r.Printf("%s", err)
		}
	}
	return tr.io.output()
}

func mustContain(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output does not contain %q:\n%s", w, out)
		}
	}
}

func TestReplHelpListsEveryCommandAndAlias(t *testing.T) {
	out := newTestRepl(t).do("/help")
	for _, c := range replCommands() {
		mustContain(t, out, "/"+c.name, c.help)
		for _, a := range c.aliases {
			mustContain(t, out, "/"+a)
		}
	}
}

func TestReplRunEndsOnQuitAndOnEndOfInput(t *testing.T) {
	for _, script := range [][]string{{"/help", "/quit", "/help"}, {"/exit"}, {"/help"}} {
		tr := newTestRepl(t)
		tr.io.lines = script
		if err := tr.r.Run(context.Background()); err != nil {
			t.Errorf("%q: run = %v", script, err)
		}
		if strings.Count(tr.io.output(), "commands:") > 1 {
			t.Errorf("%q: a line after /quit ran", script)
		}
	}
}

func TestReplTextWithoutAConversationSaysHowToStartOne(t *testing.T) {
	mustContain(t, newTestRepl(t).do("hello"), "no conversation: /dm <user> or /cg <name> first")
}

func TestReplDMShowsOwnLinesOnceAndSetsThePrompt(t *testing.T) {
	tr := newTestRepl(t)
	tr.do("/dm bob")
	if tr.io.prompt != "[@bob@a.example] > " {
		t.Errorf("prompt %q", tr.io.prompt)
	}
	out := tr.do("hello bob")
	// The engine reports the line too: it is not printed again.
	for len(tr.eng.Events()) > 0 {
		tr.r.event(<-tr.eng.Events())
	}
	out += tr.io.output()
	if strings.Count(out, " me hello bob") != 1 {
		t.Errorf("own line not shown exactly once:\n%s", out)
	}
	tr.eng.Queue = true
	mustContain(t, tr.do("later"), " me later (queued)")
}

func TestReplDMToYourselfIsTheNote(t *testing.T) {
	tr := newTestRepl(t)
	for _, self := range []string{"alice", "alice@a.example", "@alice"} {
		tr.do("/dm " + self)
		if tr.io.prompt != "[@notes] > " {
			t.Errorf("/dm %s: prompt %q", self, tr.io.prompt)
		}
	}
}

func TestReplNoticesMessagesElsewhereWithTheUnreadCount(t *testing.T) {
	tr := newTestRepl(t)
	tr.do("/cg friends", "/dm bob")
	g, _ := tr.eng.Find("#friends")
	tr.eng.Receive(g.ID, "bob@a.example", "one")
	tr.eng.Receive(g.ID, "carol@c.example", "two")
	tr.r.event(tr.eng.Receive(g.ID, "bob@a.example", "three"))
	mustContain(t, tr.io.output(), "[#friends] bob: three (3 unread)")

	out := tr.do("/sw #friends")
	mustContain(t, out, "bob one", "carol@c.example two", "bob three")
	if g, _ := tr.eng.Find("#friends"); g.Unread != 0 {
		t.Errorf("switching left %d unread", g.Unread)
	}
	// In the current conversation a line is shown as it is, and read.
	tr.r.event(tr.eng.Receive(g.ID, "bob@a.example", "four"))
	out = tr.io.output()
	mustContain(t, out, " bob four")
	if strings.Contains(out, "unread") {
		t.Errorf("a line in the current conversation came as a notice: %q", out)
	}
}

func TestReplShowsNoControlCharacterFromTheNetwork(t *testing.T) {
	tr := newTestRepl(t)
	tr.do("/dm bob")
	g, _ := tr.eng.Find("@bob")
	tr.r.event(tr.eng.Receive(g.ID, "bob@a.example", "\x1b[2Jgotcha\rfake line"))
	tr.r.event(tr.eng.Invited("evil\x1b]0;title\x07", "mallory@m.example"))
	out := tr.io.output()
	if strings.ContainsAny(out, "\x1b\r\x07") {
		t.Errorf("a control character got through: %q", out)
	}
	mustContain(t, out, "gotcha")
}

func TestReplInvitationsAreAnnouncedAndJoined(t *testing.T) {
	tr := newTestRepl(t)
	tr.r.event(tr.eng.Invited("friends", "bob@a.example"))
	mustContain(t, tr.io.output(), "bob invited you to #friends: /join #friends to accept")
	mustContain(t, tr.do("/list"), "invitation from bob: /join #friends")
	mustContain(t, tr.do("/join"), "joined #friends")
	if tr.io.prompt != "[#friends] > " {
		t.Errorf("prompt after /join: %q", tr.io.prompt)
	}
	mustContain(t, tr.do("/join"), "no invitation to accept")

	tr.r.event(tr.eng.Invited("a", "bob@a.example"))
	tr.r.event(tr.eng.Invited("b", "bob@a.example"))
	mustContain(t, tr.do("/join"), "2 invitations: /join #a or /join #b")
	mustContain(t, tr.do("/join #b"), "joined #b")
}

func TestReplGroupCommandsNeedAGroup(t *testing.T) {
	tr := newTestRepl(t)
	mustContain(t, tr.do("/invite bob"), "no conversation")
	tr.do("/dm bob")
	mustContain(t, tr.do("/invite carol"), "/invite works in a group")
	mustContain(t, tr.do("/leave"), "/leave works in a group")
	tr.do("/cg friends")
	mustContain(t, tr.do("/invite bob", "/invite carol@c.example"), "invited bob to #friends", "invited carol@c.example to #friends")
	mustContain(t, tr.do("/members"), "#friends: 3 members: alice@a.example, bob@a.example, carol@c.example",
		"(suite MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519: post-quantum)")
	mustContain(t, tr.do("/remove carol@c.example", "/members"), "#friends: 2 members")
	mustContain(t, tr.do("/update-key"), "new keys in #friends")
	mustContain(t, tr.do("/leave"), "left #friends")
	if tr.io.prompt != "[no conversation] > " {
		t.Errorf("prompt after /leave: %q", tr.io.prompt)
	}
	tr.do("/cg classic")
	mustContain(t, tr.do("/members"), "#classic: 1 member: alice@a.example (suite MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519: classic, not post-quantum)")
	tr.do("/cg big classic")
	mustContain(t, tr.do("/members"), "#big: 1 member: alice@a.example (suite MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519: classic, not post-quantum)")
	mustContain(t, tr.do("/cg bigger quantum"), `usage: /create-group <name> [classic]: "quantum" is not 'classic'`)
}

func TestReplListMarksTheCurrentConversation(t *testing.T) {
	tr := newTestRepl(t)
	mustContain(t, tr.do("/ls"), "no conversations yet")
	tr.do("/cg friends", "/dm bob")
	out := tr.do("/ls")
	mustContain(t, out, "CONVERSATION", "*  @bob@a.example", "#friends")
	if strings.Contains(out, "*  #friends") {
		t.Errorf("#friends marked current:\n%s", out)
	}
}

func TestReplHistoryTakesACount(t *testing.T) {
	tr := newTestRepl(t)
	tr.do("/dm bob", "one", "two", "three")
	out := tr.do("/hist 2")
	if strings.Contains(out, "one") || !strings.Contains(out, "two") || !strings.Contains(out, "three") {
		t.Errorf("/hist 2:\n%s", out)
	}
	mustContain(t, tr.do("/hist x"), "usage: /history [n]")
}

func TestReplVerifyShowsTheNumberAndWarnsLoudlyWhenTheKeyChanged(t *testing.T) {
	tr := newTestRepl(t)
	out := tr.do("/verify bob")
	mustContain(t, out, "01234 56789 01234 56789\n", "█", "not verified", "/verify bob confirm")
	tr.eng.Contact = chatdb.Contact{Verified: true, KeyChanged: true}
	mustContain(t, tr.do("/verify bob"), "WARNING: THE ACCOUNT KEY OF BOB@A.EXAMPLE HAS CHANGED")
	mustContain(t, tr.do("/verify bob confirm"), "bob is verified")
	if len(tr.eng.Verified) != 1 || tr.eng.Verified[0] != "bob@a.example" {
		t.Errorf("verified %q", tr.eng.Verified)
	}
	mustContain(t, tr.do("/verify bob sure"), "usage: /verify <user> [confirm]")
}

func TestReplNodeCommandsSayWhenThereIsNoNode(t *testing.T) {
	tr := newTestRepl(t)
	mustContain(t, tr.do("/channel list", "/mesh server 127.0.0.1:1"), "not connected to a node")
	mustContain(t, tr.do("/mesh server nowhere"), "/mesh server nowhere:")
	mustContain(t, tr.do("/mesh frob"), "usage: /mesh peers")
	mustContain(t, tr.do("/whoami"), "alice@a.example")
}

func TestReplALineStartingWithTwoSlashesIsText(t *testing.T) {
	tr := newTestRepl(t)
	tr.do("/dm bob")
	mustContain(t, tr.do("//shrug"), " me /shrug")
}

func TestCtrlCBecomesEndOfLineAndEraseLine(t *testing.T) {
	r := ctrlCClears{strings.NewReader("ab\x03c\x03")}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "ab\x05\x15c\x05\x15" {
		t.Errorf("got %q, %v", got, err)
	}
}
