package opaque

import (
	"bytes"
	"fmt"
)

// The message structs mirror RFC 9807 §5.1 and §6.1 field by field. Every
// field has a length fixed by the suite, so a message encodes as the plain
// concatenation of its fields; the package documentation lists the layouts.
// The decoders check every length and every group element, and never return
// slices that alias their input.

// RegistrationRequest is the client's first registration message.
type RegistrationRequest struct {
	// BlindedMessage is the blinded password, an OPRF element (Noe bytes).
	BlindedMessage []byte
}

// RegistrationResponse is the server's registration answer.
type RegistrationResponse struct {
	// EvaluatedMessage is the OPRF evaluation of BlindedMessage (Noe bytes).
	EvaluatedMessage []byte
	// ServerPublicKey is the server's long-term AKE public key (Npk bytes).
	ServerPublicKey []byte
}

// Envelope lets the client re-derive its private key and check that the
// server's public key and both identities are the ones of registration.
type Envelope struct {
	// Nonce is the envelope nonce (Nn bytes).
	Nonce []byte
	// AuthTag is the MAC over the nonce and the cleartext credentials (Nm
	// bytes).
	AuthTag []byte
}

// RegistrationRecord is what the client uploads at the end of registration
// and what the server stores for the account (its "credential file").
type RegistrationRecord struct {
	// ClientPublicKey is the client's long-term AKE public key (Npk bytes).
	ClientPublicKey []byte
	// MaskingKey hides the envelope and the server key in KE2 (Nh bytes).
	MaskingKey []byte
	// Envelope is the client's envelope.
	Envelope Envelope
}

// CredentialRequest is the OPRF half of KE1.
type CredentialRequest struct {
	// BlindedMessage is the blinded password, an OPRF element (Noe bytes).
	BlindedMessage []byte
}

// AuthRequest is the 3DH half of KE1.
type AuthRequest struct {
	// ClientNonce is fresh per login (Nn bytes).
	ClientNonce []byte
	// ClientPublicKeyshare is the client's ephemeral public key (Npk bytes).
	ClientPublicKeyshare []byte
}

// KE1 is the client's first login message.
type KE1 struct {
	// CredentialRequest starts the OPRF.
	CredentialRequest CredentialRequest
	// AuthRequest starts the 3DH.
	AuthRequest AuthRequest
}

// CredentialResponse is the OPRF and envelope half of KE2.
type CredentialResponse struct {
	// EvaluatedMessage is the OPRF evaluation of the blinded password (Noe
	// bytes).
	EvaluatedMessage []byte
	// MaskingNonce is fresh per login (Nn bytes).
	MaskingNonce []byte
	// MaskedResponse is the server public key and the envelope, XORed with
	// a pad derived from the masking key (Npk+Nn+Nm bytes).
	MaskedResponse []byte
}

// AuthResponse is the 3DH half of KE2.
type AuthResponse struct {
	// ServerNonce is fresh per login (Nn bytes).
	ServerNonce []byte
	// ServerPublicKeyshare is the server's ephemeral public key (Npk bytes).
	ServerPublicKeyshare []byte
	// ServerMAC authenticates the transcript up to here (Nm bytes).
	ServerMAC []byte
}

// KE2 is the server's login message.
type KE2 struct {
	// CredentialResponse completes the OPRF and carries the envelope.
	CredentialResponse CredentialResponse
	// AuthResponse answers the 3DH and authenticates the server.
	AuthResponse AuthResponse
}

// KE3 is the client's last login message.
type KE3 struct {
	// ClientMAC authenticates the whole transcript (Nm bytes).
	ClientMAC []byte
}

