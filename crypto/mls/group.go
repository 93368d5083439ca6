package mls

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"slices"
	"time"
)

// DefaultPastEpochs is how many past epochs a group keeps secrets for when
// Config.PastEpochs is zero.
const DefaultPastEpochs = 3

// Config holds a group's local policy. It is not part of the persisted
// state: pass the same Config to LoadGroup. The zero value (or nil) gives the
// defaults.
type Config struct {
	// PastEpochs is how many epochs before the current one keep their
	// message secrets, so that late application messages can still be read.
	// Zero means DefaultPastEpochs; a negative value keeps none.
	PastEpochs int
	// MaxForwardRatchet bounds how far ahead of a sender's ratchet a message
	// generation may lie. Zero means DefaultMaxForwardRatchet.
	MaxForwardRatchet uint32
	// OutOfOrderWindow is how many skipped message keys each sender's
	// ratchet keeps. Zero means DefaultOutOfOrderWindow; negative keeps none.
	OutOfOrderWindow int
	// Padding is the number of zero bytes appended to the plaintext of each
	// PrivateMessage.
	Padding int
	// OmitRatchetTree leaves the ratchet_tree extension out of the
	// GroupInfo of Welcome messages; joiners then need the tree separately.
	OmitRatchetTree bool
	// Now returns the current time for lifetime checks; nil means time.Now.
	Now func() time.Time
	// CredentialPolicy decides whether a credential with its signature key is
	// acceptable. Nil accepts Basic credentials with a non-empty identity.
	CredentialPolicy func(c *Credential, signatureKey []byte) error
	// PSKs holds external pre-shared keys by PSK ID.
	PSKs map[string][]byte
	// PrivateHandshake sends proposals and commits as PrivateMessages, so
	// that the delivery service does not see their content. Our own commit
	// is still recognized when the delivery service echoes it.
	PrivateHandshake bool
	// Policy, when set, is asked about every proposal the group caches,
	// commits or applies (see ProposalPolicy); RolesPolicy enforces
	// group roles. It is local policy like the rest of Config: every
	// member must run the same one for the group to stay in step.
	Policy ProposalPolicy
}

// withDefaults returns a copy of c (which may be nil) with zero fields set to defaults.
func (c *Config) withDefaults() Config {
	var out Config
	if c != nil {
		out = *c
	}
	switch {
	case out.PastEpochs == 0:
		out.PastEpochs = DefaultPastEpochs
	case out.PastEpochs < 0:
		out.PastEpochs = 0
	}
	if out.MaxForwardRatchet == 0 {
		out.MaxForwardRatchet = DefaultMaxForwardRatchet
	}
	switch {
	case out.OutOfOrderWindow == 0:
		out.OutOfOrderWindow = DefaultOutOfOrderWindow
	case out.OutOfOrderWindow < 0:
		out.OutOfOrderWindow = 0
	}
	if out.Padding < 0 {
		out.Padding = 0
	}
	if out.Now == nil {
		out.Now = time.Now
	}
	if out.CredentialPolicy == nil {
		out.CredentialPolicy = basicCredentialOK
	}
	return out
}

// Group is one member's state of an MLS group (RFC 9420). Methods that
// change the state either succeed completely or leave it as it was. A Group
// is not safe for concurrent use.
type Group struct {
	cs  CipherSuite
	cfg Config

	ctx     GroupContext
	tree    *RatchetTree
	priv    *TreePrivateKey
	sigPriv []byte
	secrets EpochSecrets
	// interim is the interim transcript hash of the current epoch.
	interim []byte
	// confirmationTag is the tag of the commit that started the epoch.
	confirmationTag []byte
	st              *SecretTree

	proposals []cachedProposal
	pending   *pendingCommit
	past      []*pastEpoch
	// removed is set once a commit removed this member.
	removed bool
}

// cachedProposal is a proposal received (or sent) in the current epoch,
// waiting for a commit to reference it.
type cachedProposal struct {
	ref      []byte
	proposal Proposal
	sender   LeafIndex
	// encPriv is the new leaf private key of our own Update proposals.
	encPriv []byte
}

// pastEpoch keeps what is needed to read late application messages of an
// earlier epoch, and its resumption PSK.
type pastEpoch struct {
	ctx              GroupContext
	senderDataSecret []byte
	resumptionPSK    []byte
	st               *SecretTree
	// sigKeys and creds hold each leaf's signature key and credential in
	// that epoch (nil and zero if blank).
	sigKeys [][]byte
	creds   []Credential
}

