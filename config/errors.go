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

// ErrKeyNotPrivate means a private key file can be read or written by
// its group or by others: any mode bit beyond 0600, 0640 included, since
// every member of the group (often a shared one on a router) could take the
// key.
var ErrKeyNotPrivate = errors.New("private key file is readable or writable by group or others " +
	"(any mode beyond 0600, 0640 included): chmod 600 it")

// ErrWorldReadableKey is ErrKeyNotPrivate under its first name, for
// callers that match it with errors.Is.
var ErrWorldReadableKey = ErrKeyNotPrivate

// ErrSelfSignedCert means --tls-cert is a self-signed certificate, such as
// the node's auto-generated one in its data dir: clients can only pin it,
// not check it against the community CA.
var ErrSelfSignedCert = errors.New("is a self-signed certificate; in production use one issued by your community CA (qpc ca issue)")

// ErrCertExpired means the TLS certificate's validity ended.
var ErrCertExpired = errors.New("certificate has expired; issue a new one (qpc ca issue) and restart the node")

// ErrCertNotYetValid means the TLS certificate's validity starts in the
// future: the certificate is post-dated or, often on routers without a
// real-time clock, the system clock is wrong.
var ErrCertNotYetValid = errors.New("certificate is not valid yet; check the system clock (NTP) and the certificate's dates")

// ErrCertWrongDomain means the TLS certificate's subject alternative names
// do not name --domain, so clients that check it against the CA refuse it.
var ErrCertWrongDomain = errors.New("certificate does not name the node's --domain in its subject alternative names; issue one for the domain")

// ErrBadCertFile means --tls-cert holds no PEM certificate that parses.
var ErrBadCertFile = errors.New("no parsable PEM certificate")

// ErrLooseDir means a directory of the node is writable by group or
// others, who could then replace its keys or database.
var ErrLooseDir = errors.New("directory is writable by group or others, who could replace the node's files (chmod 700 it)")

// ErrLooseDatabase means the message database can be read or written by
// group or others: they could read who is written to, or plant session
// and account records.
var ErrLooseDatabase = errors.New("message database is readable or writable by group or others, who could read mailbox data or plant sessions (chmod 600 it)")

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

// ErrBadRegistration means --registration is not one of the policies.
var ErrBadRegistration = errors.New("unknown registration policy")
