//go:build !router

package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/crypto/channel"
	"github.com/quicprochat/qpc/internal/msgtext"
	"github.com/quicprochat/qpc/internal/qrterm"
	"github.com/quicprochat/qpc/protocol"
)

// `qpc channel` runs broadcast channels (docs/channels.md). The secrets of
// the joined channels live in the account's sealed state, so every command
// but stats logs in to open it; the node only ever sees channel ids and
// ciphertext.

func runChannel(args []string, stdout, stderr io.Writer) int {
	return channelRunner{}.run(args, stdout, stderr)
}

// channelRunner runs the `qpc channel` subcommands; the REPL runs them
// with the password it already has, so that they do not ask for it again.
type channelRunner struct {
	password []byte // nil: ask as the flags say
	// blockList reads the account's block list where the REPL holds the
	// chat database open; nil: recv opens it (channel_block.go).
	blockList func() (chatdb.BlockList, error)
}

func (r channelRunner) run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stderr
		if len(args) > 0 {
			w = stdout
		}
		fmt.Fprintln(w, "usage: qpc channel create TOPIC [--qr]")
		fmt.Fprintln(w, "       qpc channel join [SHARE]          (no SHARE: read it from stdin)")
		fmt.Fprintln(w, "       qpc channel share TOPIC [--qr]")
		fmt.Fprintln(w, "       qpc channel send TOPIC [--ttl D] [--max-hops N] [TEXT...]   (no TEXT: read stdin)")
		fmt.Fprintln(w, "       qpc channel recv TOPIC [--follow] [--json] [--limit N]")
		fmt.Fprintln(w, "       qpc channel list [--json]")
		fmt.Fprintln(w, "       qpc channel leave TOPIC")
		fmt.Fprintln(w, "       qpc channel stats [--server HOST:PORT] [--json]")
		fmt.Fprintln(w)
		for _, c := range r.commands() {
			fmt.Fprintf(w, "  %-6s %s\n", c.name, c.summary)
		}
		fmt.Fprintln(w, "\nRun 'qpc channel <command> --help' for a command's flags.")
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range r.commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "qpc channel: unknown command %q (try: qpc channel --help)\n", args[0])
	return exitUsage
}

func channelCommands() []command { return channelRunner{}.commands() }

func (r channelRunner) commands() []command {
	return []command{
		{"create", "make a new channel and print its share string", r.create},
		{"join", "join a channel from its share string", r.join},
		{"share", "print a joined channel's share string, to invite someone", r.share},
		{"send", "post to a channel", r.send},
		{"recv", "read a channel's posts that the node keeps (--follow: and new ones)", r.recv},
		{"list", "the channels you joined (never their secrets)", r.list},
		{"leave", "forget a channel and its secret", r.leave},
		{"stats", "a node's channel relay: posts kept, bounds, counters (no login)", r.stats},
	}
}

// channelCmd is one `qpc channel` subcommand: its flags and how it reports.
type channelCmd struct {
	name   string
	fs     *flag.FlagSet
	f      clientFlags
	stderr io.Writer
}

// newCmd makes the flag set of `qpc channel name`; account binds
// the account flags (--username, --password-file, --state-dir).
func (r channelRunner) newCmd(name, synopsis string, stderr io.Writer, account bool) *channelCmd {
	c := &channelCmd{name: name, fs: newFlagSet("channel "+name, synopsis, stderr), stderr: stderr}
	c.f.bind(c.fs, stderr, account)
	c.f.fixedPassword = r.password
	return c
}

// parse parses the flags around the first n positional arguments and
// returns those and the rest, which only send takes.
func (c *channelCmd) parse(args []string, n int) (pos, rest []string, code int, ok bool) {
	pos, rest, err := parseArgs(c.fs, args, n)
	if err != nil {
		return nil, nil, parseError(err), false
	}
	if err := c.f.check(); err != nil {
		return nil, nil, c.usage("%v", err), false
	}
	return pos, rest, 0, true
}

func (c *channelCmd) usage(format string, args ...any) int {
	fmt.Fprintf(c.stderr, "qpc channel %s: %s\n", c.name, fmt.Sprintf(format, args...))
	return exitUsage
}

func (c *channelCmd) fail(err error) int {
	fmt.Fprintf(c.stderr, "qpc channel %s: %s\n", c.name, sayError(err))
	return exitFailure
}

