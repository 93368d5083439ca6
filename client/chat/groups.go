package chat

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/mls"
	"github.com/quicprochat/qpc/crypto/sealed"
	"github.com/quicprochat/qpc/protocol"
)

func (e *Engine) loadGroup(tx *chatdb.Tx, c *chatdb.Conversation) (*mls.Group, error) {
	if c.GroupID == nil {
		return nil, fmt.Errorf("%s: %w", Label(*c), ErrNotGroup)
	}
	st, err := tx.GroupState(c.ID)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fmt.Errorf("%s: no group state", Label(*c))
	}
	return mls.LoadGroup(st, e.cfg)
}

func (e *Engine) saveGroup(tx *chatdb.Tx, c *chatdb.Conversation, g *mls.Group) error {
	st, err := g.MarshalState()
	if err != nil {
		return err
	}
	return tx.PutGroupState(c.ID, st)
}

// roster returns the accounts of g's members, sorted, each once however
// many of its devices are members: what people are shown.
func roster(g *mls.Group) []string {
	var as []string
	for _, m := range members(g) {
		as = append(as, m.account)
	}
	slices.Sort(as)
	return slices.Compact(as)
}

// leavesOf returns the leaves of every device of account addr in g.
func leavesOf(g *mls.Group, addr string) []mls.LeafIndex {
	var ls []mls.LeafIndex
	for _, m := range members(g) {
		if m.account == addr {
			ls = append(ls, m.leaf)
		}
	}
	return ls
}

// newKeyPackage makes a KeyPackage of this device (credential memberID),
// signed with its identity key, so that other members can check the leaf
// against the device the account lists.
func (e *Engine) newKeyPackage(cs mls.CipherSuite) (*mls.KeyPackageBundle, error) {
	return mls.NewKeyPackage(cs, mls.KeyPackageParams{Identity: []byte(e.memberID()), SignaturePriv: e.acct.Keys.Identity.Seed(),
		SupportedExtensions: []mls.ExtensionType{mls.ExtensionGroupRoles}})
}

// startGroup creates the conversation and its one-member group in suite cs.
func (e *Engine) startGroup(kind chatdb.Kind, name, peer string, cs mls.CipherSuite) (chatdb.Conversation, error) {
	c := e.newConversation(kind, name, peer)
	g, err := e.newGroup(&c, cs)
	if err != nil {
		return c, err
	}
	err = e.db.Update(func(tx *chatdb.Tx) error {
		if err := tx.PutConversation(&c); err != nil {
			return err
		}
		if err := e.saveGroup(tx, &c, g); err != nil {
			return err
		}
		return e.rolesChanged(tx, &c, g, e.self) // the creator, admin
	})
	return c, err
}

// newGroup makes a one-member group of suite cs for c under a fresh group
// id, and sets c's group id and members.
func (e *Engine) newGroup(c *chatdb.Conversation, cs mls.CipherSuite) (*mls.Group, error) {
	if e.pqOnly && !mls.IsPostQuantum(cs.ID()) {
		return nil, ErrClassicRefused
	}
	id := make([]byte, 16)
	rand.Read(id)
	kpb, err := e.newKeyPackage(cs)
	if err != nil {
		return nil, err
	}
	ext, err := e.newGroupExtensions(c.Kind)
	if err != nil {
		return nil, err
	}
	g, err := mls.NewGroup(cs, id, kpb, ext, e.cfg)
	if err != nil {
		return nil, err
	}
	c.GroupID, c.Members = id, roster(g)
	return g, nil
}

// preferred returns the suite of a new group before anyone is invited:
// the post-quantum one.
func (e *Engine) preferred() mls.CipherSuite { return e.suites[0] }

// classic returns suite 1.
func classic() mls.CipherSuite {
	cs, _ := mls.Suite(mls.X25519AES128GCMSHA256Ed25519)
	return cs
}

