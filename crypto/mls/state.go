package mls

import (
	"bytes"
	"fmt"
	"slices"
)

// Group state serialization. The layout, in the TLS presentation language
// of the wire structures, is:
//
//	opaque magic[4] = "QMLS";
//	uint16 version;                    // stateVersion
//	uint16 cipher_suite;
//	GroupContext context;
//	optional<Node> ratchet_tree<V>;    // as in the ratchet_tree extension
//	TreePrivateKeyState private_tree;  // leaf, then {node, optional path_secret, priv, pub}<V>
//	opaque signature_priv<V>;
//	opaque epoch_secrets<V>[12];       // EpochSecrets fields in declaration order
//	opaque interim_transcript_hash<V>;
//	opaque confirmation_tag<V>;
//	SecretTreeState secret_tree;
//	CachedProposal proposals<V>;       // {ref, Proposal, sender, enc_priv}
//	optional<PendingCommit> pending;   // {AuthenticatedContent, private_tree, optional commit_secret}
//	PastEpoch past<V>;                 // {GroupContext, sender_data_secret, resumption_psk, SecretTreeState,
//	                                   //  {signature_key, Credential if the key is not empty}<V>}
//	uint8 removed;
//
// SecretTreeState is the number of leaves, the node secrets not yet
// consumed (optional<opaque> per node), and for each leaf whose ratchets
// exist its two ratchets: {secret, next generation, skipped keys {generation, key, nonce}<V>}.
// Secrets already deleted (consumed message keys, tree secrets above
// derived children, epochs beyond the retention window) are not stored,
// because they do not exist any more.

// stateMagic starts every serialized group state.
var stateMagic = []byte("QMLS")

// Group state versions: stateVersion is written; older ones below
// minStateVersion cannot be read.
const (
	stateVersion    = 1
	minStateVersion = 1
)

// MarshalState serializes the group for persistence. The result holds
// private keys and secrets: store it encrypted.
func (g *Group) MarshalState() ([]byte, error) {
	var w writer
	w.raw(stateMagic)
	w.u16(stateVersion)
	w.u16(uint16(g.cs.ID()))
	g.ctx.encode(&w)
	g.tree.encode(&w)
	g.priv.encodeState(&w)
	w.opaque(g.sigPriv)
	for _, s := range g.secrets.fields() {
		w.opaque(*s)
	}
	w.opaque(g.interim)
	w.opaque(g.confirmationTag)
	g.st.encodeState(&w)
	w.vector(func(w *writer) {
		for i := range g.proposals {
			cp := &g.proposals[i]
			w.opaque(cp.ref)
			cp.proposal.encode(w)
			w.u32(uint32(cp.sender))
			w.opaque(cp.encPriv)
		}
	})
	w.boolean(g.pending != nil)
	if g.pending != nil {
		w.opaque(g.pending.content)
		g.pending.priv.encodeState(&w)
		w.opaque(g.pending.commitSecret)
	}
	w.vector(func(w *writer) {
		for _, p := range g.past {
			p.ctx.encode(w)
			w.opaque(p.senderDataSecret)
			w.opaque(p.resumptionPSK)
			p.st.encodeState(w)
			w.vector(func(w *writer) {
				for i, k := range p.sigKeys {
					w.opaque(k)
					if k != nil {
						p.creds[i].encode(w)
					}
				}
			})
		}
	})
	w.boolean(g.removed)
	return w.b, w.err
}

// fields lists the epoch secrets in a fixed order for serialization.
func (s *EpochSecrets) fields() []*[]byte {
	return []*[]byte{&s.JoinerSecret, &s.WelcomeSecret, &s.EpochSecret, &s.SenderDataSecret, &s.EncryptionSecret,
		&s.ExporterSecret, &s.ExternalSecret, &s.ConfirmationKey, &s.MembershipKey, &s.ResumptionPSK,
		&s.EpochAuthenticator, &s.InitSecret}
}

