package mls

import (
	"bytes"
	"fmt"
	"slices"
	"time"
)

// noLeaf is a leaf index that names no leaf, for checks that compare a new
// leaf with every member.
const noLeaf = LeafIndex(^uint32(0))

// pendingCommit is a commit this member created and sent, waiting to be
// confirmed by the delivery service (merge) or beaten by another (discard).
type pendingCommit struct {
	// content is the encoded AuthenticatedContent of the commit; message
	// is the MLSMessage sent, recognized when the delivery service echoes it.
	content []byte
	message []byte
	ac      *AuthenticatedContent
	// priv is our private tree state after the commit's path, with the path
	// secrets already forgotten; commitSecret is the path's commit secret
	// (nil without a path).
	priv         *TreePrivateKey
	commitSecret []byte
}

func (p *pendingCommit) matches(ac *AuthenticatedContent) bool {
	b, err := Marshal(ac)
	return err == nil && bytes.Equal(b, p.content)
}

// sourcedProposal is a proposal of a commit with its sender.
type sourcedProposal struct {
	p      *Proposal
	sender LeafIndex
	// encPriv is our new leaf private key when the proposal is our Update.
	encPriv []byte
}

// appliedProposals is what a commit's proposals did to the tree.
type appliedProposals struct {
	added    []LeafIndex
	addedKPs []*KeyPackage
	psks     []PreSharedKeyID
	ext      []Extension
	// pathRequired is set when the proposals require an UpdatePath (§12.4).
	pathRequired bool
	removedSelf  bool
	// ownUpdatePriv is our new leaf key when the commit includes our Update.
	ownUpdatePriv []byte
}

// publicMessage signs fc as a PublicMessage of the current epoch and adds
// the membership tag; for commits, tag is the confirmation tag.
func (g *Group) publicMessage(fc FramedContent, confirmationTag []byte) (*AuthenticatedContent, []byte, error) {
	ac, err := SignContent(g.cs, WireFormatPublicMessage, fc, g.sigPriv, &g.ctx)
	if err != nil {
		return nil, nil, err
	}
	ac.Auth.ConfirmationTag = confirmationTag
	b, err := g.frame(ac)
	return ac, b, err
}

// handshakeWireFormat is the wire format of the handshake messages we send.
func (g *Group) handshakeWireFormat() WireFormat {
	if g.cfg.PrivateHandshake {
		return WireFormatPrivateMessage
	}
	return WireFormatPublicMessage
}

// frame protects signed content of the current epoch as a PublicMessage
// (with membership tag) or a PrivateMessage (advancing our handshake or
// application ratchet), per its wire format, and encodes it.
func (g *Group) frame(ac *AuthenticatedContent) ([]byte, error) {
	m := &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: ac.WireFormat}
	var err error
	switch ac.WireFormat {
	case WireFormatPublicMessage:
		m.PublicMessage, err = ProtectPublic(g.cs, ac, g.secrets.MembershipKey, &g.ctx)
	case WireFormatPrivateMessage:
		m.PrivateMessage, err = ProtectPrivate(g.cs, ac, g.secrets.SenderDataSecret, g.st, g.cfg.Padding)
	default:
		err = fmt.Errorf("%w: %d", ErrWireFormat, ac.WireFormat)
	}
	if err != nil {
		return nil, err
	}
	return Marshal(m)
}

func (g *Group) framed(ct ContentType) FramedContent {
	return FramedContent{GroupID: g.ctx.GroupID, Epoch: g.ctx.Epoch,
		Sender: Sender{Type: SenderMember, Index: uint32(g.priv.Leaf)}, AuthenticatedData: []byte{}, ContentType: ct}
}

// propose validates p as our own proposal, sends it as a PublicMessage and
// caches it for the next commit.
func (g *Group) propose(p *Proposal, encPriv []byte) ([]byte, error) {
	if g.removed {
		return nil, ErrInactive
	}
	if g.pending != nil {
		return nil, fmt.Errorf("%w: no proposals while a commit is pending", ErrPendingCommit)
	}
	if err := g.checkProposal(p, g.priv.Leaf); err != nil {
		return nil, err
	}
	fc := g.framed(ContentProposal)
	fc.Proposal = p
	ac, err := SignContent(g.cs, g.handshakeWireFormat(), fc, g.sigPriv, &g.ctx)
	if err != nil {
		return nil, err
	}
	msg, err := g.frame(ac)
	if err != nil {
		return nil, err
	}
	ref, err := ac.ProposalRef(g.cs)
	if err != nil {
		return nil, err
	}
	g.proposals = append(g.proposals, cachedProposal{ref: ref, proposal: *p, sender: g.priv.Leaf, encPriv: encPriv})
	return msg, nil
}

