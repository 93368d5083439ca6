package session_test

import (
	"context"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/protocol"
)

// The one-shot reader shows a line before it files it: a line whose
// author's delete came first is never shown, and one whose edit came
// first is shown edited.
func TestTheOneShotReaderShowsNoLineDeletedBeforeItCameAndALineEditedBeforeItCameEdited(t *testing.T) {
	n := startNode(t)
	a, b := newPerson(t, n, "alice").register(), newPerson(t, n, "bob").register()
	ctx := ctxT(t)
	ea := openChat(t, a)
	gone, err := a.SendMessage(ctx, ea, "bob", "the spare key is under the mat", session.SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fixed, err := a.SendMessage(ctx, ea, "bob", "lunch at 1?", session.SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if gone.MLS || fixed.MLS {
		t.Fatal("the lines went in a DM group; this test is of sealed ones")
	}
	if _, err := ea.Delete(ctx, gone.Conv, gone.Message.Seq); err != nil {
		t.Fatal(err)
	}
	if _, err := ea.Edit(ctx, fixed.Conv, fixed.Message.Seq, "lunch at 2?"); err != nil {
		t.Fatal(err)
	}
	msgs, err := b.Client().Fetch(ctx, 0, 100)
	if err != nil || len(msgs) != 4 {
		t.Fatalf("bob has %d messages, %v", len(msgs), err)
	}
	if err := b.OpenReplayCache(); err != nil {
		t.Fatal(err)
	}
	eb := openChat(t, b)
	in := b.Inbox(func(context.Context) (*chat.Engine, error) { return eb, nil })
	var shown []string
	// The delete and the edit first, then the lines.
	for _, i := range []int{2, 3, 0, 1} {
		h, err := in.Handle(ctx, []protocol.Message{msgs[i]}, func(inc session.Incoming) { shown = append(shown, string(inc.Body)) })
		if err != nil || h != msgs[i].Seq {
			t.Fatalf("handled %d of %d: %v", h, msgs[i].Seq, err)
		}
	}
	if got := strings.Join(shown, "|"); got != "lunch at 2?" {
		t.Errorf("the reader showed %q, want only the edited line", got)
	}
	c, err := eb.Find("@alice")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(texts(t, eb, c.ID), "|"); got != "alice@"+domain+": lunch at 2?" {
		t.Errorf("bob's history: %q", got)
	}
}
