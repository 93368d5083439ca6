//go:build !router

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/client/session"
)

// openRepl opens the account for qpc repl. Where this machine keeps the
// account's offline key it opens the account from this machine alone
// (session.OpenOffline) and the REPL's follower connects afterwards, so
// that the REPL starts and shows its history whether or not the node
// answers; it never waits for the node before the password. Otherwise it
// logs in (or offers to register), and keeps the offline key for the next
// start.
func (f *clientFlags) openRepl(ctx context.Context, in *os.File) (*session.Session, error) {
	cur, cerr := f.resolveAccount()
	if cerr == nil && session.CanOpenOffline(f.sessionConfig(), cur) {
		return session.OpenOffline(f.sessionConfig(), cur)
	}
	s, err := f.loginOrRegister(ctx, in)
	if errors.Is(err, client.ErrNoAnswer) && cerr == nil && client.HasState(f.stateDir, cur.User, cur.Domain) {
		// An account of this machine that no REPL has kept the key of
		// (qpc register, or a qpc older than the key): say how to get it.
		return nil, fmt.Errorf("%w (%v)", client.ErrNoOfflineKey, err)
	}
	if err != nil {
		return nil, err
	}
	if err := s.KeepOfflineKey(); err != nil {
		// The REPL works without it; it will not start offline.
		printErr(f.stderr, "qpc: cannot keep the key that opens this account offline", err)
	}
	return s, nil
}

// replEngine is the chat engine as the REPL's lines use it: a line sent
// waits for the node at most timeout, then stays queued in the outbox (the
// engine sends it on the next connection) and the follower is told that
// the node did not answer, so that the prompt says "offline" at once
// instead of after QUIC's idle timeout.
type replEngine struct {
	*chat.Engine
	timeout    time.Duration
	unanswered func()
}

// Send is chat.Engine.Send within e.timeout.
func (e replEngine) Send(ctx context.Context, conv chatdb.ConvID, text string) (chatdb.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	m, err := e.Engine.Send(ctx, conv, text)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		e.unanswered()
	}
	return m, err
}
