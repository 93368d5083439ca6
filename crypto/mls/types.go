package mls

import "fmt"

// Enumerations of RFC 9420 §17 used on the wire.

// ProtocolVersion identifies the MLS version.
type ProtocolVersion uint16

// ProtocolVersionMLS10 is MLS 1.0.
const ProtocolVersionMLS10 ProtocolVersion = 1

// ExtensionType identifies an extension.
type ExtensionType uint16

// Extension types defined by RFC 9420.
const (
	// ExtensionApplicationID identifies the application_id leaf extension.
	ExtensionApplicationID ExtensionType = 1
	// ExtensionRatchetTree identifies the ratchet_tree GroupInfo extension.
	ExtensionRatchetTree ExtensionType = 2
	// ExtensionRequiredCapabilities identifies the required_capabilities group context extension.
	ExtensionRequiredCapabilities ExtensionType = 3
	// ExtensionExternalPub identifies the external_pub GroupInfo extension.
	ExtensionExternalPub ExtensionType = 4
	// ExtensionExternalSenders identifies the external_senders group context extension.
	ExtensionExternalSenders ExtensionType = 5
)

// CredentialType identifies a credential.
type CredentialType uint16

// Credential types defined by RFC 9420.
const (
	// CredentialBasic is a credential holding an opaque identity.
	CredentialBasic CredentialType = 1
	// CredentialX509 is a credential holding an X.509 certificate chain.
	CredentialX509 CredentialType = 2
)

// ProposalType identifies a proposal.
type ProposalType uint16

// Proposal types defined by RFC 9420.
const (
	// ProposalAdd adds a member from its KeyPackage.
	ProposalAdd ProposalType = 1
	// ProposalUpdate replaces the sender's leaf.
	ProposalUpdate ProposalType = 2
	// ProposalRemove removes a member.
	ProposalRemove ProposalType = 3
	// ProposalPSK injects a pre-shared key into the key schedule.
	ProposalPSK ProposalType = 4
	// ProposalReInit restarts the group with new parameters.
	ProposalReInit ProposalType = 5
	// ProposalExternalInit carries the kem_output of an external join.
	ProposalExternalInit ProposalType = 6
	// ProposalGroupContextExtensions replaces the group context extensions.
	ProposalGroupContextExtensions ProposalType = 7
)

// Extension is a typed extension (RFC 9420 §13).
type Extension struct {
	Type ExtensionType
	Data []byte
}

func (e *Extension) encode(w *writer) {
	w.u16(uint16(e.Type))
	w.opaque(e.Data)
}

func (e *Extension) decode(r *reader) {
	e.Type = ExtensionType(r.u16())
	e.Data = r.opaque()
}

// Credential binds an identity to a signature key (RFC 9420 §5.3).
type Credential struct {
	Type CredentialType
	// Identity is set for basic credentials.
	Identity []byte
	// Certificates is set for X.509 credentials.
	Certificates [][]byte
}

func (c *Credential) encode(w *writer) {
	w.u16(uint16(c.Type))
	switch c.Type {
	case CredentialBasic:
		w.opaque(c.Identity)
	case CredentialX509:
		encodeOpaques(w, c.Certificates)
	default:
		if w.err == nil {
			w.err = fmt.Errorf("%w: credential type %d", ErrUnknownValue, c.Type)
		}
	}
}

func (c *Credential) decode(r *reader) {
	c.Type = CredentialType(r.u16())
	switch c.Type {
	case CredentialBasic:
		c.Identity = r.opaque()
	case CredentialX509:
		c.Certificates = decodeOpaques(r)
	default:
		r.failf("%w: credential type %d", ErrUnknownValue, c.Type)
	}
}

// Capabilities lists what a client supports (RFC 9420 §7.2).
type Capabilities struct {
	Versions     []ProtocolVersion
	CipherSuites []CipherSuiteID
	Extensions   []ExtensionType
	Proposals    []ProposalType
	Credentials  []CredentialType
}

func encodeU16s[T ~uint16](w *writer, v []T) {
	w.vector(func(w *writer) {
		for _, x := range v {
			w.u16(uint16(x))
		}
	})
}

func decodeU16s[T ~uint16](r *reader) []T {
	out := []T{}
	r.vector(func(r *reader) { out = append(out, T(r.u16())) })
	return out
}

func (c *Capabilities) encode(w *writer) {
	encodeU16s(w, c.Versions)
	encodeU16s(w, c.CipherSuites)
	encodeU16s(w, c.Extensions)
	encodeU16s(w, c.Proposals)
	encodeU16s(w, c.Credentials)
}

