package opaque

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"fmt"
	"math"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/oprf"
)

// clientPhase is where a Client stands in its current exchange.
type clientPhase uint8

const (
	clientIdle clientPhase = iota
	clientRegistering
	clientLoggingIn
)

// Client runs the client side of OPAQUE: one registration or one login at
// a time, keeping between its two steps the state RFC 9807 §6 calls
// ClientState (password, blind, ephemeral key, KE1). The second step of an
// exchange ends it, whether it succeeds or fails. A Client is not safe for
// concurrent use.
type Client struct {
	p     *protocol
	phase clientPhase

	password []byte             // private copy, cleared when the exchange ends
	oprf     *oprf.FinalizeData // refers to password, holds the blind

	clientSecret group.Scalar // login: ephemeral private key
	ke1          *KE1         // login: the KE1 that was sent
}

// NewClient returns a Client for cfg.
func NewClient(cfg Config) (*Client, error) {
	p, err := newProtocol(cfg)
	if err != nil {
		return nil, err
	}
	return &Client{p: p}, nil
}

// Suite returns the suite of the client's configuration.
func (c *Client) Suite() Suite { return c.p.suite }

func (c *Client) reset() {
	c.phase = clientIdle
	clear(c.password)
	c.password = nil
	c.oprf = nil
	c.clientSecret = nil
	c.ke1 = nil
}

func (c *Client) randomBlind() []byte {
	b, _ := c.p.group.RandomNonZeroScalar(rand.Reader).MarshalBinary()
	return b
}

// blind is Blind(password) of RFC 9497 with the blind supplied.
func (c *Client) blind(password, blind []byte) ([]byte, error) {
	if len(password) > math.MaxUint16 {
		return nil, fmt.Errorf("%w: password of %d bytes, at most %d", ErrInvalidInput, len(password), math.MaxUint16)
	}
	r, err := c.p.decodeScalar(blind)
	if err != nil {
		return nil, fmt.Errorf("blind: %w", err)
	}
	// circl keeps the input slice until Finalize: give it a private copy,
	// which reset clears, so that the caller may wipe its own.
	pw := bytes.Clone(password)
	fin, req, err := oprf.NewClient(c.p.oprf).DeterministicBlind([][]byte{pw}, []oprf.Blind{r})
	if err != nil {
		clear(pw)
		return nil, fmt.Errorf("%w: cannot blind the password: %w", ErrInvalidInput, err)
	}
	blinded, err := c.p.encodeElement(req.Elements[0])
	if err != nil {
		clear(pw)
		return nil, err
	}
	c.password, c.oprf = pw, fin
	return blinded, nil
}

// finalize is Finalize of RFC 9497 followed by the randomized password
// derivation shared by registration and login.
func (c *Client) finalize(evaluatedMessage []byte) ([]byte, error) {
	evaluated, err := c.p.decodeElement(evaluatedMessage)
	if err != nil {
		return nil, fmt.Errorf("evaluated_message: %w", err)
	}
	out, err := oprf.NewClient(c.p.oprf).Finalize(c.oprf, &oprf.Evaluation{Elements: []oprf.Evaluated{evaluated}})
	if err != nil {
		return nil, fmt.Errorf("%w: OPRF finalize: %w", ErrInvalidElement, err)
	}
	defer clear(out[0])
	return c.p.randomizedPassword(out[0])
}

// CreateRegistrationRequest starts a registration (RFC 9807 §5.2.1): it
// blinds password with a fresh random blind and returns the request to
// send. Any exchange in progress on c is abandoned.
func (c *Client) CreateRegistrationRequest(password []byte) (*RegistrationRequest, error) {
	return c.CreateRegistrationRequestDeterministic(password, c.randomBlind())
}

