package opaque

import (
	"bytes"
	"crypto/hmac"
	"fmt"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/oprf"
)

// ServerSecrets are a server's long-term secrets. Persist them and keep them
// secret: losing them locks every user out, leaking OPRFSeed together with
// the records allows offline password guessing, and changing OPRFSeed or
// FakeRecordSeed lets anyone tell registered users from unknown ones.
type ServerSecrets struct {
	// PrivateKey is the server's AKE private key: an encoded non-zero scalar
	// of Nsk bytes.
	PrivateKey []byte
	// OPRFSeed derives the per-user OPRF keys (RFC 9807 oprf_seed): Nh bytes.
	OPRFSeed []byte
	// FakeRecordSeed derives the fake records that answer logins for
	// unknown users (RFC 9807 §10.9): Nh bytes.
	FakeRecordSeed []byte
}

// GenerateServerSecrets returns fresh random secrets for a server with
// configuration cfg.
func GenerateServerSecrets(cfg Config) (ServerSecrets, error) {
	pr, err := newProtocol(cfg)
	if err != nil {
		return ServerSecrets{}, err
	}
	p := pr.params
	sk, _, err := p.deriveDHKeyPair(randomBytes(seedLen))
	if err != nil {
		return ServerSecrets{}, err
	}
	raw, err := sk.MarshalBinary()
	if err != nil {
		return ServerSecrets{}, fmt.Errorf("%w: %w", ErrInvalidScalar, err)
	}
	return ServerSecrets{
		PrivateKey:     raw,
		OPRFSeed:       randomBytes(p.nh),
		FakeRecordSeed: randomBytes(p.nh),
	}, nil
}

// Labels of the fake record derivation. They are qpc's own (RFC 9807 leaves
// the construction to the server) and neither is a prefix of the other, so
// label ‖ credential_identifier is unambiguous.
const (
	labelFakeMaskingKey = "qpc-FakeMaskingKey:"
	labelFakeKeyPair    = "qpc-FakeClientKeyPair"
)

// Server runs the server side of OPAQUE. It holds only long-term values,
// so one Server serves any number of registrations and logins at once; the
// state of a login lives in the ServerState that GenerateKE2 returns.
type Server struct {
	p          *protocol
	privateKey group.Scalar
	publicKey  []byte
	oprfSeed   []byte
	fakeSeed   []byte

	// fakePublicKey is the client public key of every fake record. RFC 9807
	// §6.3.2.2 recommends one fake record created once; only the masking key
	// varies per credential identifier. The key enters KE2 only through the
	// server MAC, which no one without the password can check, so sharing
	// it reveals nothing, and precomputing it keeps the fake path as cheap
	// as a real one.
	fakePublicKey []byte
}

// NewServer returns a Server for cfg with the given long-term secrets,
// which it copies.
func NewServer(cfg Config, secrets ServerSecrets) (*Server, error) {
	p, err := newProtocol(cfg)
	if err != nil {
		return nil, err
	}
	sk, err := p.decodeScalar(secrets.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("%w: server private key: %w", ErrInvalidConfig, err)
	}
	if len(secrets.OPRFSeed) != p.nh {
		return nil, fmt.Errorf("%w: OPRF seed of %d bytes, want %d", ErrInvalidConfig, len(secrets.OPRFSeed), p.nh)
	}
	if len(secrets.FakeRecordSeed) != p.nh {
		return nil, fmt.Errorf("%w: fake record seed of %d bytes, want %d", ErrInvalidConfig, len(secrets.FakeRecordSeed), p.nh)
	}
	pk, err := p.publicKey(sk)
	if err != nil {
		return nil, err
	}
	s := &Server{
		p:          p,
		privateKey: sk,
		publicKey:  pk,
		oprfSeed:   bytes.Clone(secrets.OPRFSeed),
		fakeSeed:   bytes.Clone(secrets.FakeRecordSeed),
	}
	fakeKeySeed, err := p.expand(s.fakeSeed, []byte(labelFakeKeyPair), seedLen)
	if err != nil {
		return nil, err
	}
	if _, s.fakePublicKey, err = p.deriveDHKeyPair(fakeKeySeed); err != nil {
		return nil, err
	}
	return s, nil
}

// Suite returns the suite of the server's configuration.
func (s *Server) Suite() Suite { return s.p.suite }

// PublicKey returns the server's AKE public key (Npk bytes), the
// server_public_key of RFC 9807.
func (s *Server) PublicKey() []byte { return bytes.Clone(s.publicKey) }

