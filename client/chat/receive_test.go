package chat

import (
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/identity"
)

// offlineEngine is an engine with no node: enough for what it does with
// messages it has already decrypted.
func offlineEngine(t *testing.T) *Engine {
	t.Helper()
	keys, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	key := sha256.Sum256([]byte("export key"))
	e, err := Open(Options{Dir: t.TempDir(), Account: &client.Account{Domain: "a.example", User: "alice", Keys: keys}, ExportKey: key[:]})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestAMessageReceivedTwiceIsShownOnceAndGapsAreReported(t *testing.T) {
	e := offlineEngine(t)
	c := e.newConversation(chatdb.KindGroup, "g", "")
	if err := e.db.Update(func(tx *chatdb.Tx) error { return tx.PutConversation(&c) }); err != nil {
		t.Fatal(err)
	}
	frame := func(id chatdb.MsgID, seq uint64, text string) []byte {
		b, err := (&chatFrame{ID: id, Seq: seq, Time: time.UnixMilli(1_700_000_000_000), Text: text}).marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	one, four := newMsgID(), newMsgID()
	for _, f := range [][]byte{
		frame(one, 1, "one"),
		frame(one, 1, "one"), // resent: same id
		frame(four, 4, "four"),
		frame(four, 4, "four"),
		frame(newMsgID(), 2, "two, late"),
	} {
		if err := e.db.Update(func(tx *chatdb.Tx) error {
			cur, _, err := tx.Conversation(c.ID)
			if err != nil {
				return err
			}
			return e.chatMessage(tx, &cur, "bob@a.example", "bob@a.example", f)
		}); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := e.History(c.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, m := range ms {
		lines = append(lines, m.Text)
	}
	want := []string{"one", "2 messages from bob@a.example missing (numbers 2-3): lost or still on the way", "four", "two, late"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Fatalf("history:\n%q\nwant\n%q", lines, want)
	}
	conv, err := e.conversation(c.ID)
	if err != nil || conv.Unread != 3 || conv.Senders["bob@a.example"] != 4 {
		t.Fatalf("conversation after: unread %d, senders %v, %v", conv.Unread, conv.Senders, err)
	}
}
