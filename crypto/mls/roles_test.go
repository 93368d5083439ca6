package mls

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// accountOfTest names the account of a test credential: the identity up
// to a '#', so that "alice#2" is a second device of alice.
func accountOfTest(c *Credential) string {
	a, _, _ := strings.Cut(string(c.Identity), "#")
	return a
}

var rolesCfg = &Config{Policy: RolesPolicy(accountOfTest)}

func rolesBundle(tb testing.TB, cs CipherSuite, name string) *KeyPackageBundle {
	tb.Helper()
	kpb, err := NewKeyPackage(cs, KeyPackageParams{Identity: []byte(name), SupportedExtensions: []ExtensionType{ExtensionGroupRoles}})
	if err != nil {
		tb.Fatal(err)
	}
	return kpb
}

// rolesGroup is a group under RolesPolicy whose members process every
// commit the test delivers.
type rolesGroup struct {
	tb      testing.TB
	cs      CipherSuite
	members map[string]*Group
}

// newRolesGroup makes a group created by alice, its admin, with bob and
// carol added by her.
func newRolesGroup(tb testing.TB, cs CipherSuite) *rolesGroup {
	tb.Helper()
	roles, err := NewGroupRoles("alice").Extension()
	if err != nil {
		tb.Fatal(err)
	}
	alice, err := NewGroup(cs, []byte("roles"), rolesBundle(tb, cs, "alice"), []Extension{roles}, rolesCfg)
	if err != nil {
		tb.Fatal(err)
	}
	rg := &rolesGroup{tb: tb, cs: cs, members: map[string]*Group{"alice": alice}}
	rg.add("alice", "bob", "carol")
	return rg
}

// add has by commit the addition of names (by value) and delivers it.
func (rg *rolesGroup) add(by string, names ...string) {
	rg.tb.Helper()
	var kps []*KeyPackage
	var kpbs []*KeyPackageBundle
	for _, n := range names {
		kpb := rolesBundle(rg.tb, rg.cs, n)
		kpbs = append(kpbs, kpb)
		kps = append(kps, &kpb.KeyPackage)
	}
	out, err := rg.members[by].AddMembers(kps...)
	if err != nil {
		rg.tb.Fatalf("%s adds %v: %v", by, names, err)
	}
	rg.deliver(by, out.Commit)
	for i, n := range names {
		g, err := JoinGroup(out.Welcome, kpbs[i], nil, rolesCfg)
		if err != nil {
			rg.tb.Fatalf("%s joins: %v", n, err)
		}
		rg.members[n] = g
	}
}

// deliver merges by's pending commit and has every other member process
// msg, which must be accepted.
func (rg *rolesGroup) deliver(by string, msg []byte) {
	rg.tb.Helper()
	if err := rg.members[by].MergePendingCommit(); err != nil {
		rg.tb.Fatalf("%s merges: %v", by, err)
	}
	for n, g := range rg.members {
		if n == by {
			continue
		}
		r, err := g.ProcessMessage(msg)
		if err != nil {
			rg.tb.Fatalf("%s processes %s's commit: %v", n, by, err)
		}
		if r.Removed {
			delete(rg.members, n)
		}
	}
	rg.inStep()
}

// refused has every member but by process msg, which each must refuse
// with ErrPolicy (and want), staying at its epoch.
func (rg *rolesGroup) refused(by string, msg []byte, want error) {
	rg.tb.Helper()
	for n, g := range rg.members {
		if n == by {
			continue
		}
		epoch := g.Epoch()
		_, err := g.ProcessMessage(msg)
		if !errors.Is(err, ErrPolicy) || !errors.Is(err, want) {
			rg.tb.Errorf("%s processes %s's commit: %v, want ErrPolicy and %v", n, by, err, want)
		}
		if g.Epoch() != epoch {
			rg.tb.Errorf("%s moved from epoch %d to %d on a refused commit", n, epoch, g.Epoch())
		}
	}
}

// inStep checks that every member is in the same epoch.
func (rg *rolesGroup) inStep() {
	rg.tb.Helper()
	var auth []byte
	for n, g := range rg.members {
		if auth == nil {
			auth = g.EpochAuthenticator()
		} else if !bytes.Equal(auth, g.EpochAuthenticator()) {
			rg.tb.Fatalf("%s is not in step with the others", n)
		}
	}
}

func (rg *rolesGroup) leaf(name string) LeafIndex {
	rg.tb.Helper()
	for _, m := range rg.members["alice"].Roster() {
		if string(m.Credential.Identity) == name {
			return m.Leaf
		}
	}
	for n, g := range rg.members {
		if n == name {
			return g.OwnLeaf()
		}
	}
	rg.tb.Fatalf("no member %s", name)
	return 0
}

