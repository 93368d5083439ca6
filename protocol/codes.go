package protocol

import (
	"errors"
	"fmt"
	"strings"

	"github.com/quicprochat/qpc/schemas"
)

// codes pairs each wire error code with the node error it stands for. It is
// the one place where the two are mapped, in both directions.
var codes = []struct {
	code schemas.ErrorCode
	err  error
}{
	{schemas.ErrorCode_badRequest, ErrBadRequest},
	{schemas.ErrorCode_unauthenticated, ErrUnauthenticated},
	{schemas.ErrorCode_sessionExpired, ErrSessionExpired},
	{schemas.ErrorCode_invalidToken, ErrInvalidToken},
	{schemas.ErrorCode_authFailed, ErrAuthFailed},
	{schemas.ErrorCode_userExists, ErrUserExists},
	{schemas.ErrorCode_unknownUser, ErrUnknownUser},
	{schemas.ErrorCode_noKeys, ErrNoKeys},
	{schemas.ErrorCode_noKeyPackage, ErrNoKeyPackage},
	{schemas.ErrorCode_tooManyKeyPackages, ErrTooManyKeyPackages},
	{schemas.ErrorCode_mailboxFull, ErrMailboxFull},
	{schemas.ErrorCode_payloadTooLarge, ErrPayloadTooLarge},
	{schemas.ErrorCode_rateLimited, ErrRateLimited},
	{schemas.ErrorCode_ttlTooLong, ErrTTLTooLong},
	{schemas.ErrorCode_unknownDomain, ErrUnknownDomain},
	{schemas.ErrorCode_peerUnreachable, ErrPeerUnreachable},
	{schemas.ErrorCode_meshFull, ErrMeshFull},
	{schemas.ErrorCode_expired, ErrExpired},
	{schemas.ErrorCode_hopLimit, ErrHopLimit},
	{schemas.ErrorCode_badEnvelope, ErrBadEnvelope},
	{schemas.ErrorCode_badPost, ErrBadPost},
	{schemas.ErrorCode_channelFull, ErrChannelFull},
	{schemas.ErrorCode_badCommitClaim, ErrBadCommitClaim},
	{schemas.ErrorCode_forgedKeys, ErrForgedKeys},
	{schemas.ErrorCode_shuttingDown, ErrShuttingDown},
	{schemas.ErrorCode_shuttingDown, ErrStoreClosed},
	{schemas.ErrorCode_storeFull, ErrStoreFull},
	{schemas.ErrorCode_accountsFull, ErrAccountsFull},
	{schemas.ErrorCode_deviceRevoked, ErrDeviceRevoked},
	{schemas.ErrorCode_blobTooLarge, ErrBlobTooLarge},
	{schemas.ErrorCode_blobQuota, ErrBlobQuota},
	{schemas.ErrorCode_blobStoreFull, ErrBlobStoreFull},
	{schemas.ErrorCode_noSuchBlob, ErrNoSuchBlob},
	{schemas.ErrorCode_badChunk, ErrBadChunk},
	{schemas.ErrorCode_inviteRequired, ErrInviteRequired},
	{schemas.ErrorCode_inviteInvalid, ErrInviteInvalid},
	{schemas.ErrorCode_registrationClosed, ErrRegistrationClosed},
}

// CodeOf returns the wire code of err: none for nil, internal for an error
// that is none of the node's.
func CodeOf(err error) schemas.ErrorCode {
	if err == nil {
		return schemas.ErrorCode_none
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return schemas.ErrorCode_internal
}

// ErrInternal stands for the internal code: the node failed.
var ErrInternal = errors.New("node internal error")

// ErrMalformedAnswer means a node's answer could be read but broke the
// schema's rules (a mesh id that is not 32 bytes, a list of the wrong
// length).
var ErrMalformedAnswer = errors.New("malformed answer from the node")

// ErrorOf returns the node error of a wire code (nil for none).
func ErrorOf(code schemas.ErrorCode) error {
	if code == schemas.ErrorCode_none {
		return nil
	}
	for _, c := range codes {
		if c.code == code {
			return c.err
		}
	}
	return ErrInternal
}

// exceptionPrefix starts the reason of every exception the node raises on
// purpose (see schemas/node.capnp).
const exceptionPrefix = "qpc:"

// Exception turns a service error into the error a method returns, whose
// text becomes the exception's reason: "qpc:<code>: <err>". Internal
// errors are not detailed to the client.
func Exception(err error) error {
	code := CodeOf(err)
	if code == schemas.ErrorCode_internal {
		return fmt.Errorf("%s%s: %s", exceptionPrefix, code, "internal error")
	}
	return fmt.Errorf("%s%s: %w", exceptionPrefix, code, err)
}

// RemoteError is a failure the node reported.
type RemoteError struct {
	// Code is the wire code.
	Code schemas.ErrorCode
	// Message is the node's explanation.
	Message string
}

func (e *RemoteError) Error() string { return e.Message }

// Unwrap returns the node error of the code, so that errors.Is(err,
// ErrMailboxFull) works on the client.
func (e *RemoteError) Unwrap() error { return ErrorOf(e.Code) }

// FromException recovers the RemoteError from the error of a failed call,
// or returns err unchanged when the node raised no qpc error (a transport
// failure, say).
func FromException(err error) error {
	if err == nil {
		return nil
	}
	s := err.Error()
	i := strings.Index(s, exceptionPrefix)
	if i < 0 {
		return err
	}
	rest := s[i+len(exceptionPrefix):]
	name, msg, ok := strings.Cut(rest, ": ")
	if !ok {
		return err
	}
	code := schemas.ErrorCodeFromString(name)
	if code == schemas.ErrorCode_none && name != "none" {
		return err
	}
	return &RemoteError{Code: code, Message: msg}
}
