package chatdb

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestConversationsRoundTrip(t *testing.T) {
	db, path := newDB(t)
	group := sampleConversation()
	note := Conversation{ID: convID(2), Kind: KindNote, Name: "notes"}
	update(t, db, func(tx *Tx) error {
		if err := tx.PutConversation(&group); err != nil {
			return err
		}
		return tx.PutConversation(&note)
	})
	db = reopen(t, db, path)
	view(t, db, func(tx *Tx) error {
		got, ok, err := tx.Conversation(group.ID)
		if err != nil || !ok {
			t.Fatalf("Conversation: %v, %v", ok, err)
		}
		if !reflect.DeepEqual(got, group) {
			t.Errorf("got %+v\nwant %+v", got, group)
		}
		all, err := tx.Conversations()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(all, []Conversation{group, note}) {
			t.Errorf("Conversations: %+v", all)
		}
		if _, ok, err := tx.Conversation(convID(3)); ok || err != nil {
			t.Errorf("an unknown conversation: %v, %v", ok, err)
		}
		return nil
	})
}

func TestPutConversationReplaces(t *testing.T) {
	db, _ := newDB(t)
	c := sampleConversation()
	update(t, db, func(tx *Tx) error {
		if err := tx.PutConversation(&c); err != nil {
			return err
		}
		c.Left, c.Members, c.Unread = true, nil, 0
		return tx.PutConversation(&c)
	})
	view(t, db, func(tx *Tx) error {
		all, err := tx.Conversations()
		if len(all) != 1 || !reflect.DeepEqual(all[0], c) {
			t.Errorf("got %+v", all)
		}
		return err
	})
}

func TestHistory(t *testing.T) {
	db, path := newDB(t)
	a, b := sampleConversation(), Conversation{ID: convID(2), Kind: KindDM, Peer: "bob@b.example"}
	var want []Message
	update(t, db, func(tx *Tx) error {
		for _, c := range []*Conversation{&a, &b} {
			if err := tx.PutConversation(c); err != nil {
				return err
			}
		}
		for i := range 5 {
			m := sampleMessage()
			m.Text = string(rune('a' + i))
			if err := tx.AppendMessage(a.ID, &m); err != nil {
				return err
			}
			if m.Seq != uint64(i+1) {
				t.Errorf("message %d has Seq %d", i, m.Seq)
			}
			want = append(want, m)
			// b's history interleaves with a's in time, and its ids
			// sort after a's: neither may show in the other.
			other := Message{Text: "to b"}
			if err := tx.AppendMessage(b.ID, &other); err != nil {
				return err
			}
		}
		return nil
	})
	db = reopen(t, db, path)
	tests := []struct {
		name string
		last int
		want []Message
	}{
		{"is every message in Seq order when last is 0", 0, want},
		{"is every message when last is negative", -1, want},
		{"is the newest messages in Seq order when last is smaller", 2, want[3:]},
		{"is the newest message when last is 1", 1, want[4:]},
		{"is every message when last is larger", 10, want},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			view(t, db, func(tx *Tx) error {
				got, err := tx.Messages(a.ID, tt.last)
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got %+v\nwant %+v", got, tt.want)
				}
				return err
			})
		})
	}
	t.Run("continues after reopening", func(t *testing.T) {
		update(t, db, func(tx *Tx) error {
			m := Message{Text: "later"}
			err := tx.AppendMessage(a.ID, &m)
			if m.Seq != 6 {
				t.Errorf("Seq %d, want 6", m.Seq)
			}
			return err
		})
	})
	t.Run("of a conversation without messages is empty", func(t *testing.T) {
		view(t, db, func(tx *Tx) error {
			for _, last := range []int{0, 3} {
				if got, err := tx.Messages(convID(0x77), last); len(got) != 0 || err != nil {
					t.Errorf("last %d: %v, %v", last, got, err)
				}
			}
			return nil
		})
	})
}

func TestAppendMessageNeedsTheConversation(t *testing.T) {
	db, _ := newDB(t)
	err := db.Update(func(tx *Tx) error {
		m := sampleMessage()
		return tx.AppendMessage(convID(1), &m)
	})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
}

func TestUpdateMessage(t *testing.T) {
	db, _ := newDB(t)
	c := sampleConversation()
	m := sampleMessage()
	m.Status = StatusQueued
	update(t, db, func(tx *Tx) error {
		if err := tx.PutConversation(&c); err != nil {
			return err
		}
		if err := tx.AppendMessage(c.ID, &m); err != nil {
			return err
		}
		m.Status = StatusSent
		return tx.UpdateMessage(c.ID, &m)
	})
	view(t, db, func(tx *Tx) error {
		got, err := tx.Messages(c.ID, 0)
		if !reflect.DeepEqual(got, []Message{m}) {
			t.Errorf("got %+v", got)
		}
		return err
	})
	err := db.Update(func(tx *Tx) error {
		missing := m
		missing.Seq = 2
		return tx.UpdateMessage(c.ID, &missing)
	})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("updating a missing message: got %v, want ErrNotFound", err)
	}
}

