package session_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/sealed"
)

// newKeysOf logs p in on a connection of its own and publishes new keys
// for p's account, as an account reset does; it returns the account
// with the new keys.
func newKeysOf(t *testing.T, p *person) *client.Account {
	t.Helper()
	ctx := ctxT(t)
	c, err := p.config().Dial(ctx, p.n.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, _, err := c.Login(ctx, fastOPAQUE, domain, p.user, p.pw); err != nil {
		t.Fatal(err)
	}
	keys, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	acct, err := identity.GenerateAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	a := &client.Account{Client: c, Domain: domain, User: p.user, Keys: keys, AccountKey: &acct}
	l := &identity.DeviceList{Address: a.Address()}
	if _, err := l.Add(acct, "reset", keys, time.Now()); err != nil {
		t.Fatal(err)
	}
	signed, err := l.Sign(acct)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.PublishList(ctx, signed); err != nil {
		t.Fatal(err)
	}
	return a
}

// receive empties s's mailbox as qpc recv does and returns what it shows.
func receive(t *testing.T, s *session.Session) []session.Incoming {
	t.Helper()
	if err := s.OpenReplayCache(); err != nil {
		t.Fatal(err)
	}
	in := s.Inbox(func(context.Context) (*chat.Engine, error) { return s.OpenChat(nil) })
	defer in.Close()
	var got []session.Incoming
	if _, err := s.Receive(ctxT(t), in, func(r session.Incoming) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	return got
}

// verify marks who verified among s's contacts, as qpc verify --confirm.
func verify(t *testing.T, s *session.Session, who string) {
	t.Helper()
	eng, err := s.OpenChat(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if err := eng.Verify(ctxT(t), who); err != nil {
		t.Fatal(err)
	}
}

func TestAKeyChangeIsShownOnReceiveAndAtTheNextSendAndRefusedForAVerifiedContactUntilConfirmed(t *testing.T) {
	n := startNode(t)
	alice, bob, carol := newPerson(t, n, "alice"), newPerson(t, n, "bob"), newPerson(t, n, "carol")
	a, b, c := alice.register(), bob.register(), carol.register()
	ctx := ctxT(t)
	aliceAddr := "alice@" + domain
	oldKey := a.Account().List.AccountKey

	for _, to := range []string{"bob", "carol"} {
		if _, err := a.SendText(ctx, to, "from the old key", session.SendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*session.Session{b, c} {
		if got := receive(t, s); len(got) != 1 || !got[0].Verified || got[0].KeyChange != nil {
			t.Fatalf("%s received %+v; want one verified message and no key change", s.Current().User, got)
		}
	}
	verify(t, b, "alice")

	// Alice's account gets new keys (a reset); the new keys write.
	newAlice := newKeysOf(t, alice)
	newKey := newAlice.AccountKey.Public()
	for _, to := range []string{"bob", "carol"} {
		if _, err := newAlice.SendText(ctx, to, "from the new key"); err != nil {
			t.Fatal(err)
		}
	}

	wantOld := func(s *session.Session) string {
		return identity.SafetyNumber(s.Current().Address(), s.Account().List.AccountKey, aliceAddr, oldKey)
	}
	wantNew := func(s *session.Session) string {
		return identity.SafetyNumber(s.Current().Address(), s.Account().List.AccountKey, aliceAddr, newKey)
	}
	for _, tt := range []struct {
		s        *session.Session
		verified bool
	}{{b, true}, {c, false}} {
		got := receive(t, tt.s)
		if len(got) != 1 || string(got[0].Body) != "from the new key" || !got[0].Verified {
			t.Fatalf("%s received %+v", tt.s.Current().User, got)
		}
		kc := got[0].KeyChange
		if kc == nil || kc.Address != aliceAddr || kc.Verified != tt.verified ||
			kc.OldSafetyNumber != wantOld(tt.s) || kc.NewSafetyNumber != wantNew(tt.s) {
			t.Fatalf("%s's key change %+v; want alice's, verified %v, with the old and new safety numbers", tt.s.Current().User, kc, tt.verified)
		}
		if len(strings.Fields(kc.NewSafetyNumber)) != 12 {
			t.Errorf("safety number %q is not 12 groups", kc.NewSafetyNumber)
		}
	}

	// Bob verified alice's old key: nothing goes to the new one.
	sent, err := b.SendText(ctx, "alice", "refused", session.SendOptions{})
	var kce *chat.KeyChangedError
	if !errors.As(err, &kce) || !errors.Is(err, chat.ErrKeyChanged) || sent.KeyChange == nil || sent.Receipt.Seq != 0 {
		t.Fatalf("bob's send to alice after her key changed: %+v, %v; want a KeyChangedError", sent, err)
	}
	if !strings.Contains(err.Error(), "qpc verify alice@"+domain+" --confirm") || !strings.Contains(err.Error(), wantNew(b)) {
		t.Errorf("the refusal %q does not say how to confirm, or the new number", err)
	}
	if _, err := b.SendText(ctx, "alice", "refused again", session.SendOptions{}); !errors.Is(err, chat.ErrKeyChanged) {
		t.Errorf("the second send before confirming: %v, want ErrKeyChanged", err)
	}

	// Carol had not verified: her next send shows the change again, once.
	sent, err = c.SendText(ctx, "alice", "first after the change", session.SendOptions{})
	if err != nil || sent.KeyChange == nil || sent.KeyChange.NewSafetyNumber != wantNew(c) || sent.KeyChange.OldSafetyNumber != wantOld(c) {
		t.Fatalf("carol's first send after the change: %+v, %v; want it to show the change", sent, err)
	}
	if sent, err = c.SendText(ctx, "alice", "second after the change", session.SendOptions{}); err != nil || sent.KeyChange != nil {
		t.Fatalf("carol's second send: %+v, %v; want no notice", sent, err)
	}

	// Bob confirms the new number; his send goes, with no more notice.
	verify(t, b, "alice")
	if sent, err = b.SendText(ctx, "alice", "confirmed", session.SendOptions{}); err != nil || sent.KeyChange != nil {
		t.Fatalf("bob's send after confirming: %+v, %v", sent, err)
	}

	msgs, err := newAlice.Client.Fetch(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range msgs {
		r := newAlice.Open(ctx, m)
		if !r.Verified {
			t.Errorf("alice's new keys read %+v unverified", r)
		}
		texts = append(texts, string(r.Body))
	}
	if strings.Join(texts, "|") != "first after the change|second after the change|confirmed" {
		t.Errorf("alice's new keys read %q; the refused sends must not be among them", texts)
	}
}

// TestALongRunningEngineSeesAKeyChangeAndShowsAForgedMessageMarked: an
// engine that looked up alice's keys before she changed them compares her
// next message with what she publishes now (it used to drop it with
// "sender identity key differs from the published key", comparing with
// the keys it kept), and a message signed by a key alice never published
// is shown, marked, with the reason.
func TestALongRunningEngineSeesAKeyChangeAndShowsAForgedMessageMarked(t *testing.T) {
	n := startNode(t)
	alice, bob := newPerson(t, n, "alice"), newPerson(t, n, "bob")
	a, b := alice.register(), bob.register()
	ctx := ctxT(t)
	eb := openChat(t, b)

	if _, err := a.SendText(ctx, "bob", "from the old key", session.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.SyncMailbox(ctx, eb); err != nil || got != 1 {
		t.Fatalf("bob's sync: %d, %v", got, err)
	}
	newAlice := newKeysOf(t, alice)
	if _, err := newAlice.SendText(ctx, "bob", "from the new key"); err != nil {
		t.Fatal(err)
	}
	forger, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	bobKeys, err := newAlice.ResolvePeer(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	forged, err := sealed.Seal("bob@"+domain, bobKeys.Bundle.HPKEKey, forger, "alice@"+domain,
		sealed.Message{ID: sealed.NewID(), ContentType: sealed.ContentText, Body: []byte("send the money to me")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newAlice.Client.Enqueue(ctx, client.Outgoing{Recipient: "bob@" + domain, Payload: forged}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.SyncMailbox(ctx, eb); err != nil || got != 2 {
		t.Fatalf("bob's second sync: %d, %v", got, err)
	}

	dm, err := eb.Find("@alice")
	if err != nil {
		t.Fatal(err)
	}
	hist, err := eb.History(dm.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, m := range hist {
		lines = append(lines, m.Text)
	}
	all := strings.Join(lines, "\n")
	want := []string{"from the old key", "the account key of alice@" + domain + " CHANGED", "from the new key",
		"!! NOT VERIFIED", sealed.ErrSenderKeyMismatch.Error(), "send the money to me"}
	at := 0
	for _, w := range want {
		i := strings.Index(all[at:], w)
		if i < 0 {
			t.Fatalf("bob's DM with alice lacks %q after position %d:\n%s", w, at, all)
		}
		at += i
	}
	for _, m := range hist {
		if m.Text == "from the new key" && (m.System || m.From != "alice@"+domain) {
			t.Errorf("the new key's message is filed as %+v, want alice's own line", m)
		}
		if strings.Contains(m.Text, "send the money") && !m.System {
			t.Errorf("the forged message is filed as alice's own line: %+v", m)
		}
	}
}
