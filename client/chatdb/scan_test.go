package chatdb

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMessageEditFieldsAreOptionalAndCanonical(t *testing.T) {
	edited := sampleMessage()
	edited.Edited = at(1_700_000_300)
	deleted := sampleMessage()
	deleted.Text, deleted.Deleted = "", true
	both := deleted
	both.Edited = at(1_700_000_400)
	for _, m := range []Message{edited, deleted, both} {
		b := encodeMessage(&m)
		got, err := decodeMessage(b)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Fatalf("decoded %+v, %v; want %+v", got, err, m)
		}
		plain := m
		plain.Edited, plain.Deleted = time.Time{}, false
		old := encodeMessage(&plain)
		if !bytes.HasPrefix(b, old) {
			t.Fatalf("the record %x does not start with the record of before edits %x", b, old)
		}
		for n := range len(b) {
			got, err := decodeMessage(b[:n])
			switch {
			case n == len(old) && (err != nil || !reflect.DeepEqual(got, plain)):
				t.Errorf("cut where the edit fields start: %+v, %v; want it without them", got, err)
			case n != len(old) && err == nil:
				t.Errorf("truncated to %d of %d bytes decoded", n, len(b))
			}
		}
	}
	// Fields of no edit written anyway are a second encoding of one
	// record; a deleted message that still holds text is what a delete
	// must never leave.
	never := encodeMessage(&Message{Text: "x"})
	var e encoder
	e.time(time.Time{})
	e.bool(false)
	if _, err := decodeMessage(append(slices.Clone(never), e.b...)); err == nil {
		t.Error("empty edit fields decoded")
	}
	withText := sampleMessage()
	withText.Deleted = true
	if _, err := decodeMessage(encodeMessage(&withText)); err == nil {
		t.Error("a deleted message with text decoded")
	}
}

func FuzzDecodeEditedMessage(f *testing.F) {
	m := sampleMessage()
	m.Edited = at(1_700_000_300)
	d := Message{ID: msgID(1), From: "bob@b.example", Deleted: true}
	fuzzDecode(f, encodeMessage, decodeMessage, m, d)
}

func TestMessagesAreFoundByPlaceAndBySenderAndID(t *testing.T) {
	db, _ := newDB(t)
	c := sampleConversation()
	other := sampleConversation()
	other.ID = convID(2)
	update(t, db, func(tx *Tx) error {
		for _, cc := range []*Conversation{&c, &other} {
			if err := tx.PutConversation(cc); err != nil {
				return err
			}
		}
		for i, from := range []string{"bob@b.example", "carol@c.example", "bob@b.example"} {
			m := Message{ID: msgID(byte(10 + i)), From: from, Text: "line " + string(rune('a'+i))}
			if err := tx.AppendMessage(c.ID, &m); err != nil {
				return err
			}
		}
		// The same id from the same sender in another conversation, and
		// a system line: neither is found in c.
		if err := tx.AppendMessage(other.ID, &Message{ID: msgID(11), From: "carol@c.example", Text: "elsewhere"}); err != nil {
			return err
		}
		return tx.AppendMessage(c.ID, &Message{ID: msgID(12), From: "bob@b.example", Text: "a system line", System: true})
	})
	view(t, db, func(tx *Tx) error {
		var seen []string
		if err := tx.EachMessage(c.ID, func(m Message) error {
			seen = append(seen, m.Text)
			return nil
		}); err != nil {
			return err
		}
		if want := []string{"line a", "line b", "line c", "a system line"}; !slices.Equal(seen, want) {
			t.Errorf("EachMessage: %q, want %q", seen, want)
		}
		stop := errors.New("stop")
		n := 0
		if err := tx.EachMessage(c.ID, func(Message) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
			t.Errorf("an error from fn: %v after %d calls", err, n)
		}
		m, ok, err := tx.MessageAt(c.ID, 2)
		if err != nil || !ok || m.Text != "line b" || m.Seq != 2 {
			t.Errorf("MessageAt 2: %+v, %v, %v", m, ok, err)
		}
		if _, ok, err := tx.MessageAt(c.ID, 9); ok || err != nil {
			t.Errorf("MessageAt 9: %v, %v", ok, err)
		}
		m, ok, err = tx.FindMessage(c.ID, "bob@b.example", msgID(12))
		if err != nil || !ok || m.Text != "line c" || m.Seq != 3 {
			t.Errorf("FindMessage of bob's line c: %+v, %v, %v", m, ok, err)
		}
		if m, ok, err := tx.FindMessage(c.ID, "", msgID(11)); err != nil || !ok || m.From != "carol@c.example" {
			t.Errorf("FindMessage of any sender: %+v, %v, %v", m, ok, err)
		}
		for name, q := range map[string]struct {
			from string
			id   MsgID
		}{"another sender's id": {"bob@b.example", msgID(11)}, "no such id": {"carol@c.example", msgID(99)}} {
			if m, ok, err := tx.FindMessage(c.ID, q.from, q.id); ok || err != nil {
				t.Errorf("%s found %+v, %v", name, m, err)
			}
		}
		return nil
	})
}

func TestEachRecordOpensEveryValueOfTheFile(t *testing.T) {
	db, _ := newDB(t)
	c := sampleConversation()
	update(t, db, func(tx *Tx) error {
		if err := tx.PutConversation(&c); err != nil {
			return err
		}
		if err := tx.AppendMessage(c.ID, &Message{ID: msgID(1), From: "bob@b.example", Text: "the secret word is heron"}); err != nil {
			return err
		}
		return tx.PutMeta("note", []byte("also heron"))
	})
	found := map[string]int{}
	view(t, db, func(tx *Tx) error {
		return tx.EachRecord(func(bucket string, _, record []byte) error {
			if strings.Contains(string(record), "heron") {
				found[bucket]++
			}
			return nil
		})
	})
	if found["messages"] != 1 || found["meta"] != 1 {
		t.Errorf("records holding the word, by bucket: %v", found)
	}
}
