package mls

// Transcript hashes (RFC 9420 §8.2).

// ConfirmedTranscriptHash returns Hash(interim_before ||
// ConfirmedTranscriptHashInput{wire_format, content, signature}) for a commit.
func ConfirmedTranscriptHash(cs CipherSuite, interimBefore []byte, ac *AuthenticatedContent) ([]byte, error) {
	w := writer{b: append([]byte(nil), interimBefore...)}
	w.u16(uint16(ac.WireFormat))
	ac.Content.encode(&w)
	w.opaque(ac.Auth.Signature)
	if w.err != nil {
		return nil, w.err
	}
	return cs.Hash(w.b), nil
}

// InterimTranscriptHash returns Hash(confirmed || InterimTranscriptHashInput{confirmation_tag}).
func InterimTranscriptHash(cs CipherSuite, confirmed, confirmationTag []byte) ([]byte, error) {
	w := writer{b: append([]byte(nil), confirmed...)}
	w.opaque(confirmationTag)
	if w.err != nil {
		return nil, w.err
	}
	return cs.Hash(w.b), nil
}