// topic reads a TOPIC argument: exactly one, which must be a valid topic.
func (c *channelCmd) topic(pos, rest []string) (string, int, bool) {
	if len(pos) == 0 {
		return "", c.usage("give the channel's TOPIC"), false
	}
	if len(rest) > 0 {
		return "", c.usage("unexpected argument %q", rest[0]), false
	}
	topic, err := channel.NormalizeTopic(pos[0])
	if err != nil {
		return "", c.usage("%v", err), false
	}
	return topic, 0, true
}

// parseArgs parses fs's flags wherever they stand (parseFlags) and
// returns the first n other arguments and those after them.
func parseArgs(fs *flag.FlagSet, args []string, n int) (pos, rest []string, err error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, nil, err
	}
	words := fs.Args()
	n = min(n, len(words))
	if n > 0 {
		pos = words[:n:n]
	}
	if len(words) > n {
		rest = words[n:]
	}
	return pos, rest, nil
}

// errNotJoined says that a topic is not among the account's channels.
func errNotJoined(topic string) error {
	return fmt.Errorf("not joined: %s (qpc channel list shows your channels; qpc channel join SHARE joins one)", topic)
}

// shortID is the start of a channel id, enough to tell channels apart.
func shortID(keys channel.Keys) string { return hex.EncodeToString(keys.ID[:8]) }

// printShare prints e's share string on w, with qr also as a QR code.
func printShare(w, stderr io.Writer, e client.ChannelEntry, qr bool) error {
	sh := e.Share().String()
	fmt.Fprintf(stderr, "Whoever has this string can read and post in %s: give it only to its members.\n", e.Topic)
	if qr {
		if err := qrterm.Write(w, sh); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, sh)
	return err
}

func (r channelRunner) create(args []string, stdout, stderr io.Writer) int {
	c := r.newCmd("create", "TOPIC [--qr] [flags]\n\nmake a channel with a new secret, keep it in your state and print its share string", stderr, true)
	qr := c.fs.Bool("qr", false, "also print the share string as a QR code")
	pos, rest, code, ok := c.parse(args, 1)
	if !ok {
		return code
	}
	topic, code, ok := c.topic(pos, rest)
	if !ok {
		return code
	}
	s, err := c.f.login(context.Background())
	if err != nil {
		return c.fail(err)
	}
	defer s.Close()
	e, err := s.CreateChannel(topic, time.Now())
	if errors.Is(err, session.ErrChannelExists) {
		return c.fail(fmt.Errorf("you already joined a channel named %s (qpc channel share %s prints its share string); pick another topic", topic, topic))
	}
	if err != nil {
		return c.fail(err)
	}
	if err := printShare(stdout, stderr, e, *qr); err != nil {
		return c.fail(err)
	}
	return exitOK
}

func (r channelRunner) join(args []string, stdout, stderr io.Writer) int {
	c := r.newCmd("join", "[SHARE] [flags]\n\njoin a channel from its share string, qpc://channel/TOPIC#SECRET; "+
		"without SHARE it is read from stdin, which keeps it out of the process list", stderr, true)
	pos, rest, code, ok := c.parse(args, 1)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return c.usage("unexpected argument %q", rest[0])
	}
	var text string
	if len(pos) == 1 {
		text = pos[0]
	} else {
		if term.IsTerminal(int(os.Stdin.Fd())) {
			fmt.Fprint(stderr, "Share string: ")
		}
		line, err := bufio.NewReader(io.LimitReader(os.Stdin, 1024)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return c.fail(fmt.Errorf("reading stdin: %w", err))
		}
		text = line
	}
	sh, err := channel.ParseShare(text)
	if err != nil {
		return c.usage("%v", err)
	}
	s, err := c.f.login(context.Background())
	if err != nil {
		return c.fail(err)
	}
	defer s.Close()
	e, added, err := s.JoinChannel(sh, time.Now())
	if errors.Is(err, client.ErrChannelConflict) {
		return c.fail(fmt.Errorf("you already joined another channel named %s, with another secret; "+
			"qpc channel leave %s first if you want this one instead", sh.Topic, sh.Topic))
	}
	if err != nil {
		return c.fail(err)
	}
	if !added {
		fmt.Fprintf(stdout, "already joined %s\n", e.Topic)
		return exitOK
	}
	fmt.Fprintf(stdout, "joined %s (channel %s)\n", e.Topic, shortID(e.Secret.Keys()))
	return exitOK
}