// modified returns a copy of name's group without the policy: the client
// of a member who changed its code to skip the checks.
func (rg *rolesGroup) modified(name string) *Group {
	rg.tb.Helper()
	st, err := rg.members[name].MarshalState()
	if err != nil {
		rg.tb.Fatal(err)
	}
	g, err := LoadGroup(st, nil)
	if err != nil {
		rg.tb.Fatal(err)
	}
	return g
}

func (rg *rolesGroup) admins() []string {
	rg.tb.Helper()
	r, ok, err := GroupRolesOf(rg.members["alice"].Context().Extensions)
	if err != nil || !ok {
		rg.tb.Fatalf("roles: %v, %v", ok, err)
	}
	return r.Admins
}

func TestGroupRolesEncodeOnceAndRefuseWhatIsNotCanonical(t *testing.T) {
	good, err := Marshal(NewGroupRoles("carol@x", "alice@x", "alice@x"))
	if err != nil {
		t.Fatal(err)
	}
	var r GroupRoles
	if err := Unmarshal(good, &r); err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.Admins, ",") != "alice@x,carol@x" {
		t.Fatalf("decoded %q", r.Admins)
	}
	enc := func(version byte, names ...string) []byte {
		w := writer{}
		w.u8(version)
		w.vector(func(w *writer) {
			for _, n := range names {
				w.opaque([]byte(n))
			}
		})
		return w.b
	}
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"an unknown version", enc(2, "alice"), ErrGroupRoles},
		{"admins out of order", enc(1, "bob", "alice"), ErrGroupRoles},
		{"an admin listed twice", enc(1, "alice", "alice"), ErrGroupRoles},
		{"an empty name", enc(1, ""), ErrGroupRoles},
		{"a name too long", enc(1, strings.Repeat("a", MaxRoleName+1)), ErrGroupRoles},
		{"a truncated list", good[:len(good)-1], ErrTruncated},
		{"trailing bytes", append(bytes.Clone(good), 0), ErrTrailingData},
		{"nothing", nil, ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Unmarshal(tc.data, new(GroupRoles)); !errors.Is(err, tc.want) {
				t.Errorf("Unmarshal = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := Marshal(&GroupRoles{Admins: []string{"b", "a"}}); !errors.Is(err, ErrGroupRoles) {
		t.Errorf("Marshal of unsorted admins = %v, want ErrGroupRoles", err)
	}
	many := make([]string, MaxAdmins+1)
	for i := range many {
		many[i] = fmt.Sprintf("a%05d", i)
	}
	if _, err := Marshal(&GroupRoles{Admins: many}); !errors.Is(err, ErrGroupRoles) {
		t.Errorf("Marshal of %d admins = %v, want ErrGroupRoles", len(many), err)
	}
	if _, err := Marshal(&GroupRoles{Admins: many[:MaxAdmins]}); err != nil {
		t.Errorf("Marshal of %d admins: %v", MaxAdmins, err)
	}
}

func FuzzGroupRoles(f *testing.F) {
	for _, r := range []*GroupRoles{NewGroupRoles("alice@a.example"), NewGroupRoles("a", "b", "c"), {Admins: []string{}}} {
		b, err := Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r GroupRoles
		if !roundTrip(t, data, &r) {
			return
		}
		if err := r.check(); err != nil {
			t.Fatalf("decoded roles that break the rules: %v", err)
		}
	})
}

func TestAnAdminAddsRemovesPromotesAndDemotes(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		rg := newRolesGroup(t, cs)
		// alice removes carol.
		out, err := rg.members["alice"].RemoveMembers(rg.leaf("carol"))
		if err != nil {
			t.Fatal(err)
		}
		rg.deliver("alice", out.Commit)
		if _, ok := rg.members["carol"]; ok {
			t.Fatal("carol is still a member")
		}
		// alice promotes bob, who then adds dave.
		ext, err := WithGroupRoles(rg.members["alice"].Context().Extensions, NewGroupRoles("alice", "bob"))
		if err != nil {
			t.Fatal(err)
		}
		out, err = rg.members["alice"].Commit(&CommitOptions{GroupContextExtensions: ext})
		if err != nil {
			t.Fatal(err)
		}
		rg.deliver("alice", out.Commit)
		if got := strings.Join(rg.admins(), ","); got != "alice,bob" {
			t.Fatalf("admins after the promotion: %s", got)
		}
		rg.add("bob", "dave")
		// bob demotes alice.
		ext, err = WithGroupRoles(rg.members["bob"].Context().Extensions, NewGroupRoles("bob"))
		if err != nil {
			t.Fatal(err)
		}
		out, err = rg.members["bob"].Commit(&CommitOptions{GroupContextExtensions: ext})
		if err != nil {
			t.Fatal(err)
		}
		rg.deliver("bob", out.Commit)
		if got := strings.Join(rg.admins(), ","); got != "bob" {
			t.Fatalf("admins after the demotion: %s", got)
		}
		// alice is a member now: she may not add anyone.
		if _, err := rg.members["alice"].AddMembers(&rolesBundle(t, cs, "erin").KeyPackage); !errors.Is(err, ErrNotAdmin) {
			t.Errorf("alice, demoted, adds erin: %v, want ErrNotAdmin", err)
		}
	})
}