// ProposeAdd proposes adding the owner of kp and returns the proposal message.
func (g *Group) ProposeAdd(kp *KeyPackage) ([]byte, error) {
	return g.propose(&Proposal{Type: ProposalAdd, Add: kp}, nil)
}

// ProposeRemove proposes removing the member at leaf and returns the proposal message.
func (g *Group) ProposeRemove(leaf LeafIndex) ([]byte, error) {
	return g.propose(&Proposal{Type: ProposalRemove, Remove: leaf}, nil)
}

// ProposeUpdate proposes a fresh encryption key for our own leaf and
// returns the proposal message. Another member must commit it.
func (g *Group) ProposeUpdate() ([]byte, error) {
	encPriv, encPub, err := g.cs.GenerateKeyPair()
	if err != nil {
		return nil, err
	}
	leaf := *g.tree.Leaf(g.priv.Leaf)
	leaf.EncryptionKey = encPub
	leaf.Source = LeafNodeSourceUpdate
	leaf.Lifetime = nil
	leaf.ParentHash = nil
	if err := leaf.Sign(g.cs, g.sigPriv, g.ctx.GroupID, g.priv.Leaf); err != nil {
		return nil, err
	}
	return g.propose(&Proposal{Type: ProposalUpdate, Update: &leaf}, encPriv)
}

// receiveProposal validates a proposal from a member and caches it. A
// proposal already cached (our own, echoed by the delivery service, or a
// duplicate) is accepted without change.
func (g *Group) receiveProposal(ac *AuthenticatedContent, sender LeafIndex) error {
	ref, err := ac.ProposalRef(g.cs)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(g.proposals, func(c cachedProposal) bool { return bytes.Equal(c.ref, ref) }) {
		return nil
	}
	if sender == g.priv.Leaf {
		return fmt.Errorf("%w: proposal from our own leaf that we did not send", ErrOwnMessage)
	}
	if err := g.checkProposal(ac.Content.Proposal, sender); err != nil {
		return err
	}
	g.proposals = append(g.proposals, cachedProposal{ref: ref, proposal: *ac.Content.Proposal, sender: sender})
	return nil
}

// checkProposal validates one proposal from sender against the current
// epoch, as far as it can be judged alone.
func (g *Group) checkProposal(p *Proposal, sender LeafIndex) error {
	if err := g.checkPolicy(sender, p); err != nil {
		return err
	}
	switch p.Type {
	case ProposalAdd:
		if err := p.Add.validate(g.cs, g.now(), g.cfg.CredentialPolicy); err != nil {
			return err
		}
		return checkLeafInGroup(g.tree, &p.Add.LeafNode, noLeaf, g.ctx.Extensions)
	case ProposalUpdate:
		return g.checkUpdateLeaf(g.tree, p.Update, sender, g.ctx.Extensions)
	case ProposalRemove:
		if g.tree.Leaf(p.Remove) == nil {
			return fmt.Errorf("%w: %w: remove of leaf %d", ErrProposal, ErrBlankLeaf, p.Remove)
		}
		// A member may propose its own removal (to leave); another commits it.
		return nil
	case ProposalPSK:
		_, err := g.pskSecretFor(p.PSK)
		return err
	case ProposalGroupContextExtensions:
		return checkMembersSupport(g.tree, p.GroupContextExtensions)
	case ProposalReInit:
		return fmt.Errorf("%w: ReInit", ErrUnsupported)
	default:
		return fmt.Errorf("%w: %d from a member", ErrProposal, p.Type)
	}
}

// checkUpdateLeaf validates the new leaf of an Update proposal (RFC 9420 §7.3, §12.1.2).
func (g *Group) checkUpdateLeaf(tree *RatchetTree, leaf *LeafNode, sender LeafIndex, ext []Extension) error {
	if leaf.Source != LeafNodeSourceUpdate {
		return fmt.Errorf("%w: leaf source %d in an Update", ErrLeafNode, leaf.Source)
	}
	if err := checkLeafSelf(g.cs, leaf, g.ctx.GroupID, sender, time.Time{}, g.cfg.CredentialPolicy); err != nil {
		return err
	}
	if err := checkLeafInGroup(tree, leaf, sender, ext); err != nil {
		return err
	}
	if keyInTree(tree, leaf.EncryptionKey) {
		return fmt.Errorf("%w: Update reuses an encryption key of the tree", ErrDuplicateKey)
	}
	return nil
}

