package chat_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/app/apptest"
	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/sealed"
)

// line returns the line of conversation name on d whose id is id.
func (d *device) line(name string, id chatdb.MsgID) (chatdb.Message, bool) {
	d.t.Helper()
	ms, err := d.e.History(d.find(name).ID, 0)
	if err != nil {
		d.t.Fatal(err)
	}
	i := slices.IndexFunc(ms, func(m chatdb.Message) bool { return m.ID == id && !m.System })
	if i < 0 {
		return chatdb.Message{}, false
	}
	return ms[i], true
}

// holds reports which buckets of d's chat database hold word in a record.
func (d *device) holds(word string) []string {
	d.t.Helper()
	var in []string
	err := d.e.RecordsForTest(func(bucket string, record []byte) error {
		if strings.Contains(string(record), word) {
			in = append(in, bucket)
		}
		return nil
	})
	if err != nil {
		d.t.Fatal(err)
	}
	return in
}

// statuses returns the status lines d's engine emitted.
func (d *device) statuses() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, ev := range d.events {
		if ev.Status != "" {
			out = append(out, ev.Status)
		}
	}
	return out
}

// changed reports whether d's engine emitted a Changed event of line id.
func (d *device) changed(id chatdb.MsgID) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.ContainsFunc(d.events, func(ev chat.Event) bool { return ev.Changed && ev.Message != nil && ev.Message.ID == id })
}