// CreateRegistrationRequestDeterministic is CreateRegistrationRequest with
// the blind (an encoded non-zero scalar) supplied by the caller. It exists
// for test vectors; a blind must never be reused.
func (c *Client) CreateRegistrationRequestDeterministic(password, blind []byte) (*RegistrationRequest, error) {
	c.reset()
	blinded, err := c.blind(password, blind)
	if err != nil {
		return nil, err
	}
	c.phase = clientRegistering
	return &RegistrationRequest{BlindedMessage: blinded}, nil
}

// FinalizeRegistrationRequest completes a registration (RFC 9807 §5.2.3):
// it derives the client's keys from the password and the server's OPRF
// evaluation and returns the record to upload and the export key, which
// the client alone knows. serverIdentity and clientIdentity are optional
// (nil or empty means "the public key") and must be given again, the same,
// at every login.
func (c *Client) FinalizeRegistrationRequest(response *RegistrationResponse, serverIdentity, clientIdentity []byte) (record *RegistrationRecord, exportKey []byte, err error) {
	return c.FinalizeRegistrationRequestDeterministic(response, serverIdentity, clientIdentity, randomBytes(nonceLen))
}

// FinalizeRegistrationRequestDeterministic is FinalizeRegistrationRequest
// with the envelope nonce (Nn bytes) supplied by the caller. It exists for
// test vectors.
func (c *Client) FinalizeRegistrationRequestDeterministic(response *RegistrationResponse, serverIdentity, clientIdentity, envelopeNonce []byte) (record *RegistrationRecord, exportKey []byte, err error) {
	if c.phase != clientRegistering {
		return nil, nil, fmt.Errorf("%w: FinalizeRegistrationRequest without CreateRegistrationRequest", ErrOutOfOrder)
	}
	defer c.reset()
	if err := c.p.checkRegistrationResponse(response); err != nil {
		return nil, nil, err
	}
	if err := checkIdentities(serverIdentity, clientIdentity); err != nil {
		return nil, nil, err
	}
	if len(envelopeNonce) != nonceLen {
		return nil, nil, fmt.Errorf("%w: envelope nonce of %d bytes, want %d", ErrInvalidInput, len(envelopeNonce), nonceLen)
	}
	rwd, err := c.finalize(response.EvaluatedMessage)
	if err != nil {
		return nil, nil, err
	}
	defer clear(rwd)
	return c.p.store(rwd, bytes.Clone(response.ServerPublicKey), serverIdentity, clientIdentity, envelopeNonce)
}

// GenerateKE1 starts a login (RFC 9807 §6.2.1) and returns the KE1 to send.
// Any exchange in progress on c is abandoned.
func (c *Client) GenerateKE1(password []byte) (*KE1, error) {
	return c.GenerateKE1Deterministic(password, c.randomBlind(), randomBytes(nonceLen), randomBytes(seedLen))
}

// GenerateKE1Deterministic is GenerateKE1 with the blind (an encoded
// non-zero scalar), the client nonce (Nn bytes) and the client keyshare
// seed (Nseed bytes) supplied by the caller. It exists for test vectors;
// none of the three may ever be reused.
func (c *Client) GenerateKE1Deterministic(password, blind, clientNonce, clientKeyshareSeed []byte) (*KE1, error) {
	c.reset()
	if len(clientNonce) != nonceLen {
		return nil, fmt.Errorf("%w: client nonce of %d bytes, want %d", ErrInvalidInput, len(clientNonce), nonceLen)
	}
	blinded, err := c.blind(password, blind)
	if err != nil {
		return nil, err
	}
	// AuthClientStart.
	secret, keyshare, err := c.p.deriveDHKeyPair(clientKeyshareSeed)
	if err != nil {
		c.reset()
		return nil, fmt.Errorf("client keyshare: %w", err)
	}
	ke1 := &KE1{
		CredentialRequest: CredentialRequest{BlindedMessage: blinded},
		AuthRequest:       AuthRequest{ClientNonce: bytes.Clone(clientNonce), ClientPublicKeyshare: keyshare},
	}
	c.clientSecret = secret
	c.ke1 = ke1
	c.phase = clientLoggingIn
	// Hand out a copy so that the caller cannot change the transcript.
	out := *ke1
	out.CredentialRequest.BlindedMessage = bytes.Clone(blinded)
	out.AuthRequest.ClientNonce = bytes.Clone(clientNonce)
	out.AuthRequest.ClientPublicKeyshare = bytes.Clone(keyshare)
	return &out, nil
}