// checkMembersSupport checks that every member supports the group context
// extensions ext and the capabilities they require.
func checkMembersSupport(tree *RatchetTree, ext []Extension) error {
	rc, err := requiredCapabilities(ext)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrProposal, err)
	}
	for _, m := range tree.Members() {
		c := &tree.Leaf(m).Capabilities
		if !c.supports(rc) || !c.supportsExtensions(ext) {
			return fmt.Errorf("%w: member %d does not support the group context extensions", ErrCapabilities, m)
		}
	}
	return nil
}

// pskSecretFor returns the secret of a PSK this member can use.
func (g *Group) pskSecretFor(id *PreSharedKeyID) ([]byte, error) {
	if len(id.Nonce) != g.cs.HashLen() {
		return nil, fmt.Errorf("%w: PSK nonce of %d bytes", ErrProposal, len(id.Nonce))
	}
	switch id.Type {
	case PSKExternal:
		s, ok := g.cfg.PSKs[string(id.PSKID)]
		if !ok {
			return nil, fmt.Errorf("%w: external %x", ErrUnknownPSK, id.PSKID)
		}
		return s, nil
	case PSKResumption:
		if id.Usage != ResumptionApplication {
			return nil, fmt.Errorf("%w: resumption PSK with usage %d", ErrUnsupported, id.Usage)
		}
		if !bytes.Equal(id.PSKGroupID, g.ctx.GroupID) {
			return nil, fmt.Errorf("%w: resumption PSK of another group", ErrUnknownPSK)
		}
		if id.PSKEpoch == g.ctx.Epoch {
			return g.secrets.ResumptionPSK, nil
		}
		for _, p := range g.past {
			if p.ctx.Epoch == id.PSKEpoch {
				return p.resumptionPSK, nil
			}
		}
		return nil, fmt.Errorf("%w: resumption PSK of epoch %d", ErrUnknownPSK, id.PSKEpoch)
	default:
		return nil, fmt.Errorf("%w: PSK type %d", ErrUnknownPSK, id.Type)
	}
}

// pskSecret combines the PSKs of a commit (RFC 9420 §8.4); nil when there are none.
func (g *Group) pskSecret(ids []PreSharedKeyID) ([]byte, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	list := make([]PSKWithSecret, len(ids))
	for i := range ids {
		s, err := g.pskSecretFor(&ids[i])
		if err != nil {
			return nil, err
		}
		list[i] = PSKWithSecret{ID: ids[i], Secret: s}
	}
	return PSKSecret(g.cs, list)
}

// resolveProposals turns a commit's proposal list into proposals with
// senders, looking references up in the cache.
func (g *Group) resolveProposals(c *Commit, committer LeafIndex) ([]sourcedProposal, error) {
	out := make([]sourcedProposal, 0, len(c.Proposals))
	seen := map[string]bool{}
	for _, por := range c.Proposals {
		if por.Proposal != nil {
			if por.Proposal.Type == ProposalUpdate {
				return nil, fmt.Errorf("%w: Update by value", ErrProposalList)
			}
			out = append(out, sourcedProposal{p: por.Proposal, sender: committer})
			continue
		}
		if seen[string(por.Reference)] {
			return nil, fmt.Errorf("%w: proposal %x referenced twice", ErrProposalList, por.Reference)
		}
		seen[string(por.Reference)] = true
		i := slices.IndexFunc(g.proposals, func(cp cachedProposal) bool { return bytes.Equal(cp.ref, por.Reference) })
		if i < 0 {
			return nil, fmt.Errorf("%w: %x", ErrUnknownProposal, por.Reference)
		}
		cp := &g.proposals[i]
		out = append(out, sourcedProposal{p: &cp.proposal, sender: cp.sender, encPriv: cp.encPriv})
	}
	return out, nil
}