func (r channelRunner) leave(args []string, stdout, stderr io.Writer) int {
	c := r.newCmd("leave", "TOPIC [flags]\n\nforget a channel and its secret; its posts stay on the nodes until they expire", stderr, true)
	pos, rest, code, ok := c.parse(args, 1)
	if !ok {
		return code
	}
	topic, code, ok := c.topic(pos, rest)
	if !ok {
		return code
	}
	s, err := c.f.login(context.Background())
	if err != nil {
		return c.fail(err)
	}
	defer s.Close()
	if err := s.LeaveChannel(topic); errors.Is(err, session.ErrNotJoined) {
		return c.fail(errNotJoined(topic))
	} else if err != nil {
		return c.fail(err)
	}
	fmt.Fprintf(stdout, "left %s\n", topic)
	return exitOK
}

// channelListJSON is one channel in `qpc channel list --json`.
type channelListJSON struct {
	Topic string `json:"topic"`
	// ID is the channel id in hex: what nodes see, not the secret.
	ID     string    `json:"id"`
	Joined time.Time `json:"joined"`
}

func (r channelRunner) list(args []string, stdout, stderr io.Writer) int {
	c := r.newCmd("list", "[--json] [flags]\n\nthe channels you joined: topic, channel id, when; never their secrets", stderr, true)
	asJSON := c.fs.Bool("json", false, "print the channels as JSON")
	_, rest, code, ok := c.parse(args, 0)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return c.usage("unexpected argument %q", rest[0])
	}
	s, err := c.f.login(context.Background())
	if err != nil {
		return c.fail(err)
	}
	defer s.Close()
	channels := s.Channels()
	if *asJSON {
		out := make([]channelListJSON, 0, len(channels))
		for _, e := range channels {
			id := e.Secret.Keys().ID
			out = append(out, channelListJSON{Topic: e.Topic, ID: hex.EncodeToString(id[:]), Joined: e.Joined.UTC()})
		}
		writeJSON(stdout, out)
		return exitOK
	}
	if len(channels) == 0 {
		fmt.Fprintln(stderr, "no channels yet (qpc channel create TOPIC makes one, qpc channel join SHARE joins one)")
		return exitOK
	}
	rows := [][]string{{"TOPIC", "CHANNEL", "JOINED"}}
	for _, e := range channels {
		rows = append(rows, []string{e.Topic, shortID(e.Secret.Keys()), e.Joined.Local().Format("2006-01-02 15:04")})
	}
	printTable(stdout, rows)
	return exitOK
}

func (r channelRunner) share(args []string, stdout, stderr io.Writer) int {
	c := r.newCmd("share", "TOPIC [--qr] [flags]\n\nprint a joined channel's share string, to invite someone", stderr, true)
	qr := c.fs.Bool("qr", false, "also print the share string as a QR code")
	pos, rest, code, ok := c.parse(args, 1)
	if !ok {
		return code
	}
	topic, code, ok := c.topic(pos, rest)
	if !ok {
		return code
	}
	s, err := c.f.login(context.Background())
	if err != nil {
		return c.fail(err)
	}
	defer s.Close()
	e, err := s.Channel(topic)
	if err != nil {
		return c.fail(errNotJoined(topic))
	}
	if err := printShare(stdout, stderr, e, *qr); err != nil {
		return c.fail(err)
	}
	return exitOK
}

// checkPostText says what is wrong with a post's text, if anything.
func checkPostText(text string) error { return msgtext.Check(text, channel.MaxText) }