// Member is one entry of a group's roster.
type Member struct {
	// Leaf is the member's leaf index, which names it in Remove proposals.
	Leaf LeafIndex
	// Credential is the member's credential.
	Credential Credential
	// SignatureKey is the member's signature public key.
	SignatureKey []byte
}

// NewGroup creates a one-member group with the given ID (RFC 9420 §11). The
// creator's leaf and keys come from a KeyPackageBundle that was never
// published. ext are the group context extensions.
func NewGroup(cs CipherSuite, groupID []byte, creator *KeyPackageBundle, ext []Extension, cfg *Config) (*Group, error) {
	c := cfg.withDefaults()
	if len(groupID) == 0 {
		return nil, fmt.Errorf("%w: empty group id", ErrWrongGroup)
	}
	if err := creator.KeyPackage.validate(cs, c.Now(), c.CredentialPolicy); err != nil {
		return nil, err
	}
	if ext == nil {
		ext = []Extension{}
	}
	leaf := creator.KeyPackage.LeafNode
	if err := checkLeafInGroup(NewRatchetTree(&leaf), &leaf, 0, ext); err != nil {
		return nil, err
	}
	tree := NewRatchetTree(&leaf)
	th, err := tree.TreeHash(cs)
	if err != nil {
		return nil, err
	}
	priv, err := NewTreePrivateKey(cs, 0, creator.EncryptionPriv)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(priv.keys[0].pub, leaf.EncryptionKey) {
		return nil, fmt.Errorf("%w: encryption private key does not match the leaf", ErrInvalidKey)
	}
	g := &Group{
		cs:  cs,
		cfg: c,
		ctx: GroupContext{
			Version: ProtocolVersionMLS10, CipherSuite: cs.ID(), GroupID: slices.Clone(groupID),
			Epoch: 0, TreeHash: th, ConfirmedTranscriptHash: []byte{}, Extensions: slices.Clone(ext),
		},
		tree:    tree,
		priv:    priv,
		sigPriv: slices.Clone(creator.SignaturePriv),
	}
	// A random joiner secret with no PSK gives the random epoch secret of §11.
	joiner := make([]byte, cs.HashLen())
	if _, err := rand.Read(joiner); err != nil {
		return nil, err
	}
	s, err := EpochSecretsFromJoiner(cs, joiner, nil, &g.ctx)
	if err != nil {
		return nil, err
	}
	g.secrets = *s
	g.confirmationTag = ConfirmationTag(cs, s.ConfirmationKey, g.ctx.ConfirmedTranscriptHash)
	if g.interim, err = InterimTranscriptHash(cs, g.ctx.ConfirmedTranscriptHash, g.confirmationTag); err != nil {
		return nil, err
	}
	g.st = g.newSecretTree(s.EncryptionSecret, tree.LeafCount())
	return g, nil
}

func (g *Group) newSecretTree(encryptionSecret []byte, leaves uint32) *SecretTree {
	st := NewSecretTree(g.cs, encryptionSecret, leaves)
	st.MaxForward = g.cfg.MaxForwardRatchet
	st.Window = g.cfg.OutOfOrderWindow
	return st
}

// GroupID returns the group's ID.
func (g *Group) GroupID() []byte { return slices.Clone(g.ctx.GroupID) }

// Epoch returns the current epoch.
func (g *Group) Epoch() uint64 { return g.ctx.Epoch }

// CipherSuite returns the group's cipher suite.
func (g *Group) CipherSuite() CipherSuite { return g.cs }

// Context returns a copy of the current GroupContext.
func (g *Group) Context() GroupContext {
	c := g.ctx
	c.GroupID = slices.Clone(c.GroupID)
	c.TreeHash = slices.Clone(c.TreeHash)
	c.ConfirmedTranscriptHash = slices.Clone(c.ConfirmedTranscriptHash)
	c.Extensions = slices.Clone(c.Extensions)
	return c
}

// OwnLeaf returns this member's leaf index.
func (g *Group) OwnLeaf() LeafIndex { return g.priv.Leaf }

// Active reports whether this member is still in the group: false once a
// commit removed it.
func (g *Group) Active() bool { return !g.removed }

// EpochAuthenticator returns the epoch authenticator of the current epoch
// (RFC 9420 §8.7); members of the same epoch hold the same value.
func (g *Group) EpochAuthenticator() []byte { return slices.Clone(g.secrets.EpochAuthenticator) }

// Export derives a secret for the application from the current epoch (the
// MLS-Exporter of RFC 9420 §8.5).
func (g *Group) Export(label string, context []byte, length int) ([]byte, error) {
	return g.secrets.Export(g.cs, label, context, length)
}

