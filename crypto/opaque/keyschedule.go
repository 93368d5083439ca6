package opaque

import (
	"crypto/hmac"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/cloudflare/circl/group"
)

// checkIdentity refuses identities the wire format cannot carry: every
// identity is framed with a two-byte length.
func checkIdentity(name string, id []byte) error {
	if len(id) > math.MaxUint16 {
		return fmt.Errorf("%w: %s of %d bytes, at most %d", ErrInvalidInput, name, len(id), math.MaxUint16)
	}
	return nil
}

// cleartextCredentials is CleartextCredentials of RFC 9807 §4, with the
// identities already defaulted to the public keys.
type cleartextCredentials struct {
	serverPublicKey []byte
	serverIdentity  []byte
	clientIdentity  []byte
}

// newCleartextCredentials is CreateCleartextCredentials. An empty identity
// counts as absent: the RFC's structure gives identities a length of at
// least 1, so an empty one could not be encoded anyway.
func newCleartextCredentials(serverPublicKey, clientPublicKey, serverIdentity, clientIdentity []byte) cleartextCredentials {
	if len(serverIdentity) == 0 {
		serverIdentity = serverPublicKey
	}
	if len(clientIdentity) == 0 {
		clientIdentity = clientPublicKey
	}
	return cleartextCredentials{serverPublicKey, serverIdentity, clientIdentity}
}

func appendFramed(b, v []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}

func (c cleartextCredentials) encode() []byte {
	b := make([]byte, 0, len(c.serverPublicKey)+4+len(c.serverIdentity)+len(c.clientIdentity))
	b = append(b, c.serverPublicKey...)
	b = appendFramed(b, c.serverIdentity)
	return appendFramed(b, c.clientIdentity)
}

// randomizedPassword computes Extract("", oprf_output ‖ Stretch(oprf_output)).
func (p *protocol) randomizedPassword(oprfOutput []byte) ([]byte, error) {
	stretched, err := p.ksf.Stretch(oprfOutput, p.nh)
	if err != nil {
		return nil, fmt.Errorf("opaque: key stretching: %w", err)
	}
	ikm := concat(oprfOutput, stretched)
	defer clear(ikm)
	clear(stretched)
	return p.extract(nil, ikm)
}

// envelopeKeys are the keys RFC 9807 §4.1.2 derives from the randomized
// password and the envelope nonce.
type envelopeKeys struct {
	authKey    []byte
	exportKey  []byte
	privateKey group.Scalar
	publicKey  []byte
}

func (p *protocol) deriveEnvelopeKeys(randomizedPassword, nonce []byte) (*envelopeKeys, error) {
	authKey, err := p.expand(randomizedPassword, concat(nonce, []byte(labelAuthKey)), p.nh)
	if err != nil {
		return nil, err
	}
	exportKey, err := p.expand(randomizedPassword, concat(nonce, []byte(labelExportKey)), p.nh)
	if err != nil {
		return nil, err
	}
	seed, err := p.expand(randomizedPassword, concat(nonce, []byte(labelPrivateKey)), seedLen)
	if err != nil {
		return nil, err
	}
	sk, pk, err := p.deriveDHKeyPair(seed)
	if err != nil {
		return nil, err
	}
	return &envelopeKeys{authKey: authKey, exportKey: exportKey, privateKey: sk, publicKey: pk}, nil
}

// store is Store of RFC 9807 §4.1.2 with the envelope nonce supplied.
func (p *protocol) store(randomizedPassword, serverPublicKey, serverIdentity, clientIdentity, nonce []byte) (*RegistrationRecord, []byte, error) {
	maskingKey, err := p.expand(randomizedPassword, []byte(labelMaskingKey), p.nh)
	if err != nil {
		return nil, nil, err
	}
	keys, err := p.deriveEnvelopeKeys(randomizedPassword, nonce)
	if err != nil {
		return nil, nil, err
	}
	creds := newCleartextCredentials(serverPublicKey, keys.publicKey, serverIdentity, clientIdentity)
	tag := p.mac(keys.authKey, nonce, creds.encode())
	record := &RegistrationRecord{
		ClientPublicKey: keys.publicKey,
		MaskingKey:      maskingKey,
		Envelope:        Envelope{Nonce: concat(nonce), AuthTag: tag},
	}
	return record, keys.exportKey, nil
}

