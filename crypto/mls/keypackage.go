package mls

import (
	"bytes"
	"fmt"
	"slices"
	"time"
)

// DefaultKeyPackageLifetime is how long a KeyPackage made by NewKeyPackage
// stays valid when KeyPackageParams.Lifetime is zero.
const DefaultKeyPackageLifetime = 90 * 24 * time.Hour

// keyPackageClockSkew is how far before now a new KeyPackage's lifetime
// starts, so that members whose clocks run slightly behind accept it.
const keyPackageClockSkew = time.Hour

// KeyPackageParams describes a KeyPackage to create. Only Identity is required.
type KeyPackageParams struct {
	// Identity goes into the Basic credential.
	Identity []byte
	// SignaturePriv is the member's signature private key; nil draws a new one.
	SignaturePriv []byte
	// Lifetime is how long the KeyPackage is valid from Now; zero means
	// DefaultKeyPackageLifetime.
	Lifetime time.Duration
	// Now is the creation time; zero means time.Now().
	Now time.Time
	// LeafExtensions are carried in the leaf node; their types are added to
	// the leaf's capabilities.
	LeafExtensions []Extension
	// Extensions are carried in the KeyPackage itself.
	Extensions []Extension
	// SupportedExtensions are extension types the member supports besides
	// those of LeafExtensions (group context extensions such as
	// ExtensionGroupRoles): a group whose context has one admits only
	// leaves that list it (RFC 9420 §7.2).
	SupportedExtensions []ExtensionType
}

// KeyPackageBundle is a KeyPackage with the private keys behind it. The
// KeyPackage is published; the bundle stays with its owner until a Welcome
// uses it, after which it must be deleted (a KeyPackage is single-use).
type KeyPackageBundle struct {
	// KeyPackage is the public part, to publish.
	KeyPackage KeyPackage
	// InitPriv is the HPKE private key of KeyPackage.InitKey, which opens the Welcome.
	InitPriv []byte
	// EncryptionPriv is the HPKE private key of the leaf's encryption key.
	EncryptionPriv []byte
	// SignaturePriv is the signature private key of the leaf's signature key.
	SignaturePriv []byte
}

// defaultCapabilities are the capabilities of leaves this package creates:
// MLS 1.0, the suite in use and Basic credentials. Default extension and
// proposal types need not be listed (RFC 9420 §7.2).
func defaultCapabilities(cs CipherSuite, ext []Extension, supported ...ExtensionType) Capabilities {
	c := Capabilities{
		Versions:     []ProtocolVersion{ProtocolVersionMLS10},
		CipherSuites: []CipherSuiteID{cs.ID()},
		Extensions:   []ExtensionType{},
		Proposals:    []ProposalType{},
		Credentials:  []CredentialType{CredentialBasic},
	}
	supported = slices.Clone(supported)
	for _, e := range ext {
		supported = append(supported, e.Type)
	}
	for _, t := range supported {
		if !isDefaultExtension(t) && !slices.Contains(c.Extensions, t) {
			c.Extensions = append(c.Extensions, t)
		}
	}
	return c
}

// NewKeyPackage creates a signed KeyPackage with a Basic credential, a fresh
// init key and a distinct fresh leaf encryption key (RFC 9420 §10).
func NewKeyPackage(cs CipherSuite, p KeyPackageParams) (*KeyPackageBundle, error) {
	if len(p.Identity) == 0 {
		return nil, fmt.Errorf("%w: empty identity", ErrCredential)
	}
	sigPriv := p.SignaturePriv
	var sigPub []byte
	var err error
	if sigPriv == nil {
		if sigPriv, sigPub, err = cs.GenerateSignatureKey(); err != nil {
			return nil, err
		}
	} else if sigPub, err = cs.SignaturePublicKey(sigPriv); err != nil {
		return nil, err
	}
	initPriv, initPub, err := cs.GenerateKeyPair()
	if err != nil {
		return nil, err
	}
	encPriv, encPub, err := cs.GenerateKeyPair()
	if err != nil {
		return nil, err
	}
	now := p.Now
	if now.IsZero() {
		now = time.Now()
	}
	life := p.Lifetime
	if life <= 0 {
		life = DefaultKeyPackageLifetime
	}
	leafExt := slices.Clone(p.LeafExtensions)
	if leafExt == nil {
		leafExt = []Extension{}
	}
	kpExt := slices.Clone(p.Extensions)
	if kpExt == nil {
		kpExt = []Extension{}
	}
	b := &KeyPackageBundle{
		KeyPackage: KeyPackage{
			Version:     ProtocolVersionMLS10,
			CipherSuite: cs.ID(),
			InitKey:     initPub,
			LeafNode: LeafNode{
				EncryptionKey: encPub,
				SignatureKey:  sigPub,
				Credential:    Credential{Type: CredentialBasic, Identity: slices.Clone(p.Identity)},
				Capabilities:  defaultCapabilities(cs, leafExt, p.SupportedExtensions...),
				Source:        LeafNodeSourceKeyPackage,
				Lifetime: &Lifetime{
					NotBefore: unixSeconds(now.Add(-keyPackageClockSkew)),
					NotAfter:  unixSeconds(now.Add(life)),
				},
				Extensions: leafExt,
			},
			Extensions: kpExt,
		},
		InitPriv:       initPriv,
		EncryptionPriv: encPriv,
		SignaturePriv:  slices.Clone(sigPriv),
	}
	if err := b.KeyPackage.LeafNode.Sign(cs, sigPriv, nil, 0); err != nil {
		return nil, err
	}
	if err := b.KeyPackage.Sign(cs, sigPriv); err != nil {
		return nil, err
	}
	return b, nil
}

