package mls

import "fmt"

// WireFormat identifies the kind of message inside an MLSMessage.
type WireFormat uint16

// Wire formats.
const (
	// WireFormatPublicMessage is a PublicMessage.
	WireFormatPublicMessage WireFormat = 1
	// WireFormatPrivateMessage is a PrivateMessage.
	WireFormatPrivateMessage WireFormat = 2
	// WireFormatWelcome is a Welcome.
	WireFormatWelcome WireFormat = 3
	// WireFormatGroupInfo is a GroupInfo.
	WireFormatGroupInfo WireFormat = 4
	// WireFormatKeyPackage is a KeyPackage.
	WireFormatKeyPackage WireFormat = 5
)

// ContentType says what a FramedContent carries.
type ContentType uint8

// Content types.
const (
	// ContentApplication is application data.
	ContentApplication ContentType = 1
	// ContentProposal is a Proposal.
	ContentProposal ContentType = 2
	// ContentCommit is a Commit.
	ContentCommit ContentType = 3
)

// SenderType says who sent a message.
type SenderType uint8

// Sender types.
const (
	// SenderMember is a member, identified by its leaf index.
	SenderMember SenderType = 1
	// SenderExternal is an external sender listed in the external_senders extension.
	SenderExternal SenderType = 2
	// SenderNewMemberProposal is a non-member proposing its own Add.
	SenderNewMemberProposal SenderType = 3
	// SenderNewMemberCommit is a non-member joining by external commit.
	SenderNewMemberCommit SenderType = 4
)

// Sender identifies the sender of a message (RFC 9420 §6).
type Sender struct {
	Type SenderType
	// Index is the leaf index of a member or the index of an external sender.
	Index uint32
}

func (s *Sender) encode(w *writer) {
	w.u8(uint8(s.Type))
	switch s.Type {
	case SenderMember, SenderExternal:
		w.u32(s.Index)
	case SenderNewMemberProposal, SenderNewMemberCommit:
	default:
		if w.err == nil {
			w.err = fmt.Errorf("%w: sender type %d", ErrUnknownValue, s.Type)
		}
	}
}

func (s *Sender) decode(r *reader) {
	s.Type = SenderType(r.u8())
	switch s.Type {
	case SenderMember, SenderExternal:
		s.Index = r.u32()
	case SenderNewMemberProposal, SenderNewMemberCommit:
	default:
		r.failf("%w: sender type %d", ErrUnknownValue, s.Type)
	}
}

// FramedContent is the authenticated body of a handshake or application message.
type FramedContent struct {
	GroupID           []byte
	Epoch             uint64
	Sender            Sender
	AuthenticatedData []byte
	ContentType       ContentType
	// ApplicationData is set for application content.
	ApplicationData []byte
	// Proposal is set for proposal content.
	Proposal *Proposal
	// Commit is set for commit content.
	Commit *Commit
}

// encodeBody writes the content-type-selected body.
func (f *FramedContent) encodeBody(w *writer) {
	switch f.ContentType {
	case ContentApplication:
		w.opaque(f.ApplicationData)
	case ContentProposal:
		if f.Proposal == nil {
			w.err = fmt.Errorf("%w: proposal content without proposal", ErrContentType)
			return
		}
		f.Proposal.encode(w)
	case ContentCommit:
		if f.Commit == nil {
			w.err = fmt.Errorf("%w: commit content without commit", ErrContentType)
			return
		}
		f.Commit.encode(w)
	default:
		if w.err == nil {
			w.err = fmt.Errorf("%w: content type %d", ErrUnknownValue, f.ContentType)
		}
	}
}

func (f *FramedContent) decodeBody(r *reader) {
	switch f.ContentType {
	case ContentApplication:
		f.ApplicationData = r.opaque()
	case ContentProposal:
		f.Proposal = new(Proposal)
		f.Proposal.decode(r)
	case ContentCommit:
		f.Commit = new(Commit)
		f.Commit.decode(r)
	default:
		r.failf("%w: content type %d", ErrUnknownValue, f.ContentType)
	}
}

func (f *FramedContent) encode(w *writer) {
	w.opaque(f.GroupID)
	w.u64(f.Epoch)
	f.Sender.encode(w)
	w.opaque(f.AuthenticatedData)
	w.u8(uint8(f.ContentType))
	f.encodeBody(w)
}

func (f *FramedContent) decode(r *reader) {
	f.GroupID = r.opaque()
	f.Epoch = r.u64()
	f.Sender.decode(r)
	f.AuthenticatedData = r.opaque()
	f.ContentType = ContentType(r.u8())
	f.decodeBody(r)
}

