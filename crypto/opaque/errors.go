package opaque

import "errors"

// Errors returned by this package. They are wrapped with %w and a detail
// (which field, which length), so test them with errors.Is.
var (
	// ErrInvalidConfig reports an unusable Config or ServerSecrets: an
	// unknown suite, key stretching parameters out of range, a context or
	// seed of the wrong length.
	ErrInvalidConfig = errors.New("opaque: invalid configuration")

	// ErrInvalidInput reports a caller-supplied value that the protocol
	// cannot encode: a password or identity longer than 65535 bytes, or a
	// nonce or seed of the wrong length given to a deterministic step.
	ErrInvalidInput = errors.New("opaque: invalid input")

	// ErrInvalidLength reports a message or message field whose length is
	// not the one the suite fixes.
	ErrInvalidLength = errors.New("opaque: message has the wrong length")

	// ErrInvalidElement reports bytes that do not encode a group element
	// (not on the curve, not canonical, wrong length) or that encode the
	// identity element, which RFC 9497 and RFC 9807 §10.7 both refuse.
	ErrInvalidElement = errors.New("opaque: invalid group element")

	// ErrInvalidScalar reports a private key or blind that is zero, not
	// canonical (not below the group order) or of the wrong length.
	ErrInvalidScalar = errors.New("opaque: invalid scalar")

	// ErrDeriveKeyPair reports that DeriveKeyPair found no non-zero scalar
	// in 256 tries, which happens with negligible probability
	// (RFC 9497 §3.2, DeriveKeyPairError).
	ErrDeriveKeyPair = errors.New("opaque: key pair derivation failed")

	// ErrOutOfOrder reports a step called without the step that must come
	// before it on the same Client or ServerState (FinalizeRegistrationRequest
	// without CreateRegistrationRequest, GenerateKE3 without GenerateKE1,
	// ServerFinish twice).
	ErrOutOfOrder = errors.New("opaque: protocol step called out of order")

	// ErrEnvelopeRecovery is the client's login failure when its envelope
	// does not open (RFC 9807 EnvelopeRecoveryError): a wrong password, an
	// unknown user (the server answered with a fake record), or a KE2 whose
	// credential response was altered. The three are indistinguishable by
	// design.
	ErrEnvelopeRecovery = errors.New("opaque: envelope recovery failed: wrong password or unknown user")

	// ErrServerAuthentication is the client's login failure when the
	// envelope opened but the server's MAC in KE2 is wrong (RFC 9807
	// ServerAuthenticationError): the server does not hold the private key
	// registered in the envelope, or the key exchange part of KE2 was
	// altered.
	ErrServerAuthentication = errors.New("opaque: server authentication failed")

	// ErrClientAuthentication is the server's login failure when the client
	// MAC in KE3 is wrong (RFC 9807 ClientAuthenticationError).
	ErrClientAuthentication = errors.New("opaque: client authentication failed")
)