func (r channelRunner) send(args []string, stdout, stderr io.Writer) int {
	c := r.newCmd("send", "TOPIC [--ttl D] [--max-hops N] [flags] [TEXT...]   (no TEXT: read stdin)\n\n"+
		"post TEXT to a channel, signed with your identity key; prints the post's id", stderr, true)
	ttl := c.fs.Duration("ttl", 0, "how long nodes keep and relay the post (default: the node's; more than the node allows is capped)")
	maxHops := c.fs.Uint("max-hops", 0, "the most federation hops the post travels (0: the node's default; more than the node's maximum is capped at it)")
	pos, rest, code, ok := c.parse(args, 1)
	if !ok {
		return code
	}
	switch {
	case *ttl < 0:
		return c.usage("--ttl must not be negative")
	case *maxHops > math.MaxUint8:
		return c.usage("--max-hops %d is more than %d", *maxHops, math.MaxUint8)
	}
	topic, code, ok := c.topic(pos, nil)
	if !ok {
		return code
	}
	text := strings.Join(rest, " ")
	if len(rest) == 0 {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, channel.MaxText+2))
		if err != nil {
			return c.fail(fmt.Errorf("reading stdin: %w", err))
		}
		text = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	}
	if err := checkPostText(text); err != nil {
		return c.usage("%v", err)
	}
	ctx := context.Background()
	s, err := c.f.login(ctx)
	if err != nil {
		return c.fail(err)
	}
	defer s.Close()
	if _, err := s.Channel(topic); err != nil {
		return c.fail(errNotJoined(topic))
	}
	ctx, cancel := context.WithTimeout(ctx, c.f.timeout)
	defer cancel()
	id, err := s.PostToChannel(ctx, topic, text, *ttl, uint8(*maxHops))
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w within %s (posting to %s)", client.ErrNoAnswer, c.f.timeout, topic)
		}
		return c.fail(err)
	}
	fmt.Fprintln(stdout, hex.EncodeToString(id[:]))
	return exitOK
}

// channelPostJSON is one line of `qpc channel recv --json`.
type channelPostJSON struct {
	Topic  string    `json:"topic"`
	Seq    uint64    `json:"seq"`
	ID     string    `json:"id"`
	Author string    `json:"author"`
	Time   time.Time `json:"time"`
	Text   string    `json:"text"`
	// Status is verified, unverified or mismatch; Reason says why it is
	// not verified.
	Status string `json:"status"`
	Reason string `json:"reason"`
	keyChangeJSON
}

// postPrinter shows the posts of one channel: each once, rejected ones
// only counted.
type postPrinter struct {
	w        io.Writer
	topic    string
	asJSON   bool
	replays  client.Replays
	rejected map[string]int // by reason
	replayed int
	// blocked holds the authors on the account's block list, whose posts
	// are dropped unshown (blockedN counts them).
	blocked  chatdb.BlockList
	blockedN int
	shown    int
	// keys compares the account keys of verified posts' authors with the
	// contacts; nil compares nothing.
	keys *authorKeys
}

// authorKeys compares the account key of each post's author with the
// contacts of the chat database (chat.Engine.NoteContact), the record of
// keys that qpc recv, qpc send and qpc repl share, so that a change shows
// here as there. The database is opened on first use; when it cannot be
// (qpc repl has it open), that is said once and the posts are shown
// without the comparison: a channel is read by many, sending is not at
// stake.
type authorKeys struct {
	s      *session.Session
	stderr io.Writer
	eng    *chat.Engine
	failed bool
}

// note returns the change of author's account key first seen now, if any.
func (k *authorKeys) note(ctx context.Context, author string) *chat.KeyChange {
	if k == nil || k.failed {
		return nil
	}
	if k.eng == nil {
		eng, err := k.s.OpenChat(nil)
		if err != nil {
			k.failed = true
			fmt.Fprintf(k.stderr, "qpc channel recv: the authors' keys are not compared with your contacts: %s\n", sayError(err))
			return nil
		}
		k.eng = eng
	}
	kc, err := k.eng.NoteContact(ctx, author)
	if err != nil {
		fmt.Fprintf(k.stderr, "qpc channel recv: comparing the key of %s with your contacts: %s\n", termtext.Safe(author), sayError(err))
	}
	return kc
}

// close closes the chat database if note opened it.
func (k *authorKeys) close() {
	if k != nil && k.eng != nil {
		k.eng.Close()
	}
}

// keep reports whether r is to be shown: opened, and not a replay of a
// post shown before.
func (p *postPrinter) keep(r client.ReadPost) bool {
	if r.Status == client.PostRejected {
		if p.rejected == nil {
			p.rejected = map[string]int{}
		}
		p.rejected[r.Reason]++
		return false
	}
	if p.replays.Seen(r) {
		p.replayed++
		return false
	}
	if p.blocked.Has(r.Message.Author) {
		p.blockedN++
		return false
	}
	return true
}

