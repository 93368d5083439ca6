package mls

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
)

// TreeKEM (RFC 9420 §7.4-7.6): a committer refreshes the keys on its
// filtered direct path and encrypts each new path secret to the resolution
// of the matching copath child; every other member decrypts the one secret
// meant for it and derives the rest, ending in the same commit secret.

// nodeKey is a private key a member holds for one node of the tree.
type nodeKey struct {
	pathSecret []byte // nil for the member's own leaf
	priv, pub  []byte
}

// TreePrivateKey is a member's private view of the ratchet tree: its leaf
// index, its leaf's HPKE private key, and the path secrets and private keys
// of the parent nodes it knows.
type TreePrivateKey struct {
	// Leaf is the member's leaf index.
	Leaf LeafIndex
	keys map[NodeIndex]nodeKey
}

// NewTreePrivateKey returns the private state of the member at leaf whose
// leaf HPKE private key is leafPriv.
func NewTreePrivateKey(cs CipherSuite, leaf LeafIndex, leafPriv []byte) (*TreePrivateKey, error) {
	pub, err := cs.HPKEPublicKey(leafPriv)
	if err != nil {
		return nil, err
	}
	return &TreePrivateKey{Leaf: leaf, keys: map[NodeIndex]nodeKey{
		leaf.Node(): {priv: slices.Clone(leafPriv), pub: pub},
	}}, nil
}

// Clone returns an independent copy.
func (k *TreePrivateKey) Clone() *TreePrivateKey {
	return &TreePrivateKey{Leaf: k.Leaf, keys: maps.Clone(k.keys)}
}

// SetPathSecret records the path secret of parent node x and derives its key pair.
func (k *TreePrivateKey) SetPathSecret(cs CipherSuite, x NodeIndex, pathSecret []byte) error {
	priv, pub, err := nodeKeyPair(cs, pathSecret)
	if err != nil {
		return err
	}
	k.keys[x] = nodeKey{pathSecret: slices.Clone(pathSecret), priv: priv, pub: pub}
	return nil
}

// PathSecret returns the path secret the member holds for node x.
func (k *TreePrivateKey) PathSecret(x NodeIndex) ([]byte, bool) {
	nk, ok := k.keys[x]
	if !ok || nk.pathSecret == nil {
		return nil, false
	}
	return nk.pathSecret, true
}

// ForgetPathSecrets deletes the path secrets, keeping only the node private
// keys. A committer calls it once its Welcome messages are built, so that a
// later compromise does not reveal secrets above the nodes it can decrypt.
func (k *TreePrivateKey) ForgetPathSecrets() {
	for x, nk := range k.keys {
		nk.pathSecret = nil
		k.keys[x] = nk
	}
}

// Prune deletes the private keys of nodes whose public key in t is no longer
// the one they belong to (blanked or replaced by a later commit).
func (k *TreePrivateKey) Prune(t *RatchetTree) {
	for x := range k.keys {
		if _, ok := k.privateKey(t, x); !ok {
			delete(k.keys, x)
		}
	}
}

// privateKey returns the private key for node x if the member holds one that
// matches the public key now in the tree.
func (k *TreePrivateKey) privateKey(t *RatchetTree, x NodeIndex) ([]byte, bool) {
	nk, ok := k.keys[x]
	n := t.node(x)
	if !ok || n == nil || !bytes.Equal(n.encryptionKey(), nk.pub) {
		return nil, false
	}
	return nk.priv, true
}

// nodeKeyPair derives a node's key pair from its path secret.
func nodeKeyPair(cs CipherSuite, pathSecret []byte) (priv, pub []byte, err error) {
	nodeSecret, err := DeriveSecret(cs, pathSecret, "node")
	if err != nil {
		return nil, nil, err
	}
	return cs.DeriveKeyPair(nodeSecret)
}

