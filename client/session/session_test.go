package session_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/quicprochat/qpc/app/apptest"
	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/crypto/channel"
	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/transport"
)

// Sessions against a real node: QUIC on 127.0.0.1, bbolt in a temporary
// directory, as app's tests start one. The password is stretched with the
// identity function, so that a login takes milliseconds, not Argon2id's
// second.

const domain = "node1.example.mesh"

var fastOPAQUE = opaque.Config{KSF: opaque.Identity{}}

// startNode runs a node until the test ends; the node's cleanup checks
// that it stopped cleanly.
func startNode(t *testing.T) *apptest.Node {
	t.Helper()
	// Registered first, so run last: after every session, engine and
	// node of the test has closed, nothing of theirs may still run.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	return apptest.Run(t, domain)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// person is one user of this machine: a state directory, a password, and
// what the Session told them.
type person struct {
	t        *testing.T
	n        *apptest.Node
	user     string
	pw       []byte
	stateDir string
	// asked counts the password questions; notices collects the notices.
	mu      sync.Mutex
	asked   int
	notices []string
}

func newPerson(t *testing.T, n *apptest.Node, user string) *person {
	return &person{t: t, n: n, user: user, pw: []byte("password of " + user), stateDir: t.TempDir()}
}

func (p *person) config() session.Config {
	return session.Config{
		StateDir: p.stateDir,
		Dial: func(ctx context.Context, server string) (*client.Client, error) {
			return client.Dial(ctx, server, transport.Trust{Pin: p.n.Fingerprint}, nil)
		},
		Password: func(prompt string) ([]byte, bool, error) {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.asked++
			if want := "Password for " + p.user + "@" + domain + ": "; prompt != want {
				p.t.Errorf("prompt %q, want %q", prompt, want)
			}
			return p.pw, false, nil
		},
		Notices: func(text string) {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.notices = append(p.notices, text)
		},
		OPAQUE: fastOPAQUE,
	}
}

func (p *person) current() client.Current {
	return client.Current{User: p.user, Server: p.n.Addr, Fingerprint: p.n.Fingerprint}
}

// register registers the person on the node with a Session and returns it.
func (p *person) register() *session.Session {
	p.t.Helper()
	ctx := ctxT(p.t)
	c, err := p.config().Dial(ctx, p.n.Addr)
	if err != nil {
		p.t.Fatal(err)
	}
	defer c.Close()
	s, err := session.Register(ctx, p.config(), c, p.user, domain, p.pw)
	if err != nil {
		p.t.Fatalf("register %s: %v", p.user, err)
	}
	p.t.Cleanup(func() { s.Close() })
	return s
}

// login logs the person in with a new Session.
func (p *person) login() (*session.Session, error) {
	s, err := session.Login(ctxT(p.t), p.config(), p.current())
	if err == nil {
		p.t.Cleanup(func() { s.Close() })
	}
	return s, err
}

func (p *person) mustLogin() *session.Session {
	p.t.Helper()
	s, err := p.login()
	if err != nil {
		p.t.Fatalf("login %s: %v", p.user, err)
	}
	return s
}

func TestRegisterMakesTheAccountCurrentAndALoginResumesItsKeys(t *testing.T) {
	n := startNode(t)
	alice := newPerson(t, n, "alice")
	s := alice.register()
	if alice.asked != 0 {
		t.Errorf("register asked for the password %d times, want 0 (it has it)", alice.asked)
	}
	if len(alice.notices) != 0 {
		t.Errorf("register gave notices %q; new keys of a new account are no news", alice.notices)
	}
	fp := s.Account().Keys.Fingerprint()
	if got := s.Current(); got.Address() != "alice@"+domain || got.Server != n.Addr || got.Fingerprint != n.Fingerprint {
		t.Errorf("current %+v", got)
	}
	cur, err := client.LoadCurrent(alice.stateDir)
	if err != nil || cur != s.Current() {
		t.Errorf("saved current account %+v, %v; want %+v", cur, err, s.Current())
	}
	for _, name := range []string{"current", "alice@" + domain + ".keystore"} {
		st, err := os.Stat(filepath.Join(alice.stateDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, st.Mode().Perm())
		}
	}
	token := s.State().SessionToken
	s.Close()

	again := alice.mustLogin()
	if alice.asked != 1 {
		t.Errorf("login asked for the password %d times, want 1", alice.asked)
	}
	if got := again.Account().Keys.Fingerprint(); got != fp {
		t.Errorf("keys after a login %s, want the registered ones %s", got, fp)
	}
	if len(again.State().SessionToken) == 0 || string(again.State().SessionToken) == string(token) {
		t.Error("a login did not save a new session token")
	}
	// The connection is logged in: the node answers what needs a session.
	if _, err := again.Client().Fetch(ctxT(t), 0, 10); err != nil {
		t.Errorf("fetch on the logged-in connection: %v", err)
	}
}

func TestLoginRefusalsAreTyped(t *testing.T) {
	n := startNode(t)
	alice := newPerson(t, n, "alice")
	alice.register().Close()

	if _, err := session.Login(ctxT(t), alice.config(), client.Current{Server: n.Addr}); !errors.Is(err, session.ErrNoAccount) {
		t.Errorf("login without a user: %v, want ErrNoAccount", err)
	}
	wrong := newPerson(t, n, "alice")
	wrong.stateDir = alice.stateDir
	wrong.pw = []byte("not the password")
	if _, err := wrong.login(); !errors.Is(err, client.ErrWrongPassword) {
		t.Errorf("wrong password: %v, want ErrWrongPassword", err)
	}
}

// TestALoginOnAMachineThatIsNotADeviceOfTheAccountChangesNoKeys is the
// regression test of issue 22's first bug: alice typed her password on a
// second machine, which made and published new keys, and her first
// machine could read nothing sent to her from then on.
func TestALoginOnAMachineThatIsNotADeviceOfTheAccountChangesNoKeys(t *testing.T) {
	n := startNode(t)
	alice, bob := newPerson(t, n, "alice"), newPerson(t, n, "bob")
	a, b := alice.register(), bob.register()
	ctx := ctxT(t)
	before, err := b.Client().ResolveUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}

	elsewhere := newPerson(t, n, "alice") // the same account, another state dir
	_, err = elsewhere.login()
	var nad *session.NotADeviceError
	if !errors.As(err, &nad) || !errors.Is(err, session.ErrNotADevice) || !errors.Is(err, client.ErrNoState) {
		t.Fatalf("login on a machine that is not a device: %v, want a NotADeviceError", err)
	}
	for _, want := range []string{"this machine is not a device of alice@" + domain + " yet", "qpc device link", "qpc device approve CODE", "qpc account recover"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal %q does not say %q", err, want)
		}
	}
	if elsewhere.asked != 1 {
		t.Errorf("asked for the password %d times, want 1 (the login is tried)", elsewhere.asked)
	}
	if client.HasState(elsewhere.stateDir, "alice", domain) {
		t.Error("the refused login saved a state")
	}
	after, err := b.Client().ResolveUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after.IdentityKey, before.IdentityKey) || !bytes.Equal(after.HPKEKey, before.HPKEKey) || !bytes.Equal(after.Signature, before.Signature) {
		t.Fatal("the refused login changed alice's published keys")
	}

	// Alice's first machine still reads what bob sends her.
	if _, err := b.SendText(ctx, "alice", "after the other login", session.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := a.OpenReplayCache(); err != nil {
		t.Fatal(err)
	}
	in := a.Inbox(func(context.Context) (*chat.Engine, error) { return a.OpenChat(nil) })
	defer in.Close()
	var got []session.Incoming
	if _, err := a.Receive(ctx, in, func(r session.Incoming) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || string(got[0].Body) != "after the other login" || !got[0].Verified || got[0].KeyChange != nil {
		t.Fatalf("alice's first machine received %+v", got)
	}
}

func TestTwoSessionsExchangeAMessageAndTheContactIsKept(t *testing.T) {
	n := startNode(t)
	alice, bob := newPerson(t, n, "alice"), newPerson(t, n, "bob")
	a, b := alice.register(), bob.register()
	ctx := ctxT(t)

	sent, err := a.SendText(ctx, "bob", "hello bob", session.SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sent.Recipient != "bob@"+domain || sent.ContactErr != nil || sent.Receipt.Seq == 0 {
		t.Errorf("sent %+v", sent)
	}

	if err := b.OpenReplayCache(); err != nil {
		t.Fatal(err)
	}
	var got []session.Incoming
	// The sender's key is compared with the contacts of the chat
	// database, which every surface shares.
	in := b.Inbox(func(context.Context) (*chat.Engine, error) { return b.OpenChat(nil) })
	defer in.Close()
	total, err := b.Receive(ctx, in, func(r session.Incoming) { got = append(got, r) })
	if err != nil || total != 1 {
		t.Fatalf("receive: %d messages, %v", total, err)
	}
	if len(got) != 1 || got[0].From != "alice@"+domain || string(got[0].Body) != "hello bob" || !got[0].Verified {
		t.Fatalf("received %+v", got)
	}
	// Acknowledged: the mailbox is empty now.
	if total, err := b.Receive(ctx, in, func(r session.Incoming) { t.Errorf("again: %+v", r) }); err != nil || total != 0 {
		t.Errorf("second receive: %d, %v", total, err)
	}

	// Bob's keys are among alice's contacts after her state is reopened.
	a.Close()
	again := alice.mustLogin()
	if _, ok := again.State().Contacts["bob@"+domain]; !ok {
		t.Errorf("contacts after a new login: %v, want bob's keys", again.State().Contacts)
	}
}

func TestChannelsLiveInTheStateAcrossLoginsAndPostsAreRead(t *testing.T) {
	n := startNode(t)
	alice, bob := newPerson(t, n, "alice"), newPerson(t, n, "bob")
	a, b := alice.register(), bob.register()
	ctx := ctxT(t)
	now := time.Now()

	e, err := a.CreateChannel("news", now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateChannel("News", now); !errors.Is(err, session.ErrChannelExists) {
		t.Errorf("creating news again: %v, want ErrChannelExists", err)
	}
	if err := a.LeaveChannel("sports"); !errors.Is(err, session.ErrNotJoined) {
		t.Errorf("leaving a channel never joined: %v, want ErrNotJoined", err)
	}
	if _, err := a.PostToChannel(ctx, "sports", "hi", 0, 0); !errors.Is(err, session.ErrNotJoined) {
		t.Errorf("posting to a channel never joined: %v, want ErrNotJoined", err)
	}
	if _, err := a.PostToChannel(ctx, "news", "first post", 0, 0); err != nil {
		t.Fatal(err)
	}

	if _, added, err := b.JoinChannel(e.Share(), now); err != nil || !added {
		t.Fatalf("bob joins: added %v, %v", added, err)
	}
	if _, added, err := b.JoinChannel(e.Share(), now); err != nil || added {
		t.Errorf("bob joins again: added %v, %v; want nothing changed", added, err)
	}
	other, _ := channel.NewSecret()
	if _, _, err := b.JoinChannel(channel.Share{Topic: "news", Secret: other}, now); !errors.Is(err, client.ErrChannelConflict) {
		t.Errorf("joining another news: %v, want ErrChannelConflict", err)
	}
	// Reopened: the channel and its secret were saved.
	b.Close()
	b = bob.mustLogin()
	be, err := b.Channel("news")
	if err != nil || be.Secret != e.Secret {
		t.Fatalf("bob's news after a new login: %v", err)
	}
	posts, last, err := b.ChannelPosts(ctx, be.Secret.Keys(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(posts) != 1 || posts[0].Status != client.PostVerified || posts[0].Message.Text != "first post" ||
		posts[0].Message.Author != "alice@"+domain || last != posts[0].Post.Seq {
		t.Fatalf("posts %+v, last %d", posts, last)
	}
	if more, _, err := b.ChannelPosts(ctx, be.Secret.Keys(), last); err != nil || len(more) != 0 {
		t.Errorf("posts after the last: %d, %v", len(more), err)
	}
	if err := b.LeaveChannel("news"); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := bob.mustLogin().Channel("news"); !errors.Is(err, session.ErrNotJoined) {
		t.Errorf("news after leaving and a new login: %v, want ErrNotJoined", err)
	}
}

// openChat opens s's chat engine, connected, and closes it when the test
// ends.
func openChat(t *testing.T, s *session.Session) *chat.Engine {
	t.Helper()
	eng, err := s.OpenChat(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range eng.Events() {
		}
	}()
	t.Cleanup(func() { eng.Close() })
	if err := eng.Connected(ctxT(t), s.Client()); err != nil {
		t.Fatal(err)
	}
	return eng
}

func TestAGroupMessageReachesAnInviteeWhoWritesBack(t *testing.T) {
	n := startNode(t)
	a, b := newPerson(t, n, "alice").register(), newPerson(t, n, "bob").register()
	ctx := ctxT(t)
	ea, eb := openChat(t, a), openChat(t, b) // bob's key packages go up here

	g, err := ea.CreateGroup(ctx, "friends")
	if err != nil {
		t.Fatal(err)
	}
	if err := ea.Invite(ctx, g.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SendToGroup(ctx, ea, g, "welcome, bob"); err != nil {
		t.Fatal(err)
	}

	if got, err := b.SyncMailbox(ctx, eb); err != nil || got == 0 {
		t.Fatalf("bob's sync: %d messages, %v", got, err)
	}
	bg, err := eb.Find("#friends")
	if err != nil || !bg.Invited {
		t.Fatalf("bob's #friends: %+v, %v; want an invitation", bg, err)
	}
	// Writing to it accepts the invitation.
	if _, err := b.SendToGroup(ctx, eb, bg, "thanks, alice"); err != nil {
		t.Fatal(err)
	}
	if bg, _ = eb.Find("#friends"); bg.Invited {
		t.Error("bob's invitation is still pending after he wrote")
	}

	if _, err := a.SyncMailbox(ctx, ea); err != nil {
		t.Fatal(err)
	}
	g, _ = ea.Find("#friends")
	lines, others, err := session.UnreadLines(ea, g)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range lines {
		if m.From == ea.Self() && !m.System {
			t.Errorf("alice's own line among the unread: %q", m.Text)
		}
		texts = append(texts, m.Text)
	}
	if others != 1 || !strings.Contains(strings.Join(texts, "|"), "thanks, alice") {
		t.Errorf("alice's unread lines %q (%d of others), want bob's", texts, others)
	}
}

func TestFollowResumesOnANewConnectionAndLogsInAgainWhenTheTokenIsRefused(t *testing.T) {
	n := startNode(t)
	alice, bob := newPerson(t, n, "alice"), newPerson(t, n, "bob")
	a, b := alice.register(), bob.register()
	ctx := ctxT(t)

	for _, tc := range []struct {
		name    string
		token   []byte
		relogin bool
	}{
		{"the saved session resumes", b.State().SessionToken, false},
		{"a refused session logs in with the password", make([]byte, 32), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.State().SessionToken = tc.token
			o := b.FollowOptions(n.Addr, nil) // dialled anew, not the login's connection
			var mu sync.Mutex
			loggedIn := false
			login := o.Login
			o.Login = func(ctx context.Context, c *client.Client) (client.Session, error) {
				mu.Lock()
				loggedIn = true
				mu.Unlock()
				return login(ctx, c)
			}
			got := make(chan string, 16)
			o.Handler = func(_ *client.Client, msgs []protocol.Message) uint64 {
				for _, m := range msgs {
					if r := b.Account().Open(ctx, m); r.Problem == nil {
						got <- string(r.Body)
					}
				}
				return msgs[len(msgs)-1].Seq
			}
			fctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- client.Follow(fctx, o) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Follow: %v", err)
				}
			}()
			if _, err := a.SendText(ctx, "bob", tc.name, session.SendOptions{}); err != nil {
				t.Fatal(err)
			}
			// An earlier subtest's message may come again: its ack can be
			// cut off by the end of that subtest.
			for text := ""; text != tc.name; {
				select {
				case text = <-got:
				case err := <-done:
					done <- err // for the deferred check
					t.Fatalf("Follow ended before the message came: %v", err)
				case <-ctx.Done():
					t.Fatal("the message did not arrive through Follow")
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if loggedIn != tc.relogin {
				t.Errorf("logged in again: %v, want %v", loggedIn, tc.relogin)
			}
		})
	}
}