func (p *postPrinter) print(ctx context.Context, r client.ReadPost) {
	p.shown++
	m := r.Message
	var kc *chat.KeyChange
	if r.Status == client.PostVerified {
		kc = p.keys.note(ctx, m.Author)
	}
	if p.asJSON {
		j := channelPostJSON{
			Topic: p.topic, Seq: r.Post.Seq, ID: hex.EncodeToString(r.Post.ID[:]),
			Author: m.Author, Time: m.Time.UTC(), Text: m.Text, Status: r.Status.String(), Reason: r.Reason,
		}
		j.setKeyChange(kc)
		json.NewEncoder(p.w).Encode(j)
		return
	}
	if kc != nil {
		fmt.Fprintln(p.w, termtext.Safe(kc.String()))
	}
	var mark string
	switch r.Status {
	case client.PostVerified:
		mark = "[verified]"
	case client.PostMismatch:
		mark = "[NOT THE AUTHOR'S KEY]"
	default:
		mark = "[UNVERIFIED: " + termtext.Safe(r.Reason) + "]"
	}
	fmt.Fprintf(p.w, "%s %s %s %s\n", m.Time.Local().Format("2006-01-02 15:04:05"), termtext.Safe(m.Author), mark, termtext.Safe(m.Text))
}

// plural is termtext's: the REPL words counts the same way.
var plural = termtext.Plural

// summary tells stderr what was not shown.
func (p *postPrinter) summary(stderr io.Writer) {
	if len(p.rejected) > 0 {
		total := 0
		var parts []string
		for _, reason := range slices.Sorted(maps.Keys(p.rejected)) {
			total += p.rejected[reason]
			parts = append(parts, fmt.Sprintf("%d %s", p.rejected[reason], reason))
		}
		fmt.Fprintf(stderr, "qpc channel recv: rejected %d %s: %s\n", total, plural(total, "post"), strings.Join(parts, ", "))
	}
	if p.replayed > 0 {
		fmt.Fprintf(stderr, "qpc channel recv: skipped %d replayed %s\n", p.replayed, plural(p.replayed, "post"))
	}
	if p.blockedN > 0 {
		fmt.Fprintf(stderr, "qpc channel recv: dropped %d %s of blocked accounts\n", p.blockedN, plural(p.blockedN, "post"))
	}
}

func (r channelRunner) recv(args []string, stdout, stderr io.Writer) int {
	c := r.newCmd("recv", "TOPIC [--follow] [--json] [--limit N] [flags]\n\n"+
		"print the posts the node keeps of a channel, oldest first: TIME AUTHOR [verified|UNVERIFIED: why|NOT THE AUTHOR'S KEY] TEXT", stderr, true)
	follow := c.fs.Bool("follow", false, "then keep running and print new posts as they arrive (reconnects by itself)")
	asJSON := c.fs.Bool("json", false, "print one JSON object per post")
	limit := c.fs.Int("limit", 0, "print only the newest `N` of the kept posts (0: all)")
	pos, rest, code, ok := c.parse(args, 1)
	if !ok {
		return code
	}
	if *limit < 0 {
		return c.usage("--limit must not be negative")
	}
	topic, code, ok := c.topic(pos, rest)
	if !ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := c.f.login(ctx)
	if err != nil {
		return c.fail(err)
	}
	e, err := s.Channel(topic)
	if err != nil {
		s.Close()
		return c.fail(errNotJoined(topic))
	}
	keys := e.Secret.Keys()
	p := &postPrinter{w: stdout, topic: topic, asJSON: *asJSON, keys: &authorKeys{s: s, stderr: stderr}}
	p.blocked = r.readBlockList(s, stderr)
	defer p.summary(stderr)
	defer p.keys.close()
	read, after, err := s.ChannelPosts(ctx, keys, 0)
	var kept []client.ReadPost
	for _, r := range read {
		if p.keep(r) {
			kept = append(kept, r)
		}
	}
	if err != nil {
		s.Close()
		if ctx.Err() != nil {
			return exitOK
		}
		return c.fail(err)
	}
	if *limit > 0 && len(kept) > *limit {
		kept = kept[len(kept)-*limit:]
	}
	for _, r := range kept {
		p.print(ctx, r)
	}
	if !*follow {
		s.Close()
		if p.shown == 0 && !*asJSON {
			fmt.Fprintf(stderr, "no posts in %s\n", topic)
		}
		return exitOK
	}
	return followChannel(ctx, s, c, keys, after, p)
}