// inviteeKeyPackages fetches a KeyPackage of each current device of addr
// for a group of suite cs (deviceKeyPackages). When the group is
// post-quantum and no device of addr has a post-quantum KeyPackage, and
// mayFallBack (the group is still its creator's alone, so nobody loses
// anything) and PQOnly is off, it fetches suite-1 ones instead: the caller
// then remakes the group in suite 1. Otherwise that is ErrNoPQKeyPackage,
// or ErrClassicRefused under PQOnly.
func (e *Engine) inviteeKeyPackages(ctx context.Context, addr string, cs mls.CipherSuite, mayFallBack bool) ([]*mls.KeyPackage, error) {
	kps, err := e.deviceKeyPackages(ctx, addr, cs, nil)
	if err == nil || !mls.IsPostQuantum(cs.ID()) || !errors.Is(err, errNoSuite) {
		return kps, err
	}
	switch {
	case e.pqOnly:
		return nil, fmt.Errorf("%s has no post-quantum key package: %w", addr, ErrClassicRefused)
	case !mayFallBack:
		return nil, fmt.Errorf("%s: %w; this group is post-quantum and stays so (members of a classic group: /cg a new one)", addr, ErrNoPQKeyPackage)
	}
	e.log.Info("invitee has no post-quantum key package; the new group is classic", "user", addr)
	return e.deviceKeyPackages(ctx, addr, classic(), nil)
}

// CheckGroupName reports whether name can name a group: 1 to MaxName
// bytes of letters, digits, '.', '_' and '-'.
func CheckGroupName(name string) error {
	if name == "" || len(name) > MaxName {
		return fmt.Errorf("%w: %q (1-%d characters)", ErrBadName, name, MaxName)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("%w: %q (letters, digits, '.', '_', '-')", ErrBadName, name)
		}
	}
	return nil
}

