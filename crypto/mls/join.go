package mls

import (
	"bytes"
	"fmt"
	"slices"
)

// JoinGroup joins a group from an encoded Welcome MLSMessage addressed to
// the KeyPackage of kpb (RFC 9420 §12.4.3.1). ratchetTree is the encoded
// ratchet tree when the Welcome's GroupInfo does not carry a ratchet_tree
// extension; nil otherwise. External PSKs come from cfg.PSKs.
func JoinGroup(welcome []byte, kpb *KeyPackageBundle, ratchetTree []byte, cfg *Config) (*Group, error) {
	var m MLSMessage
	if err := Unmarshal(welcome, &m); err != nil {
		return nil, err
	}
	if m.WireFormat != WireFormatWelcome {
		return nil, fmt.Errorf("%w: %d instead of a Welcome", ErrWireFormat, m.WireFormat)
	}
	return joinWelcome(m.Welcome, kpb, ratchetTree, cfg)
}

func joinWelcome(w *Welcome, kpb *KeyPackageBundle, ratchetTree []byte, cfg *Config) (*Group, error) {
	c := cfg.withDefaults()
	cs, err := Suite(w.CipherSuite)
	if err != nil {
		return nil, err
	}
	kp := &kpb.KeyPackage
	if kp.CipherSuite != cs.ID() {
		return nil, fmt.Errorf("%w: welcome for suite 0x%04x, key package for 0x%04x", ErrWelcome, uint16(cs.ID()), uint16(kp.CipherSuite))
	}
	ref, err := kp.Ref(cs)
	if err != nil {
		return nil, err
	}
	gs, err := w.DecryptGroupSecrets(cs, ref, kpb.InitPriv)
	if err != nil {
		return nil, err
	}
	// The group is not known yet; PSKs of the Welcome can only be external.
	g := &Group{cs: cs, cfg: c}
	var pskSecret []byte
	if len(gs.PSKs) > 0 {
		list := make([]PSKWithSecret, len(gs.PSKs))
		for i, id := range gs.PSKs {
			if id.Type != PSKExternal {
				return nil, fmt.Errorf("%w: resumption PSK in a Welcome", ErrUnsupported)
			}
			s, ok := c.PSKs[string(id.PSKID)]
			if !ok {
				return nil, fmt.Errorf("%w: external %x", ErrUnknownPSK, id.PSKID)
			}
			list[i] = PSKWithSecret{ID: id, Secret: s}
		}
		if pskSecret, err = PSKSecret(cs, list); err != nil {
			return nil, err
		}
	}
	welcomeSecret, err := WelcomeSecret(cs, gs.JoinerSecret, pskSecret)
	if err != nil {
		return nil, err
	}
	gi, err := DecryptGroupInfo(cs, welcomeSecret, w.EncryptedGroupInfo)
	if err != nil {
		return nil, err
	}
	gc := &gi.GroupContext
	if gc.Version != ProtocolVersionMLS10 || gc.CipherSuite != cs.ID() {
		return nil, fmt.Errorf("%w: group of version %d, suite 0x%04x", ErrWelcome, gc.Version, uint16(gc.CipherSuite))
	}
	tree, err := welcomeTree(gi, ratchetTree)
	if err != nil {
		return nil, err
	}
	signer := tree.Leaf(gi.Signer)
	if signer == nil {
		return nil, fmt.Errorf("%w: GroupInfo signer %d is not a member", ErrWelcome, gi.Signer)
	}
	if err := gi.VerifySignature(cs, signer.SignatureKey); err != nil {
		return nil, fmt.Errorf("group info: %w", err)
	}
	th, err := tree.TreeHash(cs)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(th, gc.TreeHash) {
		return nil, fmt.Errorf("%w: ratchet tree does not match the group context", ErrTreeHash)
	}
	if err := tree.Validate(cs, gc.GroupID); err != nil {
		return nil, err
	}
	for _, l := range tree.Members() {
		leaf := tree.Leaf(l)
		if err := c.CredentialPolicy(&leaf.Credential, leaf.SignatureKey); err != nil {
			return nil, fmt.Errorf("leaf %d: %w", l, err)
		}
		if err := checkLeafInGroup(tree, leaf, l, gc.Extensions); err != nil {
			return nil, err
		}
	}
	want, err := Marshal(&kp.LeafNode)
	if err != nil {
		return nil, err
	}
	me, found := tree.FindLeaf(func(l *LeafNode) bool {
		b, err := Marshal(l)
		return err == nil && bytes.Equal(b, want)
	})
	if !found {
		return nil, fmt.Errorf("%w: our leaf is not in the tree", ErrWelcome)
	}
	priv, err := NewTreePrivateKey(cs, me, kpb.EncryptionPriv)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(priv.keys[me.Node()].pub, kp.LeafNode.EncryptionKey) {
		return nil, fmt.Errorf("%w: encryption private key does not match the leaf", ErrInvalidKey)
	}
	if gs.PathSecret != nil {
		if _, err := priv.ImplantPathSecret(cs, tree, gi.Signer, gs.PathSecret); err != nil {
			return nil, err
		}
	}
	secrets, err := EpochSecretsFromJoiner(cs, gs.JoinerSecret, pskSecret, gc)
	if err != nil {
		return nil, err
	}
	if err := VerifyConfirmationTag(cs, secrets.ConfirmationKey, gc.ConfirmedTranscriptHash, gi.ConfirmationTag); err != nil {
		return nil, err
	}
	g.ctx = *gc
	g.tree = tree
	g.priv = priv
	g.sigPriv = slices.Clone(kpb.SignaturePriv)
	g.secrets = *secrets
	g.confirmationTag = gi.ConfirmationTag
	if g.interim, err = InterimTranscriptHash(cs, gc.ConfirmedTranscriptHash, gi.ConfirmationTag); err != nil {
		return nil, err
	}
	g.st = g.newSecretTree(secrets.EncryptionSecret, tree.LeafCount())
	priv.ForgetPathSecrets()
	return g, nil
}

// welcomeTree returns the ratchet tree from the GroupInfo's ratchet_tree
// extension, or the one supplied out of band.
func welcomeTree(gi *GroupInfo, supplied []byte) (*RatchetTree, error) {
	data := supplied
	for _, e := range gi.Extensions {
		if e.Type == ExtensionRatchetTree {
			data = e.Data
			break
		}
	}
	if data == nil {
		return nil, fmt.Errorf("%w: no ratchet tree in the Welcome and none supplied", ErrWelcome)
	}
	tree := new(RatchetTree)
	if err := Unmarshal(data, tree); err != nil {
		return nil, fmt.Errorf("ratchet tree: %w", err)
	}
	return tree, nil
}