// FramedContentAuthData is the signature and, for commits, the confirmation tag.
type FramedContentAuthData struct {
	Signature []byte
	// ConfirmationTag is present exactly for commits.
	ConfirmationTag []byte
}

func (a *FramedContentAuthData) encode(w *writer, ct ContentType) {
	w.opaque(a.Signature)
	if ct == ContentCommit {
		w.opaque(a.ConfirmationTag)
	}
}

func (a *FramedContentAuthData) decode(r *reader, ct ContentType) {
	a.Signature = r.opaque()
	if ct == ContentCommit {
		a.ConfirmationTag = r.opaque()
	}
}

// AuthenticatedContent is FramedContent with its wire format and authentication data.
type AuthenticatedContent struct {
	WireFormat WireFormat
	Content    FramedContent
	Auth       FramedContentAuthData
}

func (a *AuthenticatedContent) encode(w *writer) {
	w.u16(uint16(a.WireFormat))
	a.Content.encode(w)
	a.Auth.encode(w, a.Content.ContentType)
}

func (a *AuthenticatedContent) decode(r *reader) {
	a.WireFormat = WireFormat(r.u16())
	a.Content.decode(r)
	a.Auth.decode(r, a.Content.ContentType)
}

// PublicMessage is a signed, unencrypted handshake message (RFC 9420 §6.2).
type PublicMessage struct {
	Content FramedContent
	Auth    FramedContentAuthData
	// MembershipTag is present exactly when the sender is a member.
	MembershipTag []byte
}

func (p *PublicMessage) encode(w *writer) {
	p.Content.encode(w)
	p.Auth.encode(w, p.Content.ContentType)
	if p.Content.Sender.Type == SenderMember {
		w.opaque(p.MembershipTag)
	}
}

func (p *PublicMessage) decode(r *reader) {
	p.Content.decode(r)
	p.Auth.decode(r, p.Content.ContentType)
	if p.Content.Sender.Type == SenderMember {
		p.MembershipTag = r.opaque()
	}
}

// PrivateMessage is an encrypted handshake or application message (RFC 9420 §6.3).
type PrivateMessage struct {
	GroupID             []byte
	Epoch               uint64
	ContentType         ContentType
	AuthenticatedData   []byte
	EncryptedSenderData []byte
	Ciphertext          []byte
}

func (p *PrivateMessage) encode(w *writer) {
	w.opaque(p.GroupID)
	w.u64(p.Epoch)
	w.u8(uint8(p.ContentType))
	w.opaque(p.AuthenticatedData)
	w.opaque(p.EncryptedSenderData)
	w.opaque(p.Ciphertext)
}

func (p *PrivateMessage) decode(r *reader) {
	p.GroupID = r.opaque()
	p.Epoch = r.u64()
	p.ContentType = ContentType(r.u8())
	if p.ContentType < ContentApplication || p.ContentType > ContentCommit {
		r.failf("%w: content type %d", ErrUnknownValue, p.ContentType)
	}
	p.AuthenticatedData = r.opaque()
	p.EncryptedSenderData = r.opaque()
	p.Ciphertext = r.opaque()
}

// GroupInfo describes a group to a joiner (RFC 9420 §12.4.3).
type GroupInfo struct {
	GroupContext    GroupContext
	Extensions      []Extension
	ConfirmationTag []byte
	Signer          LeafIndex
	Signature       []byte
}

func (g *GroupInfo) encodeBody(w *writer) {
	g.GroupContext.encode(w)
	encodeVec(w, g.Extensions)
	w.opaque(g.ConfirmationTag)
	w.u32(uint32(g.Signer))
}

func (g *GroupInfo) encode(w *writer) {
	g.encodeBody(w)
	w.opaque(g.Signature)
}

func (g *GroupInfo) decode(r *reader) {
	g.GroupContext.decode(r)
	g.Extensions = decodeVec[Extension](r)
	g.ConfirmationTag = r.opaque()
	g.Signer = LeafIndex(r.u32())
	g.Signature = r.opaque()
}

// Sign sets the GroupInfo signature over GroupInfoTBS.
func (g *GroupInfo) Sign(cs CipherSuite, priv []byte) error {
	var w writer
	g.encodeBody(&w)
	if w.err != nil {
		return w.err
	}
	sig, err := SignWithLabel(cs, priv, "GroupInfoTBS", w.b)
	if err != nil {
		return err
	}
	g.Signature = sig
	return nil
}

// VerifySignature checks the GroupInfo signature with the signer's public key.
func (g *GroupInfo) VerifySignature(cs CipherSuite, pub []byte) error {
	var w writer
	g.encodeBody(&w)
	if w.err != nil {
		return w.err
	}
	return VerifyWithLabel(cs, pub, "GroupInfoTBS", w.b, g.Signature)
}