func (c *Capabilities) decode(r *reader) {
	c.Versions = decodeU16s[ProtocolVersion](r)
	c.CipherSuites = decodeU16s[CipherSuiteID](r)
	c.Extensions = decodeU16s[ExtensionType](r)
	c.Proposals = decodeU16s[ProposalType](r)
	c.Credentials = decodeU16s[CredentialType](r)
}

// Lifetime bounds the validity of a KeyPackage's leaf, in seconds since the epoch.
type Lifetime struct {
	NotBefore uint64
	NotAfter  uint64
}

func (l *Lifetime) encode(w *writer) {
	w.u64(l.NotBefore)
	w.u64(l.NotAfter)
}

func (l *Lifetime) decode(r *reader) {
	l.NotBefore = r.u64()
	l.NotAfter = r.u64()
}

// LeafNodeSource says how a leaf node came to be.
type LeafNodeSource uint8

// Leaf node sources.
const (
	// LeafNodeSourceKeyPackage marks a leaf published in a KeyPackage.
	LeafNodeSourceKeyPackage LeafNodeSource = 1
	// LeafNodeSourceUpdate marks a leaf sent in an Update proposal.
	LeafNodeSourceUpdate LeafNodeSource = 2
	// LeafNodeSourceCommit marks a leaf sent in a commit's UpdatePath.
	LeafNodeSourceCommit LeafNodeSource = 3
)

// LeafNode is a member's leaf in the ratchet tree (RFC 9420 §7.2).
type LeafNode struct {
	EncryptionKey []byte
	SignatureKey  []byte
	Credential    Credential
	Capabilities  Capabilities
	Source        LeafNodeSource
	// Lifetime is set when Source is LeafNodeSourceKeyPackage.
	Lifetime *Lifetime
	// ParentHash is set when Source is LeafNodeSourceCommit.
	ParentHash []byte
	Extensions []Extension
	Signature  []byte
}

// encodeTBSBody writes every field up to and including the extensions.
func (l *LeafNode) encodeBody(w *writer) {
	w.opaque(l.EncryptionKey)
	w.opaque(l.SignatureKey)
	l.Credential.encode(w)
	l.Capabilities.encode(w)
	w.u8(uint8(l.Source))
	switch l.Source {
	case LeafNodeSourceKeyPackage:
		if l.Lifetime == nil {
			if w.err == nil {
				w.err = fmt.Errorf("%w: key package leaf without lifetime", ErrLeafNode)
			}
			return
		}
		l.Lifetime.encode(w)
	case LeafNodeSourceUpdate:
	case LeafNodeSourceCommit:
		w.opaque(l.ParentHash)
	default:
		if w.err == nil {
			w.err = fmt.Errorf("%w: leaf node source %d", ErrUnknownValue, l.Source)
		}
	}
	encodeVec(w, l.Extensions)
}

func (l *LeafNode) encode(w *writer) {
	l.encodeBody(w)
	w.opaque(l.Signature)
}

func (l *LeafNode) decode(r *reader) {
	l.EncryptionKey = r.opaque()
	l.SignatureKey = r.opaque()
	l.Credential.decode(r)
	l.Capabilities.decode(r)
	l.Source = LeafNodeSource(r.u8())
	switch l.Source {
	case LeafNodeSourceKeyPackage:
		l.Lifetime = new(Lifetime)
		l.Lifetime.decode(r)
	case LeafNodeSourceUpdate:
	case LeafNodeSourceCommit:
		l.ParentHash = r.opaque()
	default:
		r.failf("%w: leaf node source %d", ErrUnknownValue, l.Source)
	}
	l.Extensions = decodeVec[Extension](r)
	l.Signature = r.opaque()
}

// tbs returns LeafNodeTBS. groupID and leaf are used for update and commit sources.
func (l *LeafNode) tbs(groupID []byte, leaf LeafIndex) ([]byte, error) {
	var w writer
	l.encodeBody(&w)
	if l.Source == LeafNodeSourceUpdate || l.Source == LeafNodeSourceCommit {
		w.opaque(groupID)
		w.u32(uint32(leaf))
	}
	return w.b, w.err
}

// Sign sets the leaf node's signature. groupID and leaf are ignored for
// leaves from KeyPackages.
func (l *LeafNode) Sign(cs CipherSuite, priv, groupID []byte, leaf LeafIndex) error {
	tbs, err := l.tbs(groupID, leaf)
	if err != nil {
		return err
	}
	sig, err := SignWithLabel(cs, priv, "LeafNodeTBS", tbs)
	if err != nil {
		return err
	}
	l.Signature = sig
	return nil
}

