package session_test

import (
	"context"
	"slices"
	"testing"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/client/session"
)

// receiveIn empties s's mailbox as qpc recv does, through an Inbox on the
// open engine eng, and returns what it showed.
func receiveIn(t *testing.T, s *session.Session, eng *chat.Engine) []session.Incoming {
	t.Helper()
	if s.Account().Replay == nil {
		if err := s.OpenReplayCache(); err != nil {
			t.Fatal(err)
		}
	}
	in := s.Inbox(func(context.Context) (*chat.Engine, error) { return eng, nil })
	var got []session.Incoming
	if _, err := s.Receive(ctxT(t), in, func(inc session.Incoming) { got = append(got, inc) }); err != nil {
		t.Fatal(err)
	}
	return got
}

// dms returns eng's DM conversations.
func dms(t *testing.T, eng *chat.Engine) []chatdb.Conversation {
	t.Helper()
	cs, err := eng.Conversations()
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(cs, func(c chatdb.Conversation) bool { return c.Kind != chatdb.KindDM })
}

// texts are the chat lines (not system lines) of conv, "from: text".
func texts(t *testing.T, eng *chat.Engine, conv chatdb.ConvID) []string {
	t.Helper()
	ms, err := eng.History(conv, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if !m.System {
			out = append(out, m.From+": "+m.Text)
		}
	}
	return out
}

