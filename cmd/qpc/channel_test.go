package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/crypto/channel"
	"github.com/quicprochat/qpc/protocol"
)

func TestChannelFlagsMayComeBeforeOrAfterTheTopic(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		n        int
		pos      []string
		rest     []string
		qr, json bool
	}{
		{"flags first", []string{"--qr", "news"}, 1, []string{"news"}, nil, true, false},
		{"flags after the topic", []string{"news", "--qr", "--json"}, 1, []string{"news"}, nil, true, true},
		{"flags on both sides", []string{"--json", "news", "--qr"}, 1, []string{"news"}, nil, true, true},
		{"a flag after the text is a flag, not text", []string{"news", "hello", "--json"}, 1, []string{"news"}, []string{"hello"}, false, true},
		{"text keeps its dashes after --", []string{"news", "--qr", "hello", "--", "--json", "-5"}, 1, []string{"news"}, []string{"hello", "--json", "-5"}, true, false},
		{"-- ends the flags", []string{"--", "--qr"}, 1, []string{"--qr"}, nil, false, false},
		{"-- after the topic", []string{"news", "--", "--json"}, 1, []string{"news"}, []string{"--json"}, false, false},
		{"no positional argument", []string{"--qr"}, 1, nil, nil, true, false},
		{"none wanted", []string{"--json", "extra"}, 0, nil, []string{"extra"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			qr, js := fs.Bool("qr", false, ""), fs.Bool("json", false, "")
			pos, rest, err := parseArgs(fs, tt.args, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(pos, tt.pos) || len(rest) != len(tt.rest) || (len(rest) > 0 && !reflect.DeepEqual(rest, tt.rest)) {
				t.Errorf("positional %q, rest %q; want %q, %q", pos, rest, tt.pos, tt.rest)
			}
			if *qr != tt.qr || *js != tt.json {
				t.Errorf("--qr %v --json %v; want %v %v", *qr, *js, tt.qr, tt.json)
			}
		})
	}
}

func TestAPostsTextCannotRewriteTheTerminalOrForgeALine(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"hello", "hello"},
		{"tab\tstays", "tab\tstays"},
		{"\x1b[2Jcleared", "\uFFFD[2Jcleared"},
		{"bell\a", "bell\uFFFD"},
		{"carriage\rreturn", "carriage\uFFFDreturn"},
		{"one\n2026-01-01 00:00:00 bank@a.mesh [verified] pay", "one\n    2026-01-01 00:00:00 bank@a.mesh [verified] pay"},
		{"c1\u009bcontrol", "c1\uFFFDcontrol"},
		{"line\u2028separator", "line\uFFFDseparator"},
	} {
		if got := termtext.Safe(tt.in); got != tt.want {
			t.Errorf("%q printed as %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPostTextsAreCheckedBeforeLogin(t *testing.T) {
	for _, tt := range []struct {
		text string
		ok   bool
	}{
		{"hi", true},
		{strings.Repeat("x", channel.MaxText), true},
		{"", false},
		{strings.Repeat("x", channel.MaxText+1), false},
		{"\xff\xfe", false},
	} {
		if err := checkPostText(tt.text); (err == nil) != tt.ok {
			t.Errorf("a text of %d bytes: %v", len(tt.text), err)
		}
	}
}

// readPost is a post by author as ReadPost would classify it.
func readPost(seq uint64, author, text string, status client.PostStatus, reason string) client.ReadPost {
	var id protocol.PostID
	id[0], id[31] = byte(seq), 0xee
	m := &channel.Message{Author: author, Time: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), Text: text}
	m.Digest[0] = byte(seq)
	return client.ReadPost{Post: protocol.ChannelMessage{Seq: seq, ID: id}, Message: m, Status: status, Reason: reason}
}

func TestRecvMarksEachPostWithWhatIsKnownOfItsAuthor(t *testing.T) {
	local := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC).Local().Format("2006-01-02 15:04:05")
	tests := []struct {
		name string
		r    client.ReadPost
		want string
	}{
		{"a verified post", readPost(1, "alice@a.mesh", "hi", client.PostVerified, ""),
			local + " alice@a.mesh [verified] hi\n"},
		{"an unverified post", readPost(2, "carol@c.mesh", "hi", client.PostUnverified, "cannot fetch the published key of carol@c.mesh: peer unreachable"),
			local + " carol@c.mesh [UNVERIFIED: cannot fetch the published key of carol@c.mesh: peer unreachable] hi\n"},
		{"a post signed by someone else", readPost(3, "alice@a.mesh", "pay me", client.PostMismatch, "signed with a key that is not the one alice@a.mesh publishes"),
			local + " alice@a.mesh [NOT THE AUTHOR'S KEY] pay me\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p := &postPrinter{w: &out, topic: "news"}
			p.print(context.Background(), tt.r)
			if out.String() != tt.want {
				t.Errorf("got  %q\nwant %q", out.String(), tt.want)
			}
		})
	}
}