func TestDeleteConversationRemovesItsMessagesAndGroupState(t *testing.T) {
	db, _ := newDB(t)
	gone, kept := sampleConversation(), Conversation{ID: convID(2), Kind: KindNote}
	update(t, db, func(tx *Tx) error {
		for _, c := range []*Conversation{&gone, &kept} {
			if err := tx.PutConversation(c); err != nil {
				return err
			}
			for range 3 {
				m := sampleMessage()
				if err := tx.AppendMessage(c.ID, &m); err != nil {
					return err
				}
			}
			if err := tx.PutGroupState(c.ID, []byte("state")); err != nil {
				return err
			}
		}
		return tx.DeleteConversation(gone.ID)
	})
	view(t, db, func(tx *Tx) error {
		if _, ok, err := tx.Conversation(gone.ID); ok || err != nil {
			t.Errorf("the conversation is still there: %v, %v", ok, err)
		}
		if msgs, err := tx.Messages(gone.ID, 0); len(msgs) != 0 || err != nil {
			t.Errorf("its messages are still there: %v, %v", msgs, err)
		}
		if s, err := tx.GroupState(gone.ID); s != nil || err != nil {
			t.Errorf("its group state is still there: %q, %v", s, err)
		}
		if msgs, err := tx.Messages(kept.ID, 0); len(msgs) != 3 || err != nil {
			t.Errorf("the other conversation has %d messages, %v", len(msgs), err)
		}
		if s, err := tx.GroupState(kept.ID); string(s) != "state" || err != nil {
			t.Errorf("the other conversation's group state is %q, %v", s, err)
		}
		return nil
	})
	update(t, db, func(tx *Tx) error { return tx.DeleteConversation(gone.ID) })
}

func TestGroupState(t *testing.T) {
	db, _ := newDB(t)
	c := sampleConversation()
	update(t, db, func(tx *Tx) error {
		if s, err := tx.GroupState(c.ID); s != nil || err != nil {
			t.Errorf("before any: %q, %v", s, err)
		}
		if err := tx.PutGroupState(c.ID, []byte("x")); !errors.Is(err, ErrNotFound) {
			t.Errorf("without the conversation: got %v, want ErrNotFound", err)
		}
		if err := tx.PutConversation(&c); err != nil {
			return err
		}
		if err := tx.PutGroupState(c.ID, []byte("epoch 1")); err != nil {
			return err
		}
		return tx.PutGroupState(c.ID, []byte("epoch 2"))
	})
	view(t, db, func(tx *Tx) error {
		s, err := tx.GroupState(c.ID)
		if string(s) != "epoch 2" {
			t.Errorf("got %q", s)
		}
		return err
	})
}

