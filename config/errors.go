package config

import (
	"errors"
	"fmt"
)

// ErrSelfSignedInProduction means --production was set without a
// certificate of the admin's own.
var ErrSelfSignedInProduction = errors.New("refusing the auto-generated self-signed certificate in production: " +
	"set --tls-cert and --tls-key (for example a certificate issued by your community CA)")

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