func TestRecvJSONHasOneObjectPerPostWithEveryField(t *testing.T) {
	var out bytes.Buffer
	p := &postPrinter{w: &out, topic: "news", asJSON: true}
	r := readPost(7, "alice@a.mesh", "hi\nthere", client.PostUnverified, "cannot fetch")
	p.print(context.Background(), r)
	p.print(context.Background(), readPost(8, "bob@a.mesh", "ok", client.PostVerified, ""))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines for 2 posts:\n%s", len(lines), out.String())
	}
	want := `{"topic":"news","seq":7,"id":"` + hex.EncodeToString(r.Post.ID[:]) +
		`","author":"alice@a.mesh","time":"2026-05-01T12:00:00Z","text":"hi\nthere","status":"unverified","reason":"cannot fetch","key_changed":false}`
	if lines[0] != want {
		t.Errorf("got  %s\nwant %s", lines[0], want)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &v); err != nil || v["status"] != "verified" || v["reason"] != "" {
		t.Errorf("a verified post as JSON: %s (%v)", lines[1], err)
	}
}

func TestRecvShowsEachPostOnceAndCountsTheRejected(t *testing.T) {
	var out, errOut bytes.Buffer
	p := &postPrinter{w: &out, topic: "news"}
	first := readPost(1, "alice@a.mesh", "hi", client.PostVerified, "")
	replay := first
	replay.Post.Seq = 2
	for _, r := range []client.ReadPost{
		first, replay,
		{Status: client.PostRejected, Reason: client.RejectBadSignature, Err: channel.ErrBadSignature},
		{Status: client.PostRejected, Reason: client.RejectWrongChannel, Err: channel.ErrDecrypt},
		{Status: client.PostRejected, Reason: client.RejectBadSignature, Err: channel.ErrBadSignature},
	} {
		if p.keep(r) {
			p.print(context.Background(), r)
		}
	}
	if n := strings.Count(out.String(), "\n"); n != 1 {
		t.Errorf("%d posts printed, want the first only:\n%s", n, out.String())
	}
	p.summary(&errOut)
	want := "qpc channel recv: rejected 3 posts: 2 bad signature, 1 not for this channel's key\n" +
		"qpc channel recv: skipped 1 replayed post\n"
	if errOut.String() != want {
		t.Errorf("summary\n%q\nwant\n%q", errOut.String(), want)
	}
}

func TestChannelCommandLineMistakesExitWithUsageCode(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		mention string
	}{
		{"no channel command", []string{"channel"}, "usage"},
		{"an unknown channel command", []string{"channel", "frob"}, `unknown command "frob"`},
		{"a share string that is not one", []string{"channel", "join", "https://example.org/#abc"}, "bad share string"},
		{"a share string with a short secret", []string{"channel", "join", "qpc://channel/news#c2hvcnQ"}, "secret is 5 bytes"},
		{"a bad topic", []string{"channel", "create", "no/slashes"}, "bad topic"},
		{"create without a topic", []string{"channel", "create"}, "TOPIC"},
		{"two topics", []string{"channel", "leave", "a", "b"}, `unexpected argument "b"`},
		{"a text over the limit", []string{"channel", "send", "news", strings.Repeat("x", channel.MaxText+1)}, "too long"},
		{"a text that is not UTF-8", []string{"channel", "send", "news", "\xff"}, "not UTF-8"},
		{"a negative limit", []string{"channel", "recv", "news", "--limit", "-1"}, "--limit"},
		{"too many hops", []string{"channel", "send", "news", "--max-hops", "300", "hi"}, "--max-hops"},
		{"an unknown flag", []string{"channel", "list", "--colour"}, "colour"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runQPC(tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.mention) {
				t.Errorf("exit %d, stderr %q; want %d mentioning %q", code, stderr, exitUsage, tt.mention)
			}
			// The flag package prints the usage after an unknown flag; any
			// other mistake gets one line.
			if len(tt.args) > 2 && !strings.HasPrefix(tt.args[2], "--") && strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("more than one line for a mistake:\n%s", stderr)
			}
		})
	}
}

func TestChannelHelpExitsZero(t *testing.T) {
	code, out, _ := runQPC("channel", "--help")
	if code != exitOK || !strings.Contains(out, "qpc channel recv TOPIC") {
		t.Errorf("qpc channel --help = %d %q", code, out)
	}
	for _, sub := range channelCommands() {
		if code, _, errOut := runQPC("channel", sub.name, "--help"); code != exitOK || !strings.Contains(errOut, "usage: qpc channel "+sub.name) {
			t.Errorf("qpc channel %s --help = %d %q", sub.name, code, errOut)
		}
	}
	if code, out, _ := runQPC("--help"); code != exitOK || !strings.Contains(out, "channel") {
		t.Errorf("qpc --help does not list channel: %q", out)
	}
}