// LoadGroup restores a group serialized by MarshalState, under the local
// policy cfg (past epochs beyond cfg's retention are dropped). It rejects
// malformed or inconsistent input with ErrState, and versions it cannot
// read with ErrStateVersion or ErrStateTooOld.
func LoadGroup(data []byte, cfg *Config) (*Group, error) {
	r := reader{b: data}
	if !bytes.Equal(r.take(len(stateMagic)), stateMagic) {
		return nil, fmt.Errorf("%w: not a group state", ErrState)
	}
	switch v := r.u16(); {
	case r.err != nil:
		return nil, fmt.Errorf("%w: %w", ErrState, r.err)
	case v > stateVersion:
		return nil, fmt.Errorf("%w: %d (this build reads %d)", ErrStateVersion, v, stateVersion)
	case v < minStateVersion:
		return nil, fmt.Errorf("%w: %d (this build reads %d to %d)", ErrStateTooOld, v, minStateVersion, stateVersion)
	}
	cs, err := Suite(CipherSuiteID(r.u16()))
	if r.err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, r.err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	g := &Group{cs: cs, cfg: cfg.withDefaults(), tree: new(RatchetTree)}
	g.ctx.decode(&r)
	g.tree.decode(&r)
	g.priv = decodePrivState(&r)
	g.sigPriv = r.opaque()
	for _, s := range g.secrets.fields() {
		*s = r.opaque()
	}
	g.interim = r.opaque()
	g.confirmationTag = r.opaque()
	g.st = decodeSecretTreeState(&r, cs)
	r.vector(func(r *reader) {
		var cp cachedProposal
		cp.ref = r.opaque()
		cp.proposal.decode(r)
		cp.sender = LeafIndex(r.u32())
		cp.encPriv = r.opaque()
		if len(cp.encPriv) == 0 {
			cp.encPriv = nil
		}
		g.proposals = append(g.proposals, cp)
	})
	var pendingContent []byte
	if r.boolean() {
		g.pending = &pendingCommit{}
		pendingContent = r.opaque()
		g.pending.priv = decodePrivState(&r)
		g.pending.commitSecret = r.opaque()
		if len(g.pending.commitSecret) == 0 {
			g.pending.commitSecret = nil
		}
	}
	r.vector(func(r *reader) {
		p := &pastEpoch{}
		p.ctx.decode(r)
		p.senderDataSecret = r.opaque()
		p.resumptionPSK = r.opaque()
		p.st = decodeSecretTreeState(r, cs)
		r.vector(func(r *reader) {
			k := r.opaque()
			var c Credential
			if len(k) == 0 {
				k = nil
			} else {
				c.decode(r)
			}
			p.sigKeys = append(p.sigKeys, k)
			p.creds = append(p.creds, c)
		})
		g.past = append(g.past, p)
	})
	g.removed = r.boolean()
	if err := r.finish(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	if g.pending != nil {
		g.pending.content = pendingContent
		g.pending.ac = new(AuthenticatedContent)
		if err := Unmarshal(pendingContent, g.pending.ac); err != nil {
			return nil, fmt.Errorf("%w: pending commit: %w", ErrState, err)
		}
	}
	if err := g.checkLoaded(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	for _, st := range append([]*SecretTree{g.st}, pastTrees(g.past)...) {
		st.MaxForward = g.cfg.MaxForwardRatchet
		st.Window = g.cfg.OutOfOrderWindow
	}
	if extra := len(g.past) - g.cfg.PastEpochs; extra > 0 {
		g.past = slices.Clone(g.past[extra:])
	}
	return g, nil
}

func pastTrees(past []*pastEpoch) []*SecretTree {
	out := make([]*SecretTree, len(past))
	for i, p := range past {
		out[i] = p.st
	}
	return out
}

// checkLoaded verifies the consistency of a decoded state, so that no later
// operation can fail on impossible values.
func (g *Group) checkLoaded() error {
	cs := g.cs
	if g.ctx.CipherSuite != cs.ID() || g.ctx.Version != ProtocolVersionMLS10 {
		return fmt.Errorf("group context of another suite or version")
	}
	th, err := g.tree.TreeHash(cs)
	if err != nil {
		return err
	}
	if !bytes.Equal(th, g.ctx.TreeHash) {
		return fmt.Errorf("tree does not match the group context")
	}
	if g.tree.Leaf(g.priv.Leaf) == nil {
		return fmt.Errorf("own leaf %d is blank", g.priv.Leaf)
	}
	if _, err := cs.SignaturePublicKey(g.sigPriv); err != nil {
		return err
	}
	for _, s := range g.secrets.fields() {
		if len(*s) != cs.HashLen() {
			return fmt.Errorf("epoch secret of %d bytes", len(*s))
		}
	}
	if len(g.interim) != cs.HashLen() || len(g.confirmationTag) != cs.HashLen() {
		return fmt.Errorf("transcript state of the wrong length")
	}
	if g.st.leaves != g.tree.LeafCount() {
		return fmt.Errorf("secret tree of %d leaves for a tree of %d", g.st.leaves, g.tree.LeafCount())
	}
	for _, cp := range g.proposals {
		if uint32(cp.sender) >= g.tree.LeafCount() {
			return fmt.Errorf("cached proposal from leaf %d outside the tree", cp.sender)
		}
	}
	if g.pending != nil {
		c := &g.pending.ac.Content
		if c.ContentType != ContentCommit || c.Sender.Type != SenderMember || LeafIndex(c.Sender.Index) != g.priv.Leaf {
			return fmt.Errorf("pending commit is not our own commit")
		}
		if g.pending.priv.Leaf != g.priv.Leaf {
			return fmt.Errorf("pending commit for another leaf")
		}
	}
	for _, p := range g.past {
		if p.ctx.Epoch >= g.ctx.Epoch || len(p.senderDataSecret) != cs.HashLen() {
			return fmt.Errorf("inconsistent past epoch %d", p.ctx.Epoch)
		}
		if uint64(len(p.sigKeys)) < uint64(p.st.leaves) {
			return fmt.Errorf("past epoch %d lacks signature keys", p.ctx.Epoch)
		}
	}
	return nil
}

func (k *TreePrivateKey) encodeState(w *writer) {
	w.u32(uint32(k.Leaf))
	nodes := make([]NodeIndex, 0, len(k.keys))
	for x := range k.keys {
		nodes = append(nodes, x)
	}
	slices.Sort(nodes)
	w.vector(func(w *writer) {
		for _, x := range nodes {
			nk := k.keys[x]
			w.u32(uint32(x))
			w.boolean(nk.pathSecret != nil)
			if nk.pathSecret != nil {
				w.opaque(nk.pathSecret)
			}
			w.opaque(nk.priv)
			w.opaque(nk.pub)
		}
	})
}

func decodePrivState(r *reader) *TreePrivateKey {
	k := &TreePrivateKey{Leaf: LeafIndex(r.u32()), keys: map[NodeIndex]nodeKey{}}
	first, last := true, NodeIndex(0)
	r.vector(func(r *reader) {
		x := NodeIndex(r.u32())
		if r.err == nil && !first && x <= last {
			r.failf("%w: private nodes out of order", ErrState)
		}
		first, last = false, x
		var nk nodeKey
		if r.boolean() {
			nk.pathSecret = r.opaque()
		}
		nk.priv = r.opaque()
		nk.pub = r.opaque()
		if _, dup := k.keys[x]; dup {
			r.failf("%w: node %d twice", ErrState, x)
		}
		k.keys[x] = nk
	})
	return k
}

func (t *SecretTree) encodeState(w *writer) {
	w.u32(t.leaves)
	w.vector(func(w *writer) {
		for _, s := range t.secrets {
			w.boolean(s != nil)
			if s != nil {
				w.opaque(s)
			}
		}
	})
	leaves := make([]LeafIndex, 0, len(t.ratchets))
	for l := range t.ratchets {
		leaves = append(leaves, l)
	}
	slices.Sort(leaves)
	w.vector(func(w *writer) {
		for _, l := range leaves {
			w.u32(uint32(l))
			for _, h := range t.ratchets[l] {
				w.opaque(h.secret)
				w.u64(h.next)
				w.vector(func(w *writer) {
					for _, g := range h.order {
						kn, ok := h.skipped[g]
						if !ok {
							continue
						}
						w.u32(g)
						w.opaque(kn.key)
						w.opaque(kn.nonce)
					}
				})
			}
		}
	})
}

func decodeSecretTreeState(r *reader, cs CipherSuite) *SecretTree {
	t := &SecretTree{cs: cs, leaves: r.u32(), ratchets: map[LeafIndex]*[2]*hashRatchet{}}
	if r.err == nil && (t.leaves == 0 || t.leaves&(t.leaves-1) != 0 || t.leaves > 1<<30) {
		r.failf("%w: secret tree of %d leaves", ErrState, t.leaves)
	}
	r.vector(func(r *reader) {
		if r.boolean() {
			t.secrets = append(t.secrets, r.opaque())
		} else {
			t.secrets = append(t.secrets, nil)
		}
	})
	if r.err == nil && uint64(len(t.secrets)) != uint64(NodeWidth(t.leaves)) {
		r.failf("%w: secret tree of %d nodes for %d leaves", ErrState, len(t.secrets), t.leaves)
	}
	first, last := true, LeafIndex(0)
	r.vector(func(r *reader) {
		l := LeafIndex(r.u32())
		if r.err == nil && !first && l <= last {
			r.failf("%w: ratchets out of order", ErrState)
		}
		first, last = false, l
		if r.err == nil && uint32(l) >= t.leaves {
			r.failf("%w: ratchet of leaf %d outside the secret tree", ErrState, l)
		}
		if _, dup := t.ratchets[l]; dup {
			r.failf("%w: ratchets of leaf %d twice", ErrState, l)
		}
		pair := &[2]*hashRatchet{}
		for i := range pair {
			h := &hashRatchet{cs: cs, secret: r.opaque(), next: r.u64(), skipped: map[uint32]keyNonce{}}
			r.vector(func(r *reader) {
				g := r.u32()
				kn := keyNonce{key: r.opaque(), nonce: r.opaque()}
				if r.err != nil {
					return
				}
				if len(kn.key) != cs.AEADKeyLen() || len(kn.nonce) != cs.AEADNonceLen() || uint64(g) >= h.next {
					r.failf("%w: skipped key of generation %d", ErrState, g)
					return
				}
				if _, dup := h.skipped[g]; dup {
					r.failf("%w: skipped generation %d twice", ErrState, g)
				}
				h.skipped[g] = kn
				h.order = append(h.order, g)
			})
			if r.err == nil && len(h.secret) != cs.HashLen() {
				r.failf("%w: ratchet secret of %d bytes", ErrState, len(h.secret))
			}
			pair[i] = h
		}
		t.ratchets[l] = pair
	})
	return t
}