func TestEveryMemberMayUpdateLeaveAndAddItsOwnDevice(t *testing.T) {
	rg := newRolesGroup(t, mustSuite(t))
	out, err := rg.members["bob"].SelfUpdate()
	if err != nil {
		t.Fatal(err)
	}
	rg.deliver("bob", out.Commit)
	// bob adds a second device of his.
	rg.add("bob", "bob#2")
	// carol leaves: she proposes her removal and bob, no admin, commits it.
	prop, err := rg.members["carol"].ProposeRemove(rg.leaf("carol"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"alice", "bob", "bob#2"} {
		if _, err := rg.members[n].ProcessMessage(prop); err != nil {
			t.Fatalf("%s takes carol's leaving: %v", n, err)
		}
	}
	out, err = rg.members["bob"].Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	rg.deliver("bob", out.Commit)
	if _, ok := rg.members["carol"]; ok {
		t.Fatal("carol did not leave")
	}
	// bob's second device takes bob's first out: the same account.
	out, err = rg.members["bob#2"].RemoveMembers(rg.leaf("bob"))
	if err != nil {
		t.Fatal(err)
	}
	rg.deliver("bob#2", out.Commit)
}

func TestAMemberWhoIsNotAnAdminCannotChangeTheGroupEvenWithAModifiedClient(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		rg := newRolesGroup(t, cs)
		bob := rg.members["bob"]
		// bob's own client refuses.
		if _, err := bob.RemoveMembers(rg.leaf("carol")); !errors.Is(err, ErrNotAdmin) || !errors.Is(err, ErrPolicy) {
			t.Errorf("bob removes carol: %v, want ErrPolicy, ErrNotAdmin", err)
		}
		if _, err := bob.ProposeRemove(rg.leaf("alice")); !errors.Is(err, ErrNotAdmin) {
			t.Errorf("bob proposes to remove alice: %v, want ErrNotAdmin", err)
		}
		if bob.HasPendingCommit() || bob.PendingProposals() != 0 {
			t.Fatal("a refused operation left something pending")
		}
		promoted, err := WithGroupRoles(bob.Context().Extensions, NewGroupRoles("alice", "bob"))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			opts *CommitOptions
			want error
		}{
			{"a remove by value", &CommitOptions{Remove: []LeafIndex{rg.leaf("carol")}}, ErrNotAdmin},
			{"an add by value", &CommitOptions{Add: []*KeyPackage{&rolesBundle(t, cs, "mallory").KeyPackage}}, ErrNotAdmin},
			{"a self-promotion", &CommitOptions{GroupContextExtensions: promoted}, ErrNotAdmin},
			{"dropping the roles", &CommitOptions{GroupContextExtensions: []Extension{}}, ErrNotAdmin},
		} {
			t.Run(tc.name, func(t *testing.T) {
				evil := rg.modified("bob")
				out, err := evil.Commit(tc.opts)
				if err != nil {
					t.Fatalf("the modified client: %v", err)
				}
				rg.refused("bob", out.Commit, tc.want)
			})
		}
		// A remove by reference: the others refuse the proposal as it
		// arrives, so that no honest commit ever takes it in, and then
		// cannot resolve the commit that refers to it.
		evil := rg.modified("bob")
		prop, err := evil.ProposeRemove(rg.leaf("carol"))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"alice", "carol"} {
			if _, err := rg.members[n].ProcessMessage(prop); !errors.Is(err, ErrNotAdmin) {
				t.Errorf("%s takes bob's proposal to remove carol: %v, want ErrNotAdmin", n, err)
			}
			if rg.members[n].PendingProposals() != 0 {
				t.Errorf("%s cached a refused proposal", n)
			}
		}
		out, err := evil.Commit(nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"alice", "carol"} {
			if _, err := rg.members[n].ProcessMessage(out.Commit); !errors.Is(err, ErrUnknownProposal) {
				t.Errorf("%s: bob's commit of his refused proposal: %v, want ErrUnknownProposal", n, err)
			}
		}
		// The honest members go on: alice's commit is accepted.
		out, err = rg.members["alice"].SelfUpdate()
		if err != nil {
			t.Fatal(err)
		}
		rg.deliver("alice", out.Commit)
	})
}