// CreateGroup creates a group of one named name. It needs no connection:
// the group is the account's alone until someone is invited.
func (e *Engine) CreateGroup(ctx context.Context, name string) (chatdb.Conversation, error) {
	name = strings.TrimPrefix(name, "#")
	if err := CheckGroupName(name); err != nil {
		return chatdb.Conversation{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.startGroup(chatdb.KindGroup, name, "", e.preferred())
	if err != nil {
		return c, err
	}
	err = e.db.Update(func(tx *chatdb.Tx) error { return e.systemLine(tx, &c, "you created #%s", name) })
	return c, err
}

// CreateClassicGroup creates a group of one named name in cipher suite 1,
// not post-quantum: a post-quantum group's invitations carry about
// 1.4 KiB per member device and stop at about 40 devices (see fits), a classic
// group's at about 350. Under PQOnly it fails with ErrClassicRefused.
func (e *Engine) CreateClassicGroup(ctx context.Context, name string) (chatdb.Conversation, error) {
	name = strings.TrimPrefix(name, "#")
	if err := CheckGroupName(name); err != nil {
		return chatdb.Conversation{}, err
	}
	if e.pqOnly {
		return chatdb.Conversation{}, ErrClassicRefused
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.startGroup(chatdb.KindGroup, name, "", classic())
	if err != nil {
		return c, err
	}
	err = e.db.Update(func(tx *chatdb.Tx) error {
		return e.systemLine(tx, &c, "you created #%s, a classic group (not post-quantum)", name)
	})
	return c, err
}

// DM returns the DM with peer ("user" or "user@domain"), creating it on
// first use: a two-member group, which needs the node (to fetch the
// peer's KeyPackage). Offline, it opens the DM without a group: lines
// sent there are queued, and the group is started (or, for a peer who
// cannot join one, the lines sealed) when the outbox is flushed. A DM to
// oneself is the note.
func (e *Engine) DM(ctx context.Context, peer string) (chatdb.Conversation, error) {
	peer, err := e.normalize(peer)
	if err != nil {
		return chatdb.Conversation{}, err
	}
	if peer == e.self {
		return e.Note()
	}
	if err := identity.CheckAddress(peer); err != nil {
		return chatdb.Conversation{}, err
	}
	if c, err := e.Find("@" + peer); err == nil && (c.GroupID != nil || c.Left) {
		return c, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.online {
		// Opened here and now, its group started when the node is back
		// (flush): lines typed meanwhile wait in the outbox.
		return e.localDM(peer)
	}
	return e.startDM(ctx, peer)
}

// localDM returns the DM with peer, a new one without a group when there
// is none. e.mu is held.
func (e *Engine) localDM(peer string) (chatdb.Conversation, error) {
	var c chatdb.Conversation
	err := e.db.Update(func(tx *chatdb.Tx) error {
		var ok bool
		var err error
		if c, ok, err = e.dmConversation(tx, peer); err != nil || ok {
			return err
		}
		c = e.newConversation(chatdb.KindDM, peer, peer)
		return tx.PutConversation(&c)
	})
	return c, err
}

// startDM starts the MLS group of the DM with peer (normalized, not the
// account itself), in place when a DM without a group exists. e.mu is
// held and the engine is online.
func (e *Engine) startDM(ctx context.Context, peer string) (chatdb.Conversation, error) {
	kps, err := e.inviteeKeyPackages(ctx, peer, e.preferred(), true)
	if err != nil {
		return chatdb.Conversation{}, err
	}
	if len(kps) == 0 {
		return chatdb.Conversation{}, fmt.Errorf("starting a DM with %s: %w", peer, identity.ErrNoDevice)
	}
	cs, err := mls.Suite(kps[0].CipherSuite)
	if err != nil {
		return chatdb.Conversation{}, err
	}
	// A conversation without a group exists when peer wrote with qpc
	// send of an older client (sealed messages): it gets the group in
	// place, keeping its id and history, so that a REPL showing it stays
	// there.
	old, oldErr := e.Find("@" + peer)
	inPlace := oldErr == nil
	var c chatdb.Conversation
	if inPlace {
		c = old
		g, err := e.newGroup(&c, cs)
		if err != nil {
			return c, err
		}
		if err := e.db.Update(func(tx *chatdb.Tx) error {
			if err := tx.PutConversation(&c); err != nil {
				return err
			}
			return e.saveGroup(tx, &c, g)
		}); err != nil {
			return c, err
		}
	} else if c, err = e.startGroup(chatdb.KindDM, peer, peer, cs); err != nil {
		return c, err
	}
	// The account's own other devices are members too, so that each of
	// them shows the DM; one without a KeyPackage of the suite is added
	// later (reconcile).
	own, err := e.deviceKeyPackages(ctx, e.self, cs, nil)
	if err != nil {
		e.log.Info("own devices not added to the DM now", "err", err)
	}
	all := append(slices.Clone(kps), own...)
	err = e.commitChange(ctx, &c, func(g *mls.Group) (*change, error) {
		out, err := g.AddMembers(all...)
		return &change{out: out, welcomeTo: kpTargets(all)}, err
	})
	if err != nil {
		_ = e.db.Update(func(tx *chatdb.Tx) error {
			if inPlace {
				// Back to the sealed-only DM it was, history and all.
				if err := tx.PutGroupState(old.ID, nil); err != nil {
					return err
				}
				return tx.PutConversation(&old)
			}
			return tx.DeleteConversation(c.ID)
		})
		return chatdb.Conversation{}, err
	}
	return e.conversation(c.ID)
}

// adoptHistory moves the lines of a DM that had no group into its new
// conversation, and deletes the old one.
func (e *Engine) adoptHistory(tx *chatdb.Tx, old, c *chatdb.Conversation) error {
	ms, err := tx.Messages(old.ID, 0)
	if err != nil {
		return err
	}
	for i := range ms {
		if err := tx.AppendMessage(c.ID, &ms[i]); err != nil {
			return err
		}
	}
	c.Unread += old.Unread
	if err := tx.PutConversation(c); err != nil {
		return err
	}
	return tx.DeleteConversation(old.ID)
}

// errNoSuite means a user has no KeyPackage of the suite asked for: the
// node has none (protocol.ErrNoKeyPackage), or a node from before suites were
// told apart handed out one of another suite.
var errNoSuite = errors.New("no key package of this cipher suite")

// fetchDeviceKeyPackage takes one KeyPackage of suite cs of device d of
// p from the node (across federation for another domain's user) and
// checks that it is that device's: of suite cs, for p's address (with d's
// id, or plain for a legacy credential), signed with d's identity key.
func (e *Engine) fetchDeviceKeyPackage(ctx context.Context, p client.Peer, d identity.Device, cs mls.CipherSuite) (*mls.KeyPackage, error) {
	who := p.Recipient(d)
	raw, _, err := e.acct.Client.FetchKeyPackage(ctx, who, uint16(cs.ID()))
	if errors.Is(err, protocol.ErrNoKeyPackage) {
		return nil, fmt.Errorf("key package of %s: %w (%v): %w", who, errNoSuite, cs.ID(), err)
	}
	if err != nil {
		return nil, fmt.Errorf("key package of %s: %w", who, err)
	}
	var m mls.MLSMessage
	if err := mls.Unmarshal(raw, &m); err != nil || m.KeyPackage == nil {
		return nil, fmt.Errorf("key package of %s: %w", who, errors.Join(mls.ErrKeyPackage, err))
	}
	kp := m.KeyPackage
	if kp.CipherSuite != cs.ID() {
		return nil, fmt.Errorf("key package of %s: %w: got one of %v, want %v", who, errNoSuite, kp.CipherSuite, cs.ID())
	}
	if err := kp.Validate(cs, e.now()); err != nil {
		return nil, fmt.Errorf("key package of %s: %w", who, err)
	}
	acct, dev := parseMember(string(kp.LeafNode.Credential.Identity))
	if acct != p.Address || dev != "" && dev != d.ID.String() {
		return nil, fmt.Errorf("key package of %s: %w: it is %q's", who, mls.ErrKeyPackage, kp.LeafNode.Credential.Identity)
	}
	if !bytes.Equal(kp.LeafNode.SignatureKey, d.IdentityKey) {
		return nil, fmt.Errorf("key package of %s: %w: not signed with the identity key of device %s that %s lists", who, mls.ErrKeyPackage, d.ID, p.Address)
	}
	return kp, nil
}

// Invite adds user to the group.
func (e *Engine) Invite(ctx context.Context, conv chatdb.ConvID, user string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.activeGroup(conv)
	if err != nil {
		return err
	}
	if c.Kind != chatdb.KindGroup {
		return fmt.Errorf("%s is a DM; /cg a group to talk with more people: %w", Label(c), ErrNotGroup)
	}
	user, err = e.normalize(user)
	if err != nil {
		return err
	}
	if slices.Contains(c.Members, user) {
		return fmt.Errorf("%s: %w", user, ErrAlreadyMember)
	}
	if !e.online {
		return fmt.Errorf("inviting %s: %w", user, ErrOffline)
	}
	var g *mls.Group
	if err := e.db.View(func(tx *chatdb.Tx) (err error) {
		g, err = e.loadGroup(tx, &c)
		return err
	}); err != nil {
		return err
	}
	if err := e.requireAdmin(&c, g); err != nil {
		return err
	}
	lone := len(roster(g)) == 1
	kps, err := e.inviteeKeyPackages(ctx, user, g.CipherSuite(), lone)
	if err != nil {
		return err
	}
	if len(kps) == 0 {
		return fmt.Errorf("inviting %s: %w", user, identity.ErrNoDevice)
	}
	if kp := kps[0]; kp.CipherSuite != g.CipherSuite().ID() {
		// The group is its creator's alone and the first invitee has no
		// post-quantum key package: make it again in the invitee's
		// suite, under a new id (the node may have ordered commits of
		// the old one, and nobody else knows it).
		cs, err := mls.Suite(kp.CipherSuite)
		if err != nil {
			return err
		}
		if err := e.db.Update(func(tx *chatdb.Tx) error {
			ng, err := e.newGroup(&c, cs)
			if err != nil {
				return err
			}
			if err := tx.PutConversation(&c); err != nil {
				return err
			}
			if err := e.saveGroup(tx, &c, ng); err != nil {
				return err
			}
			return e.systemLine(tx, &c, "%s has no post-quantum key package: %s is a classic group (%v)", user, Label(c), cs.ID())
		}); err != nil {
			return err
		}
	}
	// The invitation also brings in any device of the members (the
	// account's own other devices, after a group made offline) that is
	// not in the group yet.
	return e.commitChange(ctx, &c, func(g *mls.Group) (*change, error) {
		if len(leavesOf(g, user)) > 0 {
			return nil, fmt.Errorf("%s: %w", user, ErrAlreadyMember)
		}
		return e.addChange(ctx, g, kps)
	})
}

// Remove removes user from the group; the commit gives the group new keys,
// so user cannot read what follows.
func (e *Engine) Remove(ctx context.Context, conv chatdb.ConvID, user string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.activeGroup(conv)
	if err != nil {
		return err
	}
	user, err = e.normalize(user)
	if err != nil {
		return err
	}
	if user == e.self {
		return errors.New("to remove yourself, /leave")
	}
	if !slices.Contains(c.Members, user) {
		return fmt.Errorf("%s: %w", user, ErrNotMember)
	}
	if !e.online {
		return fmt.Errorf("removing %s: %w", user, ErrOffline)
	}
	// Every device of user goes; they get the commit as members of the
	// epoch before it. An admin removed stops being one.
	return e.commitChange(ctx, &c, func(g *mls.Group) (*change, error) {
		if err := e.requireAdmin(&c, g); err != nil {
			return nil, err
		}
		leaves := leavesOf(g, user)
		if len(leaves) == 0 {
			return nil, fmt.Errorf("%s: %w", user, ErrNotMember)
		}
		opts := &mls.CommitOptions{Remove: leaves}
		if err := e.pruneRoles(g, opts, user); err != nil {
			return nil, err
		}
		out, err := g.Commit(opts)
		return &change{out: out}, err
	})
}

// UpdateKey commits a self-update in the group: new keys for the account's
// leaf and path, and a new epoch.
func (e *Engine) UpdateKey(ctx context.Context, conv chatdb.ConvID) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.activeGroup(conv)
	if err != nil {
		return err
	}
	if !e.online {
		return fmt.Errorf("updating keys: %w", ErrOffline)
	}
	return e.commitChange(ctx, &c, func(g *mls.Group) (*change, error) {
		out, err := g.SelfUpdate()
		return &change{out: out}, err
	})
}

// Join accepts a pending invitation. The account is in the group's keys
// from the moment the Welcome arrived; joining shows the conversation.
func (e *Engine) Join(ctx context.Context, conv chatdb.ConvID) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.db.Update(func(tx *chatdb.Tx) error {
		c, ok, err := tx.Conversation(conv)
		if err != nil {
			return err
		}
		if !ok || !c.Invited {
			return ErrNoInvitation
		}
		c.Invited = false
		return e.systemLine(tx, &c, "you joined %s (members: %s)", Label(c), strings.Join(c.Members, ", "))
	})
}

// Leave leaves the group: the account proposes its own removal, which the
// next commit of another member carries out, and forgets the group's keys.
func (e *Engine) Leave(ctx context.Context, conv chatdb.ConvID) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.conversation(conv)
	if err != nil {
		return err
	}
	if c.Kind == chatdb.KindNote {
		return errors.New("the note cannot be left")
	}
	if c.Left || c.GroupID == nil {
		return e.db.Update(func(tx *chatdb.Tx) error { return tx.DeleteConversation(c.ID) })
	}
	if !e.online {
		return fmt.Errorf("leaving %s: %w", Label(c), ErrOffline)
	}
	// The account leaves, not only this device: it proposes the removal
	// of each of its leaves, which other members commit (commitLeavers).
	var proposals [][]byte
	var ts []target
	err = e.db.View(func(tx *chatdb.Tx) error {
		g, err := e.loadGroup(tx, &c)
		if err != nil {
			return err
		}
		if err := e.checkLeave(&c, g); err != nil {
			return err
		}
		ts = e.leafTargets(members(g), g.OwnLeaf())
		own := leavesOf(g, e.self)
		slices.SortFunc(own, func(a, b mls.LeafIndex) int { // this device's last: its proposals need its leaf
			return cmpBool(a == g.OwnLeaf(), b == g.OwnLeaf())
		})
		for _, l := range own {
			proposal, err := g.ProposeRemove(l)
			if err != nil {
				return err
			}
			proposals = append(proposals, proposal)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var outs []chatdb.Outgoing
	for _, proposal := range proposals {
		o, err := e.sealTargets(ctx, &c, ts, ContentGroup, sealed.NewID(),
			(&groupFrame{GroupID: c.GroupID, Message: proposal}).marshal())
		if err != nil {
			return err
		}
		outs = append(outs, o...)
	}
	err = e.db.Update(func(tx *chatdb.Tx) error {
		for i := range outs {
			if err := tx.PutOutgoing(&outs[i]); err != nil {
				return err
			}
		}
		c.Left, c.Invited = true, false
		if err := tx.PutGroupState(c.ID, nil); err != nil {
			return err
		}
		return e.systemLine(tx, &c, "you left %s", Label(c))
	})
	if err != nil {
		return err
	}
	_, err = e.flush(ctx)
	return err
}

// activeGroup returns the conversation if it has a group the account is
// still in.
func (e *Engine) activeGroup(conv chatdb.ConvID) (chatdb.Conversation, error) {
	c, err := e.conversation(conv)
	if err != nil {
		return c, err
	}
	switch {
	case c.GroupID == nil:
		return c, fmt.Errorf("%s: %w", Label(c), ErrNotGroup)
	case c.Left:
		return c, fmt.Errorf("%s: %w", Label(c), ErrLeft)
	}
	return c, nil
}

func without(as []string, a string) []string {
	return slices.DeleteFunc(slices.Clone(as), func(x string) bool { return x == a })
}

// change is a commit made by an operation, with who hears of it besides
// the group's members before the commit.
type change struct {
	out *mls.CommitOutput
	// welcomeTo get the Welcome: the devices added. Every leaf of the
	// epoch before the commit gets the commit, the removed ones included,
	// so that they learn it.
	welcomeTo []target
}

// addChange commits adding kps to g, and any device of g's members that
// is missing or no longer listed (reconcileChange).
func (e *Engine) addChange(ctx context.Context, g *mls.Group, kps []*mls.KeyPackage) (*change, error) {
	ch, err := e.reconcileWith(ctx, g, kps)
	if err == nil && ch == nil {
		err = errNoChange
	}
	return ch, err
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// commitChange makes op's commit on the group of c, has the group's home
// node order it, and on acceptance enters the new epoch and sends the
// commit to the members and the Welcome to new ones. A commit that lost
// its epoch is dropped; the commits that won are applied and op runs again
// on the new epoch, after a growing wait, as long as catching up moves the
// group on (maxCommitRounds at most). A refusal that catching up cannot
// cure (a claim the node refuses, a winning commit that cannot be applied)
// is reported to the user and ends the operation with ErrGroupBroken
// instead of a loop. e.mu is held.
func (e *Engine) commitChange(ctx context.Context, c *chatdb.Conversation, op func(g *mls.Group) (*change, error)) error {
	wait := firstCommitBackoff
	for round := 0; round < maxCommitRounds; round++ {
		if round > 0 {
			if err := sleep(ctx, &wait); err != nil {
				return err
			}
		}
		var g *mls.Group
		err := e.db.View(func(tx *chatdb.Tx) (err error) {
			g, err = e.loadGroup(tx, c)
			return err
		})
		if err != nil {
			return err
		}
		before, beforeLeaves, ownLeaf := roster(g), members(g), g.OwnLeaf()
		left := leftAccounts(g, beforeLeaves) // before the commit takes the proposals
		ch, err := op(g)
		if err != nil {
			return err
		}
		if err := fits(c, g.CipherSuite().ID(), ch); err != nil {
			// Checked before the home node orders the commit: once
			// ordered, the group would have a member whose Welcome
			// cannot be sent.
			g.DiscardPendingCommit()
			return err
		}
		epoch := g.Epoch()
		claim, err := ProveCommit(g, ch.out.Commit)
		if err != nil {
			return err
		}
		ord, err := e.orderCommit(ctx, c, claim)
		if errors.Is(err, protocol.ErrBadCommitClaim) {
			return e.groupBroken(c, fmt.Errorf("its home node %s refused the claim of epoch %d: %w", c.Home, epoch, err))
		}
		if err != nil {
			return fmt.Errorf("ordering the commit at %s: %w", c.Home, err)
		}
		if !ord.Accepted {
			e.log.Debug("commit lost its epoch", "group", Label(*c), "epoch", epoch, "next", ord.Next, "missing", len(ord.Missing), "round", round)
			g.DiscardPendingCommit()
			if err := e.catchUp(ctx, c, ord.Missing); err != nil {
				return err
			}
			now, err := e.epochOf(c)
			if err != nil {
				return err
			}
			if now <= epoch {
				return e.groupBroken(c, fmt.Errorf("the commit that holds epoch %d at %s cannot be applied", epoch, c.Home))
			}
			continue
		}
		if err := g.MergePendingCommit(); err != nil {
			return err
		}
		e.log.Debug("mls commit accepted", "group", Label(*c), "epoch", epoch+1,
			"commit_bytes", len(ch.out.Commit), "welcome_bytes", len(ch.out.Welcome), "members", len(g.Roster()))
		if err := e.db.Update(func(tx *chatdb.Tx) error {
			if err := e.saveGroup(tx, c, g); err != nil {
				return err
			}
			return e.rosterChanged(ctx, tx, c, g, before, beforeLeaves, e.self, left)
		}); err != nil {
			return err
		}
		// Everyone who was in the group hears of the commit, and the
		// removed; new members get the Welcome instead.
		outs, err := e.sealTargets(ctx, c, e.leafTargets(beforeLeaves, ownLeaf), ContentGroup, sealed.NewID(),
			(&groupFrame{GroupID: c.GroupID, Message: ch.out.Commit}).marshal())
		if err != nil {
			return err
		}
		if ch.out.Welcome != nil && len(ch.welcomeTo) > 0 {
			// A new device of an account that was in the group (this one
			// included) joins at once; a person invited accepts first.
			var invited, joining []target
			for _, t := range ch.welcomeTo {
				if t.account == e.self || slices.Contains(before, t.account) {
					joining = append(joining, t)
				} else {
					invited = append(invited, t)
				}
			}
			for _, w := range []struct {
				to     []target
				member bool
			}{{invited, false}, {joining, true}} {
				if len(w.to) == 0 {
					continue
				}
				wf := &welcomeFrame{Kind: c.Kind, Member: w.member, Home: c.Home, Welcome: ch.out.Welcome}
				if c.Kind == chatdb.KindGroup {
					wf.Name = c.Name
				}
				body, err := wf.marshal()
				if err != nil {
					return err
				}
				ws, err := e.sealTargets(ctx, c, w.to, ContentWelcome, sealed.NewID(), body)
				if err != nil {
					return err
				}
				outs = append(outs, ws...)
			}
		}
		if err := e.db.Update(func(tx *chatdb.Tx) error {
			for i := range outs {
				if err := tx.PutOutgoing(&outs[i]); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		_, err = e.flush(ctx)
		return err
	}
	return ErrContention
}

// fits checks that the commit and Welcome of ch fit in a sealed message
// (sealed.MaxBodySize, under the node's payload limit) in their frames.
// The post-quantum suite's keys are large: a Welcome carries the ratchet
// tree, about 1.4 KiB per member device (every device of a person is a
// member), so a post-quantum group reaches the limit at about 40 devices
// (a classic one at about 350).
func fits(c *chatdb.Conversation, suite mls.CipherSuiteID, ch *change) error {
	if n := len((&groupFrame{GroupID: c.GroupID, Message: ch.out.Commit}).marshal()); n > sealed.MaxBodySize {
		return fmt.Errorf("%s: %w: the commit is %d bytes, a message at most %d%s", Label(*c), ErrTooLarge, n, sealed.MaxBodySize, largerGroupHint(suite))
	}
	if ch.out.Welcome == nil {
		return nil
	}
	wf := &welcomeFrame{Kind: c.Kind, Home: c.Home, Welcome: ch.out.Welcome}
	if c.Kind == chatdb.KindGroup {
		wf.Name = c.Name
	}
	body, err := wf.marshal()
	if err != nil {
		return fmt.Errorf("%s: %w: %v", Label(*c), ErrTooLarge, err)
	}
	if len(body) > sealed.MaxBodySize {
		return fmt.Errorf("%s: %w: the invitation (Welcome) is %d bytes, a message at most %d%s", Label(*c), ErrTooLarge, len(body), sealed.MaxBodySize, largerGroupHint(suite))
	}
	return nil
}

// largerGroupHint tells, for a post-quantum group, how to have a larger
// one: a classic group holds about 350 members.
func largerGroupHint(suite mls.CipherSuiteID) string {
	if !mls.IsPostQuantum(suite) {
		return ""
	}
	return "; a post-quantum group holds about 40 devices (every device of each member counts) for now: for a larger one, create a classic group (/cg NAME classic) and invite everyone there"
}

// epochOf returns the epoch of c's group as stored.
func (e *Engine) epochOf(c *chatdb.Conversation) (uint64, error) {
	var epoch uint64
	err := e.db.View(func(tx *chatdb.Tx) error {
		g, err := e.loadGroup(tx, c)
		if err == nil {
			epoch = g.Epoch()
		}
		return err
	})
	return epoch, err
}

// catchUp applies commits that won epochs, as the ordering node handed
// them back.
func (e *Engine) catchUp(ctx context.Context, c *chatdb.Conversation, commits [][]byte) error {
	return e.db.Update(func(tx *chatdb.Tx) error {
		cur, ok, err := tx.Conversation(c.ID)
		if err != nil || !ok {
			return errors.Join(err, ErrNoConversation)
		}
		for _, m := range commits {
			if err := e.processGroupMessage(ctx, tx, &cur, "", m); err != nil {
				return err
			}
		}
		*c = cur
		if c.Left {
			return fmt.Errorf("%s: %w", Label(*c), ErrLeft)
		}
		return nil
	})
}

// rosterChanged records the members after a commit, with a line for each
// account that was added or went (groupevents.go) and for each device a
// remaining account added or lost; by is the account that committed,
// before and beforeLeaves the accounts and leaves before the commit, left
// the accounts that proposed their own removal (leftAccounts).
func (e *Engine) rosterChanged(ctx context.Context, tx *chatdb.Tx, c *chatdb.Conversation, g *mls.Group, before []string, beforeLeaves []member, by string, left map[string]bool) error {
	if by != e.self && by != "" {
		if err := e.heardFrom(tx, c, by); err != nil { // groupevents.go
			return err
		}
	}
	after := roster(g)
	c.Members = after
	if err := e.rolesChanged(tx, c, g, by); err != nil {
		return err
	}
	for _, a := range after {
		if !slices.Contains(before, a) && a != e.self {
			if err := e.added(tx, c, a, by); err != nil {
				return err
			}
		}
	}
	for _, a := range before {
		if !slices.Contains(after, a) {
			if err := e.went(tx, c, a, by, left[a]); err != nil {
				return err
			}
		}
	}
	afterLeaves := members(g)
	has := func(ms []member, m member) bool {
		return slices.ContainsFunc(ms, func(x member) bool { return x.account == m.account && bytes.Equal(x.key, m.key) })
	}
	for _, m := range afterLeaves {
		if slices.Contains(before, m.account) && !has(beforeLeaves, m) {
			if err := e.systemLine(tx, c, "%s added a device %s", who(m.account, e.self), e.nameOf(ctx, m)); err != nil {
				return err
			}
		}
	}
	for _, m := range beforeLeaves {
		if slices.Contains(after, m.account) && !has(afterLeaves, m) {
			if err := e.systemLine(tx, c, "%s's device %s was removed from the group", m.account, e.nameOf(ctx, m)); err != nil {
				return err
			}
		}
	}
	return tx.PutConversation(c)
}

// nameOf names m's device for a line.
func (e *Engine) nameOf(ctx context.Context, m member) string {
	p, err := e.resolveDevice(ctx, m.account, m.key)
	if err != nil {
		return identity.DeviceIDOf(m.key).String()
	}
	return deviceName(p, m.key)
}

func who(addr, self string) string {
	if addr == self {
		return "you"
	}
	return addr
}

// resolve returns addr's published keys and records them among the
// contacts, flagging a changed key (noteKey).
func (e *Engine) resolve(ctx context.Context, addr string) (client.Peer, error) {
	p, _, err := e.resolveNoting(ctx, addr)
	return p, err
}

// resolveNoting is resolve that also returns the key change it saw first.
func (e *Engine) resolveNoting(ctx context.Context, addr string) (client.Peer, *KeyChange, error) {
	b, err := e.acct.ResolvePeer(ctx, addr)
	if err != nil {
		return b, nil, err
	}
	key := b.AccountKey
	// Most lookups find the key as recorded: a read, not a write (and an
	// fsync) per message.
	current := false
	if err := e.db.View(func(tx *chatdb.Tx) error {
		ct, ok, err := tx.Contact(addr)
		current = ok && contactCurrent(&ct, key)
		return err
	}); err != nil || current || addr == e.self {
		return b, nil, err
	}
	var change *KeyChange
	err = e.db.Update(func(tx *chatdb.Tx) (err error) {
		change, err = e.noteKey(tx, addr, key)
		return err
	})
	return b, change, err
}