// FilteredDirectPath returns the direct path of leaf without the nodes whose
// copath child has an empty resolution, and the copath child of each.
func (t *RatchetTree) FilteredDirectPath(leaf LeafIndex) (path, copath []NodeIndex) {
	n := t.LeafCount()
	x := leaf.Node()
	for {
		p, ok := x.Parent(n)
		if !ok {
			return path, copath
		}
		s, _ := x.Sibling(n)
		if len(t.Resolution(s)) > 0 {
			path = append(path, p)
			copath = append(copath, s)
		}
		x = p
	}
}

// mergePath installs a committer's new leaf and path keys: it blanks the
// direct path, sets the filtered direct path to the new keys and computes
// the parent hashes top-down. It returns the parent hash the leaf must carry.
func (t *RatchetTree) mergePath(cs CipherSuite, sender LeafIndex, path, copath []NodeIndex, keys [][]byte) ([]byte, error) {
	t.blankPath(sender)
	// Install the nodes top-down: each parent hash covers the node above.
	for i := len(path) - 1; i >= 0; i-- {
		ph := []byte{}
		if i < len(path)-1 {
			var err error
			if ph, err = t.parentHash(cs, path[i+1], copath[i+1]); err != nil {
				return nil, err
			}
		}
		t.setNode(path[i], &Node{Parent: &ParentNode{EncryptionKey: keys[i], ParentHash: ph, UnmergedLeaves: []LeafIndex{}}})
	}
	if len(path) == 0 {
		return []byte{}, nil
	}
	return t.parentHash(cs, path[0], copath[0])
}

// contextWithTreeHash returns a copy of gc carrying the tree's current hash,
// encoded: the provisional GroupContext that path secrets are bound to.
func (t *RatchetTree) contextWithTreeHash(cs CipherSuite, gc *GroupContext) ([]byte, error) {
	th, err := t.TreeHash(cs)
	if err != nil {
		return nil, err
	}
	c := *gc
	c.TreeHash = th
	return Marshal(&c)
}

// excludeSet turns a list of leaves into a lookup set (nil when empty).
func excludeSet(leaves []LeafIndex) map[LeafIndex]bool {
	if len(leaves) == 0 {
		return nil
	}
	m := make(map[LeafIndex]bool, len(leaves))
	for _, l := range leaves {
		m[l] = true
	}
	return m
}

// UpdatePathParams describes a commit's path refresh.
type UpdatePathParams struct {
	// Leaf is the template for the committer's new leaf: credential,
	// capabilities, extensions and signature key. Its encryption key, source,
	// parent hash and signature are filled in.
	Leaf LeafNode
	// SignaturePriv signs the new leaf node.
	SignaturePriv []byte
	// GroupID binds the leaf signature to the group.
	GroupID []byte
	// Context is the provisional GroupContext of the new epoch; its tree hash
	// is replaced by the hash of the tree with the new path.
	Context *GroupContext
	// Exclude lists the leaves added by this commit, which receive the path
	// secrets through the Welcome instead.
	Exclude []LeafIndex
}