func TestACommitByReferenceIsCheckedWhenItIsApplied(t *testing.T) {
	// carol's client cached bob's proposal before it ran the policy
	// (state from an older build): the commit that refers to it is still
	// refused.
	cs := mustSuite(t)
	rg := newRolesGroup(t, cs)
	evil := rg.modified("bob")
	prop, err := evil.ProposeRemove(rg.leaf("alice"))
	if err != nil {
		t.Fatal(err)
	}
	lax := rg.modified("carol")
	if _, err := lax.ProcessMessage(prop); err != nil {
		t.Fatal(err)
	}
	st, err := lax.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	carol, err := LoadGroup(st, rolesCfg)
	if err != nil {
		t.Fatal(err)
	}
	out, err := evil.Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	epoch := carol.Epoch()
	if _, err := carol.ProcessMessage(out.Commit); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("carol applies bob's commit of his remove of alice: %v, want ErrNotAdmin", err)
	}
	if carol.Epoch() != epoch {
		t.Error("carol moved on")
	}
	// And carol's own commit leaves the proposal out, rather than fail.
	mine, err := carol.Commit(nil)
	if err != nil {
		t.Fatalf("carol commits with bob's proposal cached: %v", err)
	}
	rg.members["carol"] = carol
	rg.deliver("carol", mine.Commit)
	if _, ok := rg.members["alice"]; !ok || len(carol.Roster()) != 3 {
		t.Error("carol's commit took bob's remove of alice in")
	}
}

func TestAnUpdateCannotMoveALeafToAnotherAccount(t *testing.T) {
	cs := mustSuite(t)
	rg := newRolesGroup(t, cs)
	evil := rg.modified("bob")
	leaf := *evil.tree.Leaf(evil.OwnLeaf())
	encPriv, encPub, err := cs.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	leaf.EncryptionKey = encPub
	leaf.Source = LeafNodeSourceUpdate
	leaf.Lifetime, leaf.ParentHash = nil, nil
	leaf.Credential = Credential{Type: CredentialBasic, Identity: []byte("alice#evil")}
	if err := leaf.Sign(cs, evil.sigPriv, evil.ctx.GroupID, evil.OwnLeaf()); err != nil {
		t.Fatal(err)
	}
	prop, err := evil.propose(&Proposal{Type: ProposalUpdate, Update: &leaf}, encPriv)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"alice", "carol"} {
		if _, err := rg.members[n].ProcessMessage(prop); !errors.Is(err, ErrPolicy) || !errors.Is(err, ErrCredential) {
			t.Errorf("%s takes bob's update into alice's account: %v, want ErrPolicy, ErrCredential", n, err)
		}
	}
}

func TestAGroupWithoutRolesLeavesChangesToEveryMember(t *testing.T) {
	cs := mustSuite(t)
	alice, err := NewGroup(cs, []byte("no roles"), rolesBundle(t, cs, "alice"), nil, rolesCfg)
	if err != nil {
		t.Fatal(err)
	}
	rg := &rolesGroup{tb: t, cs: cs, members: map[string]*Group{"alice": alice}}
	rg.add("alice", "bob", "carol")
	out, err := rg.members["bob"].RemoveMembers(rg.leaf("carol"))
	if err != nil {
		t.Fatal(err)
	}
	rg.deliver("bob", out.Commit)
	if _, ok := rg.members["carol"]; ok {
		t.Fatal("bob could not remove carol in a group without roles")
	}
}

func TestNotEvenAnAdminDropsTheRolesOrTheLastAdmin(t *testing.T) {
	rg := newRolesGroup(t, mustSuite(t))
	alice := rg.members["alice"]
	for _, tc := range []struct {
		name string
		ext  []Extension
	}{
		{"no roles", []Extension{}},
		{"no admin", func() []Extension {
			e, err := WithGroupRoles(alice.Context().Extensions, &GroupRoles{Admins: []string{}})
			if err != nil {
				t.Fatal(err)
			}
			return e
		}()},
	} {
		if _, err := alice.Commit(&CommitOptions{GroupContextExtensions: tc.ext}); !errors.Is(err, ErrGroupRoles) {
			t.Errorf("%s: %v, want ErrGroupRoles", tc.name, err)
		}
	}
}

func TestALeafThatDoesNotSupportRolesCannotJoinAGroupWithThem(t *testing.T) {
	cs := mustSuite(t)
	rg := newRolesGroup(t, cs)
	old := newBundle(t, cs, "dave") // a KeyPackage that does not list the extension
	if _, err := rg.members["alice"].AddMembers(&old.KeyPackage); !errors.Is(err, ErrCapabilities) {
		t.Errorf("adding a leaf without roles support: %v, want ErrCapabilities", err)
	}
}

func mustSuite(t *testing.T) CipherSuite {
	t.Helper()
	cs, err := Suite(X25519AES128GCMSHA256Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}
