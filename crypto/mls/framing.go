package mls

import (
	"bytes"
	"crypto/rand"
	"fmt"
)

// framedContentTBS encodes FramedContentTBS, the input of a message signature
// (RFC 9420 §6.1). The GroupContext is included for member and
// new-member-commit senders.
func framedContentTBS(wf WireFormat, fc *FramedContent, gc *GroupContext) ([]byte, error) {
	var w writer
	w.u16(uint16(ProtocolVersionMLS10))
	w.u16(uint16(wf))
	fc.encode(&w)
	switch fc.Sender.Type {
	case SenderMember, SenderNewMemberCommit:
		if gc == nil {
			return nil, fmt.Errorf("%w: member sender needs a group context", ErrSenderType)
		}
		gc.encode(&w)
	}
	return w.b, w.err
}

// SignContent signs fc for sending with wire format wf and returns the
// AuthenticatedContent. For a commit the caller sets Auth.ConfirmationTag
// afterwards (it depends on the signature through the transcript hash).
func SignContent(cs CipherSuite, wf WireFormat, fc FramedContent, priv []byte, gc *GroupContext) (*AuthenticatedContent, error) {
	tbs, err := framedContentTBS(wf, &fc, gc)
	if err != nil {
		return nil, err
	}
	sig, err := SignWithLabel(cs, priv, "FramedContentTBS", tbs)
	if err != nil {
		return nil, err
	}
	return &AuthenticatedContent{WireFormat: wf, Content: fc, Auth: FramedContentAuthData{Signature: sig}}, nil
}

// VerifySignature checks the content signature with the sender's signature key.
func (a *AuthenticatedContent) VerifySignature(cs CipherSuite, pub []byte, gc *GroupContext) error {
	tbs, err := framedContentTBS(a.WireFormat, &a.Content, gc)
	if err != nil {
		return err
	}
	return VerifyWithLabel(cs, pub, "FramedContentTBS", tbs, a.Auth.Signature)
}

// ProposalRef returns RefHash("MLS 1.0 Proposal Reference", AuthenticatedContent) (RFC 9420 §5.2).
func (a *AuthenticatedContent) ProposalRef(cs CipherSuite) ([]byte, error) {
	b, err := Marshal(a)
	if err != nil {
		return nil, err
	}
	return RefHash(cs, "MLS 1.0 Proposal Reference", b)
}

// membershipTag computes MAC(membership_key, AuthenticatedContentTBM).
func membershipTag(cs CipherSuite, membershipKey []byte, fc *FramedContent, auth *FramedContentAuthData, gc *GroupContext) ([]byte, error) {
	tbs, err := framedContentTBS(WireFormatPublicMessage, fc, gc)
	if err != nil {
		return nil, err
	}
	w := writer{b: tbs}
	auth.encode(&w, fc.ContentType)
	if w.err != nil {
		return nil, w.err
	}
	return cs.MAC(membershipKey, w.b), nil
}

// checkEpoch rejects content addressed to another group or epoch.
func checkEpoch(groupID []byte, epoch uint64, gc *GroupContext) error {
	if !bytes.Equal(groupID, gc.GroupID) {
		return ErrWrongGroup
	}
	if epoch != gc.Epoch {
		return fmt.Errorf("%w: %d, current %d", ErrWrongEpoch, epoch, gc.Epoch)
	}
	return nil
}

// ProtectPublic frames signed content as a PublicMessage, adding the
// membership tag for member senders (RFC 9420 §6.2).
func ProtectPublic(cs CipherSuite, ac *AuthenticatedContent, membershipKey []byte, gc *GroupContext) (*PublicMessage, error) {
	if ac.WireFormat != WireFormatPublicMessage {
		return nil, fmt.Errorf("%w: content signed for wire format %d", ErrWireFormat, ac.WireFormat)
	}
	if ac.Content.ContentType == ContentCommit && len(ac.Auth.ConfirmationTag) == 0 {
		return nil, ErrMissingConfirmationTag
	}
	pm := &PublicMessage{Content: ac.Content, Auth: ac.Auth}
	if ac.Content.Sender.Type == SenderMember {
		tag, err := membershipTag(cs, membershipKey, &ac.Content, &ac.Auth, gc)
		if err != nil {
			return nil, err
		}
		pm.MembershipTag = tag
	}
	return pm, nil
}