// chanUser runs qpc as one user of a node, with a password file and a
// state dir of its own.
type chanUser struct {
	t     *testing.T
	name  string
	pw    string
	state string
}

func newChanUser(t *testing.T, p *nodeProc, name string) *chanUser {
	t.Helper()
	dir := t.TempDir()
	u := &chanUser{t: t, name: name, pw: filepath.Join(dir, "pw"), state: filepath.Join(dir, "state")}
	if err := os.WriteFile(u.pw, []byte("password of "+name+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := u.run("", "register", "--server", p.addr, "--pin", p.fp, "--username", name); code != 0 {
		t.Fatalf("register %s: exit %d\n%s%s", name, code, out, errOut)
	}
	return u
}

// command is qpc args[0] (args[1] too for channel) with the user's
// account flags, then the rest of args.
func (u *chanUser) command(args ...string) *exec.Cmd {
	n := 1
	if args[0] == "channel" || args[0] == "mesh" || args[0] == "account" {
		n = 2
	}
	full := append(append(append([]string{}, args[:n]...), "--password-file", u.pw, "--state-dir", u.state), args[n:]...)
	return exec.Command(qpcBin, full...)
}

// run runs qpc with stdin and returns its output and exit code.
func (u *chanUser) run(stdin string, args ...string) (stdout, stderr string, code int) {
	u.t.Helper()
	cmd := u.command(args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		u.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// must runs qpc and fails the test unless it exits 0.
func (u *chanUser) must(stdin string, args ...string) string {
	u.t.Helper()
	out, errOut, code := u.run(stdin, args...)
	if code != 0 {
		u.t.Fatalf("%s: qpc %s: exit %d\n%s%s", u.name, strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func TestChannelMembershipFromTheCommandLine(t *testing.T) {
	t.Parallel()
	p := startNodeProc(t, qpcBin)
	alice, bob := newChanUser(t, p, "alice"), newChanUser(t, p, "bob")

	share := strings.TrimSpace(alice.must("", "channel", "create", "Kiez-News"))
	sh, err := channel.ParseShare(share)
	if err != nil || sh.Topic != "kiez-news" {
		t.Fatalf("create printed %q (%v), want a share string of kiez-news", share, err)
	}
	if again := strings.TrimSpace(alice.must("", "channel", "share", "kiez-news")); again != share {
		t.Errorf("share printed %q, want what create printed, %q", again, share)
	}
	if qr := alice.must("", "channel", "share", "kiez-news", "--qr"); !strings.Contains(qr, "█") || !strings.HasSuffix(qr, share+"\n") {
		t.Errorf("share --qr printed no QR code before the share string:\n%s", qr)
	}
	if _, errOut, code := alice.run("", "channel", "create", "kiez-news"); code != exitFailure || !strings.Contains(errOut, "already joined") {
		t.Errorf("creating kiez-news twice: exit %d %q", code, errOut)
	}

	// Bob joins from stdin, which keeps the secret out of the process list.
	if out := bob.must(share+"\n", "channel", "join"); out != "joined kiez-news (channel "+shortID(sh.Secret.Keys())+")\n" {
		t.Errorf("join printed %q", out)
	}
	if out := bob.must("", "channel", "join", share); out != "already joined kiez-news\n" {
		t.Errorf("joining again printed %q", out)
	}
	other := channel.Share{Topic: "kiez-news", Secret: channel.Secret{1}}
	if _, errOut, code := bob.run("", "channel", "join", other.String()); code != exitFailure || !strings.Contains(errOut, "another secret") {
		t.Errorf("joining kiez-news with another secret: exit %d %q", code, errOut)
	}

	out := bob.must("", "channel", "list", "--json")
	var list []channelListJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0].Topic != "kiez-news" || list[0].Joined.IsZero() {
		t.Fatalf("list --json = %s (%v)", out, err)
	}
	if id := sh.Secret.Keys().ID; list[0].ID != hex.EncodeToString(id[:]) {
		t.Errorf("list --json id %s, want the channel id", list[0].ID)
	}
	secret := share[strings.Index(share, "#")+1:]
	text := bob.must("", "channel", "list")
	if strings.Contains(out, secret) || strings.Contains(text, secret) || !strings.Contains(text, "kiez-news") {
		t.Errorf("list shows the secret or not the topic:\n%s%s", text, out)
	}

	if _, errOut, code := bob.run("", "channel", "send", "nope", "hi"); code != exitFailure || !strings.Contains(errOut, "not joined: nope") {
		t.Errorf("send to an unknown topic: exit %d %q", code, errOut)
	}
	if _, errOut, code := bob.run("", "channel", "recv", "nope"); code != exitFailure || !strings.Contains(errOut, "not joined: nope") {
		t.Errorf("recv of an unknown topic: exit %d %q", code, errOut)
	}
	if out := bob.must("", "channel", "leave", "KIEZ-NEWS"); out != "left kiez-news\n" {
		t.Errorf("leave printed %q", out)
	}
	if _, errOut, code := bob.run("", "channel", "leave", "kiez-news"); code != exitFailure || !strings.Contains(errOut, "not joined") {
		t.Errorf("leaving twice: exit %d %q", code, errOut)
	}
	if out, errOut, _ := bob.run("", "channel", "list"); out != "" || !strings.Contains(errOut, "no channels") {
		t.Errorf("list after leaving: %q %q", out, errOut)
	}
}

// readLines sends each line r gives on the returned channel, which is
// closed at the end.
func readLines(r io.Reader) <-chan string {
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return lines
}

func nextLine(t *testing.T, lines <-chan string, what string) string {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatalf("output ended before %s", what)
		}
		return l
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s within 30 s", what)
	}
	return ""
}

func TestChannelPostsFromTheCommandLine(t *testing.T) {
	t.Parallel()
	p := startNodeProc(t, qpcBin)
	alice, bob := newChanUser(t, p, "alice"), newChanUser(t, p, "bob")
	share := strings.TrimSpace(alice.must("", "channel", "create", "kiez-news"))
	bob.must("", "channel", "join", share)

	if _, errOut, code := alice.run("", "channel", "send", "kiez-news"); code != exitUsage || !strings.Contains(errOut, "nothing to send") {
		t.Errorf("send with empty stdin: exit %d %q", code, errOut)
	}
	id := strings.TrimSpace(alice.must("", "channel", "send", "kiez-news", "--ttl", "1h", "hello", "kiez"))
	if b, err := hex.DecodeString(id); err != nil || len(b) != 32 {
		t.Fatalf("send printed %q, want a post id in hex", id)
	}

	out := bob.must("", "channel", "recv", "kiez-news")
	if !strings.HasSuffix(out, " alice@node1.example.mesh [verified] hello kiez\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("recv printed %q, want alice's post, verified", out)
	}
	out = bob.must("", "channel", "recv", "kiez-news", "--json")
	var got channelPostJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("recv --json printed %q: %v", out, err)
	}
	if got.Topic != "kiez-news" || got.ID != id || got.Seq == 0 || got.Author != "alice@node1.example.mesh" ||
		got.Text != "hello kiez" || got.Status != "verified" || got.Reason != "" || time.Since(got.Time) > time.Hour {
		t.Errorf("recv --json = %+v", got)
	}
	var raw map[string]any
	json.Unmarshal([]byte(out), &raw)
	for _, k := range []string{"topic", "seq", "id", "author", "time", "text", "status", "reason"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("recv --json has no %q: %s", k, out)
		}
	}

	// A second post from stdin, then --limit 1 shows only the newest.
	alice.must("second post\n", "channel", "send", "kiez-news")
	if out := bob.must("", "channel", "recv", "kiez-news", "--limit", "1"); !strings.HasSuffix(out, "[verified] second post\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("recv --limit 1 printed %q", out)
	}

	// --follow prints what the node keeps, then a post made after it started.
	cmd := bob.command("channel", "recv", "kiez-news", "--follow", "--json")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var followErr bytes.Buffer
	cmd.Stderr = &followErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	lines := readLines(stdout)
	postText := func(what string) string {
		t.Helper()
		l := nextLine(t, lines, what)
		var j channelPostJSON
		if err := json.Unmarshal([]byte(l), &j); err != nil || j.Status != "verified" {
			t.Fatalf("%s: %q (%v)", what, l, err)
		}
		return j.Text
	}
	if a, b := postText("the first kept post"), postText("the second kept post"); a != "hello kiez" || b != "second post" {
		t.Errorf("--follow started with %q, %q", a, b)
	}
	alice.must("", "channel", "send", "kiez-news", "while", "you", "follow")
	if got := postText("the post made while following"); got != "while you follow" {
		t.Errorf("--follow printed %q", got)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for l := range lines {
		t.Errorf("printed after SIGINT: %q", l)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("--follow ended with %v after SIGINT; stderr:\n%s", err, followErr.String())
	}

	statsOut, err := exec.Command(qpcBin, "channel", "stats", "--state-dir", bob.state, "--json").Output()
	var st channelStatsJSON
	if err != nil || json.Unmarshal(statsOut, &st) != nil || st.Channels != 1 || st.Posts != 3 || st.Bytes == 0 || st.MaxBytes == 0 {
		t.Errorf("stats --json = %s (%v)", statsOut, err)
	}
}
