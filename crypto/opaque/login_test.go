package opaque_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/quicprochat/qpc/crypto/opaque"
)

// finishLogin runs GenerateKE3 and ServerFinish and checks that both sides
// agree.
func finishLogin(t *testing.T, a *account, l *login) {
	t.Helper()
	ke3, clientKey, exportKey, err := l.client.GenerateKE3(a.clientID, a.serverID, l.ke2)
	if err != nil {
		t.Fatalf("GenerateKE3: %v", err)
	}
	ke3, err = opaque.DecodeKE3(a.server.Suite(), ke3.Encode())
	if err != nil {
		t.Fatalf("DecodeKE3: %v", err)
	}
	serverKey, err := l.state.ServerFinish(ke3)
	if err != nil {
		t.Fatalf("ServerFinish: %v", err)
	}
	if !bytes.Equal(clientKey, serverKey) {
		t.Errorf("session keys differ:\nclient %x\nserver %x", clientKey, serverKey)
	}
	if !bytes.Equal(exportKey, a.exportKey) {
		t.Errorf("export key at login %x, at registration %x", exportKey, a.exportKey)
	}
	if len(clientKey) == 0 || len(exportKey) == 0 {
		t.Errorf("empty keys: session %d bytes, export %d bytes", len(clientKey), len(exportKey))
	}
}

func TestLoginWithTheRightPasswordAgreesOnKeys(t *testing.T) {
	for _, s := range allSuites {
		for _, tc := range []struct {
			name               string
			serverID, clientID []byte
		}{
			{name: "without identities"},
			{name: "with both identities", serverID: []byte("node.mesh.example"), clientID: []byte("alice")},
			{name: "with only a client identity", clientID: []byte("alice")},
		} {
			t.Run(s.String()+" "+tc.name+" gives both sides the same session key and the registration's export key", func(t *testing.T) {
				a := register(t, testConfig(s), tc.serverID, tc.clientID)
				finishLogin(t, a, a.startLogin(t, a.password, a.record))
				// A second login gives a fresh session key.
				l1, l2 := a.startLogin(t, a.password, a.record), a.startLogin(t, a.password, a.record)
				_, k1, _, err1 := l1.client.GenerateKE3(a.clientID, a.serverID, l1.ke2)
				_, k2, _, err2 := l2.client.GenerateKE3(a.clientID, a.serverID, l2.ke2)
				if err1 != nil || err2 != nil {
					t.Fatalf("GenerateKE3: %v, %v", err1, err2)
				}
				if bytes.Equal(k1, k2) {
					t.Errorf("two logins produced the same session key")
				}
			})
		}
	}
}

// TestLoginWithDefaultArgon2id runs qpc's real configuration once: Argon2id
// with t=3, m=64 MiB, p=4, named explicitly so that it runs at full cost in
// `make test` too (whose build makes DefaultArgon2id cheap).
func TestLoginWithDefaultArgon2id(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the 64 MiB Argon2id round trip")
	}
	cfg := opaque.DefaultConfig()
	cfg.KSF = opaque.Argon2id{Time: opaque.DefaultArgon2Time, Memory: opaque.DefaultArgon2Memory, Threads: opaque.DefaultArgon2Threads}
	a := register(t, cfg, nil, []byte("alice"))
	finishLogin(t, a, a.startLogin(t, a.password, a.record))
	l := a.startLogin(t, []byte("correct horse battery stapler"), a.record)
	if _, _, _, err := l.client.GenerateKE3(a.clientID, a.serverID, l.ke2); !errors.Is(err, opaque.ErrEnvelopeRecovery) {
		t.Errorf("wrong password with default Argon2id: got %v, want ErrEnvelopeRecovery", err)
	}
}

