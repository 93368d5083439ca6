package chat_test

import (
	"slices"
	"testing"

	"github.com/quicprochat/qpc/app/apptest"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
)

// The flush that starts the group of a DM for lines queued offline sends
// the group's Welcome ahead of those lines, although they were queued
// first: the peer can read each line as it comes, not only after the
// Welcome that follows it (early messages are kept, but within a bound).
func TestAQueuedDMsWelcomeLeavesBeforeItsLines(t *testing.T) {
	n := apptest.Run(t, testDomain)
	ctx := ctxT(t)
	alice := newPerson(t, n, "alice", "laptop").devices[0]
	bob := newPerson(t, n, "bob", "bob-laptop").devices[0]

	alice.e.Disconnected()
	dm, err := alice.e.DM(ctx, "bob")
	if err != nil {
		t.Fatalf("/dm bob offline: %v", err)
	}
	if dm.GroupID != nil {
		t.Fatalf("a DM opened offline has a group: %+v", dm)
	}
	for _, text := range []string{"one", "two"} {
		m, err := alice.e.Send(ctx, dm.ID, text)
		if err != nil || m.Status != chatdb.StatusQueued {
			t.Fatalf("sending %q offline: %+v, %v; want queued", text, m, err)
		}
	}
	if err := alice.e.Connected(ctx, alice.a.Client); err != nil {
		t.Fatal(err)
	}

	msgs, err := bob.a.Client.Fetch(ctx, bob.after, 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []uint16
	for _, m := range msgs {
		r := bob.a.Open(ctx, m)
		if r.Problem != nil {
			t.Fatalf("bob opens message %d: %v", m.Seq, r.Problem)
		}
		kinds = append(kinds, r.ContentType)
	}
	if want := []uint16{chat.ContentWelcome, chat.ContentGroup, chat.ContentGroup}; !slices.Equal(kinds, want) {
		t.Fatalf("bob's mailbox holds content types %#x, want %#x (the Welcome first)", kinds, want)
	}
	bob.sync()
	if got := bob.texts("@alice@" + testDomain); !slices.Equal(got, []string{"alice: one", "alice: two"}) {
		t.Errorf("bob's DM with alice: %q", got)
	}
}