// recover is Recover of RFC 9807 §4.1.3. serverPublicKey comes out of the
// masked response and is not validated here: with a wrong password it is
// noise, and the tag check must be what fails.
func (p *protocol) recover(randomizedPassword, serverPublicKey []byte, env Envelope, serverIdentity, clientIdentity []byte) (group.Scalar, cleartextCredentials, []byte, error) {
	keys, err := p.deriveEnvelopeKeys(randomizedPassword, env.Nonce)
	if err != nil {
		return nil, cleartextCredentials{}, nil, err
	}
	creds := newCleartextCredentials(serverPublicKey, keys.publicKey, serverIdentity, clientIdentity)
	expected := p.mac(keys.authKey, env.Nonce, creds.encode())
	if !hmac.Equal(expected, env.AuthTag) {
		clear(keys.exportKey)
		return nil, cleartextCredentials{}, nil, ErrEnvelopeRecovery
	}
	return keys.privateKey, creds, keys.exportKey, nil
}

// maskingPad is the credential_response_pad of RFC 9807 §6.3.2.2.
func (p *protocol) maskingPad(maskingKey, maskingNonce []byte) ([]byte, error) {
	return p.expand(maskingKey, concat(maskingNonce, []byte(labelResponsePad)), p.maskedResponseLen())
}

// preamble is Preamble of RFC 9807 §6.4.2.1; creds supplies the defaulted
// identities.
func (p *protocol) preamble(creds cleartextCredentials, ke1 *KE1, cr *CredentialResponse, serverNonce, serverPublicKeyshare []byte) []byte {
	var b []byte
	b = append(b, labelPreamblePrefix...)
	b = appendFramed(b, p.context)
	b = appendFramed(b, creds.clientIdentity)
	b = append(b, ke1.Encode()...)
	b = appendFramed(b, creds.serverIdentity)
	b = append(b, cr.Encode()...)
	b = append(b, serverNonce...)
	return append(b, serverPublicKeyshare...)
}

// sessionKeys are the outputs of DeriveKeys plus the two MACs, which both
// sides compute the same way.
type sessionKeys struct {
	sessionKey []byte
	serverMAC  []byte
	clientMAC  []byte
}

// deriveKeys runs DeriveKeys of RFC 9807 §6.4.2.2 on ikm = dh1 ‖ dh2 ‖ dh3
// and computes server_mac and the client_mac that must follow it.
func (p *protocol) deriveKeys(ikm, preamble []byte) (*sessionKeys, error) {
	prk, err := p.extract(nil, ikm)
	if err != nil {
		return nil, err
	}
	transcript := p.digest(preamble)
	handshake, err := p.deriveSecret(prk, labelHandshake, transcript)
	if err != nil {
		return nil, err
	}
	sessionKey, err := p.deriveSecret(prk, labelSessionKey, transcript)
	if err != nil {
		return nil, err
	}
	km2, err := p.deriveSecret(handshake, labelServerMAC, nil)
	if err != nil {
		return nil, err
	}
	km3, err := p.deriveSecret(handshake, labelClientMAC, nil)
	if err != nil {
		return nil, err
	}
	serverMAC := p.mac(km2, transcript)
	clientMAC := p.mac(km3, p.digest(preamble, serverMAC))
	clear(prk)
	clear(handshake)
	clear(km2)
	clear(km3)
	return &sessionKeys{sessionKey: sessionKey, serverMAC: serverMAC, clientMAC: clientMAC}, nil
}
