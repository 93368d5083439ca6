package opaque_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/quicprochat/qpc/crypto/opaque"
)

func TestDefaultConfigIsQPCsProfile(t *testing.T) {
	cfg := opaque.DefaultConfig()
	if cfg.Suite != opaque.Ristretto255SHA512 {
		t.Errorf("suite %v, want ristretto255-SHA512", cfg.Suite)
	}
	if string(cfg.Context) != "quicprochat/1" || opaque.DefaultContext != "quicprochat/1" {
		t.Errorf("context %q, constant %q, want quicprochat/1", cfg.Context, opaque.DefaultContext)
	}
	want := opaque.Argon2id{Time: 3, Memory: 64 * 1024, Threads: 4}
	if opaque.CheapForTests {
		want = opaque.Argon2id{Time: 1, Memory: 64, Threads: 1} // the test build's (ksf_testbuild.go)
	}
	if c := (opaque.Argon2id{Time: opaque.DefaultArgon2Time, Memory: opaque.DefaultArgon2Memory, Threads: opaque.DefaultArgon2Threads}); c.Time != 3 || c.Memory != 64*1024 || c.Threads != 4 {
		t.Errorf("qpc's Argon2id constants are %+v, want t=3, m=64 MiB, p=4", c)
	}
	got, ok := cfg.KSF.(opaque.Argon2id)
	if !ok || got.Time != want.Time || got.Memory != want.Memory || got.Threads != want.Threads || got.Salt != nil {
		t.Errorf("KSF %#v, want %#v with 16 zero bytes of salt", cfg.KSF, want)
	}
}

// TestArgon2idMatchesItsDefinition pins the KSF to x/crypto's Argon2id with
// 16 zero bytes of salt, so that a refactoring cannot change what clients
// derive from their passwords (which would lock every user out).
func TestArgon2idMatchesItsDefinition(t *testing.T) {
	k := opaque.Argon2id{Time: 1, Memory: 64, Threads: 1}
	a, err := k.Stretch([]byte("oprf output"), 64)
	if err != nil {
		t.Fatal(err)
	}
	k.Salt = make([]byte, 16)
	b, err := k.Stretch([]byte("oprf output"), 64)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 64 || !bytes.Equal(a, b) {
		t.Errorf("nil salt and 16 zero bytes give different outputs")
	}
	k.Salt = bytes.Repeat([]byte{1}, 16)
	if c, _ := k.Stretch([]byte("oprf output"), 64); bytes.Equal(a, c) {
		t.Errorf("the salt does not enter the output")
	}
}

func TestZeroConfigMeansDefaults(t *testing.T) {
	// A zero Config and DefaultConfig must interoperate: register with one,
	// log in with the other. Use a cheap KSF so only Suite and Context
	// default.
	zero := opaque.Config{KSF: fastArgon2id}
	def := opaque.DefaultConfig()
	def.KSF = fastArgon2id
	a := register(t, zero, nil, nil)
	a.cfg = def
	finishLogin(t, a, a.startLogin(t, a.password, a.record))
}

func TestInvalidConfigurationsAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  opaque.Config
	}{
		{"an unknown suite", opaque.Config{Suite: 42}},
		{"a context longer than 65535 bytes", opaque.Config{Context: make([]byte, 65536)}},
		{"Argon2id with zero passes", opaque.Config{KSF: opaque.Argon2id{Time: 0, Memory: 64, Threads: 1}}},
		{"Argon2id with zero threads", opaque.Config{KSF: opaque.Argon2id{Time: 1, Memory: 64, Threads: 0}}},
		{"Argon2id with less than 8 KiB per thread", opaque.Config{KSF: opaque.Argon2id{Time: 1, Memory: 15, Threads: 2}}},
		{"Argon2id with a 4-byte salt", opaque.Config{KSF: opaque.Argon2id{Time: 1, Memory: 64, Threads: 1, Salt: []byte("salt")}}},
		{"a nil *Argon2id", opaque.Config{KSF: (*opaque.Argon2id)(nil)}},
	} {
		t.Run("NewClient refuses "+tc.name, func(t *testing.T) {
			if _, err := opaque.NewClient(tc.cfg); !errors.Is(err, opaque.ErrInvalidConfig) {
				t.Fatalf("got %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestInvalidServerSecretsAreRefused(t *testing.T) {
	for _, s := range allSuites {
		cfg := testConfig(s)
		good, err := opaque.GenerateServerSecrets(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name   string
			change func(*opaque.ServerSecrets)
			want   error
		}{
			{"a zero private key", func(x *opaque.ServerSecrets) { x.PrivateKey = make([]byte, 32) }, opaque.ErrInvalidScalar},
			{"a private key above the group order", func(x *opaque.ServerSecrets) { x.PrivateKey = bytes.Repeat([]byte{0xff}, 32) }, opaque.ErrInvalidScalar},
			{"a short private key", func(x *opaque.ServerSecrets) { x.PrivateKey = x.PrivateKey[1:] }, opaque.ErrInvalidScalar},
			{"a missing OPRF seed", func(x *opaque.ServerSecrets) { x.OPRFSeed = nil }, opaque.ErrInvalidConfig},
			{"a short fake record seed", func(x *opaque.ServerSecrets) { x.FakeRecordSeed = x.FakeRecordSeed[1:] }, opaque.ErrInvalidConfig},
		} {
			t.Run(s.String()+": NewServer refuses "+tc.name, func(t *testing.T) {
				secrets := good
				tc.change(&secrets)
				_, err := opaque.NewServer(cfg, secrets)
				if !errors.Is(err, tc.want) || !errors.Is(err, opaque.ErrInvalidConfig) {
					t.Fatalf("got %v, want %v and ErrInvalidConfig", err, tc.want)
				}
			})
		}
	}
}

func TestInvalidInputsAreRefused(t *testing.T) {
	s := opaque.Ristretto255SHA512
	cfg := testConfig(s)
	a := register(t, cfg, nil, nil)
	long := make([]byte, 65536)
	nonce := make([]byte, 32)
	blind := append([]byte{1}, make([]byte, 31)...) // the scalar 1, little-endian

	for _, tc := range []struct {
		name string
		run  func() error
		want error
	}{
		{"a password longer than 65535 bytes is refused at registration", func() error {
			_, err := newClient(t, cfg).CreateRegistrationRequest(long)
			return err
		}, opaque.ErrInvalidInput},
		{"a password longer than 65535 bytes is refused at login", func() error {
			_, err := newClient(t, cfg).GenerateKE1(long)
			return err
		}, opaque.ErrInvalidInput},
		{"a zero blind is refused", func() error {
			_, err := newClient(t, cfg).CreateRegistrationRequestDeterministic([]byte("pw"), make([]byte, 32))
			return err
		}, opaque.ErrInvalidScalar},
		{"a non-canonical blind is refused", func() error {
			_, err := newClient(t, cfg).GenerateKE1Deterministic([]byte("pw"), bytes.Repeat([]byte{0xff}, 32), nonce, nonce)
			return err
		}, opaque.ErrInvalidScalar},
		{"a short client nonce is refused", func() error {
			_, err := newClient(t, cfg).GenerateKE1Deterministic([]byte("pw"), blind, nonce[1:], nonce)
			return err
		}, opaque.ErrInvalidInput},
		{"a short client keyshare seed is refused", func() error {
			_, err := newClient(t, cfg).GenerateKE1Deterministic([]byte("pw"), blind, nonce, nonce[1:])
			return err
		}, opaque.ErrInvalidInput},
		{"a client identity longer than 65535 bytes is refused at registration", func() error {
			c := newClient(t, cfg)
			req, err := c.CreateRegistrationRequest(a.password)
			if err != nil {
				return err
			}
			resp, err := a.server.CreateRegistrationResponse(req, a.credentialID)
			if err != nil {
				return err
			}
			_, _, err = c.FinalizeRegistrationRequest(resp, nil, long)
			return err
		}, opaque.ErrInvalidInput},
		{"a server identity longer than 65535 bytes is refused by GenerateKE2", func() error {
			ke1, err := newClient(t, cfg).GenerateKE1(a.password)
			if err != nil {
				return err
			}
			_, _, err = a.server.GenerateKE2(long, a.record, a.credentialID, ke1, nil)
			return err
		}, opaque.ErrInvalidInput},
		{"a record with a short masking key is refused by GenerateKE2", func() error {
			ke1, err := newClient(t, cfg).GenerateKE1(a.password)
			if err != nil {
				return err
			}
			r := *a.record
			r.MaskingKey = r.MaskingKey[1:]
			_, _, err = a.server.GenerateKE2(nil, &r, a.credentialID, ke1, nil)
			return err
		}, opaque.ErrInvalidLength},
		{"a record whose client key is the identity is refused by GenerateKE2", func() error {
			ke1, err := newClient(t, cfg).GenerateKE1(a.password)
			if err != nil {
				return err
			}
			r := *a.record
			r.ClientPublicKey = make([]byte, 32)
			_, _, err = a.server.GenerateKE2(nil, &r, a.credentialID, ke1, nil)
			return err
		}, opaque.ErrInvalidElement},
		{"a hand-built KE1 with a client keyshare at the identity is refused", func() error {
			ke1, err := newClient(t, cfg).GenerateKE1(a.password)
			if err != nil {
				return err
			}
			ke1.AuthRequest.ClientPublicKeyshare = make([]byte, 32)
			_, _, err = a.server.GenerateKE2(nil, a.record, a.credentialID, ke1, nil)
			return err
		}, opaque.ErrInvalidElement},
		{"a nil KE1 is refused", func() error {
			_, _, err := a.server.GenerateKE2(nil, a.record, a.credentialID, nil, nil)
			return err
		}, opaque.ErrInvalidInput},
		{"a nil registration request is refused", func() error {
			_, err := a.server.CreateRegistrationResponse(nil, a.credentialID)
			return err
		}, opaque.ErrInvalidInput},
		{"a registration response carrying an invalid server key is refused", func() error {
			c := newClient(t, cfg)
			req, err := c.CreateRegistrationRequest(a.password)
			if err != nil {
				return err
			}
			resp, err := a.server.CreateRegistrationResponse(req, a.credentialID)
			if err != nil {
				return err
			}
			resp.ServerPublicKey = bytes.Repeat([]byte{0xff}, 32)
			_, _, err = c.FinalizeRegistrationRequest(resp, nil, nil)
			return err
		}, opaque.ErrInvalidElement},
		{"a nil KE3 is refused", func() error {
			_, err := a.startLogin(t, a.password, a.record).state.ServerFinish(nil)
			return err
		}, opaque.ErrInvalidInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