// Roster lists the current members in leaf order.
func (g *Group) Roster() []Member {
	var out []Member
	for _, l := range g.tree.Members() {
		leaf := g.tree.Leaf(l)
		out = append(out, Member{Leaf: l, Credential: cloneCredential(leaf.Credential), SignatureKey: slices.Clone(leaf.SignatureKey)})
	}
	return out
}

func cloneCredential(c Credential) Credential {
	out := Credential{Type: c.Type, Identity: slices.Clone(c.Identity)}
	for _, cert := range c.Certificates {
		out.Certificates = append(out.Certificates, slices.Clone(cert))
	}
	return out
}

// RatchetTree returns the encoded ratchet tree (the value of a ratchet_tree
// extension), for joiners whose Welcome does not carry it.
func (g *Group) RatchetTree() ([]byte, error) { return Marshal(g.tree) }

// PendingProposals returns the number of proposals waiting for a commit.
func (g *Group) PendingProposals() int { return len(g.proposals) }

// PendingRemoval is a Remove proposal waiting for a commit: Sender
// proposed that Removed leave the group.
type PendingRemoval struct {
	Sender, Removed LeafIndex
}

// PendingRemovals returns the Remove proposals waiting for a commit, in
// the order they arrived, so that a member can tell a member who left (who
// proposed its own removal) from one who was removed by another.
func (g *Group) PendingRemovals() []PendingRemoval {
	var out []PendingRemoval
	for _, p := range g.proposals {
		if p.proposal.Type == ProposalRemove {
			out = append(out, PendingRemoval{Sender: p.sender, Removed: p.proposal.Remove})
		}
	}
	return out
}

// HasPendingCommit reports whether a commit created by this member awaits
// MergePendingCommit or DiscardPendingCommit.
func (g *Group) HasPendingCommit() bool { return g.pending != nil }

// clone returns a copy of g that can be modified without affecting g. The
// tree shares its immutable nodes; secret trees are shared and must be
// replaced, not modified, in the copy (see installEpoch).
func (g *Group) clone() *Group {
	c := *g
	c.tree = g.tree.Clone()
	c.priv = g.priv.Clone()
	c.proposals = slices.Clone(g.proposals)
	c.past = slices.Clone(g.past)
	return &c
}

// signKeysOf returns the signature key of every leaf (nil for blanks).
func signKeysOf(t *RatchetTree) [][]byte {
	keys := make([][]byte, t.LeafCount())
	for _, l := range t.Members() {
		keys[l] = t.Leaf(l).SignatureKey
	}
	return keys
}

// credentialsOf returns the credential of every leaf (zero for blanks).
func credentialsOf(t *RatchetTree) []Credential {
	creds := make([]Credential, t.LeafCount())
	for _, l := range t.Members() {
		creds[l] = t.Leaf(l).Credential
	}
	return creds
}