func TestOneConversationPerPeerWhicheverWayALineCameOrWent(t *testing.T) {
	n := startNode(t)
	a, b := newPerson(t, n, "alice").register(), newPerson(t, n, "bob").register()
	ctx := ctxT(t)
	ea, eb := openChat(t, a), openChat(t, b)
	alice, bob := "alice@"+domain, "bob@"+domain

	// qpc send before any DM: sealed to bob's devices, and a line of
	// alice's DM with bob, delivered (bob's mailbox is on this node).
	sent, err := a.SendMessage(ctx, ea, "bob", "from the command line", session.SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sent.MLS || sent.Message.Status != chatdb.StatusDelivered || sent.Receipt.Seq == 0 {
		t.Fatalf("first send: MLS %v, state %s, receipt %+v; want sealed, delivered, with a seq", sent.MLS, sent.Message.Status, sent.Receipt)
	}

	// qpc recv shows it and files it in bob's DM with alice, read.
	got := receiveIn(t, b, eb)
	if len(got) != 1 || got[0].From != alice || string(got[0].Body) != "from the command line" {
		t.Fatalf("bob's recv showed %+v", got)
	}
	bd := dms(t, eb)
	if len(bd) != 1 || bd[0].Peer != alice || bd[0].Unread != 0 {
		t.Fatalf("bob's DMs after recv: %+v; want the one with alice, read", bd)
	}

	// The REPL answers in that conversation: it gets its MLS group in
	// place, the same conversation (regression: "wrote with qpc send; /dm
	// … to answer").
	m, err := eb.Send(ctx, bd[0].ID, "answer from the REPL")
	if err != nil {
		t.Fatalf("answering a conversation opened by qpc send: %v", err)
	}
	if m.Status != chatdb.StatusDelivered {
		t.Errorf("bob's answer is %s, want delivered", m.Status)
	}
	if after := dms(t, eb); len(after) != 1 || after[0].ID != bd[0].ID || after[0].GroupID == nil {
		t.Fatalf("bob's DMs after answering: %+v; want the same one, with a group", after)
	}

	// qpc recv of a CLI-only alice shows the answer that came in the DM's
	// group (regression: "group message(s) filed… qpc recv --group NAME"
	// about a DM), from the chat history where the engine filed it.
	got = receiveIn(t, a, ea)
	var shown []string
	for _, inc := range got {
		if inc.System == "" {
			shown = append(shown, inc.From+": "+string(inc.Body))
		}
	}
	if !slices.Equal(shown, []string{bob + ": answer from the REPL"}) {
		t.Fatalf("alice's recv showed %q (all: %+v)", shown, got)
	}
	ad := dms(t, ea)
	if len(ad) != 1 || ad[0].ID != sent.Conv || ad[0].Unread != 0 {
		t.Fatalf("alice's DMs: %+v; want the one her send made, now with the group, read", ad)
	}

	// Now that the DM has a group, qpc send uses it.
	sent, err = a.SendMessage(ctx, ea, "bob", "second from the command line", session.SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !sent.MLS || sent.Conv != ad[0].ID || sent.Message.Status != chatdb.StatusDelivered {
		t.Fatalf("second send: MLS %v, conversation %x (want %x), state %s", sent.MLS, sent.Conv, ad[0].ID, sent.Message.Status)
	}
	if _, err := b.SyncMailbox(ctx, eb); err != nil {
		t.Fatal(err)
	}

	// One history each, the same lines in the same order on both sides.
	want := []string{alice + ": from the command line", bob + ": answer from the REPL", alice + ": second from the command line"}
	for name, e := range map[string]*chat.Engine{"alice": ea, "bob": eb} {
		cs := dms(t, e)
		if len(cs) != 1 {
			t.Fatalf("%s has %d DMs, want 1", name, len(cs))
		}
		if got := texts(t, e, cs[0].ID); !slices.Equal(got, want) {
			t.Errorf("%s's history %q, want %q", name, got, want)
		}
	}
}

func TestAnOwnLineMovesFromQueuedToDeliveredAndToReadOnlyWhenBothTurnedReadReceiptsOn(t *testing.T) {
	n := startNode(t)
	a, b := newPerson(t, n, "alice").register(), newPerson(t, n, "bob").register()
	ctx := ctxT(t)
	ea, eb := openChat(t, a), openChat(t, b)
	dm, err := ea.DM(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.SyncMailbox(ctx, eb); err != nil {
		t.Fatal(err)
	}
	bdm, err := eb.Find("@alice")
	if err != nil {
		t.Fatal(err)
	}
	state := func(id chatdb.MsgID) chatdb.Status {
		t.Helper()
		st, err := ea.State(dm.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}

	// Offline: queued, until the engine is connected again.
	ea.Disconnected()
	var queued []chatdb.Message
	for _, text := range []string{"one", "two", "three"} {
		m, err := ea.Send(ctx, dm.ID, text)
		if err != nil || m.Status != chatdb.StatusQueued {
			t.Fatalf("offline send %q: %s, %v; want queued", text, m.Status, err)
		}
		queued = append(queued, m)
	}
	if err := ea.Connected(ctx, a.Client()); err != nil {
		t.Fatal(err)
	}
	for _, m := range queued {
		if st := state(m.ID); st != chatdb.StatusDelivered {
			t.Errorf("%q after connecting: %s, want delivered", m.Text, st)
		}
	}

	// Bob reads the three with read receipts off: one delivery receipt
	// for the batch, no read receipt; receipts are no lines.
	if _, err := b.SyncMailbox(ctx, eb); err != nil {
		t.Fatal(err)
	}
	if err := eb.MarkRead(bdm.ID); err != nil {
		t.Fatal(err)
	}
	if msgs, err := a.Client().Fetch(ctx, 0, 100); err != nil || len(msgs) != 1 {
		t.Fatalf("alice's mailbox after bob took three: %d messages, %v; want one delivery receipt", len(msgs), err)
	}
	lines := len(texts(t, ea, dm.ID))
	if _, err := a.SyncMailbox(ctx, ea); err != nil {
		t.Fatal(err)
	}
	if got := len(texts(t, ea, dm.ID)); got != lines {
		t.Errorf("a receipt added %d lines to alice's DM", got-lines)
	}
	if c, _ := ea.Find("@bob"); c.Unread != 0 {
		t.Errorf("a receipt counts as unread: %d", c.Unread)
	}
	// No receipt for a receipt.
	if msgs, err := b.Client().Fetch(ctx, 0, 100); err != nil || len(msgs) != 0 {
		t.Errorf("bob's mailbox after alice took his receipt: %d messages, %v; want none", len(msgs), err)
	}
	for _, m := range queued {
		if st := state(m.ID); st != chatdb.StatusDelivered {
			t.Errorf("%q read with receipts off: %s, want delivered", m.Text, st)
		}
	}

	readBy := func(text string) chatdb.Status {
		t.Helper()
		m, err := ea.Send(ctx, dm.ID, text)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.SyncMailbox(ctx, eb); err != nil {
			t.Fatal(err)
		}
		if err := eb.MarkRead(bdm.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := a.SyncMailbox(ctx, ea); err != nil {
			t.Fatal(err)
		}
		return state(m.ID)
	}
	// Bob on, alice off: alice does not see it (she does not share hers).
	if err := eb.SetReadReceipts(true); err != nil {
		t.Fatal(err)
	}
	if st := readBy("bob shares, alice does not"); st != chatdb.StatusDelivered {
		t.Errorf("with alice's read receipts off: %s, want delivered", st)
	}
	// Both on: read.
	if err := ea.SetReadReceipts(true); err != nil {
		t.Fatal(err)
	}
	if !ea.ReadReceipts() {
		t.Fatal("alice's setting did not stay on")
	}
	if st := readBy("both share"); st != chatdb.StatusRead {
		t.Errorf("with both on: %s, want read", st)
	}
	// Bob off again: nothing is told.
	if err := eb.SetReadReceipts(false); err != nil {
		t.Fatal(err)
	}
	if st := readBy("bob stopped sharing"); st != chatdb.StatusDelivered {
		t.Errorf("with bob's read receipts off: %s, want delivered", st)
	}
}

func TestAnswerToAPeerWithoutKeyPackagesKeepsTheConversationAndQpcSendStillSeals(t *testing.T) {
	n := startNode(t)
	a, c := newPerson(t, n, "alice").register(), newPerson(t, n, "carol").register()
	ctx := ctxT(t)
	ea := openChat(t, a)
	// carol writes with qpc send of a client that never opened its chat
	// engine connected: she has no KeyPackages on the node.
	if _, err := c.SendText(ctx, "alice", "carol has no key packages", session.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	receiveIn(t, a, ea)
	before := dms(t, ea)
	if len(before) != 1 || before[0].GroupID != nil {
		t.Fatalf("alice's DMs: %+v; want carol's, without a group", before)
	}

	// Offline, the answer is queued (issue 24: it was refused with
	// ErrOffline).
	ea.Disconnected()
	queued, err := ea.Send(ctx, before[0].ID, "offline answer")
	if err != nil || queued.Status != chatdb.StatusQueued {
		t.Fatalf("answering offline: %+v, %v; want queued", queued, err)
	}
	// Back online, the group cannot start (no KeyPackage of carol's): the
	// queued line goes sealed, as qpc send's, and so does one typed now;
	// the conversation stays as it was, without a group, its history kept.
	if err := ea.Connected(ctx, a.Client()); err != nil {
		t.Fatal(err)
	}
	online, err := ea.Send(ctx, before[0].ID, "answer in the REPL")
	if err != nil || online.Status != chatdb.StatusDelivered {
		t.Fatalf("answering carol online: %+v, %v; want delivered", online, err)
	}
	after := dms(t, ea)
	if len(after) != 1 || after[0].ID != before[0].ID || after[0].GroupID != nil {
		t.Fatalf("alice's DMs after answering: %+v; want the same one, without a group", after)
	}
	if st := status(t, ea, after[0].ID, queued.ID); st != chatdb.StatusDelivered {
		t.Errorf("the answer queued offline is %s after connecting, want delivered", st)
	}
	want := []string{"carol@" + domain + ": carol has no key packages", "alice@" + domain + ": offline answer", "alice@" + domain + ": answer in the REPL"}
	if got := texts(t, ea, after[0].ID); !slices.Equal(got, want) {
		t.Errorf("alice's history with carol: %q, want %q", got, want)
	}
	// carol, still without KeyPackages, reads both with qpc recv.
	ecOff, err := c.OpenChat(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ecOff.Close()
	go func() {
		for range ecOff.Events() {
		}
	}()
	var shown []string
	for _, inc := range receiveIn(t, c, ecOff) {
		shown = append(shown, inc.From+": "+string(inc.Body))
		if string(inc.Body) == "offline answer" && chatdb.MsgID(inc.ID) != queued.ID {
			t.Errorf("the line queued offline reached carol as message %x, its id in alice's history is %x", chatdb.MsgID(inc.ID), queued.ID)
		}
	}
	if !slices.Equal(shown, want[1:]) {
		t.Errorf("carol's qpc recv showed %q, want %q", shown, want[1:])
	}
	// qpc send seals, and files the line in the same conversation.
	sent, err := a.SendMessage(ctx, ea, "carol", "sealed answer", session.SendOptions{})
	if err != nil || sent.MLS || sent.Conv != before[0].ID || sent.Message.Status != chatdb.StatusDelivered {
		t.Fatalf("qpc send to carol: %+v, %v", sent, err)
	}
}
