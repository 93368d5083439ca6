package opaque

import (
	"bytes"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// KSF is a key stretching function, Stretch of RFC 9807 §2.3. The client
// applies it to the OPRF output, so its cost is what an attacker holding a
// stolen record (and the server's OPRF seed) pays per password guess.
// Client and server never negotiate it: both sides of an account must agree
// on it out of band, and changing it invalidates existing registrations.
type KSF interface {
	// Stretch hardens msg. length is the suite's Nh, the output length
	// RFC 9807 §7 recommends; a KSF may ignore it (Identity does).
	Stretch(msg []byte, length int) ([]byte, error)
}

// Identity is the identity key stretching function: Stretch(msg) = msg.
// The RFC's test vectors use it. It offers no protection against offline
// guessing; use it only for tests and interoperability checks.
type Identity struct{}

// Stretch returns a copy of msg.
func (Identity) Stretch(msg []byte, _ int) ([]byte, error) {
	return bytes.Clone(msg), nil
}

// qpc's Argon2id parameters are RFC 9106's second recommended option, the
// "memory-constrained" profile, because OpenWrt routers and old laptops
// cannot spare the 2 GiB of the first. The salt is 16 zero bytes, as in
// RFC 9807 §7: the OPRF key already acts as a per-user secret salt
// (RFC 9807 §10.11), so the Argon2 salt does not need to vary.
const (
	// DefaultArgon2Time is qpc's number of Argon2id passes, t.
	DefaultArgon2Time = 3
	// DefaultArgon2Memory is qpc's Argon2id memory in KiB, m (64 MiB).
	DefaultArgon2Memory = 64 * 1024
	// DefaultArgon2Threads is qpc's Argon2id parallelism, p.
	DefaultArgon2Threads = 4

	argon2ZeroSaltLen = 16
)

// Argon2id is the Argon2id key stretching function (RFC 9106) with fixed
// parameters; its output is length (Nh) bytes.
type Argon2id struct {
	// Time is the number of passes t; at least 1.
	Time uint32
	// Memory is the memory size m in KiB; at least 8·Threads.
	Memory uint32
	// Threads is the parallelism p; at least 1.
	Threads uint8
	// Salt is Argon2's salt; nil means 16 zero bytes. When set it must be
	// at least 8 bytes (RFC 9106 §3.1).
	Salt []byte
}

// DefaultArgon2id returns qpc's Argon2id: t=3, m=64 MiB, p=4, 16 zero bytes
// of salt.
//
// Built with the tag qpc_test_ksf (CheapForTests), as `make test` builds
// the tests and the qpc binary they run, it returns a cost of a few
// microseconds instead.
func DefaultArgon2id() Argon2id {
	if CheapForTests {
		return Argon2id{Time: 1, Memory: 64, Threads: 1}
	}
	return Argon2id{Time: DefaultArgon2Time, Memory: DefaultArgon2Memory, Threads: DefaultArgon2Threads}
}

// validate reports parameters that argon2.IDKey would panic on or that
// RFC 9106 forbids.
func (a Argon2id) validate() error {
	switch {
	case a.Time < 1:
		return fmt.Errorf("%w: Argon2id time %d, want at least 1", ErrInvalidConfig, a.Time)
	case a.Threads < 1:
		return fmt.Errorf("%w: Argon2id threads %d, want at least 1", ErrInvalidConfig, a.Threads)
	case a.Memory < 8*uint32(a.Threads):
		return fmt.Errorf("%w: Argon2id memory %d KiB, want at least 8 per thread", ErrInvalidConfig, a.Memory)
	case a.Salt != nil && len(a.Salt) < 8:
		return fmt.Errorf("%w: Argon2id salt of %d bytes, want at least 8", ErrInvalidConfig, len(a.Salt))
	}
	return nil
}

// Stretch returns Argon2id(msg) of length bytes.
func (a Argon2id) Stretch(msg []byte, length int) ([]byte, error) {
	if err := a.validate(); err != nil {
		return nil, err
	}
	if length < 4 {
		return nil, fmt.Errorf("%w: Argon2id output of %d bytes, want at least 4", ErrInvalidConfig, length)
	}
	salt := a.Salt
	if salt == nil {
		salt = make([]byte, argon2ZeroSaltLen)
	}
	return argon2.IDKey(msg, salt, a.Time, a.Memory, a.Threads, uint32(length)), nil
}