// UnprotectPublic checks a PublicMessage's group, epoch and (for member
// senders) membership tag and returns its AuthenticatedContent. The caller
// verifies the signature with the sender's key, which only it can look up.
func UnprotectPublic(cs CipherSuite, pm *PublicMessage, membershipKey []byte, gc *GroupContext) (*AuthenticatedContent, error) {
	if err := checkEpoch(pm.Content.GroupID, pm.Content.Epoch, gc); err != nil {
		return nil, err
	}
	if pm.Content.ContentType == ContentCommit && len(pm.Auth.ConfirmationTag) == 0 {
		return nil, ErrMissingConfirmationTag
	}
	if pm.Content.Sender.Type == SenderMember {
		tag, err := membershipTag(cs, membershipKey, &pm.Content, &pm.Auth, gc)
		if err != nil {
			return nil, err
		}
		if !hmacEqual(tag, pm.MembershipTag) {
			return nil, ErrBadMembershipTag
		}
	}
	return &AuthenticatedContent{WireFormat: WireFormatPublicMessage, Content: pm.Content, Auth: pm.Auth}, nil
}

// senderData is the encrypted header of a PrivateMessage.
type senderData struct {
	leaf       LeafIndex
	generation uint32
	reuseGuard [4]byte
}

func (s *senderData) encode(w *writer) {
	w.u32(uint32(s.leaf))
	w.u32(s.generation)
	w.raw(s.reuseGuard[:])
}

func (s *senderData) decode(r *reader) {
	s.leaf = LeafIndex(r.u32())
	s.generation = r.u32()
	copy(s.reuseGuard[:], r.take(4))
}

func senderDataAAD(groupID []byte, epoch uint64, ct ContentType) ([]byte, error) {
	var w writer
	w.opaque(groupID)
	w.u64(epoch)
	w.u8(uint8(ct))
	return w.b, w.err
}

func privateContentAAD(pm *PrivateMessage) ([]byte, error) {
	var w writer
	w.opaque(pm.GroupID)
	w.u64(pm.Epoch)
	w.u8(uint8(pm.ContentType))
	w.opaque(pm.AuthenticatedData)
	return w.b, w.err
}

// ProtectPrivate encrypts signed content from a member as a PrivateMessage
// (RFC 9420 §6.3), using the next key of the sender's ratchet in st and
// appending padding zero bytes to the plaintext.
func ProtectPrivate(cs CipherSuite, ac *AuthenticatedContent, senderDataSecret []byte, st *SecretTree, padding int) (*PrivateMessage, error) {
	fc := &ac.Content
	if ac.WireFormat != WireFormatPrivateMessage {
		return nil, fmt.Errorf("%w: content signed for wire format %d", ErrWireFormat, ac.WireFormat)
	}
	if fc.Sender.Type != SenderMember {
		return nil, fmt.Errorf("%w: only members send private messages", ErrSenderType)
	}
	if fc.ContentType == ContentCommit && len(ac.Auth.ConfirmationTag) == 0 {
		return nil, ErrMissingConfirmationTag
	}
	if padding < 0 {
		return nil, fmt.Errorf("%w: negative padding", ErrInvalidPadding)
	}
	var w writer
	fc.encodeBody(&w)
	ac.Auth.encode(&w, fc.ContentType)
	w.raw(make([]byte, padding))
	if w.err != nil {
		return nil, w.err
	}
	plaintext := w.b

	leaf := LeafIndex(fc.Sender.Index)
	gen, key, nonce, err := st.Next(leaf, RatchetFor(fc.ContentType))
	if err != nil {
		return nil, err
	}
	sd := senderData{leaf: leaf, generation: gen}
	if _, err := rand.Read(sd.reuseGuard[:]); err != nil {
		return nil, err
	}
	for i := range sd.reuseGuard {
		nonce[i] ^= sd.reuseGuard[i]
	}
	pm := &PrivateMessage{
		GroupID:           fc.GroupID,
		Epoch:             fc.Epoch,
		ContentType:       fc.ContentType,
		AuthenticatedData: fc.AuthenticatedData,
	}
	aad, err := privateContentAAD(pm)
	if err != nil {
		return nil, err
	}
	aead, err := cs.AEAD(key)
	if err != nil {
		return nil, err
	}
	pm.Ciphertext = aead.Seal(nil, nonce, plaintext, aad)

	sdKey, sdNonce, err := SenderDataKeyNonce(cs, senderDataSecret, pm.Ciphertext)
	if err != nil {
		return nil, err
	}
	sdAAD, err := senderDataAAD(pm.GroupID, pm.Epoch, pm.ContentType)
	if err != nil {
		return nil, err
	}
	sdPlain, err := Marshal(&sd)
	if err != nil {
		return nil, err
	}
	sdAEAD, err := cs.AEAD(sdKey)
	if err != nil {
		return nil, err
	}
	pm.EncryptedSenderData = sdAEAD.Seal(nil, sdNonce, sdPlain, sdAAD)
	return pm, nil
}

