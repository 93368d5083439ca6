package protocol

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadAddress means a string is not an address "user@domain" (or, where
// a bare name is allowed, "user"): its user name or its domain breaks the
// rule. It is also ErrBadRequest, so that a node refuses it with the
// badRequest code as before there was an Address.
var ErrBadAddress = Mark(ErrBadRequest, errors.New("bad address"))

// MaxUserName is the longest user name, in bytes.
const MaxUserName = 64

// Address is a user's address, "User@Domain". Both parts are normalised
// (lower case) and valid when it comes from ParseAddress or
// ParseRecipient, so addresses compare with ==.
type Address struct {
	// User is the local part: 1 to MaxUserName of a-z, 0-9, '.', '_' and
	// '-', starting with a letter or digit.
	User string
	// Domain is the user's home node's domain, as ValidDomain has it.
	Domain string
}

// String returns "user@domain".
func (a Address) String() string { return a.User + "@" + a.Domain }

// ParseAddress parses "user@domain", lower-casing both parts, and checks
// them: the user name by the rule of registration (ValidateUserName), the
// domain by ValidDomain. It is the one place that splits an address; a
// failure wraps ErrBadAddress and says which part is wrong.
func ParseAddress(s string) (Address, error) {
	user, domain, ok := strings.Cut(s, "@")
	if !ok {
		return Address{}, fmt.Errorf("%w %q: want user@domain", ErrBadAddress, s)
	}
	return parseParts(s, user, domain)
}

// ValidAddress returns nil if s is "user@domain" exactly as ParseAddress
// returns it: valid and already lower case. Signed content (an envelope's
// recipient) must be, since its bytes are compared and signed as they are.
func ValidAddress(s string) error {
	a, err := ParseAddress(s)
	if err != nil {
		return err
	}
	if a.String() != s {
		return fmt.Errorf("%w %q: upper case (use %q)", ErrBadAddress, s, a)
	}
	return nil
}

// ParseRecipient is ParseAddress that also takes a bare "user", of the
// domain home; a leading '@' ("@bob", as chats name people) is dropped.
func ParseRecipient(s, home string) (Address, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "@")
	user, domain, ok := strings.Cut(s, "@")
	if !ok {
		domain = home
	}
	return parseParts(s, user, domain)
}

// ParseUser lower-cases a bare user name and checks it as ValidateUserName
// does; a failure wraps ErrBadAddress.
func ParseUser(s string) (string, error) {
	user := strings.ToLower(s)
	if err := userRule(user); err != nil {
		return "", fmt.Errorf("%w %q: %w", ErrBadAddress, s, err)
	}
	return user, nil
}

func parseParts(s, user, domain string) (Address, error) {
	a := Address{User: strings.ToLower(user), Domain: strings.ToLower(domain)}
	if err := userRule(a.User); err != nil {
		return Address{}, fmt.Errorf("%w %q: %w", ErrBadAddress, s, err)
	}
	if err := ValidDomain(a.Domain); err != nil {
		return Address{}, fmt.Errorf("%w %q: %w", ErrBadAddress, s, err)
	}
	return a, nil
}

// ValidateUserName checks the local part of an address: 1 to 64 characters
// of a-z, 0-9, '.', '_' and '-', starting with a letter or digit. It is
// the rule of registration; its failures wrap ErrBadRequest.
func ValidateUserName(name string) error {
	if err := userRule(name); err != nil {
		return errorf(ErrBadRequest, "%v", err)
	}
	return nil
}

// userRule is the user name rule, its failure a plain reason.
func userRule(name string) error {
	if len(name) == 0 || len(name) > MaxUserName {
		return fmt.Errorf("user name must be 1-%d characters", MaxUserName)
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if i > 0 {
			ok = ok || r == '.' || r == '_' || r == '-'
		}
		if !ok {
			return fmt.Errorf("user name %q: use a-z, 0-9, '.', '_', '-', starting with a letter or digit", name)
		}
	}
	return nil
}
