package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/protocol"
)

// FollowerConfig is what a Follower keeps connected.
type FollowerConfig struct {
	// Session is the logged-in account.
	Session *session.Session
	// Engine is the account's chat engine, fed by the follower.
	Engine *chat.Engine
	// Status prints a line about the connection.
	Status func(line string)
	// Moving is told the address of the node the follower moves to before
	// it dials it, so that the caller trusts that node as it should (the
	// account's pin is its own node's).
	Moving func(addr string)
	// Channel runs `qpc channel args...` for the account on the node at
	// server, writing what it prints to w.
	Channel func(server string, args []string, w io.Writer)
	// Say words an error for a person (the REPL's sayError); nil prints
	// its text, made safe.
	Say func(error) string
	// Online, when not nil, is told each time the account connects
	// (true) or loses its connection (false), before the status line
	// that says so: REPL.SetOnline.
	Online func(online bool)
}

// Follower keeps the REPL's account connected to a node: client.Follow in
// the background feeds the engine, and /mesh server restarts it on
// another node. It is the REPL's Node.
type Follower struct {
	cfg FollowerConfig

	mu      sync.Mutex
	addr    string
	cancel  context.CancelFunc
	done    chan struct{}
	offline bool
	// moving is set from /mesh server until the first connection to the
	// new node, which is announced either way.
	moving bool
	// conn is the connection followed now, nil between connections.
	conn *client.Client
}

// NewFollower returns a Follower of cfg; Start starts it.
func NewFollower(cfg FollowerConfig) *Follower { return &Follower{cfg: cfg} }

// Start follows the node at addr; first, if not nil, is a connection to
// it already logged in. Without one the account starts offline (opened
// from this machine, session.OpenOffline): the prompt says so until the
// first connection, and a first attempt that fails says why, as any
// outage does. A start whose node answers at once prints nothing.
func (n *Follower) Start(ctx context.Context, addr string, first *client.Client) {
	if first == nil && !n.isMoving() {
		n.online(false)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	ctx, n.cancel = context.WithCancel(ctx)
	n.done = make(chan struct{})
	n.addr = addr
	eng := n.cfg.Engine
	o := n.cfg.Session.FollowOptions(addr, first)
	// The engine points the account at each new connection itself.
	o.Connected = func(c *client.Client) {
		if err := eng.Connected(ctx, c); err != nil {
			n.cfg.Status(fmt.Sprintf("connected, but catching up failed: %s", n.say(err)))
		}
		n.mu.Lock()
		was := n.offline || n.moving
		n.offline, n.moving = false, false
		n.conn = c
		n.mu.Unlock()
		n.online(true)
		if was {
			n.cfg.Status("online")
		}
	}
	o.Handler = func(_ *client.Client, msgs []protocol.Message) uint64 { return eng.Handle(ctx, msgs) }
	o.Disconnected = func(err error, retry time.Duration) {
		eng.Disconnected()
		n.mu.Lock()
		was := n.offline
		n.offline, n.moving = true, false
		n.conn = nil
		n.mu.Unlock()
		n.online(false)
		if !was { // once per outage
			n.cfg.Status(fmt.Sprintf("offline: %s; retrying in %s", n.say(err), retry.Round(100*time.Millisecond)))
		}
	}
	done := n.done
	go func() {
		defer close(done)
		if err := client.Follow(ctx, o); err != nil {
			eng.Disconnected()
			n.online(false)
			hint := "/mesh server HOST:PORT tries another node"
			if errors.Is(err, client.ErrWrongPassword) {
				// The node ended the session and refuses the password
				// this REPL logged in with: it was changed elsewhere.
				hint = "the password was changed: /quit and start qpc repl again with the new one"
			}
			n.cfg.Status(fmt.Sprintf("offline for good: %s (%s)", n.say(err), hint))
		}
	}()
}

// Stop ends following and waits for it.
func (n *Follower) Stop() {
	n.mu.Lock()
	cancel, done := n.cancel, n.done
	n.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	n.cfg.Engine.Disconnected()
}

// MoveTo follows the node at addr instead; the account stays the same.
func (n *Follower) MoveTo(ctx context.Context, addr string) {
	n.Stop()
	if n.cfg.Moving != nil {
		n.cfg.Moving(addr)
	}
	n.mu.Lock()
	n.offline, n.moving = false, true
	n.mu.Unlock()
	n.Start(ctx, addr, nil)
}

// Server returns the address of the node followed now.
func (n *Follower) Server() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.addr
}

// Channel runs `qpc channel args...` for the account on the node followed
// now, writing what it prints to w.
func (n *Follower) Channel(args []string, w io.Writer) { n.cfg.Channel(n.Server(), args, w) }

// Fingerprint returns the key fingerprint of the account key, which
// register prints too.
func (n *Follower) Fingerprint() string {
	return identity.Fingerprint(n.cfg.Session.Account().PublicAccountKey())
}

// online tells cfg.Online, if set.
func (n *Follower) online(on bool) {
	if n.cfg.Online != nil {
		n.cfg.Online(on)
	}
}

func (n *Follower) isMoving() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.moving
}

// Unanswered tells the follower that the node left a call on the
// connection followed now unanswered past the time a person waits. A node
// that was killed, or whose network went away, sends no close: QUIC
// notices only at its idle timeout (a minute), and until then what is
// typed would wait on a dead connection. The follower drops it, says
// "offline" and dials again, as for a connection that ended; a node that
// was only slow is back on the next dial, with the session resumed.
func (n *Follower) Unanswered() {
	n.mu.Lock()
	c := n.conn
	n.conn = nil
	n.mu.Unlock()
	if c != nil {
		go c.Close() // a dead node may keep the close waiting too
	}
}

// say words err for the status line: what comes from a node is shown made
// safe, never as it is.
func (n *Follower) say(err error) string {
	if n.cfg.Say != nil {
		return n.cfg.Say(err)
	}
	return termtext.Safe(err.Error())
}
