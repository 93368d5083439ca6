package opaque_test

import (
	"testing"

	"github.com/quicprochat/qpc/crypto/opaque"
)

var allSuites = []opaque.Suite{opaque.Ristretto255SHA512, opaque.P256SHA256}

// fastArgon2id keeps tests quick; one test uses DefaultArgon2id.
var fastArgon2id = opaque.Argon2id{Time: 1, Memory: 256, Threads: 1}

func testConfig(s opaque.Suite) opaque.Config {
	return opaque.Config{Suite: s, KSF: fastArgon2id, Context: []byte("qpc-test")}
}

// publicKeyOf returns the public key of the server with these secrets.
func publicKeyOf(t testing.TB, cfg opaque.Config, secrets opaque.ServerSecrets) []byte {
	t.Helper()
	srv, err := opaque.NewServer(cfg, secrets)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	return srv.PublicKey()
}

// account is one registered user and the server that knows it.
type account struct {
	cfg          opaque.Config
	server       *opaque.Server
	secrets      opaque.ServerSecrets
	credentialID []byte
	password     []byte
	serverID     []byte
	clientID     []byte
	record       *opaque.RegistrationRecord
	exportKey    []byte
}

func newServer(t testing.TB, cfg opaque.Config) (*opaque.Server, opaque.ServerSecrets) {
	t.Helper()
	secrets, err := opaque.GenerateServerSecrets(cfg)
	if err != nil {
		t.Fatalf("GenerateServerSecrets: %v", err)
	}
	srv, err := opaque.NewServer(cfg, secrets)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	return srv, secrets
}

func newClient(t testing.TB, cfg opaque.Config) *opaque.Client {
	t.Helper()
	c, err := opaque.NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

// register runs a whole registration through the wire encodings.
func register(t testing.TB, cfg opaque.Config, serverID, clientID []byte) *account {
	t.Helper()
	srv, secrets := newServer(t, cfg)
	a := &account{
		cfg: cfg, server: srv, secrets: secrets,
		credentialID: []byte("alice@mesh.example"),
		password:     []byte("correct horse battery staple"),
		serverID:     serverID, clientID: clientID,
	}
	c := newClient(t, cfg)
	req, err := c.CreateRegistrationRequest(a.password)
	if err != nil {
		t.Fatalf("CreateRegistrationRequest: %v", err)
	}
	req, err = opaque.DecodeRegistrationRequest(srv.Suite(), req.Encode())
	if err != nil {
		t.Fatalf("DecodeRegistrationRequest: %v", err)
	}
	resp, err := srv.CreateRegistrationResponse(req, a.credentialID)
	if err != nil {
		t.Fatalf("CreateRegistrationResponse: %v", err)
	}
	resp, err = opaque.DecodeRegistrationResponse(srv.Suite(), resp.Encode())
	if err != nil {
		t.Fatalf("DecodeRegistrationResponse: %v", err)
	}
	record, exportKey, err := c.FinalizeRegistrationRequest(resp, serverID, clientID)
	if err != nil {
		t.Fatalf("FinalizeRegistrationRequest: %v", err)
	}
	a.record, err = opaque.DecodeRegistrationRecord(srv.Suite(), record.Encode())
	if err != nil {
		t.Fatalf("DecodeRegistrationRecord: %v", err)
	}
	a.exportKey = exportKey
	return a
}

// login is one login attempt, stopped after KE2 so that tests can alter it.
type login struct {
	client *opaque.Client
	ke2    *opaque.KE2
	state  *opaque.ServerState
}

// startLogin runs GenerateKE1 and GenerateKE2 with the given password and
// record (nil for an unknown user).
func (a *account) startLogin(t testing.TB, password []byte, record *opaque.RegistrationRecord) *login {
	t.Helper()
	c := newClient(t, a.cfg)
	ke1, err := c.GenerateKE1(password)
	if err != nil {
		t.Fatalf("GenerateKE1: %v", err)
	}
	ke1, err = opaque.DecodeKE1(a.server.Suite(), ke1.Encode())
	if err != nil {
		t.Fatalf("DecodeKE1: %v", err)
	}
	ke2, state, err := a.server.GenerateKE2(a.serverID, record, a.credentialID, ke1, a.clientID)
	if err != nil {
		t.Fatalf("GenerateKE2: %v", err)
	}
	ke2, err = opaque.DecodeKE2(a.server.Suite(), ke2.Encode())
	if err != nil {
		t.Fatalf("DecodeKE2: %v", err)
	}
	return &login{client: c, ke2: ke2, state: state}
}

func cloneKE2(m *opaque.KE2) *opaque.KE2 {
	var out opaque.KE2
	cr, ar := m.CredentialResponse, m.AuthResponse
	out.CredentialResponse = opaque.CredentialResponse{
		EvaluatedMessage: append([]byte(nil), cr.EvaluatedMessage...),
		MaskingNonce:     append([]byte(nil), cr.MaskingNonce...),
		MaskedResponse:   append([]byte(nil), cr.MaskedResponse...),
	}
	out.AuthResponse = opaque.AuthResponse{
		ServerNonce:          append([]byte(nil), ar.ServerNonce...),
		ServerPublicKeyshare: append([]byte(nil), ar.ServerPublicKeyshare...),
		ServerMAC:            append([]byte(nil), ar.ServerMAC...),
	}
	return &out
}
