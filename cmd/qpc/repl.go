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
	"syscall"

	"golang.org/x/term"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/cmd/qpc/internal/repl"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/protocol"
)

// `qpc repl` is the interactive chat client: it logs in (offering to
// register an account never seen on this machine), opens the account's
// conversations (client/chat), follows the node in the background and
// runs the terminal UI (internal/repl) until /quit. This file wires the
// flags to them.

func runRepl(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("repl", "[--username NAME] [--server HOST:PORT|auto] [flags]\n\n"+
		"interactive chat: DMs, groups, channels. Inside, /help lists the commands.\n"+
		"Once started with the node reachable, it also starts without it (offline: history and outbox),\n"+
		"and connects when the node appears.", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	if err := parseFlags(fs, args); err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc repl", err)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "qpc repl: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	s, err := f.openRepl(ctx, os.Stdin)
	if err != nil {
		printErr(stderr, "qpc repl", err)
		return exitFailure
	}
	defer s.Close()

	lio, err := repl.NewLineIO(os.Stdin, stdout)
	if err != nil {
		printErr(stderr, "qpc repl: terminal", err)
		return exitFailure
	}
	defer lio.Close()
	f.stderr = lio // warnings about nodes (first contact) go above the prompt
	eng, err := s.OpenChat(slog.New(slog.NewTextHandler(lio, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		lio.Close()
		printErr(stderr, "qpc repl", err)
		return exitFailure
	}
	defer eng.Close()
	defer watchDelivery(ctx, eng)()

	var r *repl.REPL
	home, homePin := s.Current().Server, f.pin
	n := repl.NewFollower(repl.FollowerConfig{
		Session: s,
		Engine:  eng,
		Status:  func(line string) { r.Printf("%s", lio.Dim("-- "+line+" --")) },
		// Another node than the account's own is trusted on first use (or
		// by --ca-cert), since the account's pin is its own node's.
		Moving: func(addr string) {
			if addr == home {
				f.pin = homePin
			} else if f.caCert == "" {
				f.pin = ""
			}
		},
		Channel: func(server string, args []string, w io.Writer) {
			f.replChannel(s.Current().User, server, args, w, eng.BlockList)
		},
		Online: func(online bool) { r.SetOnline(online) },
		Say:    sayError,
	})
	r = repl.New(repl.Config{Engine: replEngine{Engine: eng, timeout: f.timeout, unanswered: n.Unanswered}, Label: chat.Label, IO: lio, Node: n,
		MeshPeers: func(args []string, w io.Writer) { runMeshPeers(args, w, w) },
		Devices:   sessionDevices{s: s, eng: eng},
		Files:     sessionFiles{s: s, stateDir: f.stateDir},
		Keeper:    sessionKeeper{s: s, eng: eng, stateDir: f.stateDir},
		Account:   sessionAccount{s: s}})
	n.Start(ctx, home, s.Connection())
	defer n.Stop()
	if err := r.Run(ctx); err != nil {
		lio.Close()
		printErr(stderr, "qpc repl", err)
		return exitFailure
	}
	return exitOK
}

// loginOrRegister logs in; when the node refuses an account of which this
// machine holds no state, it offers to register it (on a terminal, in).
// The node answers an unknown user as a wrong password on purpose, so
// only the missing local state tells a new account from a typo.
func (f *clientFlags) loginOrRegister(ctx context.Context, in *os.File) (*session.Session, error) {
	s, err := f.login(ctx)
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
	if herr != nil || client.HasState(f.stateDir, cur.User, h.Domain) || checkNameFree(ctx, c, cur.User) != nil {
		return nil, err // a name taken by someone else: the password was wrong
	}
	fmt.Fprintf(f.stderr, "%s@%s is not registered on this machine. Register it on %s? [y/N] ", cur.User, termtext.Safe(h.Domain), c.Addr())
	answer, rerr := readAnswer(in)
	if rerr != nil || !strings.EqualFold(answer, "y") && !strings.EqualFold(answer, "yes") {
		return nil, err
	}
	if err := f.askInvite(in, h); err != nil {
		return nil, err
	}
	pw, err := f.newAccountPassword(in, cur.User, cur.User+"@"+h.Domain)
	if err != nil {
		return nil, err
	}
	// The node closes a connection that has not logged in within its
	// --login-timeout; the questions above may have taken longer.
	c.Close()
	if c, derr = f.dial(ctx, cur.Server); derr != nil {
		return nil, derr
	}
	defer c.Close()
	f.user = cur.User
	s, err = f.register(ctx, c, h.Domain, pw)
	if err == nil {
		// Shown once, before the chat takes the screen.
		printRecoveryCode(f.stderr, f.stderr, s.RecoveryCode(), false)
	}
	return s, err
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

// replChannel runs `qpc channel args...` for the REPL's account, user, on
// the node at server, writing what it prints to w. It logs in anew, with the
// password the REPL has, so that it does not ask for it again.
func (f *clientFlags) replChannel(user, server string, args []string, w io.Writer, blockList func() (chatdb.BlockList, error)) {
	flags := []string{"--server", server, "--known-nodes", f.knownNodes, "--timeout", f.timeout.String()}
	if f.pin != "" {
		flags = append(flags, "--pin", f.pin)
	}
	if f.caCert != "" {
		flags = append(flags, "--ca-cert", f.caCert)
	}
	if args[0] != "stats" { // the one that needs no account
		flags = append(flags, "--username", user, "--state-dir", f.stateDir)
	}
	full := append(append([]string{args[0]}, flags...), args[1:]...)
	channelRunner{password: f.fixedPassword, blockList: blockList}.run(full, w, w)
}
