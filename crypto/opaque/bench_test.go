package opaque_test

import (
	"testing"

	"github.com/quicprochat/qpc/crypto/opaque"
)

// BenchmarkSteps times every RFC 9807 step of both suites, once with the
// Identity KSF (the cost of the protocol itself) and once with qpc's
// default Argon2id (t=3, m=64 MiB, p=4), which only the two client steps
// that stretch the password (FinalizeRegistrationRequest, GenerateKE3)
// pay. Steps that need fresh state per call build it with the timer
// stopped.
func BenchmarkSteps(b *testing.B) {
	for _, s := range allSuites {
		for _, k := range []struct {
			name string
			ksf  opaque.KSF
		}{
			{"Identity", opaque.Identity{}},
			{"Argon2id-default", opaque.Argon2id{Time: opaque.DefaultArgon2Time, Memory: opaque.DefaultArgon2Memory, Threads: opaque.DefaultArgon2Threads}},
		} {
			cfg := opaque.Config{Suite: s, KSF: k.ksf}
			benchmarkSteps(b, s.String()+"/"+k.name+"/", cfg)
		}
	}
}

func benchmarkSteps(b *testing.B, prefix string, cfg opaque.Config) {
	a := register(b, cfg, nil, nil)
	srv, pw, id := a.server, a.password, a.credentialID
	c := newClient(b, cfg)

	b.Run(prefix+"CreateRegistrationRequest", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.CreateRegistrationRequest(pw); err != nil {
				b.Fatal(err)
			}
		}
	})

	req, err := c.CreateRegistrationRequest(pw)
	if err != nil {
		b.Fatal(err)
	}
	b.Run(prefix+"CreateRegistrationResponse", func(b *testing.B) {
		for b.Loop() {
			if _, err := srv.CreateRegistrationResponse(req, id); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run(prefix+"FinalizeRegistrationRequest", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			req, err := c.CreateRegistrationRequest(pw)
			if err != nil {
				b.Fatal(err)
			}
			resp, err := srv.CreateRegistrationResponse(req, id)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, _, err := c.FinalizeRegistrationRequest(resp, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run(prefix+"GenerateKE1", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.GenerateKE1(pw); err != nil {
				b.Fatal(err)
			}
		}
	})

	ke1, err := c.GenerateKE1(pw)
	if err != nil {
		b.Fatal(err)
	}
	b.Run(prefix+"GenerateKE2", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := srv.GenerateKE2(nil, a.record, id, ke1, nil); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run(prefix+"GenerateKE2-unknown-user", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := srv.GenerateKE2(nil, nil, []byte("nobody"), ke1, nil); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run(prefix+"GenerateKE3", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			ke1, err := c.GenerateKE1(pw)
			if err != nil {
				b.Fatal(err)
			}
			ke2, _, err := srv.GenerateKE2(nil, a.record, id, ke1, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, _, _, err := c.GenerateKE3(nil, nil, ke2); err != nil {
				b.Fatal(err)
			}
		}
	})

	if ke1, err = c.GenerateKE1(pw); err != nil {
		b.Fatal(err)
	}
	ke2, state, err := srv.GenerateKE2(nil, a.record, id, ke1, nil)
	if err != nil {
		b.Fatal(err)
	}
	ke3, _, _, err := c.GenerateKE3(nil, nil, ke2)
	if err != nil {
		b.Fatal(err)
	}
	b.Run(prefix+"ServerFinish", func(b *testing.B) {
		for b.Loop() {
			if _, err := opaque.CopyServerState(state).ServerFinish(ke3); err != nil {
				b.Fatal(err)
			}
		}
	})
}