func TestLoginFailures(t *testing.T) {
	for _, s := range allSuites {
		for _, tc := range []struct {
			name string
			// run attempts a login against a registered account and returns
			// the client's GenerateKE3 error.
			run  func(t *testing.T, a *account) error
			want error
		}{
			{
				name: "a wrong password fails at GenerateKE3 with ErrEnvelopeRecovery",
				run: func(t *testing.T, a *account) error {
					l := a.startLogin(t, []byte("Correct horse battery staple"), a.record)
					_, _, _, err := l.client.GenerateKE3(a.clientID, a.serverID, l.ke2)
					return err
				},
				want: opaque.ErrEnvelopeRecovery,
			},
			{
				name: "an unknown user fails at GenerateKE3 with ErrEnvelopeRecovery, like a wrong password",
				run: func(t *testing.T, a *account) error {
					a.credentialID = []byte("mallory@mesh.example")
					l := a.startLogin(t, a.password, nil)
					_, _, _, err := l.client.GenerateKE3(a.clientID, a.serverID, l.ke2)
					return err
				},
				want: opaque.ErrEnvelopeRecovery,
			},
			{
				name: "a client identity other than the registered one fails with ErrEnvelopeRecovery",
				run: func(t *testing.T, a *account) error {
					l := a.startLogin(t, a.password, a.record)
					_, _, _, err := l.client.GenerateKE3([]byte("bob"), a.serverID, l.ke2)
					return err
				},
				want: opaque.ErrEnvelopeRecovery,
			},
			{
				name: "a server that lost its OPRF seed fails with ErrEnvelopeRecovery",
				run: func(t *testing.T, a *account) error {
					secrets := a.secrets
					secrets.OPRFSeed = bytes.Repeat([]byte{1}, len(secrets.OPRFSeed))
					srv, err := opaque.NewServer(a.cfg, secrets)
					if err != nil {
						t.Fatal(err)
					}
					a.server = srv
					l := a.startLogin(t, a.password, a.record)
					_, _, _, err = l.client.GenerateKE3(a.clientID, a.serverID, l.ke2)
					return err
				},
				want: opaque.ErrEnvelopeRecovery,
			},
			{
				name: "a client with another context fails server authentication",
				run: func(t *testing.T, a *account) error {
					cfg := a.cfg
					cfg.Context = []byte("qpc-test-other")
					c := newClient(t, cfg)
					ke1, err := c.GenerateKE1(a.password)
					if err != nil {
						t.Fatal(err)
					}
					ke2, _, err := a.server.GenerateKE2(a.serverID, a.record, a.credentialID, ke1, a.clientID)
					if err != nil {
						t.Fatal(err)
					}
					_, _, _, err = c.GenerateKE3(a.clientID, a.serverID, ke2)
					return err
				},
				want: opaque.ErrServerAuthentication,
			},
			{
				name: "an impostor with the record and the OPRF seed but not the private key fails server authentication",
				run: func(t *testing.T, a *account) error {
					secrets, err := opaque.GenerateServerSecrets(a.cfg)
					if err != nil {
						t.Fatal(err)
					}
					secrets.OPRFSeed = a.secrets.OPRFSeed
					impostor, err := opaque.NewServer(a.cfg, secrets)
					if err != nil {
						t.Fatal(err)
					}
					a.server = impostor
					l := a.startLogin(t, a.password, a.record)
					// The impostor masked its own public key; make the masked
					// response carry the real server's key instead, which it
					// can do since it knows the masking key.
					realKey, fakeKey := publicKeyOf(t, a.cfg, a.secrets), impostor.PublicKey()
					masked := l.ke2.CredentialResponse.MaskedResponse
					for i := range realKey {
						masked[i] ^= realKey[i] ^ fakeKey[i]
					}
					_, _, _, err = l.client.GenerateKE3(a.clientID, a.serverID, l.ke2)
					return err
				},
				want: opaque.ErrServerAuthentication,
			},
		} {
			t.Run(s.String()+": "+tc.name, func(t *testing.T) {
				a := register(t, testConfig(s), []byte("node.mesh.example"), []byte("alice"))
				err := tc.run(t, a)
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
			})
		}
	}
}