// UnprotectPrivate decrypts a PrivateMessage with the epoch's sender data
// secret and secret tree (consuming the message key) and returns its
// AuthenticatedContent. The caller verifies the signature with the key of
// the sender leaf, which only it can look up.
func UnprotectPrivate(cs CipherSuite, pm *PrivateMessage, senderDataSecret []byte, st *SecretTree, gc *GroupContext) (*AuthenticatedContent, error) {
	if err := checkEpoch(pm.GroupID, pm.Epoch, gc); err != nil {
		return nil, err
	}
	sdKey, sdNonce, err := SenderDataKeyNonce(cs, senderDataSecret, pm.Ciphertext)
	if err != nil {
		return nil, err
	}
	sdAAD, err := senderDataAAD(pm.GroupID, pm.Epoch, pm.ContentType)
	if err != nil {
		return nil, err
	}
	sdAEAD, err := cs.AEAD(sdKey)
	if err != nil {
		return nil, err
	}
	sdPlain, err := sdAEAD.Open(nil, sdNonce, pm.EncryptedSenderData, sdAAD)
	if err != nil {
		return nil, fmt.Errorf("%w: sender data", ErrDecryption)
	}
	var sd senderData
	if err := Unmarshal(sdPlain, &sd); err != nil {
		return nil, fmt.Errorf("sender data: %w", err)
	}
	key, nonce, err := st.Get(sd.leaf, RatchetFor(pm.ContentType), sd.generation)
	if err != nil {
		return nil, err
	}
	rt := RatchetFor(pm.ContentType)
	guarded := bytes.Clone(nonce)
	for i := range sd.reuseGuard {
		guarded[i] ^= sd.reuseGuard[i]
	}
	aad, err := privateContentAAD(pm)
	if err != nil {
		return nil, err
	}
	aead, err := cs.AEAD(key)
	if err != nil {
		return nil, err
	}
	plaintext, err := aead.Open(nil, guarded, pm.Ciphertext, aad)
	if err != nil {
		st.restore(sd.leaf, rt, sd.generation, key, nonce)
		return nil, fmt.Errorf("%w: content", ErrDecryption)
	}
	ac := &AuthenticatedContent{
		WireFormat: WireFormatPrivateMessage,
		Content: FramedContent{
			GroupID:           pm.GroupID,
			Epoch:             pm.Epoch,
			Sender:            Sender{Type: SenderMember, Index: uint32(sd.leaf)},
			AuthenticatedData: pm.AuthenticatedData,
			ContentType:       pm.ContentType,
		},
	}
	r := reader{b: plaintext}
	ac.Content.decodeBody(&r)
	ac.Auth.decode(&r, pm.ContentType)
	if r.err != nil {
		return nil, fmt.Errorf("private message content: %w", r.err)
	}
	for _, b := range r.b {
		if b != 0 {
			return nil, ErrInvalidPadding
		}
	}
	return ac, nil
}