func concat(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Encode returns the wire form: blinded_message.
func (m *RegistrationRequest) Encode() []byte { return concat(m.BlindedMessage) }

// Encode returns the wire form: evaluated_message ‖ server_public_key.
func (m *RegistrationResponse) Encode() []byte {
	return concat(m.EvaluatedMessage, m.ServerPublicKey)
}

// Encode returns the wire form: envelope_nonce ‖ auth_tag.
func (m *Envelope) Encode() []byte { return concat(m.Nonce, m.AuthTag) }

// Encode returns the wire form: client_public_key ‖ masking_key ‖ envelope.
func (m *RegistrationRecord) Encode() []byte {
	return concat(m.ClientPublicKey, m.MaskingKey, m.Envelope.Nonce, m.Envelope.AuthTag)
}

// Encode returns the wire form: blinded_message.
func (m *CredentialRequest) Encode() []byte { return concat(m.BlindedMessage) }

// Encode returns the wire form: client_nonce ‖ client_public_keyshare.
func (m *AuthRequest) Encode() []byte { return concat(m.ClientNonce, m.ClientPublicKeyshare) }

// Encode returns the wire form: credential_request ‖ auth_request.
func (m *KE1) Encode() []byte {
	return concat(m.CredentialRequest.BlindedMessage, m.AuthRequest.ClientNonce, m.AuthRequest.ClientPublicKeyshare)
}

// Encode returns the wire form: evaluated_message ‖ masking_nonce ‖
// masked_response.
func (m *CredentialResponse) Encode() []byte {
	return concat(m.EvaluatedMessage, m.MaskingNonce, m.MaskedResponse)
}

// Encode returns the wire form: server_nonce ‖ server_public_keyshare ‖
// server_mac.
func (m *AuthResponse) Encode() []byte {
	return concat(m.ServerNonce, m.ServerPublicKeyshare, m.ServerMAC)
}

// Encode returns the wire form: credential_response ‖ auth_response.
func (m *KE2) Encode() []byte {
	c, a := &m.CredentialResponse, &m.AuthResponse
	return concat(c.EvaluatedMessage, c.MaskingNonce, c.MaskedResponse, a.ServerNonce, a.ServerPublicKeyshare, a.ServerMAC)
}

// Encode returns the wire form: client_mac.
func (m *KE3) Encode() []byte { return concat(m.ClientMAC) }

// split copies b and cuts the copy into fields of the given lengths; b must
// be exactly as long as the fields together.
func split(what string, b []byte, lens ...int) ([][]byte, error) {
	total := 0
	for _, l := range lens {
		total += l
	}
	if len(b) != total {
		return nil, fmt.Errorf("%w: %s of %d bytes, want %d", ErrInvalidLength, what, len(b), total)
	}
	buf := bytes.Clone(b)
	out := make([][]byte, len(lens))
	for i, l := range lens {
		out[i] = buf[:l:l]
		buf = buf[l:]
	}
	return out, nil
}

// field is one length and, for points, validity requirement of a message.
type field struct {
	name    string
	value   []byte
	length  int
	element bool
}

// checkFields is the one place that decides whether a message is well
// formed; decoders and protocol steps both use it, the latter because
// callers may build messages by hand.
func (p *params) checkFields(msg string, fields ...field) error {
	for _, f := range fields {
		if f.element {
			if _, err := p.decodeElement(f.value); err != nil {
				return fmt.Errorf("%s %s: %w", msg, f.name, err)
			}
			continue
		}
		if len(f.value) != f.length {
			return fmt.Errorf("%w: %s %s of %d bytes, want %d", ErrInvalidLength, msg, f.name, len(f.value), f.length)
		}
	}
	return nil
}

func (p *params) checkRegistrationRequest(m *RegistrationRequest) error {
	if m == nil {
		return fmt.Errorf("%w: nil RegistrationRequest", ErrInvalidInput)
	}
	return p.checkFields("RegistrationRequest",
		field{name: "blinded_message", value: m.BlindedMessage, element: true})
}

func (p *params) checkRegistrationResponse(m *RegistrationResponse) error {
	if m == nil {
		return fmt.Errorf("%w: nil RegistrationResponse", ErrInvalidInput)
	}
	return p.checkFields("RegistrationResponse",
		field{name: "evaluated_message", value: m.EvaluatedMessage, element: true},
		field{name: "server_public_key", value: m.ServerPublicKey, element: true})
}

func (p *params) checkRegistrationRecord(m *RegistrationRecord) error {
	if m == nil {
		return fmt.Errorf("%w: nil RegistrationRecord", ErrInvalidInput)
	}
	return p.checkFields("RegistrationRecord",
		field{name: "client_public_key", value: m.ClientPublicKey, element: true},
		field{name: "masking_key", value: m.MaskingKey, length: p.nh},
		field{name: "envelope_nonce", value: m.Envelope.Nonce, length: nonceLen},
		field{name: "auth_tag", value: m.Envelope.AuthTag, length: p.nm})
}

func (p *params) checkKE1(m *KE1) error {
	if m == nil {
		return fmt.Errorf("%w: nil KE1", ErrInvalidInput)
	}
	return p.checkFields("KE1",
		field{name: "blinded_message", value: m.CredentialRequest.BlindedMessage, element: true},
		field{name: "client_nonce", value: m.AuthRequest.ClientNonce, length: nonceLen},
		field{name: "client_public_keyshare", value: m.AuthRequest.ClientPublicKeyshare, element: true})
}

func (p *params) checkKE2(m *KE2) error {
	if m == nil {
		return fmt.Errorf("%w: nil KE2", ErrInvalidInput)
	}
	return p.checkFields("KE2",
		field{name: "evaluated_message", value: m.CredentialResponse.EvaluatedMessage, element: true},
		field{name: "masking_nonce", value: m.CredentialResponse.MaskingNonce, length: nonceLen},
		field{name: "masked_response", value: m.CredentialResponse.MaskedResponse, length: p.maskedResponseLen()},
		field{name: "server_nonce", value: m.AuthResponse.ServerNonce, length: nonceLen},
		field{name: "server_public_keyshare", value: m.AuthResponse.ServerPublicKeyshare, element: true},
		field{name: "server_mac", value: m.AuthResponse.ServerMAC, length: p.nm})
}

// maskedResponseLen is Npk + Nn + Nm: server public key and envelope.
func (p *params) maskedResponseLen() int { return p.npk + nonceLen + p.nm }

// DecodeRegistrationRequest parses a RegistrationRequest of suite s.
func DecodeRegistrationRequest(s Suite, b []byte) (*RegistrationRequest, error) {
	p, err := lookupSuite(s)
	if err != nil {
		return nil, err
	}
	f, err := split("RegistrationRequest", b, p.noe)
	if err != nil {
		return nil, err
	}
	m := &RegistrationRequest{BlindedMessage: f[0]}
	if err := p.checkRegistrationRequest(m); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeRegistrationResponse parses a RegistrationResponse of suite s.
func DecodeRegistrationResponse(s Suite, b []byte) (*RegistrationResponse, error) {
	p, err := lookupSuite(s)
	if err != nil {
		return nil, err
	}
	f, err := split("RegistrationResponse", b, p.noe, p.npk)
	if err != nil {
		return nil, err
	}
	m := &RegistrationResponse{EvaluatedMessage: f[0], ServerPublicKey: f[1]}
	if err := p.checkRegistrationResponse(m); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeRegistrationRecord parses a RegistrationRecord of suite s, as
// uploaded by a client or read back from storage.
func DecodeRegistrationRecord(s Suite, b []byte) (*RegistrationRecord, error) {
	p, err := lookupSuite(s)
	if err != nil {
		return nil, err
	}
	f, err := split("RegistrationRecord", b, p.npk, p.nh, nonceLen, p.nm)
	if err != nil {
		return nil, err
	}
	m := &RegistrationRecord{
		ClientPublicKey: f[0],
		MaskingKey:      f[1],
		Envelope:        Envelope{Nonce: f[2], AuthTag: f[3]},
	}
	if err := p.checkRegistrationRecord(m); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeKE1 parses a KE1 of suite s.
func DecodeKE1(s Suite, b []byte) (*KE1, error) {
	p, err := lookupSuite(s)
	if err != nil {
		return nil, err
	}
	f, err := split("KE1", b, p.noe, nonceLen, p.npk)
	if err != nil {
		return nil, err
	}
	m := &KE1{
		CredentialRequest: CredentialRequest{BlindedMessage: f[0]},
		AuthRequest:       AuthRequest{ClientNonce: f[1], ClientPublicKeyshare: f[2]},
	}
	if err := p.checkKE1(m); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeKE2 parses a KE2 of suite s.
func DecodeKE2(s Suite, b []byte) (*KE2, error) {
	p, err := lookupSuite(s)
	if err != nil {
		return nil, err
	}
	f, err := split("KE2", b, p.noe, nonceLen, p.maskedResponseLen(), nonceLen, p.npk, p.nm)
	if err != nil {
		return nil, err
	}
	m := &KE2{
		CredentialResponse: CredentialResponse{EvaluatedMessage: f[0], MaskingNonce: f[1], MaskedResponse: f[2]},
		AuthResponse:       AuthResponse{ServerNonce: f[3], ServerPublicKeyshare: f[4], ServerMAC: f[5]},
	}
	if err := p.checkKE2(m); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeKE3 parses a KE3 of suite s.
func DecodeKE3(s Suite, b []byte) (*KE3, error) {
	p, err := lookupSuite(s)
	if err != nil {
		return nil, err
	}
	f, err := split("KE3", b, p.nm)
	if err != nil {
		return nil, err
	}
	return &KE3{ClientMAC: f[0]}, nil
}