func TestUnknownUsers(t *testing.T) {
	for _, s := range allSuites {
		cfg := testConfig(s)
		srv, secrets := newServer(t, cfg)
		c := newClient(t, cfg)
		ke1, err := c.GenerateKE1([]byte("guess"))
		if err != nil {
			t.Fatal(err)
		}
		fakeKE2 := func(srv *opaque.Server, name string) []byte {
			t.Helper()
			n := bytes.Repeat([]byte{7}, 32)
			ke2, _, err := srv.GenerateKE2Deterministic(nil, nil, []byte(name), ke1, nil, n, n, n)
			if err != nil {
				t.Fatalf("GenerateKE2 for %s: %v", name, err)
			}
			return ke2.Encode()
		}

		t.Run(s.String()+": the fake response for a name is the same on every call and after a restart", func(t *testing.T) {
			restarted, err := opaque.NewServer(cfg, secrets)
			if err != nil {
				t.Fatal(err)
			}
			first := fakeKE2(srv, "mallory")
			if again := fakeKE2(srv, "mallory"); !bytes.Equal(first, again) {
				t.Errorf("second call differs")
			}
			if restarted := fakeKE2(restarted, "mallory"); !bytes.Equal(first, restarted) {
				t.Errorf("restarted server differs")
			}
		})

		t.Run(s.String()+": fake responses differ between names and between servers", func(t *testing.T) {
			other, _ := newServer(t, cfg)
			if bytes.Equal(fakeKE2(srv, "mallory"), fakeKE2(srv, "trudy")) {
				t.Errorf("two names got the same fake response")
			}
			if bytes.Equal(fakeKE2(srv, "mallory"), fakeKE2(other, "mallory")) {
				t.Errorf("two servers gave the same fake response")
			}
		})

		t.Run(s.String()+": a fake response has the length of a real one and decodes", func(t *testing.T) {
			a := register(t, cfg, nil, nil)
			real := a.startLogin(t, a.password, a.record).ke2.Encode()
			fake := fakeKE2(srv, "mallory")
			if len(fake) != len(real) {
				t.Fatalf("fake KE2 %d bytes, real %d", len(fake), len(real))
			}
			if _, err := opaque.DecodeKE2(s, fake); err != nil {
				t.Fatalf("fake KE2 does not decode: %v", err)
			}
		})

		t.Run(s.String()+": the server refuses any KE3 after a fake response", func(t *testing.T) {
			a := register(t, cfg, nil, nil)
			l := a.startLogin(t, a.password, nil)
			nm := map[opaque.Suite]int{opaque.Ristretto255SHA512: 64, opaque.P256SHA256: 32}[s]
			_, err := l.state.ServerFinish(&opaque.KE3{ClientMAC: make([]byte, nm)})
			if !errors.Is(err, opaque.ErrClientAuthentication) {
				t.Fatalf("got %v, want ErrClientAuthentication", err)
			}
		})
	}
}

// flip returns b with one bit inverted.
func flip(b []byte, i int) []byte {
	out := append([]byte(nil), b...)
	out[i%len(out)] ^= 0x01
	return out
}

