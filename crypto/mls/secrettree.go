package mls

import "fmt"

// Defaults for the receiving side of the per-leaf ratchets.
const (
	// DefaultMaxForwardRatchet is how many generations a receiver will skip
	// ahead to reach a message's generation.
	DefaultMaxForwardRatchet = 1024
	// DefaultOutOfOrderWindow is how many skipped keys per ratchet are kept
	// for messages that arrive late.
	DefaultOutOfOrderWindow = 128
)

// SenderDataKeyNonce derives the key and nonce that protect a PrivateMessage's
// sender data from the first Nh bytes of its ciphertext (RFC 9420 §6.3.2).
func SenderDataKeyNonce(cs CipherSuite, senderDataSecret, ciphertext []byte) (key, nonce []byte, err error) {
	sample := ciphertext
	if len(sample) > cs.HashLen() {
		sample = sample[:cs.HashLen()]
	}
	if key, err = ExpandWithLabel(cs, senderDataSecret, "key", sample, cs.AEADKeyLen()); err != nil {
		return nil, nil, err
	}
	if nonce, err = ExpandWithLabel(cs, senderDataSecret, "nonce", sample, cs.AEADNonceLen()); err != nil {
		return nil, nil, err
	}
	return key, nonce, nil
}

// RatchetType selects one of a leaf's two ratchets.
type RatchetType int

// Ratchet types.
const (
	// RatchetHandshake protects proposals and commits.
	RatchetHandshake RatchetType = 0
	// RatchetApplication protects application messages.
	RatchetApplication RatchetType = 1
)

// RatchetFor returns the ratchet that protects content of type ct.
func RatchetFor(ct ContentType) RatchetType {
	if ct == ContentApplication {
		return RatchetApplication
	}
	return RatchetHandshake
}

// SecretTree derives per-sender encryption keys from an epoch's
// encryption_secret (RFC 9420 §9). Secrets are deleted as soon as they have
// been used to derive their children or a message key, so a compromise later
// in the epoch does not expose earlier messages.
type SecretTree struct {
	cs     CipherSuite
	leaves uint32
	// secrets holds the not yet consumed tree-node secrets, indexed by node.
	secrets [][]byte
	// ratchets holds each leaf's handshake and application ratchets once created.
	ratchets map[LeafIndex]*[2]*hashRatchet

	// MaxForward is how many generations a receiver will ratchet ahead of
	// the next expected one (0 means no limit).
	MaxForward uint32
	// Window is how many skipped keys per ratchet are kept for late
	// messages (0 keeps none; the oldest are deleted first).
	Window int
}

// NewSecretTree returns the secret tree of an epoch whose ratchet tree has
// the given number of leaves (a power of two; other counts are rounded up).
func NewSecretTree(cs CipherSuite, encryptionSecret []byte, leaves uint32) *SecretTree {
	if leaves > 0 && leaves&(leaves-1) != 0 {
		leaves = 1 << (log2(leaves) + 1)
	}
	t := &SecretTree{
		cs:         cs,
		leaves:     leaves,
		secrets:    make([][]byte, NodeWidth(leaves)),
		ratchets:   map[LeafIndex]*[2]*hashRatchet{},
		MaxForward: DefaultMaxForwardRatchet,
		Window:     DefaultOutOfOrderWindow,
	}
	if leaves > 0 {
		t.secrets[Root(leaves)] = append([]byte(nil), encryptionSecret...)
	}
	return t
}