// evaluate derives the OPRF key of credentialIdentifier and evaluates the
// blinded element with it (the common part of CreateRegistrationResponse
// and CreateCredentialResponse).
func (s *Server) evaluate(blindedMessage, credentialIdentifier []byte) ([]byte, error) {
	blinded, err := s.p.decodeElement(blindedMessage)
	if err != nil {
		return nil, fmt.Errorf("blinded_message: %w", err)
	}
	seed, err := s.p.expand(s.oprfSeed, concat(credentialIdentifier, []byte(labelOprfKeySeed)), s.p.nok)
	if err != nil {
		return nil, err
	}
	key, _, err := s.p.deriveKeyPair(seed, labelOPRFKey)
	if err != nil {
		return nil, err
	}
	ev, err := oprf.NewServer(s.p.oprf, key).Evaluate(&oprf.EvaluationRequest{Elements: []oprf.Blinded{blinded}})
	if err != nil {
		return nil, fmt.Errorf("%w: OPRF evaluation: %w", ErrInvalidElement, err)
	}
	return s.p.encodeElement(ev.Elements[0])
}

// CreateRegistrationResponse answers a registration request (RFC 9807
// §5.2.2) for the account named by credentialIdentifier, which must be
// unique per account and stay the same for its logins (qpc uses the user
// name).
func (s *Server) CreateRegistrationResponse(request *RegistrationRequest, credentialIdentifier []byte) (*RegistrationResponse, error) {
	if err := s.p.checkRegistrationRequest(request); err != nil {
		return nil, err
	}
	evaluated, err := s.evaluate(request.BlindedMessage, credentialIdentifier)
	if err != nil {
		return nil, err
	}
	return &RegistrationResponse{EvaluatedMessage: evaluated, ServerPublicKey: s.PublicKey()}, nil
}

// fakeRecord builds the record that stands in for an unknown
// credentialIdentifier (RFC 9807 §6.3.2.2): the server-wide fake public
// key, a masking key derived from the fake record seed and the identifier
// (so that the same name always gets the same answer), and an all-zero
// envelope.
func (s *Server) fakeRecord(credentialIdentifier []byte) (*RegistrationRecord, error) {
	maskingKey, err := s.p.expand(s.fakeSeed, concat([]byte(labelFakeMaskingKey), credentialIdentifier), s.p.nh)
	if err != nil {
		return nil, err
	}
	return &RegistrationRecord{
		ClientPublicKey: s.fakePublicKey,
		MaskingKey:      maskingKey,
		Envelope:        Envelope{Nonce: make([]byte, nonceLen), AuthTag: make([]byte, s.p.nm)},
	}, nil
}

// ServerState is the server's state between KE2 and KE3 (RFC 9807
// ServerAkeState). Use it once, then drop it.
type ServerState struct {
	expectedClientMAC []byte
	sessionKey        []byte
	fake              bool
	done              bool
}

// GenerateKE2 answers a KE1 (RFC 9807 §6.2.2) and returns the KE2 to send
// and the state that ServerFinish needs. record is the stored
// RegistrationRecord of credentialIdentifier, or nil when there is none: the
// server then answers with a fake record, a KE2 that no one without the
// server's secrets can tell from a real one, and the client's login fails
// as with a wrong password. The identities must be those of registration
// (nil or empty means "the public key").
func (s *Server) GenerateKE2(serverIdentity []byte, record *RegistrationRecord, credentialIdentifier []byte, ke1 *KE1, clientIdentity []byte) (*KE2, *ServerState, error) {
	return s.GenerateKE2Deterministic(serverIdentity, record, credentialIdentifier, ke1, clientIdentity,
		randomBytes(nonceLen), randomBytes(nonceLen), randomBytes(seedLen))
}