func TestTamperedKE2(t *testing.T) {
	for _, s := range allSuites {
		a := register(t, testConfig(s), nil, nil)
		// A second, honest KE2 supplies valid group elements that belong to
		// another login.
		other := a.startLogin(t, a.password, a.record).ke2
		invalidPoint := map[opaque.Suite][]byte{
			opaque.Ristretto255SHA512: bytes.Repeat([]byte{0xff}, 32),                          // not canonical
			opaque.P256SHA256:         append([]byte{0x02}, bytes.Repeat([]byte{0xff}, 32)...), // x ≥ p
		}[s]
		identity := map[opaque.Suite][]byte{
			opaque.Ristretto255SHA512: make([]byte, 32),
			opaque.P256SHA256:         make([]byte, 33),
		}[s]

		for _, tc := range []struct {
			name   string
			tamper func(m *opaque.KE2)
			want   error
		}{
			{"a flipped bit in server_mac fails server authentication",
				func(m *opaque.KE2) { m.AuthResponse.ServerMAC = flip(m.AuthResponse.ServerMAC, 5) },
				opaque.ErrServerAuthentication},
			{"a flipped bit in server_nonce fails server authentication",
				func(m *opaque.KE2) { m.AuthResponse.ServerNonce = flip(m.AuthResponse.ServerNonce, 0) },
				opaque.ErrServerAuthentication},
			{"another login's server keyshare fails server authentication",
				func(m *opaque.KE2) { m.AuthResponse.ServerPublicKeyshare = other.AuthResponse.ServerPublicKeyshare },
				opaque.ErrServerAuthentication},
			{"a flipped bit in the masked envelope fails envelope recovery",
				func(m *opaque.KE2) {
					m.CredentialResponse.MaskedResponse = flip(m.CredentialResponse.MaskedResponse, len(m.CredentialResponse.MaskedResponse)-1)
				},
				opaque.ErrEnvelopeRecovery},
			{"a flipped bit in the masked server key fails envelope recovery",
				func(m *opaque.KE2) {
					m.CredentialResponse.MaskedResponse = flip(m.CredentialResponse.MaskedResponse, 3)
				},
				opaque.ErrEnvelopeRecovery},
			{"a flipped bit in masking_nonce fails envelope recovery",
				func(m *opaque.KE2) { m.CredentialResponse.MaskingNonce = flip(m.CredentialResponse.MaskingNonce, 9) },
				opaque.ErrEnvelopeRecovery},
			{"another login's OPRF evaluation fails envelope recovery",
				func(m *opaque.KE2) { m.CredentialResponse.EvaluatedMessage = other.CredentialResponse.EvaluatedMessage },
				opaque.ErrEnvelopeRecovery},
			{"an evaluated element off the curve is refused",
				func(m *opaque.KE2) { m.CredentialResponse.EvaluatedMessage = invalidPoint },
				opaque.ErrInvalidElement},
			{"an evaluated element at the identity is refused",
				func(m *opaque.KE2) { m.CredentialResponse.EvaluatedMessage = identity },
				opaque.ErrInvalidElement},
			{"a server keyshare off the curve is refused",
				func(m *opaque.KE2) { m.AuthResponse.ServerPublicKeyshare = invalidPoint },
				opaque.ErrInvalidElement},
			{"a server keyshare at the identity is refused",
				func(m *opaque.KE2) { m.AuthResponse.ServerPublicKeyshare = identity },
				opaque.ErrInvalidElement},
			{"a truncated server_mac is refused",
				func(m *opaque.KE2) { m.AuthResponse.ServerMAC = m.AuthResponse.ServerMAC[1:] },
				opaque.ErrInvalidLength},
			{"a missing masked response is refused",
				func(m *opaque.KE2) { m.CredentialResponse.MaskedResponse = nil },
				opaque.ErrInvalidLength},
		} {
			t.Run(s.String()+": "+tc.name, func(t *testing.T) {
				l := a.startLogin(t, a.password, a.record)
				ke2 := cloneKE2(l.ke2)
				tc.tamper(ke2)
				ke3, key, exportKey, err := l.client.GenerateKE3(a.clientID, a.serverID, ke2)
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				if ke3 != nil || key != nil || exportKey != nil {
					t.Errorf("GenerateKE3 returned outputs along with its error")
				}
				// The failed attempt spent the client's state.
				if _, _, _, err := l.client.GenerateKE3(a.clientID, a.serverID, l.ke2); !errors.Is(err, opaque.ErrOutOfOrder) {
					t.Errorf("retry after failure: got %v, want ErrOutOfOrder", err)
				}
			})
		}
	}
}

func TestTamperedKE3(t *testing.T) {
	for _, s := range allSuites {
		a := register(t, testConfig(s), nil, nil)
		for _, tc := range []struct {
			name   string
			tamper func(mac []byte) []byte
			want   error
		}{
			{"a flipped bit in client_mac fails client authentication", func(mac []byte) []byte { return flip(mac, 17) }, opaque.ErrClientAuthentication},
			{"an all-zero client_mac fails client authentication", func(mac []byte) []byte { return make([]byte, len(mac)) }, opaque.ErrClientAuthentication},
			{"a truncated client_mac is refused", func(mac []byte) []byte { return mac[:len(mac)-1] }, opaque.ErrInvalidLength},
			{"an empty client_mac is refused", func([]byte) []byte { return nil }, opaque.ErrInvalidLength},
		} {
			t.Run(s.String()+": "+tc.name, func(t *testing.T) {
				l := a.startLogin(t, a.password, a.record)
				ke3, _, _, err := l.client.GenerateKE3(a.clientID, a.serverID, l.ke2)
				if err != nil {
					t.Fatal(err)
				}
				key, err := l.state.ServerFinish(&opaque.KE3{ClientMAC: tc.tamper(ke3.ClientMAC)})
				if !errors.Is(err, tc.want) || key != nil {
					t.Fatalf("got (%x, %v), want %v", key, err, tc.want)
				}
				// The state is spent: even the genuine KE3 is now refused.
				if _, err := l.state.ServerFinish(ke3); !errors.Is(err, opaque.ErrOutOfOrder) {
					t.Errorf("genuine KE3 after a failure: got %v, want ErrOutOfOrder", err)
				}
			})
		}
	}
}