func TestContacts(t *testing.T) {
	db, _ := newDB(t)
	bob := sampleContact()
	bob.Address = "Bob@B.Example"
	carol := Contact{Address: "carol@c.example", IdentityKey: []byte{1, 2, 3}}
	update(t, db, func(tx *Tx) error {
		if err := tx.PutContact(&bob); err != nil {
			return err
		}
		if err := tx.PutContact(&Contact{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("a contact without address: got %v, want ErrInvalid", err)
		}
		return tx.PutContact(&carol)
	})
	bob.Address = "bob@b.example"
	view(t, db, func(tx *Tx) error {
		got, ok, err := tx.Contact("BOB@b.example")
		if err != nil || !ok {
			t.Fatalf("Contact: %v, %v", ok, err)
		}
		if !reflect.DeepEqual(got, bob) {
			t.Errorf("got %+v\nwant %+v", got, bob)
		}
		all, err := tx.Contacts()
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(all, func(a, b Contact) int { return bytes.Compare([]byte(a.Address), []byte(b.Address)) })
		if !reflect.DeepEqual(all, []Contact{bob, carol}) {
			t.Errorf("Contacts: %+v", all)
		}
		if _, ok, err := tx.Contact("dave@d.example"); ok || err != nil {
			t.Errorf("an unknown contact: %v, %v", ok, err)
		}
		return nil
	})
}

func TestOutbox(t *testing.T) {
	db, path := newDB(t)
	var want []Outgoing
	update(t, db, func(tx *Tx) error {
		for i := range 3 {
			o := sampleOutgoing()
			o.Attempts = i
			if err := tx.PutOutgoing(&o); err != nil {
				return err
			}
			if o.Seq != uint64(i+1) {
				t.Errorf("entry %d has Seq %d", i, o.Seq)
			}
			want = append(want, o)
		}
		return nil
	})
	t.Run("lists the entries in Seq order", func(t *testing.T) {
		view(t, db, func(tx *Tx) error {
			got, err := tx.Outbox()
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
			return err
		})
	})
	t.Run("replaces an entry with its Seq", func(t *testing.T) {
		update(t, db, func(tx *Tx) error {
			want[1].Attempts = 9
			return tx.PutOutgoing(&want[1])
		})
		view(t, db, func(tx *Tx) error {
			got, err := tx.Outbox()
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
			return err
		})
	})
	outer := t // the reopened database lives until the test ends
	t.Run("never reuses a Seq after deletes, also after reopening", func(t *testing.T) {
		update(t, db, func(tx *Tx) error {
			if err := tx.DeleteOutgoing(3); err != nil {
				return err
			}
			return tx.DeleteOutgoing(2)
		})
		db = reopen(outer, db, path)
		update(t, db, func(tx *Tx) error {
			o := sampleOutgoing()
			err := tx.PutOutgoing(&o)
			if o.Seq != 4 {
				t.Errorf("Seq %d, want 4", o.Seq)
			}
			return err
		})
		view(t, db, func(tx *Tx) error {
			got, err := tx.Outbox()
			if len(got) != 2 || got[0].Seq != 1 || got[1].Seq != 4 {
				t.Errorf("got %+v", got)
			}
			return err
		})
	})
	t.Run("refuses to replace a deleted entry", func(t *testing.T) {
		err := db.Update(func(tx *Tx) error { return tx.PutOutgoing(&want[1]) })
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	})
}

func TestSeenMarks(t *testing.T) {
	db, _ := newDB(t)
	c := convID(1)
	update(t, db, func(tx *Tx) error {
		for i, from := range []string{"bob@b.example", "carol@c.example", "dave@d.example"} {
			if err := tx.MarkSeen(c, from, msgID(1), at(int64(100*(i+1)))); err != nil {
				return err
			}
		}
		return nil
	})
	seen := func(tx *Tx, from string, conv ConvID, id MsgID) bool {
		ok, err := tx.Seen(conv, from, id)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	view(t, db, func(tx *Tx) error {
		tests := []struct {
			name string
			from string
			conv ConvID
			id   MsgID
			want bool
		}{
			{"a marked id is seen", "bob@b.example", c, msgID(1), true},
			{"the sender is compared lowercased", "Bob@B.example", c, msgID(1), true},
			{"another id is not seen", "bob@b.example", c, msgID(2), false},
			{"the id from another sender is not seen", "erin@e.example", c, msgID(1), false},
			{"the id in another conversation is not seen", "bob@b.example", convID(2), msgID(1), false},
		}
		for _, tt := range tests {
			if got := seen(tx, tt.from, tt.conv, tt.id); got != tt.want {
				t.Errorf("%s: got %v", tt.name, got)
			}
		}
		return nil
	})
	view(t, db, func(tx *Tx) error {
		for before, want := range map[time.Time]bool{at(200).Add(time.Second): true, at(0): false} {
			if got, err := tx.SeenBefore(before); err != nil || got != want {
				t.Errorf("SeenBefore(%v) = %v, %v; want %v", before, got, err, want)
			}
		}
		return nil
	})
	update(t, db, func(tx *Tx) error {
		n, err := tx.PruneSeen(at(200).Add(time.Second))
		if n != 2 {
			t.Errorf("PruneSeen dropped %d marks, want 2", n)
		}
		return err
	})
	view(t, db, func(tx *Tx) error {
		for from, want := range map[string]bool{"bob@b.example": false, "carol@c.example": false, "dave@d.example": true} {
			if got := seen(tx, from, c, msgID(1)); got != want {
				t.Errorf("after PruneSeen, %s's id seen: %v, want %v", from, got, want)
			}
		}
		return nil
	})
}

func TestKeyPackages(t *testing.T) {
	db, _ := newDB(t)
	refs := [][]byte{[]byte("ref one"), []byte("ref two"), []byte("ref three")}
	update(t, db, func(tx *Tx) error {
		for _, r := range refs {
			if err := tx.PutKeyPackage(r, append([]byte("bundle of "), r...)); err != nil {
				return err
			}
		}
		return tx.DeleteKeyPackage(refs[1])
	})
	view(t, db, func(tx *Tx) error {
		b, ok, err := tx.KeyPackage(refs[2])
		if err != nil || !ok || string(b) != "bundle of ref three" {
			t.Errorf("KeyPackage: %q, %v, %v", b, ok, err)
		}
		if _, ok, err := tx.KeyPackage(refs[1]); ok || err != nil {
			t.Errorf("a deleted KeyPackage: %v, %v", ok, err)
		}
		if n, err := tx.KeyPackageCount(); n != 2 || err != nil {
			t.Errorf("KeyPackageCount: %d, %v", n, err)
		}
		got, err := tx.KeyPackageRefs()
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(got, bytes.Compare)
		want := [][]byte{refs[0], refs[2]}
		slices.SortFunc(want, bytes.Compare)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("KeyPackageRefs: %q", got)
		}
		return nil
	})
}

func TestMeta(t *testing.T) {
	db, _ := newDB(t)
	update(t, db, func(tx *Tx) error {
		if v, err := tx.Meta("version"); v != nil || err != nil {
			t.Errorf("an unset name (the same as an own record's): %q, %v", v, err)
		}
		return tx.PutMeta("version", []byte("app data"))
	})
	db = reopen(t, db, db.bolt.Path())
	view(t, db, func(tx *Tx) error {
		v, err := tx.Meta("version")
		if string(v) != "app data" {
			t.Errorf("got %q", v)
		}
		return err
	})
}