// applyProposals validates a commit's proposal list (RFC 9420 §12.2) and
// applies it to g.tree in the order of §12.4.2: GroupContextExtensions,
// Update, Remove, Add, then PSK. addsVerified skips the validation of the
// added KeyPackages, for our own pending commit, whose Commit validated
// exactly these.
func (g *Group) applyProposals(props []sourcedProposal, committer LeafIndex, addsVerified bool) (*appliedProposals, error) {
	res := &appliedProposals{ext: g.ctx.Extensions, pathRequired: len(props) == 0}
	byType := map[ProposalType][]sourcedProposal{}
	touched := map[LeafIndex]bool{}
	psks := map[string]bool{}
	for _, sp := range props {
		p := sp.p
		// The policy sees the epoch before the commit: g.tree is not
		// changed before this loop ends.
		if err := g.checkPolicy(sp.sender, p); err != nil {
			return nil, err
		}
		switch p.Type {
		case ProposalUpdate, ProposalRemove:
			res.pathRequired = true
			target := sp.sender
			if p.Type == ProposalRemove {
				target = p.Remove
			}
			if target == committer {
				return nil, fmt.Errorf("%w: proposal %d concerns the committer", ErrProposalList, p.Type)
			}
			if touched[target] {
				return nil, fmt.Errorf("%w: leaf %d updated or removed twice", ErrProposalList, target)
			}
			touched[target] = true
		case ProposalGroupContextExtensions:
			res.pathRequired = true
			if len(byType[p.Type]) > 0 {
				return nil, fmt.Errorf("%w: two GroupContextExtensions proposals", ErrProposalList)
			}
		case ProposalPSK:
			id, err := Marshal(p.PSK)
			if err != nil {
				return nil, err
			}
			if psks[string(id)] {
				return nil, fmt.Errorf("%w: PSK proposed twice", ErrProposalList)
			}
			psks[string(id)] = true
		case ProposalAdd:
		case ProposalReInit:
			return nil, fmt.Errorf("%w: ReInit", ErrUnsupported)
		default:
			return nil, fmt.Errorf("%w: proposal type %d in a member's commit", ErrProposalList, p.Type)
		}
		byType[p.Type] = append(byType[p.Type], sp)
	}
	tree := g.tree
	if gce := byType[ProposalGroupContextExtensions]; len(gce) > 0 {
		res.ext = gce[0].p.GroupContextExtensions
	}
	for _, sp := range byType[ProposalUpdate] {
		if tree.Leaf(sp.sender) == nil {
			return nil, fmt.Errorf("%w: Update from blank leaf %d", ErrProposalList, sp.sender)
		}
		if err := g.checkUpdateLeaf(tree, sp.p.Update, sp.sender, res.ext); err != nil {
			return nil, err
		}
		if sp.sender == g.priv.Leaf {
			if sp.encPriv == nil {
				return nil, fmt.Errorf("%w: Update of our leaf that we did not send", ErrProposalList)
			}
			res.ownUpdatePriv = sp.encPriv
		}
		if err := tree.UpdateLeaf(sp.sender, sp.p.Update); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrProposalList, err)
		}
	}
	for _, sp := range byType[ProposalRemove] {
		if sp.p.Remove == g.priv.Leaf {
			res.removedSelf = true
		}
		if err := tree.RemoveLeaf(sp.p.Remove); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrProposalList, err)
		}
	}
	for _, sp := range byType[ProposalAdd] {
		kp := sp.p.Add
		if !addsVerified {
			if err := kp.validate(g.cs, g.now(), g.cfg.CredentialPolicy); err != nil {
				return nil, err
			}
		}
		leaf := kp.LeafNode
		if err := checkLeafInGroup(tree, &leaf, noLeaf, res.ext); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrProposalList, err)
		}
		if keyInTree(tree, leaf.EncryptionKey) {
			return nil, fmt.Errorf("%w: %w: added leaf reuses an encryption key", ErrProposalList, ErrDuplicateKey)
		}
		res.added = append(res.added, tree.AddLeaf(&leaf))
		res.addedKPs = append(res.addedKPs, kp)
	}
	for _, sp := range byType[ProposalPSK] {
		if _, err := g.pskSecretFor(sp.p.PSK); err != nil {
			return nil, err
		}
		res.psks = append(res.psks, *sp.p.PSK)
	}
	if len(byType[ProposalGroupContextExtensions]) > 0 {
		if err := checkMembersSupport(tree, res.ext); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// checkPathKeys validates a commit's UpdatePath against the tree after the
// proposals (RFC 9420 §7.3, §12.4.2): a valid commit leaf for the sender and
// public keys that are new to the tree and to each other.
func (g *Group) checkPathKeys(tree *RatchetTree, up *UpdatePath, sender LeafIndex, ext []Extension) error {
	leaf := &up.LeafNode
	if leaf.Source != LeafNodeSourceCommit {
		return fmt.Errorf("%w: leaf source %d in an UpdatePath", ErrLeafNode, leaf.Source)
	}
	if err := checkLeafSelf(g.cs, leaf, g.ctx.GroupID, sender, time.Time{}, g.cfg.CredentialPolicy); err != nil {
		return err
	}
	if err := checkLeafInGroup(tree, leaf, sender, ext); err != nil {
		return err
	}
	seen := map[string]bool{}
	keys := [][]byte{leaf.EncryptionKey}
	for _, n := range up.Nodes {
		keys = append(keys, n.EncryptionKey)
	}
	for _, k := range keys {
		if seen[string(k)] || keyInTree(tree, k) {
			return fmt.Errorf("%w: %w: UpdatePath key is not new to the tree", ErrUpdatePath, ErrDuplicateKey)
		}
		seen[string(k)] = true
	}
	return nil
}

// applyCommit applies an authenticated commit from member sender to a copy
// of g and returns the copy, in the new epoch unless the commit removed us.
// own is our pending commit when sender is this member.
func (g *Group) applyCommit(ac *AuthenticatedContent, sender LeafIndex, own *pendingCommit) (*Group, bool, error) {
	c := ac.Content.Commit
	if len(ac.Auth.ConfirmationTag) == 0 {
		return nil, false, ErrMissingConfirmationTag
	}
	props, err := g.resolveProposals(c, sender)
	if err != nil {
		return nil, false, err
	}
	next := g.clone()
	// Our own commit's added KeyPackages were verified when Commit made
	// it, from the same proposals; verifying their signatures again cost
	// about a fifth of an add commit in a large group.
	res, err := next.applyProposals(props, sender, own != nil)
	if err != nil {
		return nil, false, err
	}
	if res.pathRequired && c.Path == nil {
		return nil, false, ErrPathRequired
	}
	if res.removedSelf {
		gone := g.clone()
		gone.removed = true
		gone.pending = nil
		gone.proposals = nil
		return gone, true, nil
	}
	provisional := GroupContext{Version: g.ctx.Version, CipherSuite: g.ctx.CipherSuite, GroupID: g.ctx.GroupID,
		Epoch: g.ctx.Epoch + 1, ConfirmedTranscriptHash: g.ctx.ConfirmedTranscriptHash, Extensions: res.ext}
	if res.ownUpdatePriv != nil {
		pub, err := g.cs.HPKEPublicKey(res.ownUpdatePriv)
		if err != nil {
			return nil, false, err
		}
		next.priv.keys[next.priv.Leaf.Node()] = nodeKey{priv: res.ownUpdatePriv, pub: pub}
	}
	var commitSecret []byte
	if c.Path != nil {
		// The committer's new leaf replaces its old one as an Update would.
		if err := g.checkPolicy(sender, &Proposal{Type: ProposalUpdate, Update: &c.Path.LeafNode}); err != nil {
			return nil, false, err
		}
		if err := g.checkPathKeys(next.tree, c.Path, sender, res.ext); err != nil {
			return nil, false, err
		}
		if own != nil {
			if err := next.tree.mergeOwnPath(g.cs, sender, c.Path); err != nil {
				return nil, false, err
			}
			commitSecret = own.commitSecret
		} else {
			commitSecret, err = next.tree.ApplyUpdatePath(g.cs, sender, c.Path, g.ctx.GroupID, &provisional, res.added, next.priv)
			if err != nil {
				return nil, false, err
			}
		}
	}
	if own != nil {
		next.priv = own.priv.Clone()
	}
	th, err := next.tree.TreeHash(g.cs)
	if err != nil {
		return nil, false, err
	}
	confirmed, err := ConfirmedTranscriptHash(g.cs, g.interim, ac)
	if err != nil {
		return nil, false, err
	}
	newCtx := provisional
	newCtx.TreeHash = th
	newCtx.ConfirmedTranscriptHash = confirmed
	pskSecret, err := g.pskSecret(res.psks)
	if err != nil {
		return nil, false, err
	}
	secrets, err := DeriveEpochSecrets(g.cs, g.secrets.InitSecret, commitSecret, pskSecret, &newCtx)
	if err != nil {
		return nil, false, err
	}
	if err := VerifyConfirmationTag(g.cs, secrets.ConfirmationKey, confirmed, ac.Auth.ConfirmationTag); err != nil {
		return nil, false, err
	}
	if err := next.installEpoch(g, newCtx, secrets, ac.Auth.ConfirmationTag); err != nil {
		return nil, false, err
	}
	return next, false, nil
}

// mergeOwnPath installs the public part of our own UpdatePath (its private
// part is in the pending commit) and checks the leaf's parent hash.
func (t *RatchetTree) mergeOwnPath(cs CipherSuite, sender LeafIndex, up *UpdatePath) error {
	path, copath := t.FilteredDirectPath(sender)
	if len(up.Nodes) != len(path) {
		return fmt.Errorf("%w: %d nodes for a filtered direct path of %d", ErrUpdatePath, len(up.Nodes), len(path))
	}
	keys := make([][]byte, len(path))
	for i := range up.Nodes {
		keys[i] = up.Nodes[i].EncryptionKey
	}
	leafHash, err := t.mergePath(cs, sender, path, copath, keys)
	if err != nil {
		return err
	}
	if !bytes.Equal(leafHash, up.LeafNode.ParentHash) {
		return fmt.Errorf("%w: leaf %d of the update path", ErrParentHash, sender)
	}
	leaf := up.LeafNode
	t.setNode(sender.Node(), &Node{Leaf: &leaf})
	return nil
}

// installEpoch moves g (a copy of prev with the new tree) into a new epoch:
// the previous epoch joins the retained past epochs, the proposal cache
// and pending commit are cleared and private keys of replaced nodes deleted.
func (g *Group) installEpoch(prev *Group, ctx GroupContext, s *EpochSecrets, tag []byte) error {
	interim, err := InterimTranscriptHash(g.cs, ctx.ConfirmedTranscriptHash, tag)
	if err != nil {
		return err
	}
	if g.cfg.PastEpochs > 0 {
		g.past = append(g.past, &pastEpoch{
			ctx: prev.ctx, senderDataSecret: prev.secrets.SenderDataSecret,
			resumptionPSK: prev.secrets.ResumptionPSK, st: prev.st, sigKeys: signKeysOf(prev.tree),
			creds: credentialsOf(prev.tree),
		})
	}
	if extra := len(g.past) - g.cfg.PastEpochs; extra > 0 {
		g.past = slices.Clone(g.past[extra:])
	}
	g.ctx = ctx
	g.secrets = *s
	g.interim = interim
	g.confirmationTag = tag
	g.st = g.newSecretTree(s.EncryptionSecret, g.tree.LeafCount())
	g.proposals = nil
	g.pending = nil
	// Path secrets are needed only while building a Welcome; the node keys
	// derived from them stay.
	g.priv.ForgetPathSecrets()
	g.priv.Prune(g.tree)
	return nil
}

// CommitOptions lists what a commit carries besides the cached proposals.
type CommitOptions struct {
	// Add lists KeyPackages of members to add (proposals by value, as are
	// the next two fields).
	Add []*KeyPackage
	// Remove lists the leaves of members to remove.
	Remove []LeafIndex
	// PSKs lists pre-shared keys to inject into the key schedule.
	PSKs []PreSharedKeyID
	// GroupContextExtensions, when not nil, replaces the group context extensions.
	GroupContextExtensions []Extension
	// NoPath omits the UpdatePath when the proposals allow it. By default
	// every commit refreshes the committer's path.
	NoPath bool
	// AuthenticatedData is sent with the commit.
	AuthenticatedData []byte
}

// CommitOutput holds the messages of a new commit.
type CommitOutput struct {
	// Commit is the MLSMessage to send to the group (a PublicMessage, or a
	// PrivateMessage under Config.PrivateHandshake).
	Commit []byte
	// Welcome is the MLSMessage for the added members, nil without adds.
	Welcome []byte
}

// AddMembers commits the addition of the owners of kps (and any cached proposals).
func (g *Group) AddMembers(kps ...*KeyPackage) (*CommitOutput, error) {
	return g.Commit(&CommitOptions{Add: kps})
}

// RemoveMembers commits the removal of the members at leaves (and any cached proposals).
func (g *Group) RemoveMembers(leaves ...LeafIndex) (*CommitOutput, error) {
	return g.Commit(&CommitOptions{Remove: leaves})
}

// SelfUpdate commits a fresh path for our leaf (and any cached proposals).
func (g *Group) SelfUpdate() (*CommitOutput, error) { return g.Commit(nil) }

// committableProposals returns the cached proposals this member may commit,
// resolving conflicts as RFC 9420 §12.2 recommends: our own Updates are left
// out (the path replaces them), a Remove wins over Updates of the same leaf,
// otherwise the latest Update of a leaf wins; of several Adds of the same
// signature key or PSKs of the same ID the first is kept, and of several
// GroupContextExtensions the latest. A proposal the policy refuses
// (cached before the policy ran, by a state from an older build) is left
// out, so that it cannot make every commit of ours fail.
func (g *Group) committableProposals() []cachedProposal {
	removed := map[LeafIndex]bool{}
	lastUpdate := map[LeafIndex]int{}
	lastGCE := -1
	for i, cp := range g.proposals {
		switch cp.proposal.Type {
		case ProposalRemove:
			removed[cp.proposal.Remove] = true
		case ProposalUpdate:
			lastUpdate[cp.sender] = i
		case ProposalGroupContextExtensions:
			lastGCE = i
		}
	}
	var out []cachedProposal
	seenRemove := map[LeafIndex]bool{}
	seenKey := map[string]bool{}
	for i, cp := range g.proposals {
		if g.checkPolicy(cp.sender, &cp.proposal) != nil {
			continue
		}
		switch p := &cp.proposal; p.Type {
		case ProposalUpdate:
			if cp.sender == g.priv.Leaf || removed[cp.sender] || lastUpdate[cp.sender] != i {
				continue
			}
		case ProposalRemove:
			if p.Remove == g.priv.Leaf || seenRemove[p.Remove] {
				continue
			}
			seenRemove[p.Remove] = true
		case ProposalAdd:
			k := "add" + string(p.Add.LeafNode.SignatureKey)
			if seenKey[k] {
				continue
			}
			seenKey[k] = true
		case ProposalPSK:
			id, err := Marshal(p.PSK)
			if err != nil || seenKey["psk"+string(id)] {
				continue
			}
			seenKey["psk"+string(id)] = true
		case ProposalGroupContextExtensions:
			if i != lastGCE {
				continue
			}
		}
		out = append(out, cp)
	}
	return out
}

// Commit creates a commit of the cached proposals (by reference) and those
// in opts (by value). The group stays in the current epoch with the commit
// pending: call MergePendingCommit once the delivery service accepted it (or
// process the echoed commit), or DiscardPendingCommit when another commit
// won the epoch.
func (g *Group) Commit(opts *CommitOptions) (*CommitOutput, error) {
	if g.removed {
		return nil, ErrInactive
	}
	if g.pending != nil {
		return nil, fmt.Errorf("%w: a commit is already pending", ErrPendingCommit)
	}
	if opts == nil {
		opts = &CommitOptions{}
	}
	me := g.priv.Leaf
	commit := &Commit{Proposals: []ProposalOrRef{}}
	for _, cp := range g.committableProposals() {
		commit.Proposals = append(commit.Proposals, ProposalOrRef{Reference: cp.ref})
	}
	if opts.GroupContextExtensions != nil {
		commit.Proposals = append(commit.Proposals, ProposalOrRef{Proposal: &Proposal{Type: ProposalGroupContextExtensions, GroupContextExtensions: opts.GroupContextExtensions}})
	}
	for _, l := range opts.Remove {
		commit.Proposals = append(commit.Proposals, ProposalOrRef{Proposal: &Proposal{Type: ProposalRemove, Remove: l}})
	}
	for _, kp := range opts.Add {
		commit.Proposals = append(commit.Proposals, ProposalOrRef{Proposal: &Proposal{Type: ProposalAdd, Add: kp}})
	}
	for i := range opts.PSKs {
		commit.Proposals = append(commit.Proposals, ProposalOrRef{Proposal: &Proposal{Type: ProposalPSK, PSK: &opts.PSKs[i]}})
	}
	props, err := g.resolveProposals(commit, me)
	if err != nil {
		return nil, err
	}
	next := g.clone()
	res, err := next.applyProposals(props, me, false)
	if err != nil {
		return nil, err
	}
	if res.removedSelf {
		return nil, fmt.Errorf("%w: a member cannot commit its own removal", ErrProposalList)
	}
	provisional := GroupContext{Version: g.ctx.Version, CipherSuite: g.ctx.CipherSuite, GroupID: g.ctx.GroupID,
		Epoch: g.ctx.Epoch + 1, ConfirmedTranscriptHash: g.ctx.ConfirmedTranscriptHash, Extensions: res.ext}
	pc := &pendingCommit{priv: g.priv.Clone()}
	if res.pathRequired || !opts.NoPath {
		tmpl := *next.tree.Leaf(me)
		up, priv, commitSecret, err := next.tree.CreateUpdatePath(g.cs, me, &UpdatePathParams{
			Leaf: tmpl, SignaturePriv: g.sigPriv, GroupID: g.ctx.GroupID, Context: &provisional, Exclude: res.added,
		})
		if err != nil {
			return nil, err
		}
		commit.Path = up
		pc.priv = priv
		pc.commitSecret = commitSecret
	}
	fc := g.framed(ContentCommit)
	fc.AuthenticatedData = nonNil(opts.AuthenticatedData)
	fc.Commit = commit
	ac, err := SignContent(g.cs, g.handshakeWireFormat(), fc, g.sigPriv, &g.ctx)
	if err != nil {
		return nil, err
	}
	th, err := next.tree.TreeHash(g.cs)
	if err != nil {
		return nil, err
	}
	confirmed, err := ConfirmedTranscriptHash(g.cs, g.interim, ac)
	if err != nil {
		return nil, err
	}
	newCtx := provisional
	newCtx.TreeHash = th
	newCtx.ConfirmedTranscriptHash = confirmed
	pskSecret, err := g.pskSecret(res.psks)
	if err != nil {
		return nil, err
	}
	secrets, err := DeriveEpochSecrets(g.cs, g.secrets.InitSecret, pc.commitSecret, pskSecret, &newCtx)
	if err != nil {
		return nil, err
	}
	tag := ConfirmationTag(g.cs, secrets.ConfirmationKey, confirmed)
	ac.Auth.ConfirmationTag = tag
	out := &CommitOutput{}
	if len(res.added) > 0 {
		if out.Welcome, err = g.welcome(next.tree, &newCtx, secrets, tag, res, pc.priv); err != nil {
			return nil, err
		}
	}
	pc.priv.ForgetPathSecrets()
	if pc.content, err = Marshal(ac); err != nil {
		return nil, err
	}
	// Framing a PrivateMessage takes a key from our handshake ratchet: the
	// last step, so that a failed Commit changes nothing.
	if out.Commit, err = g.frame(ac); err != nil {
		return nil, err
	}
	pc.message = out.Commit
	pc.ac = ac
	g.pending = pc
	return out, nil
}

// welcome builds the Welcome for the members a commit adds (RFC 9420 §12.4.3.1).
func (g *Group) welcome(tree *RatchetTree, ctx *GroupContext, s *EpochSecrets, tag []byte, res *appliedProposals, priv *TreePrivateKey) ([]byte, error) {
	gi := &GroupInfo{GroupContext: *ctx, Extensions: []Extension{}, ConfirmationTag: tag, Signer: g.priv.Leaf}
	if !g.cfg.OmitRatchetTree {
		rt, err := Marshal(tree)
		if err != nil {
			return nil, err
		}
		gi.Extensions = append(gi.Extensions, Extension{Type: ExtensionRatchetTree, Data: rt})
	}
	if err := gi.Sign(g.cs, g.sigPriv); err != nil {
		return nil, err
	}
	egi, err := EncryptGroupInfo(g.cs, s.WelcomeSecret, gi)
	if err != nil {
		return nil, err
	}
	w := &Welcome{CipherSuite: g.cs.ID(), EncryptedGroupInfo: egi}
	path, _ := tree.FilteredDirectPath(g.priv.Leaf)
	for i, leaf := range res.added {
		gs := &GroupSecrets{JoinerSecret: s.JoinerSecret, PSKs: res.psks}
		if gs.PSKs == nil {
			gs.PSKs = []PreSharedKeyID{}
		}
		for _, x := range path {
			if x.IsAncestorOf(leaf.Node()) {
				if ps, ok := priv.PathSecret(x); ok {
					gs.PathSecret = ps
				}
				break
			}
		}
		egs, err := EncryptGroupSecrets(g.cs, res.addedKPs[i], egi, gs)
		if err != nil {
			return nil, err
		}
		w.Secrets = append(w.Secrets, *egs)
	}
	return Marshal(&MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatWelcome, Welcome: w})
}

