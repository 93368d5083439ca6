package repl

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/quicprochat/qpc/app/apptest"
	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/transport"
)

// The Follower against a real node (QUIC on 127.0.0.1, bbolt in a
// temporary directory): it feeds the engine, announces moving and going
// offline once, and stops.

const testDomain = "node1.example.mesh"

// runNode runs a node; stop stops it and reports how Run ended. The test's
// cleanup stops it if the test did not.
func runNode(t *testing.T) (addr, fingerprint string, stop func() error) {
	t.Helper()
	// Registered first, so it runs last: once the node, the sessions,
	// the engines and the follower of the test have stopped, nothing of
	// theirs may still run.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	n := apptest.Run(t, testDomain)
	return n.Addr, n.Fingerprint, n.Stop
}

// register makes user's account on the node with a Session.
func register(t *testing.T, addr, fingerprint, user string) *session.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pw := []byte("password of " + user)
	cfg := session.Config{
		StateDir: t.TempDir(),
		Dial: func(ctx context.Context, server string) (*client.Client, error) {
			return client.Dial(ctx, server, transport.Trust{Pin: fingerprint}, nil)
		},
		Password: func(string) ([]byte, bool, error) { return pw, false, nil },
		// The identity function instead of Argon2id: a login in
		// milliseconds.
		OPAQUE: opaque.Config{KSF: opaque.Identity{}},
	}
	c, err := cfg.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := session.Register(ctx, cfg, c, user, testDomain, pw)
	if err != nil {
		t.Fatalf("register %s: %v", user, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openEngine(t *testing.T, s *session.Session) *chat.Engine {
	t.Helper()
	eng, err := s.OpenChat(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// waitFor returns the first value of ch that ok accepts, failing the test
// if none comes within a minute.
func waitFor[T any](t *testing.T, what string, ch <-chan T, ok func(T) bool) T {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		select {
		case v := <-ch:
			if ok(v) {
				return v
			}
		case <-deadline:
			t.Fatalf("no %s within a minute", what)
		}
	}
}

func TestTheFollowerFeedsTheEngineAnnouncesAMoveAndGoesOfflineOnce(t *testing.T) {
	addr, fp, stopNode := runNode(t)
	a, b := register(t, addr, fp, "alice"), register(t, addr, fp, "bob")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	eb := openEngine(t, b)
	messages := make(chan string, 16)
	go func() {
		for ev := range eb.Events() {
			if ev.Message != nil && !ev.Message.System {
				messages <- ev.Message.Text
			}
		}
	}()
	status := make(chan string, 16)
	moved := make(chan string, 1)
	f := NewFollower(FollowerConfig{
		Session: b, Engine: eb,
		Status: func(line string) { status <- line },
		Moving: func(addr string) { moved <- addr },
		Channel: func(server string, args []string, w io.Writer) {
			io.WriteString(w, server+" "+strings.Join(args, " "))
		},
	})
	f.Start(ctx, addr, b.Client())
	defer f.Stop()
	// The follower hands the connection to bob's engine on its own
	// goroutine, and the engine publishes bob's KeyPackages then: alice
	// can open a DM with bob only after that. Online holds the engine's
	// lock that Connected holds meanwhile, so once it says yes, they are
	// published.
	for deadline := time.Now().Add(time.Minute); !eb.Online(); {
		if time.Now().After(deadline) {
			t.Fatal("bob's engine is not online a minute after the follower started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if f.Server() != addr {
		t.Errorf("server %q, want %q", f.Server(), addr)
	}

	ea := openEngine(t, a)
	if err := ea.Connected(ctx, a.Client()); err != nil {
		t.Fatal(err)
	}
	dm, err := ea.DM(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ea.Send(ctx, dm.ID, "hello through the follower"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "message in bob's engine", messages, func(s string) bool { return s == "hello through the follower" })
	if !eb.Online() {
		t.Error("bob's engine is offline while followed")
	}

	// Moving (here to the same node) tells the caller first, then says
	// "online" once connected.
	f.MoveTo(ctx, addr)
	if got := waitFor(t, "Moving call", moved, func(string) bool { return true }); got != addr {
		t.Errorf("moving to %q, want %q", got, addr)
	}
	waitFor(t, "online after the move", status, func(s string) bool { return s == "online" })

	var b2 strings.Builder
	f.Channel([]string{"list"}, &b2)
	if b2.String() != addr+" list" {
		t.Errorf("channel ran as %q, want on the followed node", b2.String())
	}
	// The account key's fingerprint, as register prints it, not this
	// device's key's.
	if want := identity.Fingerprint(b.Account().List.AccountKey); f.Fingerprint() != want || want == b.Account().Keys.Fingerprint() {
		t.Errorf("fingerprint %s, want the account key's %s (the device key's is %s)", f.Fingerprint(), want, b.Account().Keys.Fingerprint())
	}

	// The node goes: one "offline" line, however often the follower
	// retries, and the engine knows it is offline.
	if err := stopNode(); err != nil {
		t.Errorf("node Run: %v", err)
	}
	line := waitFor(t, "offline status", status, func(s string) bool { return strings.HasPrefix(s, "offline: ") })
	if !strings.Contains(line, "retrying in") {
		t.Errorf("offline line %q does not say when it retries", line)
	}
	f.Stop()
	if eb.Online() {
		t.Error("bob's engine is online after the follower stopped")
	}
	close(status)
	for s := range status {
		if strings.HasPrefix(s, "offline") {
			t.Errorf("a second offline line: %q", s)
		}
	}
}