func TestAnEditReachesThePeerAndTheAuthorsOtherDeviceAndADeleteWipesTheText(t *testing.T) {
	n := apptest.Run(t, testDomain)
	ctx := ctxT(t)
	alice := newPerson(t, n, "alice", "laptop", "phone")
	bob := newPerson(t, n, "bob", "bob-laptop", "bob-phone")
	a1, a2, b1, b2 := alice.devices[0], alice.devices[1], bob.devices[0], bob.devices[1]
	all := []*device{a1, a2, b1, b2}
	dm, err := a1.e.DM(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	settle(t, all...)
	m, err := a1.e.Send(ctx, dm.ID, "the picnic is at noon by the old ork")
	if err != nil {
		t.Fatal(err)
	}
	keep, err := a1.e.Send(ctx, dm.ID, "bring the lemonade")
	if err != nil {
		t.Fatal(err)
	}
	settle(t, all...)
	peer := map[*device]string{a1: "@bob", a2: "@bob", b1: "@alice", b2: "@alice"}

	edited, err := a1.e.Edit(ctx, dm.ID, m.Seq, "the picnic is at noon by the old oak")
	if err != nil {
		t.Fatal(err)
	}
	if edited.Text != "the picnic is at noon by the old oak" || edited.Edited.IsZero() {
		t.Fatalf("the author's line after the edit: %+v", edited)
	}
	settle(t, all...)
	for _, d := range all {
		l, ok := d.line(peer[d], m.ID)
		if !ok || l.Text != edited.Text || l.Edited.IsZero() {
			t.Errorf("%s has the line as %+v (found %v), want it edited", d.name, l, ok)
		}
	}
	if !b1.changed(m.ID) || !a2.changed(m.ID) {
		t.Error("no Changed event of the line on bob's laptop or alice's phone")
	}

	// bob cannot edit or delete alice's line through the engine.
	theirs, _ := b1.line("@alice", m.ID)
	if _, err := b1.e.Edit(ctx, b1.find("@alice").ID, theirs.Seq, "mine now"); !errors.Is(err, chat.ErrNotOwnLine) {
		t.Errorf("bob edits alice's line: %v", err)
	}
	if _, err := b1.e.Delete(ctx, b1.find("@alice").ID, theirs.Seq); !errors.Is(err, chat.ErrNotOwnLine) {
		t.Errorf("bob deletes alice's line: %v", err)
	}
	if _, err := a1.e.Edit(ctx, dm.ID, 999, "x"); !errors.Is(err, chat.ErrNoLine) {
		t.Errorf("an edit of no line: %v", err)
	}

	if _, err := a1.e.Delete(ctx, dm.ID, m.Seq); err != nil {
		t.Fatal(err)
	}
	settle(t, all...)
	for _, d := range all {
		l, ok := d.line(peer[d], m.ID)
		if !ok || !l.Deleted || l.Text != "" {
			t.Errorf("%s has the line as %+v (found %v), want it deleted", d.name, l, ok)
		}
		if in := d.holds("picnic"); len(in) > 0 {
			t.Errorf("%s: the deleted text is still in records of %v", d.name, in)
		}
		if in := d.holds("lemonade"); len(in) == 0 {
			t.Errorf("%s: the line not deleted is gone too (the check cannot see records)", d.name)
		}
		if l, _ := d.line(peer[d], keep.ID); l.Deleted || l.Text != keep.Text {
			t.Errorf("%s: the other line became %+v", d.name, l)
		}
	}
	if _, err := a1.e.Edit(ctx, dm.ID, m.Seq, "back again"); !errors.Is(err, chat.ErrLineDeleted) {
		t.Errorf("an edit of a deleted line: %v", err)
	}
}

func TestAChangeOfSomeoneElsesLineFromAModifiedClientIsRefused(t *testing.T) {
	n := apptest.Run(t, testDomain)
	ctx := ctxT(t)
	alice := newPerson(t, n, "alice", "laptop")
	bob := newPerson(t, n, "bob", "bob-laptop", "bob-phone")
	carol := newPerson(t, n, "carol", "carol-laptop")
	a1, b1, b2, c1 := alice.devices[0], bob.devices[0], bob.devices[1], carol.devices[0]
	all := []*device{a1, b1, b2, c1}
	g, err := a1.e.CreateGroup(ctx, "picnic")
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"bob", "carol"} {
		if err := a1.e.Invite(ctx, g.ID, who); err != nil {
			t.Fatal(err)
		}
		settle(t, all...)
	}
	b1.join("#picnic")
	c1.join("#picnic")
	settle(t, all...)
	m, err := a1.e.Send(ctx, g.ID, "meet at the oak")
	if err != nil {
		t.Fatal(err)
	}
	settle(t, all...)

	// carol's client, modified, edits and deletes alice's line in the
	// group (MLS: the group's credential names carol).
	if err := c1.e.SendChangeForTest(ctx, c1.find("#picnic").ID, m.ID, false, "meet at the quarry"); err != nil {
		t.Fatal(err)
	}
	if err := c1.e.SendChangeForTest(ctx, c1.find("#picnic").ID, m.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	// ... and, sealed with her own keys, to bob's devices in the DM that
	// alice's line is not in (a line of alice's DM with bob is not hers
	// to change either).
	body, ctype, err := chat.ChangeBodyForTest(m.ID, true, "")
	if err != nil {
		t.Fatal(err)
	}
	outs, _, err := c1.a.SealAll(ctx, "bob", ctype, body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c1.a.Client.EnqueueBatch(ctx, outs); err != nil {
		t.Fatal(err)
	}
	settle(t, all...)
	for _, d := range []*device{a1, b1, b2} {
		l, ok := d.line("#picnic", m.ID)
		if !ok || l.Text != "meet at the oak" || l.Deleted || !l.Edited.IsZero() {
			t.Errorf("%s has alice's line as %+v (found %v) after carol's changes", d.name, l, ok)
		}
		if !hasLine(d.statuses(), "from carol@"+testDomain, "refused") {
			t.Errorf("%s said nothing of the refused change: %q", d.name, d.statuses())
		}
	}
	// alice's own edit in the group reaches every member's devices.
	if _, err := a1.e.Edit(ctx, g.ID, m.Seq, "meet at the old oak"); err != nil {
		t.Fatal(err)
	}
	settle(t, all...)
	for _, d := range all {
		if l, ok := d.line("#picnic", m.ID); !ok || l.Text != "meet at the old oak" || l.Edited.IsZero() {
			t.Errorf("%s has alice's line as %+v (found %v) after her edit", d.name, l, ok)
		}
	}
}

func TestALineThatArrivesAfterItsDeleteStaysDeleted(t *testing.T) {
	n := apptest.Run(t, testDomain)
	ctx := ctxT(t)
	alice := newPerson(t, n, "alice", "laptop", "phone")
	bob := newPerson(t, n, "bob", "bob-laptop", "bob-phone")
	a1, a2, b1, b2 := alice.devices[0], alice.devices[1], bob.devices[0], bob.devices[1]
	// A DM of sealed messages (qpc send with no DM group): the line and
	// its delete go sealed to bob's devices and as sent copies to
	// alice's phone.
	outs, id, err := a1.a.SealAll(ctx, "bob", sealed.ContentText, []byte("the key is under the mat"))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := a1.a.Client.EnqueueBatch(ctx, outs)
	if err != nil {
		t.Fatal(err)
	}
	conv, m, err := a1.e.FileSealedOut("bob", chatdb.MsgID(id), time.Now(), "the key is under the mat", outs, rs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a1.e.Delete(ctx, conv, m.Seq); err != nil {
		t.Fatal(err)
	}
	// bob's laptop handles its queue backwards: the delete before the
	// line.
	msgs, err := b1.a.Client.Fetch(ctx, 0, 100)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("bob's laptop has %d messages, %v", len(msgs), err)
	}
	for _, i := range []int{1, 0} {
		if h := b1.e.Handle(ctx, msgs[i:i+1]); h != msgs[i].Seq {
			t.Fatalf("handled %d of %d", h, msgs[i].Seq)
		}
	}
	if _, err := b1.a.Client.Ack(ctx, msgs[1].Seq); err != nil {
		t.Fatal(err)
	}
	b1.after = msgs[1].Seq
	if l, ok := b1.line("@alice@"+testDomain, m.ID); ok {
		t.Errorf("bob's laptop shows the line deleted before it came: %+v", l)
	}
	// In order, on bob's phone and alice's phone (a sent copy), it is
	// filed and then wiped.
	b2.sync()
	a2.sync()
	for _, d := range []*device{a2, b2} {
		peer := "@bob"
		if d == b2 {
			peer = "@alice"
		}
		if l, ok := d.line(peer, m.ID); !ok || !l.Deleted {
			t.Errorf("%s has the line as %+v (found %v), want it deleted", d.name, l, ok)
		}
	}
	for _, d := range []*device{a1, a2, b1, b2} {
		if in := d.holds("under the mat"); len(in) > 0 {
			t.Errorf("%s: the deleted text is in records of %v", d.name, in)
		}
	}
	// The line again (a copy from the mesh, say) stays out on bob's
	// laptop, whose seen mark and tombstone both have it.
	again, _, err := a1.a.SealAllAs(ctx, "bob", id, sealed.ContentText, []byte("the key is under the mat"))
	if err != nil {
		t.Fatal(err)
	}
	var toB1 []client.Outgoing
	for _, o := range again {
		if strings.Contains(o.Recipient, b1.a.DeviceID().String()) {
			toB1 = append(toB1, o)
		}
	}
	if len(toB1) != 1 {
		t.Fatalf("%d envelopes to bob's laptop among %d", len(toB1), len(again))
	}
	if _, err := a1.a.Client.EnqueueBatch(ctx, toB1); err != nil {
		t.Fatal(err)
	}
	b1.sync()
	if in := b1.holds("under the mat"); len(in) > 0 {
		t.Errorf("bob's laptop filed the line again: in %v", in)
	}
}

func TestALineStillQueuedIsChangedInTheOutboxAndALineThatLeftNeedsTheNode(t *testing.T) {
	n := apptest.Run(t, testDomain)
	ctx := ctxT(t)
	a1 := newPerson(t, n, "alice", "laptop").devices[0]
	b1 := newPerson(t, n, "bob", "bob-laptop").devices[0]
	dm, err := a1.e.DM(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	settle(t, a1, b1)
	left, err := a1.e.Send(ctx, dm.ID, "this one left")
	if err != nil {
		t.Fatal(err)
	}
	a1.e.Disconnected()
	if _, err := a1.e.Edit(ctx, dm.ID, left.Seq, "changed offline"); !errors.Is(err, chat.ErrOffline) {
		t.Errorf("an edit of a line that left, offline: %v", err)
	}
	typo, err := a1.e.Send(ctx, dm.ID, "see you at the hrabour")
	if err != nil {
		t.Fatal(err)
	}
	oops, err := a1.e.Send(ctx, dm.ID, "my bank pin is 1234")
	if err != nil {
		t.Fatal(err)
	}
	if typo.Status != chatdb.StatusQueued || oops.Status != chatdb.StatusQueued {
		t.Fatalf("offline lines are %s and %s, want queued", typo.Status, oops.Status)
	}
	if m, err := a1.e.Edit(ctx, dm.ID, typo.Seq, "see you at the harbour"); err != nil || m.Text != "see you at the harbour" {
		t.Fatalf("an edit of a queued line: %+v, %v", m, err)
	}
	if m, err := a1.e.Delete(ctx, dm.ID, oops.Seq); err != nil || !m.Deleted {
		t.Fatalf("a delete of a queued line: %+v, %v", m, err)
	}
	if in := a1.holds("1234"); len(in) > 0 {
		t.Errorf("the deleted queued line is still in records of %v (the outbox?)", in)
	}
	if err := a1.e.Connected(ctx, a1.a.Client); err != nil {
		t.Fatal(err)
	}
	settle(t, a1, b1)
	got := b1.texts("@alice")
	if want := []string{"alice: see you at the harbour", "alice: this one left"}; !slices.Equal(got, want) {
		t.Errorf("bob has %q, want %q", got, want)
	}
	if in := b1.holds("hrabour"); len(in) > 0 {
		t.Errorf("the text before the edit reached bob: in %v", in)
	}
	// The note never leaves the machine: its lines change offline.
	a1.e.Disconnected()
	note, err := a1.e.Note()
	if err != nil {
		t.Fatal(err)
	}
	m, err := a1.e.Send(ctx, note.ID, "buy mlik")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := a1.e.Edit(ctx, note.ID, m.Seq, "buy milk"); err != nil || m.Text != "buy milk" || m.Edited.IsZero() {
		t.Errorf("an edit in the note: %+v, %v", m, err)
	}
}

func TestALineThatArrivesAfterItsEditArrivesEdited(t *testing.T) {
	n := apptest.Run(t, testDomain)
	ctx := ctxT(t)
	a1 := newPerson(t, n, "alice", "laptop").devices[0]
	bob := newPerson(t, n, "bob", "bob-laptop")
	carol := newPerson(t, n, "carol", "carol-laptop")
	b1, c1 := bob.devices[0], carol.devices[0]
	outs, id, err := a1.a.SealAll(ctx, "bob", sealed.ContentText, []byte("lunch at 1?"))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := a1.a.Client.EnqueueBatch(ctx, outs)
	if err != nil {
		t.Fatal(err)
	}
	conv, m, err := a1.e.FileSealedOut("bob", chatdb.MsgID(id), time.Now(), "lunch at 1?", outs, rs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a1.e.Edit(ctx, conv, m.Seq, "lunch at 2?"); err != nil {
		t.Fatal(err)
	}
	// carol, with a modified client, edits alice's line too: before the
	// line, her edit waits as well, and never applies to alice's line.
	body, ctype, err := chat.ChangeBodyForTest(chatdb.MsgID(id), false, "lunch is off")
	if err != nil {
		t.Fatal(err)
	}
	forged, _, err := c1.a.SealAll(ctx, "bob", ctype, body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c1.a.Client.EnqueueBatch(ctx, forged); err != nil {
		t.Fatal(err)
	}
	msgs, err := b1.a.Client.Fetch(ctx, 0, 100)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("bob has %d messages, %v", len(msgs), err)
	}
	for _, i := range []int{2, 1, 0} { // carol's edit, alice's edit, the line
		if h := b1.e.Handle(ctx, msgs[i:i+1]); h != msgs[i].Seq {
			t.Fatalf("handled %d of %d", h, msgs[i].Seq)
		}
	}
	l, ok := b1.line("@alice@"+testDomain, chatdb.MsgID(id))
	if !ok || l.Text != "lunch at 2?" || l.Edited.IsZero() {
		t.Errorf("bob has the line as %+v (found %v), want it edited by alice", l, ok)
	}

	// An edit and a delete that both overtake their line: the line stays
	// out, and the edit's text goes with the delete.
	outs, id, err = a1.a.SealAll(ctx, "bob", sealed.ContentText, []byte("dinner at 8?"))
	if err != nil {
		t.Fatal(err)
	}
	if rs, err = a1.a.Client.EnqueueBatch(ctx, outs); err != nil {
		t.Fatal(err)
	}
	if _, m, err = a1.e.FileSealedOut("bob", chatdb.MsgID(id), time.Now(), "dinner at 8?", outs, rs); err != nil {
		t.Fatal(err)
	}
	if _, err := a1.e.Edit(ctx, conv, m.Seq, "dinner at the old mill?"); err != nil {
		t.Fatal(err)
	}
	if _, err := a1.e.Delete(ctx, conv, m.Seq); err != nil {
		t.Fatal(err)
	}
	msgs, err = b1.a.Client.Fetch(ctx, msgs[2].Seq, 100)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("bob has %d messages, %v", len(msgs), err)
	}
	for _, i := range []int{1, 2, 0} { // the edit, the delete, the line
		if h := b1.e.Handle(ctx, msgs[i:i+1]); h != msgs[i].Seq {
			t.Fatalf("handled %d of %d", h, msgs[i].Seq)
		}
	}
	if l, ok := b1.line("@alice@"+testDomain, chatdb.MsgID(id)); ok {
		t.Errorf("bob shows a line deleted before it came: %+v", l)
	}
	for _, word := range []string{"dinner", "old mill"} {
		if in := b1.holds(word); len(in) > 0 {
			t.Errorf("%q is in bob's records of %v", word, in)
		}
	}
}
