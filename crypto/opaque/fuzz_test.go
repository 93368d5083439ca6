package opaque_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/quicprochat/qpc/crypto/opaque"
)

// Each Fuzz target feeds arbitrary bytes to one decoder of both suites. A
// decoder must refuse with ErrInvalidLength or ErrInvalidElement, or accept
// and re-encode to the same bytes; an accepted message then goes through
// the protocol step that consumes it, which must not panic and may fail
// only with the package's errors. Seeds are the vectors' messages (when the
// file is present) and freshly generated ones.

// vectorMessages maps a message name to the vectors.json fields holding
// such messages.
var vectorMessages = map[string][]string{
	"RegistrationRequest":  {"registration_request"},
	"RegistrationResponse": {"registration_response"},
	"RegistrationRecord":   {"registration_upload"},
	"KE1":                  {"KE1"},
	"KE2":                  {"KE2"},
	"KE3":                  {"KE3"},
}

func addSeeds(f *testing.F, name string) {
	vs, err := readVectors(f)
	if err == nil {
		for _, v := range vs {
			for _, field := range vectorMessages[name] {
				for _, m := range []map[string]string{v.Outputs, v.Inputs} {
					if h, ok := m[field]; ok {
						if b, err := hex.DecodeString(h); err == nil {
							f.Add(b)
						}
					}
				}
			}
		}
	}
	for _, s := range allSuites {
		f.Add(sampleMessages(f, s)[name])
	}
	f.Add([]byte{})
}

// fixture is a registered account of one suite for the fuzz targets.
type fixture struct {
	suite    opaque.Suite
	cfg      opaque.Config
	server   *opaque.Server
	record   *opaque.RegistrationRecord
	ke1      *opaque.KE1
	id       []byte
	password []byte
}

func newFixtures(tb testing.TB) []*fixture {
	var out []*fixture
	for _, s := range allSuites {
		cfg := opaque.Config{Suite: s, KSF: opaque.Identity{}}
		srv, _ := newServer(tb, cfg)
		fx := &fixture{suite: s, cfg: cfg, server: srv, id: []byte("alice"), password: []byte("pw")}
		c := newClient(tb, cfg)
		req, err := c.CreateRegistrationRequest(fx.password)
		if err != nil {
			tb.Fatal(err)
		}
		resp, err := srv.CreateRegistrationResponse(req, fx.id)
		if err != nil {
			tb.Fatal(err)
		}
		if fx.record, _, err = c.FinalizeRegistrationRequest(resp, nil, nil); err != nil {
			tb.Fatal(err)
		}
		if fx.ke1, err = c.GenerateKE1(fx.password); err != nil {
			tb.Fatal(err)
		}
		out = append(out, fx)
	}
	return out
}

// expectOnly fails unless err is nil or one of allowed.
func expectOnly(t *testing.T, what string, err error, allowed ...error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, a := range allowed {
		if errors.Is(err, a) {
			return
		}
	}
	t.Fatalf("%s: unexpected error %v", what, err)
}

func checkReencode(t *testing.T, in, out []byte) {
	t.Helper()
	if !bytes.Equal(in, out) {
		t.Fatalf("decoded and re-encoded\n%x\nto\n%x", in, out)
	}
}

func FuzzDecodeRegistrationRequest(f *testing.F) {
	addSeeds(f, "RegistrationRequest")
	fxs := newFixtures(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fx := range fxs {
			m, err := opaque.DecodeRegistrationRequest(fx.suite, b)
			expectOnly(t, "decode", err, opaque.ErrInvalidLength, opaque.ErrInvalidElement)
			if err != nil {
				continue
			}
			checkReencode(t, b, m.Encode())
			if _, err := fx.server.CreateRegistrationResponse(m, fx.id); err != nil {
				t.Fatalf("CreateRegistrationResponse on a decoded request: %v", err)
			}
		}
	})
}