// Encrypt protects application data as a PrivateMessage of the current
// epoch and returns the encoded MLSMessage. aad is sent authenticated but
// unencrypted.
func (g *Group) Encrypt(plaintext, aad []byte) ([]byte, error) {
	if g.removed {
		return nil, ErrInactive
	}
	if g.pending != nil {
		// Application data must not be sent while our own commit may
		// change the epoch (RFC 9420 §12.4).
		return nil, fmt.Errorf("%w: merge or discard it before sending", ErrPendingCommit)
	}
	fc := FramedContent{
		GroupID: g.ctx.GroupID, Epoch: g.ctx.Epoch,
		Sender:            Sender{Type: SenderMember, Index: uint32(g.priv.Leaf)},
		AuthenticatedData: nonNil(aad), ContentType: ContentApplication, ApplicationData: nonNil(plaintext),
	}
	return g.protect(fc)
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// protect signs fc for a PrivateMessage and encrypts it with the current
// secret tree.
func (g *Group) protect(fc FramedContent) ([]byte, error) {
	ac, err := SignContent(g.cs, WireFormatPrivateMessage, fc, g.sigPriv, &g.ctx)
	if err != nil {
		return nil, err
	}
	return g.frame(ac)
}

// MessageKind says what a processed message carried.
type MessageKind int

// Kinds of processed messages.
const (
	// KindApplication is application data.
	KindApplication MessageKind = iota + 1
	// KindProposal is a proposal, now cached until a commit references it.
	KindProposal
	// KindCommit is a commit, now applied: the group is in a new epoch.
	KindCommit
)

// Received is the result of ProcessMessage.
type Received struct {
	Kind MessageKind
	// Epoch is the epoch the message was sent in.
	Epoch uint64
	// Sender is the sending member's leaf and Credential its credential.
	Sender     LeafIndex
	Credential Credential
	// AuthenticatedData is the message's unencrypted authenticated data.
	AuthenticatedData []byte
	// ApplicationData is set for KindApplication.
	ApplicationData []byte
	// Proposal is set for KindProposal.
	Proposal *Proposal
	// Removed is set for a commit that removed this member; the group is
	// then inactive.
	Removed bool
	// OwnCommit is set when the commit was this member's pending commit,
	// echoed back by the delivery service and now merged.
	OwnCommit bool
}

// ProcessMessage processes an encoded MLSMessage from the group: an
// application message (current or retained past epoch), a proposal, or a
// commit (RFC 9420 §6, §12). A commit from another member that wins the
// epoch discards our pending commit; our own commit echoed back merges it.
// On error the group is unchanged.
func (g *Group) ProcessMessage(data []byte) (*Received, error) {
	if g.removed {
		return nil, ErrInactive
	}
	if g.pending != nil && bytes.Equal(data, g.pending.message) {
		// Our own commit, echoed: a PrivateMessage one we could not decrypt.
		ac := g.pending.ac
		if err := g.MergePendingCommit(); err != nil {
			return nil, err
		}
		return &Received{Kind: KindCommit, Epoch: ac.Content.Epoch, Sender: g.priv.Leaf,
			Credential: cloneCredential(g.tree.Leaf(g.priv.Leaf).Credential), AuthenticatedData: ac.Content.AuthenticatedData,
			OwnCommit: true}, nil
	}
	var m MLSMessage
	if err := Unmarshal(data, &m); err != nil {
		return nil, err
	}
	switch m.WireFormat {
	case WireFormatPublicMessage:
		return g.processPublic(m.PublicMessage)
	case WireFormatPrivateMessage:
		return g.processPrivate(m.PrivateMessage)
	default:
		return nil, fmt.Errorf("%w: %d in a group message", ErrWireFormat, m.WireFormat)
	}
}

// memberSender checks that s names a member of a tree with signature keys keys.
func memberSender(s Sender, keys [][]byte) (LeafIndex, error) {
	if s.Type != SenderMember {
		return 0, fmt.Errorf("%w: %d (only members are supported)", ErrSenderType, s.Type)
	}
	if uint64(s.Index) >= uint64(len(keys)) || keys[s.Index] == nil {
		return 0, fmt.Errorf("%w: leaf %d", ErrNotMember, s.Index)
	}
	return LeafIndex(s.Index), nil
}

func (g *Group) processPublic(pm *PublicMessage) (*Received, error) {
	if !bytes.Equal(pm.Content.GroupID, g.ctx.GroupID) {
		return nil, ErrWrongGroup
	}
	if pm.Content.Epoch != g.ctx.Epoch {
		return nil, fmt.Errorf("%w: %d, current %d", ErrWrongEpoch, pm.Content.Epoch, g.ctx.Epoch)
	}
	if pm.Content.ContentType == ContentApplication {
		return nil, fmt.Errorf("%w: application data in a PublicMessage", ErrContentType)
	}
	sender, err := memberSender(pm.Content.Sender, signKeysOf(g.tree))
	if err != nil {
		return nil, err
	}
	ac, err := UnprotectPublic(g.cs, pm, g.secrets.MembershipKey, &g.ctx)
	if err != nil {
		return nil, err
	}
	if err := ac.VerifySignature(g.cs, g.tree.Leaf(sender).SignatureKey, &g.ctx); err != nil {
		return nil, err
	}
	return g.processHandshake(ac, sender)
}

// peekSender decrypts the sender data of pm to learn the sending leaf.
func peekSender(cs CipherSuite, pm *PrivateMessage, senderDataSecret []byte) (LeafIndex, error) {
	key, nonce, err := SenderDataKeyNonce(cs, senderDataSecret, pm.Ciphertext)
	if err != nil {
		return 0, err
	}
	aad, err := senderDataAAD(pm.GroupID, pm.Epoch, pm.ContentType)
	if err != nil {
		return 0, err
	}
	aead, err := cs.AEAD(key)
	if err != nil {
		return 0, err
	}
	plain, err := aead.Open(nil, nonce, pm.EncryptedSenderData, aad)
	if err != nil {
		return 0, fmt.Errorf("%w: sender data", ErrDecryption)
	}
	var sd senderData
	if err := Unmarshal(plain, &sd); err != nil {
		return 0, fmt.Errorf("sender data: %w", err)
	}
	return sd.leaf, nil
}

func (g *Group) processPrivate(pm *PrivateMessage) (*Received, error) {
	if !bytes.Equal(pm.GroupID, g.ctx.GroupID) {
		return nil, ErrWrongGroup
	}
	ctx, sdSecret, st, keys := &g.ctx, g.secrets.SenderDataSecret, g.st, [][]byte(nil)
	var creds []Credential
	switch {
	case pm.Epoch == g.ctx.Epoch:
		keys = signKeysOf(g.tree)
	case pm.Epoch > g.ctx.Epoch:
		return nil, fmt.Errorf("%w: %d, current %d", ErrWrongEpoch, pm.Epoch, g.ctx.Epoch)
	default:
		if pm.ContentType != ContentApplication {
			return nil, fmt.Errorf("%w: handshake message of past epoch %d", ErrWrongEpoch, pm.Epoch)
		}
		i := slices.IndexFunc(g.past, func(p *pastEpoch) bool { return p.ctx.Epoch == pm.Epoch })
		if i < 0 {
			return nil, fmt.Errorf("%w: epoch %d, current %d, %d kept", ErrEpochTooOld, pm.Epoch, g.ctx.Epoch, len(g.past))
		}
		p := g.past[i]
		ctx, sdSecret, st, keys, creds = &p.ctx, p.senderDataSecret, p.st, p.sigKeys, p.creds
	}
	leaf, err := peekSender(g.cs, pm, sdSecret)
	if err != nil {
		return nil, err
	}
	if leaf == g.priv.Leaf {
		return nil, ErrOwnMessage
	}
	if _, err := memberSender(Sender{Type: SenderMember, Index: uint32(leaf)}, keys); err != nil {
		return nil, err
	}
	restore, err := st.snapshot(leaf, RatchetFor(pm.ContentType))
	if err != nil {
		return nil, err
	}
	ac, err := UnprotectPrivate(g.cs, pm, sdSecret, st, ctx)
	if err != nil {
		restore()
		return nil, err
	}
	if err := ac.VerifySignature(g.cs, keys[leaf], ctx); err != nil {
		restore()
		return nil, err
	}
	if ac.Content.ContentType == ContentApplication {
		r := &Received{Kind: KindApplication, Epoch: pm.Epoch, Sender: leaf,
			AuthenticatedData: ac.Content.AuthenticatedData, ApplicationData: ac.Content.ApplicationData}
		if pm.Epoch == g.ctx.Epoch {
			r.Credential = cloneCredential(g.tree.Leaf(leaf).Credential)
		} else {
			r.Credential = cloneCredential(creds[leaf])
		}
		return r, nil
	}
	r, err := g.processHandshake(ac, leaf)
	if err != nil {
		restore()
		return nil, err
	}
	return r, nil
}

// snapshot makes sure the ratchet of leaf exists and returns a function that
// puts it back as it is now, so that a message that fails after its key was
// taken does not consume the key.
func (t *SecretTree) snapshot(leaf LeafIndex, rt RatchetType) (func(), error) {
	r, err := t.ratchet(leaf, rt)
	if err != nil {
		return nil, err
	}
	saved := hashRatchet{cs: r.cs, secret: r.secret, next: r.next, skipped: make(map[uint32]keyNonce, len(r.skipped)), order: slices.Clone(r.order)}
	for k, v := range r.skipped {
		saved.skipped[k] = v
	}
	return func() { *r = saved }, nil
}

// processHandshake handles authenticated proposal and commit content of the
// current epoch from member sender.
func (g *Group) processHandshake(ac *AuthenticatedContent, sender LeafIndex) (*Received, error) {
	base := Received{Epoch: ac.Content.Epoch, Sender: sender, AuthenticatedData: ac.Content.AuthenticatedData,
		Credential: cloneCredential(g.tree.Leaf(sender).Credential)}
	switch ac.Content.ContentType {
	case ContentProposal:
		if err := g.receiveProposal(ac, sender); err != nil {
			return nil, err
		}
		base.Kind = KindProposal
		base.Proposal = ac.Content.Proposal
		return &base, nil
	case ContentCommit:
		var own *pendingCommit
		if sender == g.priv.Leaf {
			if g.pending == nil || !g.pending.matches(ac) {
				return nil, fmt.Errorf("%w: commit from our own leaf that we did not create", ErrOwnMessage)
			}
			own = g.pending
		}
		next, removed, err := g.applyCommit(ac, sender, own)
		if err != nil {
			return nil, err
		}
		*g = *next
		base.Kind = KindCommit
		base.Removed = removed
		base.OwnCommit = own != nil
		return &base, nil
	default:
		return nil, fmt.Errorf("%w: %d", ErrContentType, ac.Content.ContentType)
	}
}

// now returns the current time per the configuration.
func (g *Group) now() time.Time { return g.cfg.Now() }