// GroupSecrets are the secrets a Welcome delivers to one new member.
type GroupSecrets struct {
	JoinerSecret []byte
	// PathSecret is the path secret of the lowest common ancestor with the committer, if any.
	PathSecret []byte
	PSKs       []PreSharedKeyID
}

func (g *GroupSecrets) encode(w *writer) {
	w.opaque(g.JoinerSecret)
	if g.PathSecret == nil {
		w.u8(0)
	} else {
		w.u8(1)
		w.opaque(g.PathSecret)
	}
	encodeVec(w, g.PSKs)
}

func (g *GroupSecrets) decode(r *reader) {
	g.JoinerSecret = r.opaque()
	if r.boolean() {
		g.PathSecret = r.opaque()
	}
	g.PSKs = decodeVec[PreSharedKeyID](r)
}

// EncryptedGroupSecrets is GroupSecrets encrypted to one KeyPackage's init key.
type EncryptedGroupSecrets struct {
	NewMember             []byte
	EncryptedGroupSecrets HPKECiphertext
}

func (e *EncryptedGroupSecrets) encode(w *writer) {
	w.opaque(e.NewMember)
	e.EncryptedGroupSecrets.encode(w)
}

func (e *EncryptedGroupSecrets) decode(r *reader) {
	e.NewMember = r.opaque()
	e.EncryptedGroupSecrets.decode(r)
}

// Welcome invites new members into a group (RFC 9420 §12.4.3.1).
type Welcome struct {
	CipherSuite        CipherSuiteID
	Secrets            []EncryptedGroupSecrets
	EncryptedGroupInfo []byte
}

func (wl *Welcome) encode(w *writer) {
	w.u16(uint16(wl.CipherSuite))
	encodeVec(w, wl.Secrets)
	w.opaque(wl.EncryptedGroupInfo)
}

func (wl *Welcome) decode(r *reader) {
	wl.CipherSuite = CipherSuiteID(r.u16())
	wl.Secrets = decodeVec[EncryptedGroupSecrets](r)
	wl.EncryptedGroupInfo = r.opaque()
}

// MLSMessage is the outer envelope of every MLS message (RFC 9420 §6).
// Exactly the field matching WireFormat is set.
type MLSMessage struct {
	Version        ProtocolVersion
	WireFormat     WireFormat
	PublicMessage  *PublicMessage
	PrivateMessage *PrivateMessage
	Welcome        *Welcome
	GroupInfo      *GroupInfo
	KeyPackage     *KeyPackage
}

func (m *MLSMessage) encode(w *writer) {
	w.u16(uint16(m.Version))
	w.u16(uint16(m.WireFormat))
	var body codec
	switch m.WireFormat {
	case WireFormatPublicMessage:
		body = m.PublicMessage
	case WireFormatPrivateMessage:
		body = m.PrivateMessage
	case WireFormatWelcome:
		body = m.Welcome
	case WireFormatGroupInfo:
		body = m.GroupInfo
	case WireFormatKeyPackage:
		body = m.KeyPackage
	}
	if isNilCodec(body) {
		if w.err == nil {
			w.err = fmt.Errorf("%w: no body for wire format %d", ErrWireFormat, m.WireFormat)
		}
		return
	}
	body.encode(w)
}

func isNilCodec(c codec) bool {
	switch v := c.(type) {
	case nil:
		return true
	case *PublicMessage:
		return v == nil
	case *PrivateMessage:
		return v == nil
	case *Welcome:
		return v == nil
	case *GroupInfo:
		return v == nil
	case *KeyPackage:
		return v == nil
	}
	return false
}

func (m *MLSMessage) decode(r *reader) {
	m.Version = ProtocolVersion(r.u16())
	if r.err == nil && m.Version != ProtocolVersionMLS10 {
		r.failf("%w: protocol version %d", ErrUnknownValue, m.Version)
		return
	}
	m.WireFormat = WireFormat(r.u16())
	switch m.WireFormat {
	case WireFormatPublicMessage:
		m.PublicMessage = new(PublicMessage)
		m.PublicMessage.decode(r)
	case WireFormatPrivateMessage:
		m.PrivateMessage = new(PrivateMessage)
		m.PrivateMessage.decode(r)
	case WireFormatWelcome:
		m.Welcome = new(Welcome)
		m.Welcome.decode(r)
	case WireFormatGroupInfo:
		m.GroupInfo = new(GroupInfo)
		m.GroupInfo.decode(r)
	case WireFormatKeyPackage:
		m.KeyPackage = new(KeyPackage)
		m.KeyPackage.decode(r)
	default:
		r.failf("%w: wire format %d", ErrUnknownValue, m.WireFormat)
	}
}