// CreateUpdatePath refreshes the committer's path in t (after the commit's
// proposals were applied): it draws new path secrets, installs the new keys,
// signs the new leaf and encrypts the path secrets. It returns the
// UpdatePath to send, the committer's new private state, and the commit secret.
func (t *RatchetTree) CreateUpdatePath(cs CipherSuite, committer LeafIndex, p *UpdatePathParams) (*UpdatePath, *TreePrivateKey, []byte, error) {
	if t.Leaf(committer) == nil {
		return nil, nil, nil, fmt.Errorf("%w: committer %d", ErrBlankLeaf, committer)
	}
	path, copath := t.FilteredDirectPath(committer)
	leafPriv, leafPub, err := cs.GenerateKeyPair()
	if err != nil {
		return nil, nil, nil, err
	}
	priv, err := NewTreePrivateKey(cs, committer, leafPriv)
	if err != nil {
		return nil, nil, nil, err
	}
	secret := make([]byte, cs.HashLen())
	if _, err := rand.Read(secret); err != nil {
		return nil, nil, nil, err
	}
	secrets := make([][]byte, len(path))
	pubs := make([][]byte, len(path))
	for i, x := range path {
		if i > 0 {
			if secret, err = DeriveSecret(cs, secret, "path"); err != nil {
				return nil, nil, nil, err
			}
		}
		secrets[i] = secret
		if err := priv.SetPathSecret(cs, x, secret); err != nil {
			return nil, nil, nil, err
		}
		pubs[i] = priv.keys[x].pub
	}
	commitSecret, err := DeriveSecret(cs, secret, "path")
	if err != nil {
		return nil, nil, nil, err
	}

	leafHash, err := t.mergePath(cs, committer, path, copath, pubs)
	if err != nil {
		return nil, nil, nil, err
	}
	leaf := p.Leaf
	leaf.EncryptionKey = leafPub
	leaf.Source = LeafNodeSourceCommit
	leaf.Lifetime = nil
	leaf.ParentHash = leafHash
	if err := leaf.Sign(cs, p.SignaturePriv, p.GroupID, committer); err != nil {
		return nil, nil, nil, err
	}
	t.setNode(committer.Node(), &Node{Leaf: &leaf})

	ctx, err := t.contextWithTreeHash(cs, p.Context)
	if err != nil {
		return nil, nil, nil, err
	}
	exclude := excludeSet(p.Exclude)
	up := &UpdatePath{LeafNode: leaf, Nodes: make([]UpdatePathNode, len(path))}
	for i := range path {
		res := t.resolution(copath[i], exclude, nil)
		cts := make([]HPKECiphertext, len(res))
		for j, r := range res {
			n := t.node(r)
			if n == nil {
				return nil, nil, nil, fmt.Errorf("%w: blank node %d in a resolution", ErrUnmergedLeaves, r)
			}
			kem, ct, err := EncryptWithLabel(cs, n.encryptionKey(), "UpdatePathNode", ctx, secrets[i])
			if err != nil {
				return nil, nil, nil, fmt.Errorf("encrypt path secret to node %d: %w", r, err)
			}
			cts[j] = HPKECiphertext{KEMOutput: kem, Ciphertext: ct}
		}
		up.Nodes[i] = UpdatePathNode{EncryptionKey: pubs[i], EncryptedPathSecret: cts}
	}
	return up, priv, commitSecret, nil
}

// ApplyUpdatePath processes another member's UpdatePath (RFC 9420 §7.6,
// §12.4.2): it checks the new leaf, merges the new public keys into t
// (which must already reflect the commit's proposals), checks the leaf's
// parent hash, decrypts the path secret meant for priv, derives the rest of
// the path, checks the derived public keys and returns the commit secret.
// On success priv holds the new path secrets; on error priv is unchanged
// but t may be partly modified, so callers apply commits to a Clone.
func (t *RatchetTree) ApplyUpdatePath(cs CipherSuite, sender LeafIndex, up *UpdatePath, groupID []byte, gc *GroupContext, exclude []LeafIndex, priv *TreePrivateKey) ([]byte, error) {
	next := priv.Clone()
	commitSecret, err := t.applyUpdatePath(cs, sender, up, groupID, gc, excludeSet(exclude), next)
	if err != nil {
		return nil, err
	}
	*priv = *next
	return commitSecret, nil
}

