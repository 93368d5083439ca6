package chat_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/app/apptest"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/crypto/mls"
)

// roles returns the members of the group name as d sees them, admins
// marked with a '*': "alice*,bob,carol".
func (d *device) roles(name string) string {
	d.t.Helper()
	ms, ok, err := d.e.MemberRoles(d.find(name).ID)
	if err != nil || !ok {
		d.t.Fatalf("%s: roles of %s: %v, %v", d.name, name, ok, err)
	}
	var out []string
	for _, m := range ms {
		s := strings.SplitN(m.Account, "@", 2)[0]
		if m.Admin {
			s += "*"
		}
		out = append(out, s)
	}
	return strings.Join(out, ",")
}

func TestOnlyAnAdminChangesAGroupAndAModifiedClientsChangeIsRefusedByEveryone(t *testing.T) {
	n := apptest.Run(t, testDomain)
	ctx := ctxT(t)
	alice := newPerson(t, n, "alice", "alice-laptop").devices[0]
	bob := newPerson(t, n, "bob", "bob-laptop").devices[0]
	carol := newPerson(t, n, "carol", "carol-laptop").devices[0]
	dave := newPerson(t, n, "dave", "dave-laptop").devices[0]
	all := []*device{alice, bob, carol, dave}
	c, err := alice.e.CreateGroup(ctx, "team")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"bob", "carol", "dave"} {
		if err := alice.e.Invite(ctx, c.ID, u); err != nil {
			t.Fatalf("alice invites %s: %v", u, err)
		}
	}
	settle(t, all...)
	for _, d := range all[1:] {
		d.join("#team")
	}
	for _, d := range all {
		if got := d.roles("#team"); got != "alice*,bob,carol,dave" {
			t.Errorf("%s sees %s, want alice, the creator, as the admin", d.name, got)
		}
	}

	// bob is no admin: his client refuses before anything is sent.
	id := bob.find("#team").ID
	for what, err := range map[string]error{
		"removes dave":     bob.e.Remove(ctx, id, "dave"),
		"invites erin":     bob.e.Invite(ctx, id, "erin"),
		"promotes himself": bob.e.Promote(ctx, id, "bob"),
		"demotes alice":    bob.e.Demote(ctx, id, "alice"),
	} {
		if !errors.Is(err, chat.ErrNotAdmin) {
			t.Errorf("bob %s: %v, want ErrNotAdmin", what, err)
		}
	}
	if bob.sync() {
		t.Error("bob's refused operations sent something")
	}

	// alice removes dave: everyone takes it.
	if err := alice.e.Remove(ctx, c.ID, "dave"); err != nil {
		t.Fatal(err)
	}
	settle(t, all...)
	three := all[:3]
	for _, d := range three {
		if got := d.roles("#team"); got != "alice*,bob,carol" {
			t.Errorf("%s after dave's removal: %s", d.name, got)
		}
	}
	// alice promotes carol and demotes her again; the last admin cannot
	// leave or demote herself.
	if err := alice.e.Promote(ctx, c.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	settle(t, three...)
	if got := bob.roles("#team"); got != "alice*,bob,carol*" {
		t.Errorf("bob after carol's promotion: %s", got)
	}
	if l := bob.lines("#team"); !hasLine(l, "alice@"+testDomain+" made carol@"+testDomain+" an admin") {
		t.Errorf("bob's lines: %q", l)
	}
	if err := alice.e.Demote(ctx, c.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	settle(t, three...)
	if l := carol.lines("#team"); !hasLine(l, "made you no longer an admin") {
		t.Errorf("carol's lines: %q", l)
	}
	if err := alice.e.Demote(ctx, c.ID, "alice"); !errors.Is(err, chat.ErrLastAdmin) {
		t.Errorf("the last admin demotes herself: %v, want ErrLastAdmin", err)
	}
	if err := alice.e.Leave(ctx, c.ID); !errors.Is(err, chat.ErrLastAdmin) {
		t.Errorf("the last admin leaves: %v, want ErrLastAdmin", err)
	}

	// carol runs a modified client and removes bob with the MLS library
	// directly. The node orders the commit (it cannot read it); alice and
	// bob refuse it and stay where they were.
	epoch := alice.epoch("#team")
	carol.e.SkipRolesForTest()
	err = carol.e.CommitForTest(ctx, carol.find("#team").ID, func(g *mls.Group) (*mls.CommitOutput, error) {
		var leaves []mls.LeafIndex
		for _, m := range g.Roster() {
			if strings.HasPrefix(string(m.Credential.Identity), "bob") {
				leaves = append(leaves, m.Leaf)
			}
		}
		return g.RemoveMembers(leaves...)
	})
	if err != nil {
		t.Fatalf("the modified client's commit: %v", err)
	}
	if got := carol.epoch("#team"); got != epoch+1 {
		t.Fatalf("carol's epoch %d, want %d: her commit was not ordered", got, epoch+1)
	}
	settle(t, alice, bob)
	for _, d := range []*device{alice, bob} {
		if got := d.epoch("#team"); got != epoch {
			t.Errorf("%s moved to epoch %d on carol's forbidden commit (from %d)", d.name, got, epoch)
		}
		if got := d.roles("#team"); got != "alice*,bob,carol" {
			t.Errorf("%s's members after the refused commit: %s", d.name, got)
		}
		l := d.lines("#team")
		if !hasLine(l, "refused", "carol@"+testDomain+" is not an admin", "bob@"+testDomain) {
			t.Errorf("%s has no line of the refused commit: %q", d.name, l)
		}
		if n := len(slices.DeleteFunc(slices.Clone(l), func(s string) bool { return !strings.Contains(s, "refused") })); n != 1 {
			t.Errorf("%s has %d lines of the refused commit, want 1", d.name, n)
		}
	}
	// Messages still work among those who refused it ...
	checkEveryoneReadsEveryone(t, group("#team"), "after the refusal", alice, bob)
	// ... but the epoch is the last: the node holds carol's commit as the
	// one that ends it, and no honest member can apply it.
	if err := alice.e.UpdateKey(ctx, c.ID); !errors.Is(err, chat.ErrGroupBroken) {
		t.Errorf("alice's change after the refused commit: %v, want ErrGroupBroken", err)
	}
	if l := alice.lines("#team"); len(slices.DeleteFunc(slices.Clone(l), func(s string) bool { return !strings.Contains(s, "refused") })) != 1 {
		t.Errorf("catching up repeated the line of the refused commit: %q", l)
	}
}

func TestAnAdminWhoLeftIsNotAnAdminWhenInvitedAgain(t *testing.T) {
	n := apptest.Run(t, testDomain)
	ctx := ctxT(t)
	alice := newPerson(t, n, "alice", "alice-laptop").devices[0]
	bob := newPerson(t, n, "bob", "bob-laptop").devices[0]
	carol := newPerson(t, n, "carol", "carol-laptop").devices[0]
	all := []*device{alice, bob, carol}
	c, err := alice.e.CreateGroup(ctx, "club")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"bob", "carol"} {
		if err := alice.e.Invite(ctx, c.ID, u); err != nil {
			t.Fatal(err)
		}
	}
	settle(t, all...)
	bob.join("#club")
	carol.join("#club")
	if err := alice.e.Promote(ctx, c.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	settle(t, all...)
	// bob, an admin but not the last, leaves; a member who is no admin
	// (whoever has the lowest leaf among those who stay) commits it.
	if err := bob.e.Leave(ctx, bob.find("#club").ID); err != nil {
		t.Fatal(err)
	}
	settle(t, all...)
	for _, d := range []*device{alice, carol} {
		if got := d.roles("#club"); got != "alice*,carol" {
			t.Fatalf("%s after bob left: %s", d.name, got)
		}
	}
	if err := alice.e.Invite(ctx, c.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	settle(t, all...)
	for _, d := range []*device{alice, carol} {
		if got := d.roles("#club"); got != "alice*,bob,carol" {
			t.Errorf("%s after bob was invited again: %s, want bob without his old role", d.name, got)
		}
	}
	// carol, no admin, brings nobody in: refused before anything is
	// looked up.
	if err := carol.e.Invite(ctx, carol.find("#club").ID, "erin"); !errors.Is(err, chat.ErrNotAdmin) {
		t.Errorf("carol invites erin: %v, want ErrNotAdmin", err)
	}
}

func TestAModifiedClientCannotBringSomeoneIn(t *testing.T) {
	n := apptest.Run(t, testDomain)
	ctx := ctxT(t)
	alice := newPerson(t, n, "alice", "alice-laptop").devices[0]
	bob := newPerson(t, n, "bob", "bob-laptop").devices[0]
	carol := newPerson(t, n, "carol", "carol-laptop").devices[0]
	erin := newPerson(t, n, "erin", "erin-laptop").devices[0]
	c, err := alice.e.CreateGroup(ctx, "club")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"bob", "carol"} {
		if err := alice.e.Invite(ctx, c.ID, u); err != nil {
			t.Fatal(err)
		}
	}
	settle(t, alice, bob, carol)
	carol.join("#club")
	carol.e.SkipRolesForTest()
	if err := carol.e.AddForTest(ctx, carol.find("#club").ID, addr("erin")); err != nil {
		t.Fatalf("the modified client's add: %v", err)
	}
	settle(t, alice, bob, erin)
	for _, d := range []*device{alice, bob} {
		if got := d.roles("#club"); got != "alice*,bob,carol" {
			t.Errorf("%s's members after carol's add: %s", d.name, got)
		}
		if l := d.lines("#club"); !hasLine(l, "refused", "carol@"+testDomain+" is not an admin", "erin@"+testDomain) {
			t.Errorf("%s has no line of the refused add: %q", d.name, l)
		}
	}
	// erin got the Welcome, and drops it: carol is no admin.
	cs, err := erin.e.Conversations()
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 0 {
		t.Errorf("erin took carol's invitation: %+v", cs)
	}
	// The engine reports as it goes; the test's reader may lag a moment.
	told := func() bool {
		erin.mu.Lock()
		defer erin.mu.Unlock()
		return slices.ContainsFunc(erin.events, func(ev chat.Event) bool {
			return strings.Contains(ev.Status, "dropped") && strings.Contains(ev.Status, "carol@"+testDomain+" is not an admin")
		})
	}
	for deadline := time.Now().Add(10 * time.Second); !told(); {
		if time.Now().After(deadline) {
			t.Fatal("erin was not told why the invitation was dropped")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