func unixSeconds(t time.Time) uint64 {
	if t.Unix() < 0 {
		return 0
	}
	return uint64(t.Unix())
}

// Validate checks a KeyPackage received for use in cipher suite cs at time
// now (RFC 9420 §10.1): version and suite, the signature, an init key
// distinct from the leaf's encryption key, and the leaf node itself (source,
// signature, lifetime, credential policy, self-consistent capabilities).
// A zero now skips the lifetime check.
func (k *KeyPackage) Validate(cs CipherSuite, now time.Time) error {
	return k.validate(cs, now, nil)
}

func (k *KeyPackage) validate(cs CipherSuite, now time.Time, credentialOK func(*Credential, []byte) error) error {
	if k.Version != ProtocolVersionMLS10 {
		return fmt.Errorf("%w: version %d", ErrKeyPackage, k.Version)
	}
	if k.CipherSuite != cs.ID() {
		return fmt.Errorf("%w: cipher suite 0x%04x in a group of 0x%04x", ErrKeyPackage, uint16(k.CipherSuite), uint16(cs.ID()))
	}
	if bytes.Equal(k.InitKey, k.LeafNode.EncryptionKey) {
		return fmt.Errorf("%w: init key equals the leaf encryption key", ErrKeyPackage)
	}
	if err := k.VerifySignature(cs); err != nil {
		return fmt.Errorf("%w: %w", ErrKeyPackage, err)
	}
	if k.LeafNode.Source != LeafNodeSourceKeyPackage {
		return fmt.Errorf("%w: leaf source %d in a key package", ErrLeafNode, k.LeafNode.Source)
	}
	if err := checkLeafSelf(cs, &k.LeafNode, nil, 0, now, credentialOK); err != nil {
		return err
	}
	return nil
}

// isDefaultExtension reports whether t is one of the extension types of
// RFC 9420, which every client supports without listing them.
func isDefaultExtension(t ExtensionType) bool {
	return t >= ExtensionApplicationID && t <= ExtensionExternalSenders
}

// isDefaultProposal reports whether t is a proposal type of RFC 9420.
func isDefaultProposal(t ProposalType) bool {
	return t >= ProposalAdd && t <= ProposalGroupContextExtensions
}

// basicCredentialOK is the default credential policy: a Basic credential
// with a non-empty identity.
func basicCredentialOK(c *Credential, _ []byte) error {
	if c.Type != CredentialBasic {
		return fmt.Errorf("%w: credential type %d", ErrCredential, c.Type)
	}
	if len(c.Identity) == 0 {
		return fmt.Errorf("%w: empty identity", ErrCredential)
	}
	return nil
}

// checkLeafSelf performs the checks of RFC 9420 §7.3 that need only the
// leaf: its signature (groupID and index bind update and commit leaves),
// the credential policy, lifetime (key package leaves, when now is not
// zero), and capabilities that list its own credential type, the MLS 1.0
// version and its non-default extensions.
func checkLeafSelf(cs CipherSuite, leaf *LeafNode, groupID []byte, idx LeafIndex, now time.Time, credentialOK func(*Credential, []byte) error) error {
	if err := leaf.VerifySignature(cs, groupID, idx); err != nil {
		return fmt.Errorf("%w: %w", ErrLeafNode, err)
	}
	if credentialOK == nil {
		credentialOK = basicCredentialOK
	}
	if err := credentialOK(&leaf.Credential, leaf.SignatureKey); err != nil {
		return fmt.Errorf("leaf %d: %w", idx, err)
	}
	if leaf.Source == LeafNodeSourceKeyPackage && !now.IsZero() {
		t := unixSeconds(now)
		if leaf.Lifetime == nil || t < leaf.Lifetime.NotBefore || t > leaf.Lifetime.NotAfter {
			return fmt.Errorf("%w: leaf %d", ErrLifetime, idx)
		}
	}
	c := &leaf.Capabilities
	if !slices.Contains(c.Versions, ProtocolVersionMLS10) {
		return fmt.Errorf("%w: leaf %d does not support MLS 1.0", ErrCapabilities, idx)
	}
	if !slices.Contains(c.Credentials, leaf.Credential.Type) {
		return fmt.Errorf("%w: leaf %d does not list its own credential type", ErrCapabilities, idx)
	}
	for _, e := range leaf.Extensions {
		if !isDefaultExtension(e.Type) && !slices.Contains(c.Extensions, e.Type) {
			return fmt.Errorf("%w: leaf %d does not list its extension %d", ErrCapabilities, idx, e.Type)
		}
	}
	return nil
}