// followChannel prints the posts of the channel of keys after seq after as
// they arrive, until ctx ends.
func followChannel(ctx context.Context, s *session.Session, c *channelCmd, keys channel.Keys, after uint64, p *postPrinter) int {
	id := protocol.ChannelID(keys.ID)
	conn := s.FollowOptions(s.Current().Server, s.Client())
	conn.Connected = func(cl *client.Client) { s.Account().Client = cl }
	conn.Disconnected = func(err error, retry time.Duration) {
		fmt.Fprintf(c.stderr, "qpc channel recv: %s; reconnecting in %s\n", sayError(err), retry.Round(10*time.Millisecond))
	}
	err := client.FollowChannels(ctx, client.ChannelFollowOptions{
		Connection: conn,
		Cursors:    []protocol.ChannelCursor{{Channel: id, AfterSeq: after}},
		Handler: func(hctx context.Context, _ *client.Client, posts []protocol.ChannelMessage) error {
			for _, m := range posts {
				if m.Channel != id {
					continue
				}
				if r := s.Account().ReadPost(ctx, keys, m); p.keep(r) {
					p.print(ctx, r)
				}
			}
			return nil
		},
	})
	if err != nil {
		return c.fail(err)
	}
	return exitOK
}

// channelStatsJSON is what `qpc channel stats --json` prints.
type channelStatsJSON struct {
	Channels int   `json:"channels"`
	Posts    int   `json:"posts"`
	Bytes    int64 `json:"bytes"`
	MaxBytes int64 `json:"max_bytes"`
	Seen     int   `json:"seen"`
	// Counters are since the node started, by name: "relayed",
	// "duplicate", "rejected:<reason>", ...
	Counters map[string]uint64 `json:"counters"`
}

func (cr channelRunner) stats(args []string, stdout, stderr io.Writer) int {
	c := cr.newCmd("stats", "[--server HOST:PORT|auto] [--pin SHA256HEX | --ca-cert FILE] [--json]\n\n"+
		"a node's channel relay: the posts it keeps for late joiners, its bound, what it relayed since it started", stderr, false)
	c.fs.Lookup("server").Usage += " (default: the node of the current account)"
	c.fs.StringVar(&c.f.stateDir, "state-dir", client.DefaultStateDir(), "where the client state lives (for the current account's node)")
	asJSON := c.fs.Bool("json", false, "print the answer as JSON")
	_, rest, code, ok := c.parse(args, 0)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return c.usage("unexpected argument %q", rest[0])
	}
	if !c.f.serverOfCurrentAccount(c.f.stateDir) {
		return c.usage("--server is required (no current account to take the node from)")
	}
	var r protocol.ChannelReport
	err := c.f.ask(c.f.server, func(ctx context.Context, cl *client.Client) (err error) {
		r, err = cl.ChannelState(ctx)
		return err
	})
	if err != nil {
		return c.fail(err)
	}
	st := r.Store
	if *asJSON {
		j := channelStatsJSON{Channels: st.Channels, Posts: st.Posts, Bytes: st.Bytes, MaxBytes: st.MaxBytes, Seen: st.Seen, Counters: r.Counters}
		if j.Counters == nil {
			j.Counters = map[string]uint64{}
		}
		writeJSON(stdout, j)
		return exitOK
	}
	if st.MaxBytes == 0 && len(r.Counters) == 0 {
		fmt.Fprintln(stderr, "qpc channel stats: the node relays no channels")
		return exitOK
	}
	fmt.Fprintf(stdout, "channels  %d\nposts     %d (%d of at most %d bytes)\nseen      %d post ids\n", st.Channels, st.Posts, st.Bytes, st.MaxBytes, st.Seen)
	if len(r.Counters) > 0 {
		fmt.Fprintln(stdout, "since start:")
		rows := [][]string{}
		for _, name := range slices.Sorted(maps.Keys(r.Counters)) {
			rows = append(rows, []string{"  " + name, fmt.Sprint(r.Counters[name])})
		}
		printTable(stdout, rows)
	}
	return exitOK
}
