package opaque

import (
	"bytes"
	"fmt"
	"math"
)

// DefaultContext is qpc's OPAQUE context (RFC 9807 §7): it enters every
// handshake transcript, so a login can only succeed between two parties
// that both run qpc's profile of OPAQUE. Change it (to "quicprochat/2")
// whenever anything that both sides must agree on changes.
const DefaultContext = "quicprochat/1"

// Config is what client and server must agree on before registration
// (RFC 9807 §3.1): the suite, the key stretching function and the context.
// The zero value is qpc's configuration; see DefaultConfig.
type Config struct {
	// Suite selects the OPRF, the 3DH group and the hash; zero means
	// Ristretto255SHA512.
	Suite Suite
	// KSF stretches the OPRF output on the client; nil means
	// DefaultArgon2id.
	KSF KSF
	// Context is bound into every transcript; nil means DefaultContext.
	// Set it to a non-nil empty slice for an empty context. At most 65535
	// bytes.
	Context []byte
}

// DefaultConfig returns qpc's configuration: ristretto255-SHA512, Argon2id
// t=3, m=64 MiB, p=4, and the context "quicprochat/1".
func DefaultConfig() Config {
	return Config{
		Suite:   Ristretto255SHA512,
		KSF:     DefaultArgon2id(),
		Context: []byte(DefaultContext),
	}
}

// withDefaults fills the zero fields of cfg, which may be nil, and copies
// the context so that later changes by the caller do not leak in.
func withDefaults(cfg *Config) Config {
	var out Config
	if cfg != nil {
		out = *cfg
	}
	if out.Suite == 0 {
		out.Suite = Ristretto255SHA512
	}
	if out.KSF == nil {
		out.KSF = DefaultArgon2id()
	}
	if out.Context == nil {
		out.Context = []byte(DefaultContext)
	} else {
		out.Context = bytes.Clone(out.Context)
	}
	return out
}

// validateConfig checks a Config that withDefaults has filled.
func validateConfig(cfg Config) (*params, error) {
	p, err := lookupSuite(cfg.Suite)
	if err != nil {
		return nil, err
	}
	if len(cfg.Context) > math.MaxUint16 {
		return nil, fmt.Errorf("%w: context of %d bytes, at most %d", ErrInvalidConfig, len(cfg.Context), math.MaxUint16)
	}
	switch k := cfg.KSF.(type) {
	case Argon2id:
		if err := k.validate(); err != nil {
			return nil, err
		}
	case *Argon2id:
		if k == nil {
			return nil, fmt.Errorf("%w: nil *Argon2id", ErrInvalidConfig)
		}
		if err := k.validate(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// protocol is a validated configuration shared by Client and Server.
type protocol struct {
	*params
	ksf     KSF
	context []byte
}

func newProtocol(cfg Config) (*protocol, error) {
	cfg = withDefaults(&cfg)
	p, err := validateConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &protocol{params: p, ksf: cfg.KSF, context: cfg.Context}, nil
}
