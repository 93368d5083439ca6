package mls

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// forEachSuite runs f as a subtest for every cipher suite we implement, so
// that each protocol test holds for suite 1 and the post-quantum suite alike.
func forEachSuite(t *testing.T, f func(t *testing.T, cs CipherSuite)) {
	t.Helper()
	for _, id := range SupportedSuites {
		cs, err := Suite(id)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(id.String(), func(t *testing.T) { f(t, cs) })
	}
}

// newBundle returns a fresh KeyPackageBundle of suite cs for identity name.
func newBundle(tb testing.TB, cs CipherSuite, name string) *KeyPackageBundle {
	tb.Helper()
	kpb, err := NewKeyPackage(cs, KeyPackageParams{Identity: []byte(name)})
	if err != nil {
		tb.Fatal(err)
	}
	return kpb
}

// world is a set of clients in one group, with a perfect delivery service
// that hands every commit to every member in the same order.
type world struct {
	tb      testing.TB
	cs      CipherSuite
	cfg     *Config
	members map[string]*Group
	// removed holds, per removed client, its state just before it processed
	// its removal, and the state after.
	removed map[string][2]*Group
	// shadows are reloaded copies of members that process every message
	// their member processes; their results must be identical.
	shadows map[string]*Group
	// mirrored counts the messages shadows processed.
	mirrored int
	next     int
}