// GenerateKE2Deterministic is GenerateKE2 with the masking nonce, the
// server nonce (Nn bytes each) and the server keyshare seed (Nseed bytes)
// supplied by the caller. It exists for test vectors; none of the three may
// ever be reused.
func (s *Server) GenerateKE2Deterministic(serverIdentity []byte, record *RegistrationRecord, credentialIdentifier []byte, ke1 *KE1, clientIdentity, maskingNonce, serverNonce, serverKeyshareSeed []byte) (*KE2, *ServerState, error) {
	if err := s.p.checkKE1(ke1); err != nil {
		return nil, nil, err
	}
	if err := checkIdentities(serverIdentity, clientIdentity); err != nil {
		return nil, nil, err
	}
	if len(maskingNonce) != nonceLen || len(serverNonce) != nonceLen {
		return nil, nil, fmt.Errorf("%w: nonces of %d and %d bytes, want %d", ErrInvalidInput, len(maskingNonce), len(serverNonce), nonceLen)
	}
	// Real and fake logins take the same path: the fake record is derived
	// and the chosen record validated either way, so that the time to
	// answer does not tell whether the user exists (RFC 9807 §9.1). How
	// long the caller takes to look the record up is up to the caller.
	fakeRecord, err := s.fakeRecord(credentialIdentifier)
	if err != nil {
		return nil, nil, err
	}
	fake := record == nil
	if fake {
		record = fakeRecord
	}
	if err := s.p.checkRegistrationRecord(record); err != nil {
		return nil, nil, err
	}

	// CreateCredentialResponse.
	evaluated, err := s.evaluate(ke1.CredentialRequest.BlindedMessage, credentialIdentifier)
	if err != nil {
		return nil, nil, err
	}
	pad, err := s.p.maskingPad(record.MaskingKey, maskingNonce)
	if err != nil {
		return nil, nil, err
	}
	cr := CredentialResponse{
		EvaluatedMessage: evaluated,
		MaskingNonce:     bytes.Clone(maskingNonce),
		MaskedResponse:   xorBytes(pad, concat(s.publicKey, record.Envelope.Nonce, record.Envelope.AuthTag)),
	}
	creds := newCleartextCredentials(s.publicKey, record.ClientPublicKey, serverIdentity, clientIdentity)

	// AuthServerRespond.
	keyshareSecret, keyshare, err := s.p.deriveDHKeyPair(serverKeyshareSeed)
	if err != nil {
		return nil, nil, fmt.Errorf("server keyshare: %w", err)
	}
	clientKeyshare := ke1.AuthRequest.ClientPublicKeyshare
	dh1, err := s.p.diffieHellman(keyshareSecret, clientKeyshare)
	if err != nil {
		return nil, nil, fmt.Errorf("client_public_keyshare: %w", err)
	}
	dh2, err := s.p.diffieHellman(s.privateKey, clientKeyshare)
	if err != nil {
		return nil, nil, fmt.Errorf("client_public_keyshare: %w", err)
	}
	dh3, err := s.p.diffieHellman(keyshareSecret, record.ClientPublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("client_public_key: %w", err)
	}
	ikm := concat(dh1, dh2, dh3)
	defer clear(ikm)
	preamble := s.p.preamble(creds, ke1, &cr, serverNonce, keyshare)
	keys, err := s.p.deriveKeys(ikm, preamble)
	if err != nil {
		return nil, nil, err
	}
	ke2 := &KE2{
		CredentialResponse: cr,
		AuthResponse: AuthResponse{
			ServerNonce:          bytes.Clone(serverNonce),
			ServerPublicKeyshare: keyshare,
			ServerMAC:            keys.serverMAC,
		},
	}
	state := &ServerState{expectedClientMAC: keys.clientMAC, sessionKey: keys.sessionKey, fake: fake}
	return ke2, state, nil
}

// ServerFinish completes a login on the server (RFC 9807 §6.2.4): it
// returns the session key if ke3 proves that the client knows the password,
// and ErrClientAuthentication otherwise. A login answered with a fake record
// always fails. The state is spent either way.
func (st *ServerState) ServerFinish(ke3 *KE3) ([]byte, error) {
	if st == nil || st.done {
		return nil, fmt.Errorf("%w: ServerFinish without a fresh GenerateKE2", ErrOutOfOrder)
	}
	st.done = true
	expected, sessionKey := st.expectedClientMAC, st.sessionKey
	st.expectedClientMAC, st.sessionKey = nil, nil
	if ke3 == nil || len(ke3.ClientMAC) != len(expected) {
		clear(sessionKey)
		if ke3 == nil {
			return nil, fmt.Errorf("%w: nil KE3", ErrInvalidInput)
		}
		return nil, fmt.Errorf("%w: KE3 client_mac of %d bytes, want %d", ErrInvalidLength, len(ke3.ClientMAC), len(expected))
	}
	if !hmac.Equal(expected, ke3.ClientMAC) || st.fake {
		clear(sessionKey)
		return nil, ErrClientAuthentication
	}
	return sessionKey, nil
}