func TestStepsOutOfOrder(t *testing.T) {
	cfg := testConfig(opaque.Ristretto255SHA512)
	a := register(t, cfg, nil, nil)
	resp, err := a.server.CreateRegistrationResponse(&opaque.RegistrationRequest{BlindedMessage: a.record.ClientPublicKey}, a.credentialID)
	if err != nil {
		t.Fatal(err)
	}
	l := a.startLogin(t, a.password, a.record)

	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"FinalizeRegistrationRequest without CreateRegistrationRequest is refused", func() error {
			_, _, err := newClient(t, cfg).FinalizeRegistrationRequest(resp, nil, nil)
			return err
		}},
		{"GenerateKE3 without GenerateKE1 is refused", func() error {
			_, _, _, err := newClient(t, cfg).GenerateKE3(nil, nil, l.ke2)
			return err
		}},
		{"GenerateKE3 during a registration is refused", func() error {
			c := newClient(t, cfg)
			if _, err := c.CreateRegistrationRequest(a.password); err != nil {
				return err
			}
			_, _, _, err := c.GenerateKE3(nil, nil, l.ke2)
			return err
		}},
		{"ServerFinish on a nil state is refused", func() error {
			var st *opaque.ServerState
			_, err := st.ServerFinish(&opaque.KE3{})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); !errors.Is(err, opaque.ErrOutOfOrder) {
				t.Fatalf("got %v, want ErrOutOfOrder", err)
			}
		})
	}
}

func TestCallerMayWipeThePasswordAfterEachStep(t *testing.T) {
	cfg := testConfig(opaque.Ristretto255SHA512)
	srv, _ := newServer(t, cfg)
	c := newClient(t, cfg)
	pw := []byte("correct horse battery staple")
	id := []byte("alice")

	buf := append([]byte(nil), pw...)
	req, err := c.CreateRegistrationRequest(buf)
	if err != nil {
		t.Fatal(err)
	}
	clear(buf)
	resp, err := srv.CreateRegistrationResponse(req, id)
	if err != nil {
		t.Fatal(err)
	}
	record, exportKey, err := c.FinalizeRegistrationRequest(resp, nil, nil)
	if err != nil {
		t.Fatal(err)
	}

	buf = append([]byte(nil), pw...)
	ke1, err := c.GenerateKE1(buf)
	if err != nil {
		t.Fatal(err)
	}
	clear(buf)
	ke2, state, err := srv.GenerateKE2(nil, record, id, ke1, nil)
	if err != nil {
		t.Fatal(err)
	}
	ke3, key, loginExportKey, err := c.GenerateKE3(nil, nil, ke2)
	if err != nil {
		t.Fatalf("GenerateKE3 after the caller wiped the password: %v", err)
	}
	serverKey, err := state.ServerFinish(ke3)
	if err != nil || !bytes.Equal(key, serverKey) || !bytes.Equal(exportKey, loginExportKey) {
		t.Fatalf("keys do not match (err %v)", err)
	}
}

// TestServerServesConcurrentLogins backs the Server's claim to be safe for
// concurrent use; run it with -race.
func TestServerServesConcurrentLogins(t *testing.T) {
	a := register(t, testConfig(opaque.Ristretto255SHA512), nil, nil)
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			c, err := opaque.NewClient(a.cfg)
			if err != nil {
				errs <- err
				return
			}
			record := a.record
			if i%2 == 1 {
				record = nil // interleave unknown-user logins
			}
			ke1, err := c.GenerateKE1(a.password)
			if err != nil {
				errs <- err
				return
			}
			ke2, state, err := a.server.GenerateKE2(nil, record, a.credentialID, ke1, nil)
			if err != nil {
				errs <- err
				return
			}
			ke3, key, _, err := c.GenerateKE3(nil, nil, ke2)
			if record == nil {
				if !errors.Is(err, opaque.ErrEnvelopeRecovery) {
					errs <- fmt.Errorf("unknown user: got %v", err)
					return
				}
				errs <- nil
				return
			}
			if err != nil {
				errs <- err
				return
			}
			serverKey, err := state.ServerFinish(ke3)
			if err == nil && !bytes.Equal(key, serverKey) {
				err = errors.New("session keys differ")
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