func (t *RatchetTree) applyUpdatePath(cs CipherSuite, sender LeafIndex, up *UpdatePath, groupID []byte, gc *GroupContext, exclude map[LeafIndex]bool, priv *TreePrivateKey) ([]byte, error) {
	if t.Leaf(sender) == nil {
		return nil, fmt.Errorf("%w: sender %d", ErrBlankLeaf, sender)
	}
	if sender == priv.Leaf {
		return nil, fmt.Errorf("%w: own update path", ErrUpdatePath)
	}
	leaf := up.LeafNode
	if leaf.Source != LeafNodeSourceCommit {
		return nil, fmt.Errorf("%w: leaf source %d in update path", ErrLeafNode, leaf.Source)
	}
	if err := leaf.VerifySignature(cs, groupID, sender); err != nil {
		return nil, err
	}
	path, copath := t.FilteredDirectPath(sender)
	if len(up.Nodes) != len(path) {
		return nil, fmt.Errorf("%w: %d nodes for a filtered direct path of %d", ErrUpdatePath, len(up.Nodes), len(path))
	}
	// Find where the sender's path meets ours, and the resolution to decrypt
	// from, before the merge changes the tree.
	at := -1
	for i, x := range path {
		if x.IsAncestorOf(priv.Leaf.Node()) {
			at = i
			break
		}
	}
	if at < 0 {
		return nil, fmt.Errorf("%w: leaf %d is not below the sender's path", ErrUpdatePath, priv.Leaf)
	}
	res := t.resolution(copath[at], exclude, nil)
	if len(up.Nodes[at].EncryptedPathSecret) != len(res) {
		return nil, fmt.Errorf("%w: %d ciphertexts for a resolution of %d", ErrUpdatePath, len(up.Nodes[at].EncryptedPathSecret), len(res))
	}
	slot, decKey := -1, []byte(nil)
	for j, r := range res {
		if k, ok := priv.privateKey(t, r); ok {
			slot, decKey = j, k
			break
		}
	}
	if slot < 0 {
		return nil, fmt.Errorf("%w: none for the resolution of node %d", ErrNoPrivateKey, copath[at])
	}

	keys := make([][]byte, len(path))
	for i := range up.Nodes {
		keys[i] = up.Nodes[i].EncryptionKey
	}
	leafHash, err := t.mergePath(cs, sender, path, copath, keys)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(leafHash, leaf.ParentHash) {
		return nil, fmt.Errorf("%w: leaf %d of the update path", ErrParentHash, sender)
	}
	t.setNode(sender.Node(), &Node{Leaf: &leaf})
	ctx, err := t.contextWithTreeHash(cs, gc)
	if err != nil {
		return nil, err
	}
	ct := up.Nodes[at].EncryptedPathSecret[slot]
	secret, err := DecryptWithLabel(cs, decKey, "UpdatePathNode", ctx, ct.KEMOutput, ct.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("path secret for node %d: %w", path[at], err)
	}
	for _, x := range sender.Node().DirectPath(t.LeafCount()) {
		delete(priv.keys, x)
	}
	for i := at; i < len(path); i++ {
		if i > at {
			if secret, err = DeriveSecret(cs, secret, "path"); err != nil {
				return nil, err
			}
		}
		if err := priv.SetPathSecret(cs, path[i], secret); err != nil {
			return nil, err
		}
		if !bytes.Equal(priv.keys[path[i]].pub, keys[i]) {
			return nil, fmt.Errorf("%w: public key of node %d does not match its path secret", ErrUpdatePath, path[i])
		}
	}
	return DeriveSecret(cs, secret, "path")
}

// ImplantPathSecret gives a new member the path secret a Welcome carries
// for the lowest common ancestor of its leaf and the committer's, derives
// the secrets above it along the committer's filtered direct path, checks
// them against the tree's public keys and returns the commit secret.
func (k *TreePrivateKey) ImplantPathSecret(cs CipherSuite, t *RatchetTree, committer LeafIndex, pathSecret []byte) ([]byte, error) {
	path, _ := t.FilteredDirectPath(committer)
	at := slices.IndexFunc(path, func(x NodeIndex) bool { return x.IsAncestorOf(k.Leaf.Node()) })
	if at < 0 {
		return nil, fmt.Errorf("%w: leaf %d is not below the committer's path", ErrUpdatePath, k.Leaf)
	}
	secret := pathSecret
	var err error
	for i := at; i < len(path); i++ {
		if i > at {
			if secret, err = DeriveSecret(cs, secret, "path"); err != nil {
				return nil, err
			}
		}
		if err := k.SetPathSecret(cs, path[i], secret); err != nil {
			return nil, err
		}
		if n := t.node(path[i]); n == nil || !bytes.Equal(n.encryptionKey(), k.keys[path[i]].pub) {
			return nil, fmt.Errorf("%w: public key of node %d does not match its path secret", ErrUpdatePath, path[i])
		}
	}
	return DeriveSecret(cs, secret, "path")
}