// VerifySignature checks the leaf node's signature against its own signature key.
func (l *LeafNode) VerifySignature(cs CipherSuite, groupID []byte, leaf LeafIndex) error {
	tbs, err := l.tbs(groupID, leaf)
	if err != nil {
		return err
	}
	if err := VerifyWithLabel(cs, l.SignatureKey, "LeafNodeTBS", tbs, l.Signature); err != nil {
		return fmt.Errorf("leaf %d: %w", leaf, err)
	}
	return nil
}

// KeyPackage advertises a client's keys to potential groups (RFC 9420 §10).
type KeyPackage struct {
	Version     ProtocolVersion
	CipherSuite CipherSuiteID
	InitKey     []byte
	LeafNode    LeafNode
	Extensions  []Extension
	Signature   []byte
}

func (k *KeyPackage) encodeBody(w *writer) {
	w.u16(uint16(k.Version))
	w.u16(uint16(k.CipherSuite))
	w.opaque(k.InitKey)
	k.LeafNode.encode(w)
	encodeVec(w, k.Extensions)
}

func (k *KeyPackage) encode(w *writer) {
	k.encodeBody(w)
	w.opaque(k.Signature)
}

func (k *KeyPackage) decode(r *reader) {
	k.Version = ProtocolVersion(r.u16())
	k.CipherSuite = CipherSuiteID(r.u16())
	k.InitKey = r.opaque()
	k.LeafNode.decode(r)
	k.Extensions = decodeVec[Extension](r)
	k.Signature = r.opaque()
}

// Sign sets the KeyPackage signature over KeyPackageTBS.
func (k *KeyPackage) Sign(cs CipherSuite, priv []byte) error {
	var w writer
	k.encodeBody(&w)
	if w.err != nil {
		return w.err
	}
	sig, err := SignWithLabel(cs, priv, "KeyPackageTBS", w.b)
	if err != nil {
		return err
	}
	k.Signature = sig
	return nil
}

// VerifySignature checks the KeyPackage signature with its leaf's signature key.
func (k *KeyPackage) VerifySignature(cs CipherSuite) error {
	var w writer
	k.encodeBody(&w)
	if w.err != nil {
		return w.err
	}
	return VerifyWithLabel(cs, k.LeafNode.SignatureKey, "KeyPackageTBS", w.b, k.Signature)
}

// Ref returns the KeyPackageRef, RefHash("MLS 1.0 KeyPackage Reference", KeyPackage).
func (k *KeyPackage) Ref(cs CipherSuite) ([]byte, error) {
	b, err := Marshal(k)
	if err != nil {
		return nil, err
	}
	return RefHash(cs, "MLS 1.0 KeyPackage Reference", b)
}

// GroupContext summarizes the state of a group in an epoch (RFC 9420 §8.1).
type GroupContext struct {
	Version                 ProtocolVersion
	CipherSuite             CipherSuiteID
	GroupID                 []byte
	Epoch                   uint64
	TreeHash                []byte
	ConfirmedTranscriptHash []byte
	Extensions              []Extension
}

func (g *GroupContext) encode(w *writer) {
	w.u16(uint16(g.Version))
	w.u16(uint16(g.CipherSuite))
	w.opaque(g.GroupID)
	w.u64(g.Epoch)
	w.opaque(g.TreeHash)
	w.opaque(g.ConfirmedTranscriptHash)
	encodeVec(w, g.Extensions)
}

func (g *GroupContext) decode(r *reader) {
	g.Version = ProtocolVersion(r.u16())
	g.CipherSuite = CipherSuiteID(r.u16())
	g.GroupID = r.opaque()
	g.Epoch = r.u64()
	g.TreeHash = r.opaque()
	g.ConfirmedTranscriptHash = r.opaque()
	g.Extensions = decodeVec[Extension](r)
}

// HPKECiphertext is an HPKE encapsulation and ciphertext.
type HPKECiphertext struct {
	KEMOutput  []byte
	Ciphertext []byte
}

func (h *HPKECiphertext) encode(w *writer) {
	w.opaque(h.KEMOutput)
	w.opaque(h.Ciphertext)
}

func (h *HPKECiphertext) decode(r *reader) {
	h.KEMOutput = r.opaque()
	h.Ciphertext = r.opaque()
}
