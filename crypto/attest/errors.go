package attest

import (
	"errors"
	"fmt"
	"strings"
)

// ErrForgedKeys means an answer to a key lookup is not signed by the node
// that serves the user's domain: it carries no proof, or one that does not
// check out. The keys must not be used or stored; whoever passed them on
// may be reading the messages sealed to them.
var ErrForgedKeys = errors.New("key answer not signed by the user's home node")

// ErrBadLink means a link statement does not show that the domain
// advertised at one hop is linked to the node that advertised it.
var ErrBadLink = errors.New("link statement does not check out")

// Reasons, each wrapped together with ErrForgedKeys or ErrBadLink.
var (
	// ErrMalformed means the proof or statement bytes do not parse.
	ErrMalformed = errors.New("malformed signed statement")
	// ErrTooOld means a statement of version 0, from before versions.
	ErrTooOld = errors.New("signed statement version too old")
	// ErrUnknownVersion means a version this node does not know.
	ErrUnknownVersion = errors.New("unknown signed statement version")
	// ErrNoProof means the answer carries no signed statement at all.
	ErrNoProof = errors.New("no signature")
	// ErrUntrusted means the certificate does not chain to the community
	// CA, or is expired.
	ErrUntrusted = errors.New("certificate not of the community CA")
	// ErrWrongSigner means the certificate names another domain than the
	// one that has to sign.
	ErrWrongSigner = errors.New("signed by another domain")
	// ErrBadSignature means the signature does not verify.
	ErrBadSignature = errors.New("bad signature")
	// ErrStale means the statement is outside its time window.
	ErrStale = errors.New("statement not fresh")
	// ErrWrongNeighbour means a link statement names another neighbour.
	ErrWrongNeighbour = errors.New("link statement names another neighbour")
)

// ForgedError says which key answer was refused, in the words a user
// needs: whose keys, who had to sign them, who handed them over and who
// signed them instead. It matches ErrForgedKeys with errors.Is.
type ForgedError struct {
	// Address is the user looked up, "user@domain".
	Address string
	// Domain is the domain whose node had to sign the answer.
	Domain string
	// AnsweredBy names the node that handed the answer over.
	AnsweredBy string
	// Signer is the domain the answer's certificate names, "" if none.
	Signer string
	// Err is the reason, one of this package's sentinels.
	Err error
}

func (e *ForgedError) Error() string {
	signer := "nobody"
	if e.Signer != "" {
		signer = e.Signer
	}
	// The reason from VerifyAnswer already starts with ErrForgedKeys.
	reason := "unknown"
	if e.Err != nil {
		reason = strings.TrimPrefix(e.Err.Error(), ErrForgedKeys.Error()+": ")
	}
	return fmt.Sprintf("%v: the keys of %s must be signed by %s, but the answer %s handed over is signed by %s (%s); "+
		"they were not used: someone on the path may be trying to read messages to %s",
		ErrForgedKeys, e.Address, e.Domain, e.AnsweredBy, signer, reason, e.Address)
}

// Unwrap returns ErrForgedKeys and the reason.
func (e *ForgedError) Unwrap() []error { return []error{ErrForgedKeys, e.Err} }