// ratchet returns leaf's ratchet of type rt, deriving it on first use.
func (t *SecretTree) ratchet(leaf LeafIndex, rt RatchetType) (*hashRatchet, error) {
	if uint32(leaf) >= t.leaves {
		return nil, fmt.Errorf("%w: %d of %d", ErrLeafIndex, leaf, t.leaves)
	}
	if r, ok := t.ratchets[leaf]; ok {
		return r[rt], nil
	}
	// Find the lowest ancestor (or the leaf itself) whose secret is still held.
	target := leaf.Node()
	path := []NodeIndex{target}
	path = append(path, target.DirectPath(t.leaves)...)
	start := -1
	for i, x := range path {
		if t.secrets[x] != nil {
			start = i
			break
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("%w: secrets of leaf %d were deleted", ErrGenerationConsumed, leaf)
	}
	for i := start; i > 0; i-- {
		x := path[i]
		l, _ := x.Left()
		r, _ := x.Right()
		var err error
		if t.secrets[l], err = ExpandWithLabel(t.cs, t.secrets[x], "tree", []byte("left"), t.cs.HashLen()); err != nil {
			return nil, err
		}
		if t.secrets[r], err = ExpandWithLabel(t.cs, t.secrets[x], "tree", []byte("right"), t.cs.HashLen()); err != nil {
			return nil, err
		}
		t.secrets[x] = nil
	}
	leafSecret := t.secrets[target]
	t.secrets[target] = nil
	hs, err := ExpandWithLabel(t.cs, leafSecret, "handshake", nil, t.cs.HashLen())
	if err != nil {
		return nil, err
	}
	app, err := ExpandWithLabel(t.cs, leafSecret, "application", nil, t.cs.HashLen())
	if err != nil {
		return nil, err
	}
	pair := &[2]*hashRatchet{
		{cs: t.cs, secret: hs, skipped: map[uint32]keyNonce{}},
		{cs: t.cs, secret: app, skipped: map[uint32]keyNonce{}},
	}
	t.ratchets[leaf] = pair
	return pair[rt], nil
}

// Next returns the key and nonce for the next message leaf sends with the
// ratchet rt, and consumes them.
func (t *SecretTree) Next(leaf LeafIndex, rt RatchetType) (generation uint32, key, nonce []byte, err error) {
	r, err := t.ratchet(leaf, rt)
	if err != nil {
		return 0, nil, nil, err
	}
	if r.next > 0xffffffff {
		return 0, nil, nil, fmt.Errorf("%w: ratchet exhausted", ErrGenerationTooFar)
	}
	g := uint32(r.next)
	kn, err := r.get(g, 0, 0)
	if err != nil {
		return 0, nil, nil, err
	}
	return g, kn.key, kn.nonce, nil
}

// Get returns the key and nonce for a received message of the given
// generation from leaf, and deletes them: a second request for the same
// generation fails with ErrGenerationConsumed.
func (t *SecretTree) Get(leaf LeafIndex, rt RatchetType, generation uint32) (key, nonce []byte, err error) {
	r, err := t.ratchet(leaf, rt)
	if err != nil {
		return nil, nil, err
	}
	kn, err := r.get(generation, t.MaxForward, t.Window)
	if err != nil {
		return nil, nil, fmt.Errorf("leaf %d generation %d: %w", leaf, generation, err)
	}
	return kn.key, kn.nonce, nil
}

// restore puts back a key handed out by Get whose message then failed to
// decrypt, so that a forged message cannot burn the key of a genuine one.
func (t *SecretTree) restore(leaf LeafIndex, rt RatchetType, generation uint32, key, nonce []byte) {
	pair, ok := t.ratchets[leaf]
	if !ok {
		return
	}
	h := pair[rt]
	if uint64(generation) >= h.next {
		return
	}
	h.skipped[generation] = keyNonce{key, nonce}
	h.order = append(h.order, generation)
}

type keyNonce struct{ key, nonce []byte }

// hashRatchet is one sender's symmetric ratchet (RFC 9420 §9.1).
type hashRatchet struct {
	cs CipherSuite
	// secret is the ratchet secret of generation next.
	secret []byte
	next   uint64
	// skipped holds keys of generations below next that were passed over.
	skipped map[uint32]keyNonce
	order   []uint32
}

// get returns the key of generation g, ratcheting forward at most maxForward
// generations (0 means unlimited, for the sender) and keeping up to window
// skipped keys.
func (h *hashRatchet) get(g uint32, maxForward uint32, window int) (keyNonce, error) {
	if uint64(g) < h.next {
		kn, ok := h.skipped[g]
		if !ok {
			return keyNonce{}, ErrGenerationConsumed
		}
		delete(h.skipped, g)
		return kn, nil
	}
	if maxForward > 0 && uint64(g)-h.next > uint64(maxForward) {
		return keyNonce{}, fmt.Errorf("%w: %d generations ahead", ErrGenerationTooFar, uint64(g)-h.next)
	}
	for {
		gen := uint32(h.next)
		key, err := DeriveTreeSecret(h.cs, h.secret, "key", gen, h.cs.AEADKeyLen())
		if err != nil {
			return keyNonce{}, err
		}
		nonce, err := DeriveTreeSecret(h.cs, h.secret, "nonce", gen, h.cs.AEADNonceLen())
		if err != nil {
			return keyNonce{}, err
		}
		if h.secret, err = DeriveTreeSecret(h.cs, h.secret, "secret", gen, h.cs.HashLen()); err != nil {
			return keyNonce{}, err
		}
		h.next++
		kn := keyNonce{key, nonce}
		if gen == g {
			return kn, nil
		}
		if window > 0 {
			h.skipped[gen] = kn
			h.order = append(h.order, gen)
			for len(h.skipped) > window {
				delete(h.skipped, h.order[0])
				h.order = h.order[1:]
			}
			if len(h.order) > 2*window {
				h.compactOrder()
			}
		}
	}
}

// compactOrder drops generations that were consumed from the eviction order.
func (h *hashRatchet) compactOrder() {
	kept := h.order[:0]
	for _, g := range h.order {
		if _, ok := h.skipped[g]; ok {
			kept = append(kept, g)
		}
	}
	h.order = kept
}
