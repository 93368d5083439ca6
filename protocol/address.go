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
	// Device names one device of the user (16 lowercase hex digits, a
	// device id) when the address is a recipient "user#device@domain";
	// empty for the account as a whole. Only ParseRecipient sets it.
	Device string
}

// String returns "user@domain", or "user#device@domain" when the address
// names a device.
func (a Address) String() string {
	if a.Device != "" {
		return a.User + "#" + a.Device + "@" + a.Domain
	}
	return a.User + "@" + a.Domain
}

// Account returns a without its device: the address of the account.
func (a Address) Account() Address {
	a.Device = ""
	return a
}

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

// ValidRecipient is ValidAddress that also takes a device's address,
// "user#device@domain", exactly as ParseRecipient returns it: valid and
// already lower case, with a domain.
func ValidRecipient(s string) error {
	if !strings.Contains(s, "@") {
		return fmt.Errorf("%w %q: want user@domain or user#device@domain", ErrBadAddress, s)
	}
	a, err := ParseRecipient(s, "")
	if err != nil {
		return err
	}
	if a.String() != s {
		return fmt.Errorf("%w %q: not as written (use %q)", ErrBadAddress, s, a)
	}
	return nil
}

// ParseRecipient is ParseAddress that also takes a bare "user", of the
// domain home, and a device after the user, "user#device@domain" or
// "user#device" (Address.Device; see ParseDevice); a leading '@' ("@bob",
// as chats name people) is dropped.
func ParseRecipient(s, home string) (Address, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "@")
	user, domain, ok := strings.Cut(s, "@")
	if !ok {
		domain = home
	}
	user, device, named := strings.Cut(user, "#")
	a, err := parseParts(s, user, domain)
	if err != nil || !named {
		return a, err
	}
	if a.Device, err = ParseDevice(device); err != nil {
		return Address{}, fmt.Errorf("%w %q: %w", ErrBadAddress, s, err)
	}
	return a, nil
}

// DeviceIDLen is the length of a device id's text: 16 hex digits (the 8
// bytes of crypto/identity's DeviceID).
const DeviceIDLen = 16

// ParseDevice lower-cases a device id's text and checks it: exactly
// DeviceIDLen hex digits. A failure wraps ErrBadAddress.
func ParseDevice(s string) (string, error) {
	d := strings.ToLower(s)
	if len(d) != DeviceIDLen {
		return "", fmt.Errorf("%w: device id %q must be %d hex digits", ErrBadAddress, s, DeviceIDLen)
	}
	for _, r := range d {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return "", fmt.Errorf("%w: device id %q must be %d hex digits", ErrBadAddress, s, DeviceIDLen)
		}
	}
	return d, nil
}

// ParseQueue splits the name of a mailbox queue as the node's stores take
// it, "user" or "user#device", into the user and the device ("" for the
// account's primary device). It checks both parts; a failure wraps
// ErrBadAddress.
func ParseQueue(s string) (user, device string, err error) {
	u, d, named := strings.Cut(s, "#")
	if user, err = ParseUser(u); err != nil {
		return "", "", err
	}
	if !named {
		return user, "", nil
	}
	if device, err = ParseDevice(d); err != nil {
		return "", "", err
	}
	return user, device, nil
}

// QueueName is the name of user's queue for device: "user#device", or
// "user" for device "" (the primary device's).
func QueueName(user, device string) string {
	if device == "" {
		return user
	}
	return user + "#" + device
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