// GenerateKE3 completes a login on the client (RFC 9807 §6.2.3): it
// recovers the client's keys from the password and KE2, authenticates the
// server, and returns the KE3 to send, the session key and the export key.
// The identities must be those given at registration (nil or empty means
// "the public key").
//
// A wrong password and an unknown user both fail with ErrEnvelopeRecovery;
// a server that does not hold the registered key fails with
// ErrServerAuthentication. Nothing but the error may be used after a
// failure, and the login must be started again with GenerateKE1.
func (c *Client) GenerateKE3(clientIdentity, serverIdentity []byte, ke2 *KE2) (ke3 *KE3, sessionKey, exportKey []byte, err error) {
	if c.phase != clientLoggingIn {
		return nil, nil, nil, fmt.Errorf("%w: GenerateKE3 without GenerateKE1", ErrOutOfOrder)
	}
	defer c.reset()
	if err := c.p.checkKE2(ke2); err != nil {
		return nil, nil, nil, err
	}
	if err := checkIdentities(serverIdentity, clientIdentity); err != nil {
		return nil, nil, nil, err
	}

	// RecoverCredentials.
	cr := &ke2.CredentialResponse
	rwd, err := c.finalize(cr.EvaluatedMessage)
	if err != nil {
		return nil, nil, nil, err
	}
	defer clear(rwd)
	maskingKey, err := c.p.expand(rwd, []byte(labelMaskingKey), c.p.nh)
	if err != nil {
		return nil, nil, nil, err
	}
	pad, err := c.p.maskingPad(maskingKey, cr.MaskingNonce)
	if err != nil {
		return nil, nil, nil, err
	}
	unmasked := xorBytes(pad, cr.MaskedResponse)
	serverPublicKey := unmasked[:c.p.npk]
	env := Envelope{Nonce: unmasked[c.p.npk : c.p.npk+nonceLen], AuthTag: unmasked[c.p.npk+nonceLen:]}
	clientPrivateKey, creds, exportKey, err := c.p.recover(rwd, serverPublicKey, env, serverIdentity, clientIdentity)
	if err != nil {
		return nil, nil, nil, err
	}

	// AuthClientFinalize.
	ar := &ke2.AuthResponse
	dh1, err := c.p.diffieHellman(c.clientSecret, ar.ServerPublicKeyshare)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("server_public_keyshare: %w", err)
	}
	dh2, err := c.p.diffieHellman(c.clientSecret, creds.serverPublicKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("server_public_key: %w", err)
	}
	dh3, err := c.p.diffieHellman(clientPrivateKey, ar.ServerPublicKeyshare)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("server_public_keyshare: %w", err)
	}
	ikm := concat(dh1, dh2, dh3)
	defer clear(ikm)
	preamble := c.p.preamble(creds, c.ke1, cr, ar.ServerNonce, ar.ServerPublicKeyshare)
	keys, err := c.p.deriveKeys(ikm, preamble)
	if err != nil {
		return nil, nil, nil, err
	}
	if !hmac.Equal(keys.serverMAC, ar.ServerMAC) {
		clear(keys.sessionKey)
		clear(exportKey)
		return nil, nil, nil, ErrServerAuthentication
	}
	return &KE3{ClientMAC: keys.clientMAC}, keys.sessionKey, exportKey, nil
}

func checkIdentities(serverIdentity, clientIdentity []byte) error {
	if err := checkIdentity("server identity", serverIdentity); err != nil {
		return err
	}
	return checkIdentity("client identity", clientIdentity)
}

// randomBytes returns n bytes from crypto/rand, which cannot fail.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
