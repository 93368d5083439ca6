package session_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/protocol"
)

// dmTexts returns the chat lines of eng's DM with peer ("" if none).
func dmTexts(t *testing.T, eng *chat.Engine, peer string) string {
	t.Helper()
	c, err := eng.Find("@" + peer)
	if errors.Is(err, chat.ErrNoConversation) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(texts(t, eng, c.ID), "|")
}

// groupNames returns the names of eng's groups, invitations among them.
func groupNames(t *testing.T, eng *chat.Engine) []string {
	t.Helper()
	cs, err := eng.Conversations()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		if c.Kind == chatdb.KindGroup {
			out = append(out, c.Name)
		}
	}
	return out
}

func syncMailbox(t *testing.T, s *session.Session, eng *chat.Engine) {
	t.Helper()
	if _, err := s.SyncMailbox(ctxT(t), eng); err != nil {
		t.Fatal(err)
	}
}

// TestABlockReachesTheOtherDeviceWhichDropsTheBlockedAccountsTextsDMLinesAndInvitations
// blocks mallory on alice's first device and checks that her second one
// drops what mallory sends, as the first does; the node's deny list is
// emptied first, so that what reaches the devices is what the devices
// drop (as for a sender of another domain). Unblocking on the second
// device restores mallory on both.
func TestABlockReachesTheOtherDeviceWhichDropsTheBlockedAccountsTextsDMLinesAndInvitations(t *testing.T) {
	n := startNode(t)
	alice := newPerson(t, n, "alice")
	a1, m := alice.register(), newPerson(t, n, "mallory").register()
	a2, _ := link(t, newPerson(t, n, "alice"), "desk", a1)
	ctx := ctxT(t)
	e1, e2, em := openChat(t, a1), openChat(t, a2), openChat(t, m)
	mallory := "mallory@" + domain

	dm, err := em.DM(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := em.Send(ctx, dm.ID, "hello"); err != nil {
		t.Fatal(err)
	}
	syncMailbox(t, a1, e1)
	syncMailbox(t, a2, e2)
	for i, e := range []*chat.Engine{e1, e2} {
		if got := dmTexts(t, e, mallory); got != mallory+": hello" {
			t.Fatalf("alice's device %d before the block: DM %q", i+1, got)
		}
	}

	// A report names a line by its number; only someone else's lines.
	c1, err := e1.Find("@" + mallory)
	if err != nil {
		t.Fatal(err)
	}
	own, err := e1.Send(ctx, c1.ID, "stop it")
	if err != nil {
		t.Fatal(err)
	}
	hist, err := e1.History(c1.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	hello := hist[slices.IndexFunc(hist, func(m chatdb.Message) bool { return m.Text == "hello" })]
	if rep, err := e1.Report(ctx, c1.ID, hello.Seq, "spam"); err != nil || rep.Message.Text != "hello" || rep.Message.From != mallory {
		t.Fatalf("report of mallory's line #%d: %+v, %v", hello.Seq, rep, err)
	}
	for _, seq := range []uint64{own.Seq, 999} {
		if _, err := e1.Report(ctx, c1.ID, seq, ""); !errors.Is(err, chat.ErrNoSuchMessage) {
			t.Errorf("report of line #%d (own, or none): %v, want ErrNoSuchMessage", seq, err)
		}
	}

	res, err := e1.Block(ctx, "mallory", true)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Devices != 1 || res.Pending || res.Node != chat.NodeDone || res.Address != mallory {
		t.Fatalf("block: %+v; want the desk told and the node's deny list set", res)
	}
	if again, err := e1.Block(ctx, "mallory", true); err != nil || again.Changed {
		t.Fatalf("blocking again: %+v, %v; want no change", again, err)
	}
	if _, err := e1.Block(ctx, "alice", true); !errors.Is(err, chat.ErrBlockSelf) {
		t.Fatalf("blocking herself: %v, want ErrBlockSelf", err)
	}
	// The node refuses mallory's messages to alice, and does not tell her.
	if _, err := m.Account().SendText(ctx, "alice", "while the node refuses"); err != nil {
		t.Fatalf("mallory's send while refused: %v; the node must look as if it took it", err)
	}
	if msgs, err := a1.Client().Fetch(ctx, 0, 10); err != nil || len(msgs) != 0 {
		t.Fatalf("alice's first device's mailbox: %d messages, %v; want none: the node refused mallory's", len(msgs), err)
	}
	if got, err := a1.Client().BlockedSenders(ctx); err != nil || !slices.Equal(got, []string{mallory}) {
		t.Fatalf("the node's deny list: %v, %v", got, err)
	}
	// From here the devices alone drop what mallory sends.
	if err := a1.Client().BlockSender(ctx, mallory, false); err != nil {
		t.Fatal(err)
	}
	if _, err := em.Send(ctx, dm.ID, "spam in the DM"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Account().SendText(ctx, "alice", "spam as a text"); err != nil {
		t.Fatal(err)
	}
	g, err := em.CreateGroup(ctx, "bad")
	if err != nil {
		t.Fatal(err)
	}
	if err := em.Invite(ctx, g.ID, "alice"); err != nil {
		t.Fatal(err)
	}

	// The desk reads its mailbox in the chat engine (qpc repl): the block
	// list comes first, then mallory's messages, dropped.
	syncMailbox(t, a2, e2)
	if l, err := e2.BlockList(); err != nil || !slices.Equal(l.Blocked, []string{mallory}) {
		t.Fatalf("the desk's block list: %+v, %v", l, err)
	}
	before := mallory + ": hello|alice@" + domain + ": stop it"
	if got := dmTexts(t, e2, mallory); got != before {
		t.Errorf("the desk's DM with mallory: %q; want only the lines from before the block", got)
	}
	if got := groupNames(t, e2); len(got) != 0 {
		t.Errorf("the desk's groups: %q; want mallory's invitation dropped", got)
	}
	// The first device reads as qpc recv does: texts opened by the inbox.
	if err := a1.OpenReplayCache(); err != nil {
		t.Fatal(err)
	}
	var shown []string
	in1 := a1.Inbox(openWith(e1))
	if _, err := a1.Receive(ctx, in1, func(inc session.Incoming) { shown = append(shown, string(inc.Body)) }); err != nil {
		t.Fatal(err)
	}
	if in1.Blocked != 1 || slices.ContainsFunc(shown, func(s string) bool { return strings.Contains(s, "spam") }) {
		t.Errorf("alice's first device: %d blocked, shown %q; want the text dropped", in1.Blocked, shown)
	}
	if got := dmTexts(t, e1, mallory); got != before {
		t.Errorf("alice's first device's DM with mallory: %q", got)
	}
	if got := groupNames(t, e1); len(got) != 0 {
		t.Errorf("alice's first device's groups: %q; want mallory's invitation dropped", got)
	}

	// Unblocking on the desk reaches the first device; mallory is back.
	res, err = e2.Block(ctx, mallory, false)
	if err != nil || !res.Changed || res.Devices != 1 || res.Node != chat.NodeDone {
		t.Fatalf("unblock on the desk: %+v, %v", res, err)
	}
	syncMailbox(t, a1, e1)
	if l, err := e1.BlockList(); err != nil || len(l.Blocked) != 0 {
		t.Fatalf("the first device's list after the desk's unblock: %+v, %v", l, err)
	}
	if _, err := em.Send(ctx, dm.ID, "sorry"); err != nil {
		t.Fatal(err)
	}
	syncMailbox(t, a1, e1)
	syncMailbox(t, a2, e2)
	for i, e := range []*chat.Engine{e1, e2} {
		if got := dmTexts(t, e, mallory); !strings.HasSuffix(got, mallory+": sorry") || strings.Contains(got, "spam") {
			t.Errorf("alice's device %d after the unblock: DM %q; want mallory's new line, not the dropped ones", i+1, got)
		}
	}
}

// openWith is an Inbox's openChat that hands out an engine open already.
func openWith(e *chat.Engine) func(context.Context) (*chat.Engine, error) {
	return func(context.Context) (*chat.Engine, error) { return e, nil }
}

func TestTheNodesDenyListIsBoundedAndRefusesBadAddresses(t *testing.T) {
	n := startNode(t)
	a := newPerson(t, n, "alice").register()
	ctx := ctxT(t)
	c := a.Client()
	for i := range 256 {
		if err := c.BlockSender(ctx, fmt.Sprintf("u%d@elsewhere.test", i), true); err != nil {
			t.Fatalf("entry %d: %v", i+1, err)
		}
	}
	if err := c.BlockSender(ctx, "one-more@elsewhere.test", true); !errors.Is(err, protocol.ErrBadRequest) || !strings.Contains(err.Error(), "full") {
		t.Fatalf("entry 257: %v; want a bad request saying the list is full", err)
	}
	if got, err := c.BlockedSenders(ctx); err != nil || len(got) != 256 {
		t.Fatalf("the list: %d entries, %v", len(got), err)
	}
	for _, bad := range []string{"no domain@", "alice@" + domain, "@x"} {
		if err := c.BlockSender(ctx, bad, true); !errors.Is(err, protocol.ErrBadRequest) {
			t.Errorf("blocking %q: %v, want a bad request", bad, err)
		}
	}
}

// TestADeviceApprovedLaterGetsTheBlockList checks that the approving
// device sends its list to a new device (DeviceAdded), which starts with
// none.
func TestADeviceApprovedLaterGetsTheBlockList(t *testing.T) {
	n := startNode(t)
	alice := newPerson(t, n, "alice")
	a1 := alice.register()
	newPerson(t, n, "mallory").register()
	ctx := ctxT(t)
	a2, approved := link(t, newPerson(t, n, "alice"), "desk", a1)
	e1 := openChat(t, a1)
	if _, err := e1.Block(ctx, "mallory", true); err != nil {
		t.Fatal(err)
	}
	e2 := openChat(t, a2)
	// The block above reached the desk already (it was approved first):
	// read it, so that what follows is the approver's resend alone.
	syncMailbox(t, a2, e2)
	if err := e2.TakeBlockList(alice.user+"@"+domain, time.Now().Add(-time.Hour), []byte(`{"v":1,"blocked":[]}`)); err != nil {
		t.Fatal(err)
	}
	if l, _ := e2.BlockList(); len(l.Blocked) != 1 {
		t.Fatalf("an older list replaced the newer one: %+v", l)
	}
	// A device that has not seen the list: its own list emptied with a
	// newer time, as a device that missed the block would have it.
	if err := e2.TakeBlockList(alice.user+"@"+domain, time.Now(), []byte(`{"v":1,"blocked":[]}`)); err != nil {
		t.Fatal(err)
	}
	if l, _ := e2.BlockList(); len(l.Blocked) != 0 {
		t.Fatalf("a newer list was not taken: %+v", l)
	}
	if err := e1.DeviceAdded(ctx, approved.Device); err != nil {
		t.Fatal(err)
	}
	syncMailbox(t, a2, e2)
	if l, err := e2.BlockList(); err != nil || !slices.Equal(l.Blocked, []string{"mallory@" + domain}) {
		t.Fatalf("the desk's list after the approver's resend: %+v, %v", l, err)
	}
}

// TestABlockWhileOfflineReachesTheNodeAndTheOtherDevicesAtTheNextConnect
// blocks with the engine offline: the list changes at once, and the
// node's deny list and the other device get it when the engine connects.
func TestABlockWhileOfflineReachesTheNodeAndTheOtherDevicesAtTheNextConnect(t *testing.T) {
	n := startNode(t)
	alice := newPerson(t, n, "alice")
	a1 := alice.register()
	newPerson(t, n, "mallory").register()
	a2, _ := link(t, newPerson(t, n, "alice"), "desk", a1)
	ctx := ctxT(t)
	e1, e2 := openChat(t, a1), openChat(t, a2)
	mallory := "mallory@" + domain

	e1.Disconnected()
	res, err := e1.Block(ctx, "mallory", true)
	if err != nil || !res.Changed || !res.Pending || res.Node != chat.NodeFailed || !errors.Is(res.NodeErr, chat.ErrOffline) {
		t.Fatalf("an offline block: %+v, %v; want it pending for the devices and the node", res, err)
	}
	if l, err := e1.BlockList(); err != nil || !l.Has(mallory) {
		t.Fatalf("the list after an offline block: %+v, %v", l, err)
	}
	if got, err := a1.Client().BlockedSenders(ctx); err != nil || len(got) != 0 {
		t.Fatalf("the node's list before the connect: %v, %v", got, err)
	}
	if err := e1.Connected(ctx, a1.Client()); err != nil {
		t.Fatal(err)
	}
	if got, err := a1.Client().BlockedSenders(ctx); err != nil || !slices.Equal(got, []string{mallory}) {
		t.Fatalf("the node's list after the connect: %v, %v", got, err)
	}
	syncMailbox(t, a2, e2)
	if l, err := e2.BlockList(); err != nil || !l.Has(mallory) {
		t.Fatalf("the desk's list after the connect: %+v, %v", l, err)
	}
	// Sent once: a second connect sends nothing more.
	if err := e1.Connected(ctx, a1.Client()); err != nil {
		t.Fatal(err)
	}
	if msgs, err := a2.Client().Fetch(ctx, 0, 10); err != nil || len(msgs) != 0 {
		t.Fatalf("the desk's mailbox after a second connect: %d, %v; want nothing sent again", len(msgs), err)
	}
}