func newWorld(tb testing.TB, cs CipherSuite, cfg *Config) *world {
	tb.Helper()
	w := &world{tb: tb, cs: cs, cfg: cfg, members: map[string]*Group{}, removed: map[string][2]*Group{}, shadows: map[string]*Group{}}
	g, err := NewGroup(cs, []byte("world"), newBundle(tb, cs, "c0"), nil, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	w.members["c0"] = g
	w.next = 1
	return w
}

// names returns the members' names in a fixed order.
func (w *world) names() []string {
	var out []string
	for n := range w.members {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// nameAt returns the name of the member at leaf l.
func (w *world) nameAt(l LeafIndex) string {
	for n, g := range w.members {
		if g.OwnLeaf() == l {
			return n
		}
	}
	w.tb.Fatalf("no member at leaf %d", l)
	return ""
}

// deliver sends a committer's pending commit: the committer sees it echoed,
// everyone else processes it, removed members are moved aside and new ones
// join from the Welcome.
func (w *world) deliver(committer string, out *CommitOutput, joiners map[string]*KeyPackageBundle) {
	w.tb.Helper()
	for _, n := range w.names() {
		g := w.members[n]
		before := g.clone()
		r, err := g.ProcessMessage(out.Commit)
		if err != nil {
			w.tb.Fatalf("%s processing commit of %s: %v", n, committer, err)
		}
		w.mirror(n, out.Commit, r)
		if (n == committer) != r.OwnCommit {
			w.tb.Fatalf("%s: OwnCommit=%v for a commit of %s", n, r.OwnCommit, committer)
		}
		if r.Removed {
			w.removed[n] = [2]*Group{before, g}
			delete(w.members, n)
		}
	}
	for n, kpb := range joiners {
		g, err := JoinGroup(out.Welcome, kpb, nil, w.cfg)
		if err != nil {
			w.tb.Fatalf("%s joining: %v", n, err)
		}
		w.members[n] = g
	}
}

// add has committer add k new clients.
func (w *world) add(committer string, k int) {
	w.tb.Helper()
	w.addWith(committer, k, false)
}

// addWith has committer add k new clients, refreshing its path unless noPath.
func (w *world) addWith(committer string, k int, noPath bool) {
	w.tb.Helper()
	joiners := map[string]*KeyPackageBundle{}
	var kps []*KeyPackage
	for range k {
		n := fmt.Sprintf("c%d", w.next)
		w.next++
		joiners[n] = newBundle(w.tb, w.cs, n)
		kps = append(kps, &joiners[n].KeyPackage)
	}
	out, err := w.members[committer].Commit(&CommitOptions{Add: kps, NoPath: noPath})
	if err != nil {
		w.tb.Fatalf("%s adding %d: %v", committer, k, err)
	}
	w.deliver(committer, out, joiners)
}

// commit has committer commit opts and delivers it.
func (w *world) commit(committer string, opts *CommitOptions) {
	w.tb.Helper()
	out, err := w.members[committer].Commit(opts)
	if err != nil {
		w.tb.Fatalf("%s committing: %v", committer, err)
	}
	w.deliver(committer, out, nil)
}

// propose delivers a proposal message from sender to every other member.
func (w *world) propose(sender string, msg []byte) {
	w.tb.Helper()
	for _, n := range w.names() {
		if n == sender {
			continue
		}
		r, err := w.members[n].ProcessMessage(msg)
		if err != nil || r.Kind != KindProposal {
			w.tb.Fatalf("%s processing a proposal of %s: %v", n, sender, err)
		}
		w.mirror(n, msg, r)
	}
}

// check verifies that every member is in the same epoch with the same
// authenticator, exporter and roster, that every member reads a message
// from every other, and that no removed member reads them. With senders > 0
// only that many members (chosen by rng) send, to bound the quadratic cost
// in large groups.
func (w *world) check(rng *rand.Rand, senders int) {
	w.tb.Helper()
	names := w.names()
	ref := w.members[names[0]]
	refExp, err := ref.Export("check", nil, 32)
	if err != nil {
		w.tb.Fatal(err)
	}
	if len(ref.Roster()) != len(names) {
		w.tb.Fatalf("roster of %d for %d members", len(ref.Roster()), len(names))
	}
	for _, n := range names {
		g := w.members[n]
		exp, err := g.Export("check", nil, 32)
		if err != nil {
			w.tb.Fatal(err)
		}
		if g.Epoch() != ref.Epoch() || !bytes.Equal(g.EpochAuthenticator(), ref.EpochAuthenticator()) || !bytes.Equal(exp, refExp) {
			w.tb.Fatalf("%s diverged from %s at epoch %d/%d", n, names[0], g.Epoch(), ref.Epoch())
		}
		if got := string(g.Roster()[slices.IndexFunc(g.Roster(), func(m Member) bool { return m.Leaf == g.OwnLeaf() })].Credential.Identity); got != n {
			w.tb.Fatalf("%s sees itself as %q", n, got)
		}
	}
	sending := names
	if senders > 0 && senders < len(names) {
		sending = slices.Clone(names)
		rng.Shuffle(len(sending), func(i, j int) { sending[i], sending[j] = sending[j], sending[i] })
		sending = sending[:senders]
	}
	for _, s := range sending {
		text := []byte(fmt.Sprintf("from %s in epoch %d", s, ref.Epoch()))
		msg, err := w.members[s].Encrypt(text, []byte("aad"))
		if err != nil {
			w.tb.Fatalf("%s encrypting: %v", s, err)
		}
		if sh, ok := w.shadows[s]; ok {
			// Sending moves the sender's ratchet; the shadow moves it too.
			if _, err := sh.Encrypt(text, []byte("aad")); err != nil {
				w.tb.Fatalf("reloaded %s encrypting: %v", s, err)
			}
		}
		for _, n := range names {
			if n == s {
				continue
			}
			r, err := w.members[n].ProcessMessage(msg)
			if err != nil {
				w.tb.Fatalf("%s reading %s: %v", n, s, err)
			}
			w.mirror(n, msg, r)
			if r.Kind != KindApplication || !bytes.Equal(r.ApplicationData, text) || string(r.Credential.Identity) != s {
				w.tb.Fatalf("%s read %q from %q", n, r.ApplicationData, r.Credential.Identity)
			}
		}
		for n, rm := range w.removed {
			for _, g := range rm {
				if r, err := g.clone().ProcessMessage(msg); err == nil {
					w.tb.Fatalf("removed %s read a message of epoch %d: %q", n, ref.Epoch(), r.ApplicationData)
				}
			}
		}
	}
}

// randomStep performs one random change: an add, a removal (by value or
// proposed by one member and committed by another), an Update proposal
// committed by another member, or a self-update.
func (w *world) randomStep(rng *rand.Rand, maxMembers int) {
	w.tb.Helper()
	names := w.names()
	// Members with a shadow only receive (and stay): the shadow could not
	// follow their own commits and proposals, which depend on fresh
	// randomness.
	var senders []string
	for _, n := range names {
		if _, ok := w.shadows[n]; !ok {
			senders = append(senders, n)
		}
	}
	pickSender := func() string { return senders[rng.IntN(len(senders))] }
	pick := pickSender
	committer := pickSender()
	switch op := rng.IntN(5); {
	case len(names) < 2 || len(senders) < 2 || (op == 0 && len(names) < maxMembers):
		w.addWith(committer, 1+rng.IntN(max(1, min(3, maxMembers-len(names)))), rng.IntN(2) == 0)
	case op == 1:
		victim := pick()
		for victim == committer {
			victim = pick()
		}
		w.commit(committer, &CommitOptions{Remove: []LeafIndex{w.members[victim].OwnLeaf()}})
	case op == 2:
		proposer, victim := pickSender(), pick()
		for victim == committer {
			victim = pick()
		}
		msg, err := w.members[proposer].ProposeRemove(w.members[victim].OwnLeaf())
		if err != nil {
			w.tb.Fatal(err)
		}
		w.propose(proposer, msg)
		w.commit(committer, nil)
	case op == 3:
		updater := pickSender()
		for updater == committer {
			updater = pickSender()
		}
		msg, err := w.members[updater].ProposeUpdate()
		if err != nil {
			w.tb.Fatal(err)
		}
		w.propose(updater, msg)
		w.commit(committer, &CommitOptions{NoPath: rng.IntN(2) == 0})
	default:
		w.commit(committer, nil)
	}
}

// mirror has n's shadow, if any, process msg and compares its result and
// resulting state with the member's.
func (w *world) mirror(n string, msg []byte, want *Received) {
	w.tb.Helper()
	sh, ok := w.shadows[n]
	if !ok {
		return
	}
	got, err := sh.ProcessMessage(msg)
	if err != nil {
		w.tb.Fatalf("reloaded %s: %v", n, err)
	}
	w.mirrored++
	gp, wp := got.Proposal, want.Proposal
	g2, w2 := *got, *want
	g2.Proposal, w2.Proposal = nil, nil
	if fmt.Sprint(g2) != fmt.Sprint(w2) || (gp == nil) != (wp == nil) {
		w.tb.Fatalf("reloaded %s got %+v, want %+v", n, *got, *want)
	}
	if gp != nil {
		a, _ := Marshal(gp)
		b, _ := Marshal(wp)
		if !bytes.Equal(a, b) {
			w.tb.Fatalf("reloaded %s got another proposal", n)
		}
	}
	if want.Removed {
		delete(w.shadows, n)
		return
	}
	a, err := w.members[n].MarshalState()
	if err != nil {
		w.tb.Fatal(err)
	}
	b, err := sh.MarshalState()
	if err != nil {
		w.tb.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		w.tb.Fatalf("reloaded %s has a different state: lengths %d %d, first difference at %d\n%x\n%x", n, len(a), len(b), i, a[i-40:i+120], b[i-40:i+120])
	}
}

// reload replaces member n by a copy loaded from its serialized state and
// returns the original.
func (w *world) reload(n string) *Group {
	w.tb.Helper()
	orig := w.members[n]
	data, err := orig.MarshalState()
	if err != nil {
		w.tb.Fatal(err)
	}
	g, err := LoadGroup(data, w.cfg)
	if err != nil {
		w.tb.Fatalf("loading %s: %v", n, err)
	}
	again, err := g.MarshalState()
	if err != nil {
		w.tb.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		w.tb.Fatalf("state of %s does not survive a round trip", n)
	}
	w.members[n] = g
	return orig
}