// RequiredCapabilities is the required_capabilities group context
// extension (RFC 9420 §11.1): what every member must support.
type RequiredCapabilities struct {
	// Extensions lists extension types every member must support.
	Extensions []ExtensionType
	// Proposals lists proposal types every member must support.
	Proposals []ProposalType
	// Credentials lists credential types every member must support.
	Credentials []CredentialType
}

func (r *RequiredCapabilities) encode(w *writer) {
	encodeU16s(w, r.Extensions)
	encodeU16s(w, r.Proposals)
	encodeU16s(w, r.Credentials)
}

func (r *RequiredCapabilities) decode(rd *reader) {
	r.Extensions = decodeU16s[ExtensionType](rd)
	r.Proposals = decodeU16s[ProposalType](rd)
	r.Credentials = decodeU16s[CredentialType](rd)
}

// requiredCapabilities returns the required_capabilities in ext, if any.
func requiredCapabilities(ext []Extension) (*RequiredCapabilities, error) {
	for _, e := range ext {
		if e.Type == ExtensionRequiredCapabilities {
			rc := new(RequiredCapabilities)
			if err := Unmarshal(e.Data, rc); err != nil {
				return nil, fmt.Errorf("required_capabilities: %w", err)
			}
			return rc, nil
		}
	}
	return nil, nil
}

// supports reports whether a leaf's capabilities meet rc.
func (c *Capabilities) supports(rc *RequiredCapabilities) bool {
	if rc == nil {
		return true
	}
	for _, e := range rc.Extensions {
		if !isDefaultExtension(e) && !slices.Contains(c.Extensions, e) {
			return false
		}
	}
	for _, p := range rc.Proposals {
		if !isDefaultProposal(p) && !slices.Contains(c.Proposals, p) {
			return false
		}
	}
	for _, cr := range rc.Credentials {
		if !slices.Contains(c.Credentials, cr) {
			return false
		}
	}
	return true
}

// supportsExtensions reports whether a leaf's capabilities list every
// non-default extension type in ext.
func (c *Capabilities) supportsExtensions(ext []Extension) bool {
	for _, e := range ext {
		if !isDefaultExtension(e.Type) && !slices.Contains(c.Extensions, e.Type) {
			return false
		}
	}
	return true
}

// checkLeafInGroup performs the checks of RFC 9420 §7.3 that relate a leaf
// to the group it enters at index idx of tree: the group's required
// capabilities, mutual support of credential types with every other member,
// and signature and encryption keys that no other leaf uses. The leaf at idx
// itself (the one being replaced, if any) is not compared.
func checkLeafInGroup(tree *RatchetTree, leaf *LeafNode, idx LeafIndex, groupExt []Extension) error {
	rc, err := requiredCapabilities(groupExt)
	if err != nil {
		return err
	}
	if !leaf.Capabilities.supports(rc) {
		return fmt.Errorf("%w: leaf %d lacks required capabilities", ErrCapabilities, idx)
	}
	if !leaf.Capabilities.supportsExtensions(groupExt) {
		return fmt.Errorf("%w: leaf %d lacks the group context extensions", ErrCapabilities, idx)
	}
	for _, m := range tree.Members() {
		if m == idx {
			continue
		}
		other := tree.Leaf(m)
		if !slices.Contains(other.Capabilities.Credentials, leaf.Credential.Type) {
			return fmt.Errorf("%w: member %d does not support credential type %d", ErrCapabilities, m, leaf.Credential.Type)
		}
		if !slices.Contains(leaf.Capabilities.Credentials, other.Credential.Type) {
			return fmt.Errorf("%w: leaf %d does not support credential type %d of member %d", ErrCapabilities, idx, other.Credential.Type, m)
		}
		if bytes.Equal(other.SignatureKey, leaf.SignatureKey) {
			return fmt.Errorf("%w: signature key of leaf %d is used by member %d", ErrDuplicateKey, idx, m)
		}
		if bytes.Equal(other.EncryptionKey, leaf.EncryptionKey) {
			return fmt.Errorf("%w: encryption key of leaf %d is used by member %d", ErrDuplicateKey, idx, m)
		}
	}
	return nil
}

// keyInTree reports whether key is the encryption key of any node of tree.
func keyInTree(tree *RatchetTree, key []byte) bool {
	for _, n := range tree.nodes {
		if n != nil && bytes.Equal(n.encryptionKey(), key) {
			return true
		}
	}
	return false
}
