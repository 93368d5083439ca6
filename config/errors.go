package config

import (
	"errors"
	"fmt"
)

// ErrSelfSignedInProduction means --production was set without a
// certificate of the admin's own.
var ErrSelfSignedInProduction = errors.New("refusing the auto-generated self-signed certificate in production: " +
	"set --tls-cert and --tls-key (for example a certificate issued by your community CA)")

// ErrNoStoreDirInProduction means --production was set without choosing
// where the message database lives.
var ErrNoStoreDirInProduction = errors.New("set --store-dir in production: choose where the message database lives " +
	"(RAM or USB storage spares a router's flash)")

// ErrPublicMetricsInProduction means the metrics endpoint would listen
// beyond loopback in production without --metrics-public.
var ErrPublicMetricsInProduction = errors.New("refusing a metrics listener on a non-loopback address in production " +
	"without --metrics-public")

// ErrNoFederation means a federation option was given without the
// federation certificate, key and CA that turn federation on.
var ErrNoFederation = errors.New("has no effect without --federation-cert, --federation-key and --federation-ca")

// ErrWorldReadableKey means a private key file is readable by every user.
var ErrWorldReadableKey = errors.New("private key file is world-readable (chmod 600 it)")

// FlagError says which flag of `qpc node` has a bad value, and where the
// value came from.
type FlagError struct {
	// Flag is the flag's name without dashes, e.g. "listen".
	Flag string
	// Env is the environment variable the value came from, if it did.
	Env string
	Err error
}

func (e *FlagError) Error() string {
	if e.Env != "" {
		return fmt.Sprintf("--%s (from %s): %v", e.Flag, e.Env, e.Err)
	}
	return fmt.Sprintf("--%s: %v", e.Flag, e.Err)
}

func (e *FlagError) Unwrap() error { return e.Err }
