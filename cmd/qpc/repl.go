//go:build !router

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/protocol"
)

// `qpc repl` is the interactive chat client: it logs in (offering to
// register an account never seen on this machine), opens the account's
// conversations (client/chat), follows the node in the background and
// runs the terminal UI (replui.go, replcmd.go) until /quit.

func runRepl(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("repl", "[--username NAME] [--server HOST:PORT|auto] [flags]\n\n"+
		"interactive chat: DMs, groups, channels. Inside, /help lists the commands.", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		fmt.Fprintf(stderr, "qpc repl: %v\n", err)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "qpc repl: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	s, err := f.loginOrRegister(ctx, os.Stdin)
	if err != nil {
		fmt.Fprintf(stderr, "qpc repl: %v\n", err)
		return exitFailure
	}
	defer s.close()

	lio, err := newLineIO(os.Stdin, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "qpc repl: terminal: %v\n", err)
		return exitFailure
	}
	defer lio.Close()
	f.stderr = lio // warnings about nodes (first contact) go above the prompt
	eng, err := chat.Open(chat.Options{
		Dir: f.stateDir, Account: s.acct, ExportKey: s.exportKey, PQOnly: f.pqOnly,
		Log: slog.New(slog.NewTextHandler(lio, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		lio.Close()
		fmt.Fprintf(stderr, "qpc repl: %v\n", err)
		return exitFailure
	}
	defer eng.Close()

	var r *repl
	n := &replNet{f: &f, s: s, eng: eng, status: func(line string) { r.printf("%s", lio.Dim("-- "+line+" --")) }}
	r = newRepl(eng, chat.Label, lio, n)
	n.start(ctx, s.cur.Server, s.c)
	defer n.stop()
	if err := r.run(ctx); err != nil {
		lio.Close()
		fmt.Fprintf(stderr, "qpc repl: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// loginOrRegister logs in; when the node refuses an account of which this
// machine holds no state, it offers to register it (on a terminal, in).
// The node answers an unknown user as a wrong password on purpose, so
// only the missing local state tells a new account from a typo.
func (f *clientFlags) loginOrRegister(ctx context.Context, in *os.File) (*session, error) {
	s, err := f.login(ctx, true)
	if !errors.Is(err, client.ErrWrongPassword) || !term.IsTerminal(int(in.Fd())) {
		return s, err
	}
	cur, rerr := f.resolveAccount()
	if rerr != nil || protocol.ValidateUserName(cur.User) != nil {
		return nil, err
	}
	c, derr := f.dial(ctx, cur.Server)
	if derr != nil {
		return nil, err
	}
	defer c.Close()
	h, herr := c.Health(ctx)
	if herr != nil || client.HasState(f.stateDir, cur.User, h.Domain) {
		return nil, err
	}
	fmt.Fprintf(f.stderr, "%s@%s is not registered on this machine. Register it on %s? [y/N] ", cur.User, h.Domain, c.Addr())
	answer, rerr := readAnswer(in)
	if rerr != nil || !strings.EqualFold(answer, "y") && !strings.EqualFold(answer, "yes") {
		return nil, err
	}
	pw := f.fixedPassword
	if f.typedPassword {
		fmt.Fprint(f.stderr, "Repeat the password for the new account: ")
		again, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(f.stderr)
		if err != nil {
			return nil, err
		}
		if string(again) != string(pw) {
			return nil, errors.New("the passwords differ")
		}
	}
	// The node closes a connection that has not logged in within its
	// --login-timeout; the questions above may have taken longer.
	c.Close()
	if c, derr = f.dial(ctx, cur.Server); derr != nil {
		return nil, derr
	}
	defer c.Close()
	f.user = cur.User
	return f.register(ctx, c, h.Domain, pw)
}

// readAnswer reads one line from in, a byte at a time so that nothing
// after it is taken from the terminal.
func readAnswer(in io.Reader) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for b.Len() < 64 {
		n, err := in.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				break
			}
			b.WriteByte(buf[0])
		}
		if err != nil {
			return b.String(), err
		}
	}
	return strings.TrimSpace(b.String()), nil
}

// replNet keeps the REPL's account connected to a node: client.Follow in
// the background feeds the engine, and /mesh server restarts it on
// another node.
type replNet struct {
	f   *clientFlags
	s   *session
	eng *chat.Engine
	// status prints a line about the connection.
	status func(line string)

	mu      sync.Mutex
	addr    string
	homePin string
	cancel  context.CancelFunc
	done    chan struct{}
	offline bool
	// moving is set from /mesh server until the first connection to the
	// new node, which is announced either way.
	moving bool
}

// start follows the node at addr; first, if not nil, is a connection to it
// already logged in.
func (n *replNet) start(ctx context.Context, addr string, first *client.Client) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.homePin == "" {
		n.homePin = n.f.pin
	}
	ctx, n.cancel = context.WithCancel(ctx)
	n.done = make(chan struct{})
	n.addr = addr
	o := n.s.followOptions(n.f, addr, first)
	// The engine points the account at each new connection itself.
	o.Connected = func(c *client.Client) {
		if err := n.eng.Connected(ctx, c); err != nil {
			n.status(fmt.Sprintf("connected, but catching up failed: %v", err))
		}
		n.mu.Lock()
		was := n.offline || n.moving
		n.offline, n.moving = false, false
		n.mu.Unlock()
		if was {
			n.status("online")
		}
	}
	o.Handler = func(_ *client.Client, msgs []protocol.Message) uint64 { return n.eng.Handle(ctx, msgs) }
	o.Disconnected = func(err error, retry time.Duration) {
		n.eng.Disconnected()
		n.mu.Lock()
		was := n.offline
		n.offline, n.moving = true, false
		n.mu.Unlock()
		if !was { // once per outage
			n.status(fmt.Sprintf("offline: %v; retrying in %s", disconnectReason(err), retry.Round(100*time.Millisecond)))
		}
	}
	done := n.done
	go func() {
		defer close(done)
		if err := client.Follow(ctx, o); err != nil {
			n.eng.Disconnected()
			n.status(fmt.Sprintf("offline for good: %v (/mesh server HOST:PORT tries another node)", err))
		}
	}()
}

// stop ends following and waits for it.
func (n *replNet) stop() {
	n.mu.Lock()
	cancel, done := n.cancel, n.done
	n.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	n.eng.Disconnected()
}

// moveTo follows the node at addr instead; the account stays the same.
// Another node than the account's own is trusted on first use (or by
// --ca-cert), since the account's pin is its own node's.
func (n *replNet) moveTo(ctx context.Context, addr string) {
	n.stop()
	if addr == n.s.cur.Server {
		n.f.pin = n.homePin
	} else if n.f.caCert == "" {
		n.f.pin = ""
	}
	n.mu.Lock()
	n.offline, n.moving = false, true
	n.mu.Unlock()
	n.start(ctx, addr, nil)
}

// server is the address of the node followed now.
func (n *replNet) server() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.addr
}

// channel runs `qpc channel args...` for the account, on the node followed
// now, writing what it prints to w.
func (n *replNet) channel(args []string, w io.Writer) {
	flags := []string{"--server", n.server(), "--known-nodes", n.f.knownNodes, "--timeout", n.f.timeout.String()}
	if n.f.pin != "" {
		flags = append(flags, "--pin", n.f.pin)
	}
	if n.f.caCert != "" {
		flags = append(flags, "--ca-cert", n.f.caCert)
	}
	if args[0] != "stats" { // the one that needs no account
		flags = append(flags, "--username", n.s.cur.User, "--state-dir", n.f.stateDir)
	}
	full := append(append([]string{args[0]}, flags...), args[1:]...)
	channelRunner{password: n.f.fixedPassword}.run(full, w, w)
}
