package protocol

import "errors"

// Errors of a node's registration policy (Health.registration), each with
// its wire code.
var (
	// ErrInviteRequired means the node registers only with an invite code
	// made by its admin.
	ErrInviteRequired = errors.New("this node registers new accounts only with an invite code from its admin")
	// ErrInviteInvalid means the invite code is unknown, used up or
	// expired.
	ErrInviteInvalid = errors.New("the invite code is unknown, used up or expired")
	// ErrRegistrationClosed means the node takes no new registrations.
	ErrRegistrationClosed = errors.New("this node takes no new registrations")
)

// Registration policies a node announces in Health.registration.
const (
	RegistrationOpen   = "open"
	RegistrationInvite = "invite"
	RegistrationClosed = "closed"
)