// MergePendingCommit moves the group into the epoch of our pending commit,
// once the delivery service has accepted it.
func (g *Group) MergePendingCommit() error {
	if g.pending == nil {
		return fmt.Errorf("%w: no pending commit", ErrPendingCommit)
	}
	next, _, err := g.applyCommit(g.pending.ac, g.priv.Leaf, g.pending)
	if err != nil {
		return err
	}
	*g = *next
	return nil
}

// PendingExport is Export of the epoch our pending commit creates, before
// the commit is merged: a committer can hand the delivery service a value
// bound to the next epoch (qpc's commit sequencer keys) along with the
// commit that makes it. The group itself does not change.
func (g *Group) PendingExport(label string, context []byte, length int) ([]byte, error) {
	if g.pending == nil {
		return nil, fmt.Errorf("%w: no pending commit", ErrPendingCommit)
	}
	next, removed, err := g.applyCommit(g.pending.ac, g.priv.Leaf, g.pending)
	if err != nil {
		return nil, err
	}
	if removed {
		// Commit refuses a commit of our own removal, so this is only
		// reachable through a corrupt pending state.
		return nil, fmt.Errorf("%w: the pending commit removes us", ErrPendingCommit)
	}
	return next.Export(label, context, length)
}

// DiscardPendingCommit drops our pending commit, when another member's
// commit won the epoch or sending failed. Cached proposals stay.
func (g *Group) DiscardPendingCommit() { g.pending = nil }
