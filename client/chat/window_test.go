package chat

import (
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/sealed"
)

// TestSealedTextsOutsideTheReplayWindowAreRefusedAndOldSeenMarksPruned
// checks the two halves of replay protection for qpc send texts in the
// chat engine: the seen-set shows a text once, and the window refuses a
// text whose mark may already be pruned.
func TestSealedTextsOutsideTheReplayWindowAreRefusedAndOldSeenMarksPruned(t *testing.T) {
	keys, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	key := sha256.Sum256([]byte("export key"))
	dir := t.TempDir()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	open := func() *Engine {
		e, err := Open(Options{Dir: dir, Account: &client.Account{Domain: "a.example", User: "alice", Keys: keys},
			ExportKey: key[:], Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	lines := func(e *Engine) []string {
		cs, err := e.Conversations()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cs {
			ms, err := e.History(c.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				out = append(out, m.Text)
			}
		}
		return out
	}
	text := func(id byte, signed time.Time, body string) *sealed.Opened {
		return &sealed.Opened{SenderAddress: "bob@a.example", ID: sealed.ID{id}, Time: signed, ContentType: sealed.ContentText, Body: []byte(body)}
	}

	e := open()
	fresh := text(1, now.Add(-time.Hour), "fresh")
	for _, o := range []*sealed.Opened{
		fresh, fresh, // the second is a replay: shown once
		text(2, now.Add(-client.ReplayWindow-time.Minute), "too old"),
		text(3, now.Add(client.MaxClockSkew+time.Minute), "from the future"),
	} {
		if err := e.handleText("bob@a.example", o); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(lines(e), "|"); got != "fresh" {
		t.Fatalf("history %q, want only %q", got, "fresh")
	}
	var statuses []string
	for len(statuses) < 2 {
		select {
		case ev := <-e.Events():
			if ev.Status != "" {
				statuses = append(statuses, ev.Status)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("status lines: %q, want two refusals", statuses)
		}
	}
	for _, s := range statuses {
		if !strings.Contains(s, "refused") || !strings.Contains(s, "bob@a.example") {
			t.Errorf("status %q does not say that bob's message was refused", s)
		}
	}
	e.Close()

	// Past the window the mark is pruned at the next open, and the same
	// text is refused by its time instead.
	now = now.Add(client.ReplayWindow + 2*time.Hour)
	e = open()
	defer e.Close()
	c, ok, err := func() (c chatdb.Conversation, ok bool, err error) {
		err = e.db.View(func(tx *chatdb.Tx) error {
			c, ok, err = e.dmConversation(tx, "bob@a.example")
			return err
		})
		return
	}()
	if err != nil || !ok {
		t.Fatalf("bob's conversation after reopening: found %v, %v", ok, err)
	}
	if err := e.db.View(func(tx *chatdb.Tx) error {
		seen, err := tx.Seen(c.ID, "bob@a.example", chatdb.MsgID(fresh.ID))
		if seen {
			t.Error("the seen mark of a text received longer ago than the window was kept")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.handleText("bob@a.example", fresh); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(lines(e), "|"); got != "fresh" {
		t.Fatalf("history after the replay past the window %q, want %q", got, "fresh")
	}
}