func FuzzDecodeRegistrationResponse(f *testing.F) {
	addSeeds(f, "RegistrationResponse")
	fxs := newFixtures(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fx := range fxs {
			m, err := opaque.DecodeRegistrationResponse(fx.suite, b)
			expectOnly(t, "decode", err, opaque.ErrInvalidLength, opaque.ErrInvalidElement)
			if err != nil {
				continue
			}
			checkReencode(t, b, m.Encode())
			c := newClient(t, fx.cfg)
			if _, err := c.CreateRegistrationRequest(fx.password); err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.FinalizeRegistrationRequest(m, nil, nil); err != nil {
				t.Fatalf("FinalizeRegistrationRequest on a decoded response: %v", err)
			}
		}
	})
}

func FuzzDecodeRegistrationRecord(f *testing.F) {
	addSeeds(f, "RegistrationRecord")
	fxs := newFixtures(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fx := range fxs {
			m, err := opaque.DecodeRegistrationRecord(fx.suite, b)
			expectOnly(t, "decode", err, opaque.ErrInvalidLength, opaque.ErrInvalidElement)
			if err != nil {
				continue
			}
			checkReencode(t, b, m.Encode())
			if _, _, err := fx.server.GenerateKE2(nil, m, fx.id, fx.ke1, nil); err != nil {
				t.Fatalf("GenerateKE2 with a decoded record: %v", err)
			}
		}
	})
}

func FuzzDecodeKE1(f *testing.F) {
	addSeeds(f, "KE1")
	fxs := newFixtures(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fx := range fxs {
			m, err := opaque.DecodeKE1(fx.suite, b)
			expectOnly(t, "decode", err, opaque.ErrInvalidLength, opaque.ErrInvalidElement)
			if err != nil {
				continue
			}
			checkReencode(t, b, m.Encode())
			if _, _, err := fx.server.GenerateKE2(nil, fx.record, fx.id, m, nil); err != nil {
				t.Fatalf("GenerateKE2 on a decoded KE1: %v", err)
			}
			if _, _, err := fx.server.GenerateKE2(nil, nil, []byte("nobody"), m, nil); err != nil {
				t.Fatalf("fake GenerateKE2 on a decoded KE1: %v", err)
			}
		}
	})
}

func FuzzDecodeKE2(f *testing.F) {
	addSeeds(f, "KE2")
	fxs := newFixtures(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fx := range fxs {
			m, err := opaque.DecodeKE2(fx.suite, b)
			expectOnly(t, "decode", err, opaque.ErrInvalidLength, opaque.ErrInvalidElement)
			if err != nil {
				continue
			}
			checkReencode(t, b, m.Encode())
			c := newClient(t, fx.cfg)
			if _, err := c.GenerateKE1(fx.password); err != nil {
				t.Fatal(err)
			}
			_, _, _, err = c.GenerateKE3(nil, nil, m)
			if err == nil {
				t.Fatalf("GenerateKE3 accepted a KE2 made for another login")
			}
			expectOnly(t, "GenerateKE3", err, opaque.ErrEnvelopeRecovery, opaque.ErrServerAuthentication, opaque.ErrInvalidElement)
		}
	})
}

func FuzzDecodeKE3(f *testing.F) {
	addSeeds(f, "KE3")
	fxs := newFixtures(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fx := range fxs {
			m, err := opaque.DecodeKE3(fx.suite, b)
			expectOnly(t, "decode", err, opaque.ErrInvalidLength)
			if err != nil {
				continue
			}
			checkReencode(t, b, m.Encode())
			_, state, err := fx.server.GenerateKE2(nil, fx.record, fx.id, fx.ke1, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := state.ServerFinish(m); !errors.Is(err, opaque.ErrClientAuthentication) {
				t.Fatalf("ServerFinish on an arbitrary KE3: got %v, want ErrClientAuthentication", err)
			}
		}
	})
}
