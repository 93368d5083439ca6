package session_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/client/session"
)

// sendQueued sends text in conv of the offline eng and checks that the line
// is queued, not refused (issue 24: "starting a DM with bob: offline").
func sendQueued(t *testing.T, eng *chat.Engine, conv chatdb.ConvID, text string) chatdb.Message {
	t.Helper()
	m, err := eng.Send(ctxT(t), conv, text)
	if err != nil {
		t.Fatalf("sending %q offline: %v", text, err)
	}
	if m.Status != chatdb.StatusQueued {
		t.Fatalf("%q sent offline is %s, want queued", text, m.Status)
	}
	return m
}

// status returns the state of own line id in conv.
func status(t *testing.T, eng *chat.Engine, conv chatdb.ConvID, id chatdb.MsgID) chatdb.Status {
	t.Helper()
	ms, err := eng.History(conv, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.ID == id && !m.System {
			return m.Status
		}
	}
	t.Fatalf("line %x is not in the history", id)
	return 0
}

// Offline, lines typed into a DM that holds only sealed messages and into
// a DM opened with someone never contacted are queued, in order; when the
// node is back, each DM gets its group in place and the lines arrive in
// the order typed, each in the one conversation of both sides. A line to
// a name nobody has fails visibly, and one to a peer whose node is out of
// reach stays queued; neither holds up the others.
func TestLinesTypedOfflineIntoDMsWithoutAGroupAreQueuedAndArriveInOrder(t *testing.T) {
	n := startNode(t)
	a := newPerson(t, n, "alice").register()
	b := newPerson(t, n, "bob").register()
	c := newPerson(t, n, "carol").register()
	ctx := ctxT(t)
	ea, eb, ec := openChat(t, a), openChat(t, b), openChat(t, c)
	alice, bob, carol := "alice@"+domain, "bob@"+domain, "carol@"+domain

	// bob writes with qpc send: alice's DM with him holds a sealed line.
	if sent, err := b.SendMessage(ctx, eb, "alice", "sealed from bob", session.SendOptions{}); err != nil || sent.MLS {
		t.Fatalf("bob's qpc send: %+v, %v; want sealed", sent, err)
	}
	receiveIn(t, a, ea)
	before := dms(t, ea)
	if len(before) != 1 || before[0].Peer != bob || before[0].GroupID != nil {
		t.Fatalf("alice's DMs: %+v; want bob's, without a group", before)
	}
	withBob := before[0].ID

	ea.Disconnected()
	// /dm offline opens the conversation here; the keys are looked up
	// when the node is back.
	dc, err := ea.DM(ctx, "carol")
	if err != nil {
		t.Fatalf("/dm carol offline: %v", err)
	}
	if dc.Peer != carol || dc.GroupID != nil {
		t.Fatalf("carol's DM opened offline: %+v", dc)
	}
	if again, err := ea.DM(ctx, "@carol"); err != nil || again.ID != dc.ID {
		t.Fatalf("/dm carol offline again: %+v, %v; want the same conversation", again, err)
	}
	nobody, err := ea.DM(ctx, "nosuchuser")
	if err != nil {
		t.Fatalf("/dm nosuchuser offline: %v", err)
	}
	// A peer whose domain no node serves now: maybe a link still to come.
	away, err := ea.DM(ctx, "dave@gamma.mesh")
	if err != nil {
		t.Fatalf("/dm dave@gamma.mesh offline: %v", err)
	}
	held := sendQueued(t, ea, away.ID, "to dave")
	lost := sendQueued(t, ea, nobody.ID, "to nobody")
	b1 := sendQueued(t, ea, withBob, "b1")
	c1 := sendQueued(t, ea, dc.ID, "c1")
	b2 := sendQueued(t, ea, withBob, "b2")
	c2 := sendQueued(t, ea, dc.ID, "c2")

	if err := ea.Connected(ctx, a.Client()); err != nil {
		t.Fatalf("connecting with lines queued: %v", err)
	}
	for _, l := range []struct {
		conv chatdb.ConvID
		m    chatdb.Message
	}{{withBob, b1}, {withBob, b2}, {dc.ID, c1}, {dc.ID, c2}} {
		if st := status(t, ea, l.conv, l.m.ID); st != chatdb.StatusDelivered {
			t.Errorf("%q after connecting: %s, want delivered", l.m.Text, st)
		}
	}
	// dave's line waits for his node, without holding up the others.
	if st := status(t, ea, away.ID, held.ID); st != chatdb.StatusQueued {
		t.Errorf("the line to dave, whose node is out of reach, is %s, want queued", st)
	}
	after := dms(t, ea)
	ids := map[chatdb.ConvID]bool{}
	for _, d := range after {
		ids[d.ID] = true
		if (d.ID == withBob || d.ID == dc.ID) && d.GroupID == nil {
			t.Errorf("alice's DM with %s has no group after connecting", d.Peer)
		}
	}
	if len(after) != 4 || !ids[withBob] || !ids[dc.ID] || !ids[nobody.ID] || !ids[away.ID] {
		t.Fatalf("alice's DMs after connecting: %+v; want the same four", after)
	}
	if got := texts(t, ea, withBob); !slices.Equal(got, []string{bob + ": sealed from bob", alice + ": b1", alice + ": b2"}) {
		t.Errorf("alice's history with bob: %q", got)
	}

	// The line to nobody is out of the outbox, no longer marked queued,
	// and its conversation says why.
	if st := status(t, ea, nobody.ID, lost.ID); st != chatdb.StatusNone {
		t.Errorf("the line to nobody is %s, want no state", st)
	}
	ms, err := ea.History(nobody.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if last := ms[len(ms)-1]; !last.System || !strings.Contains(last.Text, "not sent to nosuchuser@"+domain) || !strings.Contains(last.Text, "no such user") {
		t.Errorf("the last line with nobody is %+v; want a notice that it was not sent and why", last)
	}

	// Both peers see the lines in the order typed, in their one DM with
	// alice.
	receiveIn(t, b, eb)
	if bd := dms(t, eb); len(bd) != 1 || bd[0].Peer != alice {
		t.Fatalf("bob's DMs: %+v; want one with alice", bd)
	} else if got := texts(t, eb, bd[0].ID); !slices.Equal(got, []string{bob + ": sealed from bob", alice + ": b1", alice + ": b2"}) {
		t.Errorf("bob's history with alice: %q", got)
	}
	receiveIn(t, c, ec)
	if cd := dms(t, ec); len(cd) != 1 || cd[0].Peer != alice || cd[0].GroupID == nil {
		t.Fatalf("carol's DMs: %+v; want one with alice, with its group", cd)
	} else if got := texts(t, ec, cd[0].ID); !slices.Equal(got, []string{alice + ": c1", alice + ": c2"}) {
		t.Errorf("carol's history with alice: %q", got)
	}

	// Online, the DM with its group now sends at once.
	if m, err := ea.Send(ctx, dc.ID, "c3"); err != nil || m.Status != chatdb.StatusDelivered {
		t.Errorf("sending to carol online: %+v, %v", m, err)
	}
}
