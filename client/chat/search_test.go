package chat_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/identity"
)

// offlineEngine opens an engine of alice that never connects: its note
// holds the lines the search tests write.
func offlineEngine(tb testing.TB) (*chat.Engine, chatdb.Conversation) {
	tb.Helper()
	k, err := identity.GenerateUserKeys()
	if err != nil {
		tb.Fatal(err)
	}
	key := sha256.Sum256([]byte("export key"))
	e, err := chat.Open(chat.Options{Dir: tb.TempDir(), Account: &client.Account{Domain: "a.example", User: "alice", Keys: k}, ExportKey: key[:]})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close() })
	go func() {
		for range e.Events() {
		}
	}()
	note, err := e.Note()
	if err != nil {
		tb.Fatal(err)
	}
	return e, note
}

func TestSearchFindsLinesWithEveryWordIgnoringCase(t *testing.T) {
	e, note := offlineEngine(t)
	t0 := time.Unix(1_700_000_000, 0)
	lines := []chatdb.Message{
		{ID: chatdb.MsgID{1}, From: "alice@a.example", Time: t0, Text: "The picnic is at NOON"},
		{ID: chatdb.MsgID{2}, From: "alice@a.example", Time: t0.Add(time.Minute), Text: "noon picnic moved to the Oak"},
		{ID: chatdb.MsgID{3}, From: "alice@a.example", Time: t0.Add(2 * time.Minute), Text: "Grüße vom PICKNICK am Straßenfest"},
		{From: "alice@a.example", Time: t0.Add(3 * time.Minute), Text: "a system line about the picnic", System: true},
		{ID: chatdb.MsgID{4}, From: "alice@a.example", Time: t0.Add(4 * time.Minute), Deleted: true},
	}
	if err := e.AppendForTest(note.ID, lines); err != nil {
		t.Fatal(err)
	}
	texts := func(hs []chat.Hit) []string {
		var out []string
		for _, h := range hs {
			out = append(out, h.Message.Text)
			if h.Conv != note.ID || h.Label != chat.Label(note) {
				t.Errorf("hit in %x %q, want the note", h.Conv, h.Label)
			}
		}
		return out
	}
	for _, c := range []struct {
		query string
		limit int
		want  []string
	}{
		{"picnic", 0, []string{lines[1].Text, lines[0].Text}},
		{"NOON Picnic", 0, []string{lines[1].Text, lines[0].Text}},
		{"picnic oak", 0, []string{lines[1].Text}},
		{"picnic", 1, []string{lines[1].Text}},
		{"grüsse", 0, nil},
		{"grüße straßenfest", 0, []string{lines[2].Text}},
		{"system", 0, nil},
		{"harbour", 0, nil},
	} {
		hs, err := e.Search(c.query, nil, c.limit)
		if err != nil {
			t.Fatalf("%q: %v", c.query, err)
		}
		if got := texts(hs); !slices.Equal(got, c.want) {
			t.Errorf("%q (limit %d): %q, want %q", c.query, c.limit, got, c.want)
		}
	}
	hs, err := e.Search("picnic", &note.ID, 0)
	if err != nil || len(hs) != 2 {
		t.Errorf("in the note: %d hits, %v", len(hs), err)
	}
	if _, err := e.Search("picnic", &chatdb.ConvID{9}, 0); !errors.Is(err, chat.ErrNoConversation) {
		t.Errorf("in no conversation: %v", err)
	}
	if _, err := e.Search(" \t", nil, 0); !errors.Is(err, chat.ErrEmptyQuery) {
		t.Errorf("no words: %v", err)
	}
}

// BenchmarkSearch100k searches a history of 100,000 lines, which it
// decrypts one by one: the figure in docs/client.md ("Search").
func BenchmarkSearch100k(b *testing.B) {
	e, note := offlineEngine(b)
	const n = 100_000
	t0 := time.Unix(1_700_000_000, 0)
	for start := 0; start < n; start += 10_000 {
		ms := make([]chatdb.Message, 10_000)
		for i := range ms {
			k := start + i
			ms[i] = chatdb.Message{ID: chatdb.MsgID{byte(k), byte(k >> 8), byte(k >> 16)}, From: "bob@a.example", Time: t0.Add(time.Duration(k) * time.Second),
				Text: fmt.Sprintf("line %d: the usual chatter about lunch, the weather and who brings the cake on Friday", k)}
		}
		ms[5000].Text = "the needle is under the old oak"
		if err := e.AppendForTest(note.ID, ms); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		hs, err := e.Search("Needle OAK", nil, 50)
		if err != nil || len(hs) != n/10_000 {
			b.Fatalf("%d hits, %v", len(hs), err)
		}
	}
	b.ReportMetric(float64(n), "lines/op")
}
