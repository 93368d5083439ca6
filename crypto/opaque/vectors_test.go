package opaque_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/quicprochat/qpc/crypto/opaque"
)

// The RFC 9807 test vectors are read from the shared test data next to the
// project (see ../shared/testdata/SOURCES.md); they are not copied here.
const vectorsRelPath = "shared/testdata/opaque/vectors.json"

// vector is one entry of vectors.json. Every value is a hex string except
// the config, whose Fake field is "True" or "False".
type vector struct {
	Config        map[string]string `json:"config"`
	Inputs        map[string]string `json:"inputs"`
	Intermediates map[string]string `json:"intermediates"`
	Outputs       map[string]string `json:"outputs"`
}

// vectorsPath returns where the vectors should be: the parent of the
// directory holding go.mod, then shared/testdata/opaque/vectors.json.
func vectorsPath(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(dir), vectorsRelPath)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test directory")
		}
		dir = parent
	}
}

// loadVectors reads the vectors, or returns nil after failing (CI=true) or
// skipping the test when the file is absent.
func loadVectors(t testing.TB) []vector {
	t.Helper()
	vs, err := readVectors(t)
	if errors.Is(err, fs.ErrNotExist) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("OPAQUE test vectors missing: %s", vectorsPath(t))
		}
		t.Skipf("OPAQUE test vectors not found at %s (see ../shared/testdata/SOURCES.md)", vectorsPath(t))
	}
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// readVectors reads and parses the vectors file.
func readVectors(t testing.TB) ([]vector, error) {
	t.Helper()
	path := vectorsPath(t)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var vs []vector
	if err := json.Unmarshal(data, &vs); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return vs, nil
}

// suiteOf maps a vector's configuration to a suite. ok is false, with the
// reason, for configurations this package does not implement.
func suiteOf(v vector) (s opaque.Suite, ok bool, reason string) {
	oprfID, group := v.Config["OPRF"], v.Config["Group"]
	switch {
	case oprfID == "ristretto255-SHA512" && group == "ristretto255":
		return opaque.Ristretto255SHA512, true, ""
	case oprfID == "P256-SHA256" && group == "P256_XMD:SHA-256_SSWU_RO_":
		return opaque.P256SHA256, true, ""
	case group == "curve25519":
		return 0, false, "3DH over curve25519 (with a " + oprfID + " OPRF) is not implemented: qpc uses ristretto255 for both the OPRF and the 3DH"
	}
	return 0, false, fmt.Sprintf("unknown configuration OPRF=%q Group=%q", oprfID, group)
}

// hexField decodes one hex value of a vector; absent optional fields (the
// identities) decode to nil.
func hexField(t testing.TB, m map[string]string, name string) []byte {
	t.Helper()
	s, ok := m[name]
	if !ok {
		return nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("field %s: %v", name, err)
	}
	return b
}

func mustHex(t testing.TB, m map[string]string, name string) []byte {
	t.Helper()
	if _, ok := m[name]; !ok {
		t.Fatalf("vector has no field %s", name)
	}
	return hexField(t, m, name)
}

func vectorConfig(t testing.TB, v vector, s opaque.Suite) opaque.Config {
	t.Helper()
	if v.Config["KSF"] != "Identity" {
		t.Fatalf("unexpected KSF %q", v.Config["KSF"])
	}
	return opaque.Config{Suite: s, KSF: opaque.Identity{}, Context: mustHex(t, v.Config, "Context")}
}

// vectorServer builds the server of a vector. The vectors have no fake
// record seed (they give the fake record itself), so any will do.
func vectorServer(t testing.TB, v vector, cfg opaque.Config) *opaque.Server {
	t.Helper()
	secrets := opaque.ServerSecrets{
		PrivateKey:     mustHex(t, v.Inputs, "server_private_key"),
		OPRFSeed:       mustHex(t, v.Inputs, "oprf_seed"),
		FakeRecordSeed: bytes.Repeat([]byte{0x5a}, len(mustHex(t, v.Inputs, "oprf_seed"))),
	}
	srv, err := opaque.NewServer(cfg, secrets)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	if got, want := srv.PublicKey(), mustHex(t, v.Inputs, "server_public_key"); !bytes.Equal(got, want) {
		t.Fatalf("server public key\n got %x\nwant %x", got, want)
	}
	return srv
}

func expectBytes(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s\n got %x\nwant %x", what, got, want)
	}
}

func TestVectors(t *testing.T) {
	vs := loadVectors(t)
	checked := map[opaque.Suite]int{}
	skipped := 0
	for i, v := range vs {
		s, ok, reason := suiteOf(v)
		name := fmt.Sprintf("%d/%s/fake=%s", i, v.Config["OPRF"]+"+"+v.Config["Group"], v.Config["Fake"])
		t.Run(name, func(t *testing.T) {
			if !ok {
				skipped++
				t.Skip(reason)
			}
			if v.Config["Fake"] == "True" {
				checkFakeVector(t, v, s)
			} else {
				checkRealVector(t, v, s)
			}
			if !t.Failed() {
				checked[s]++
			}
		})
	}
	total := checked[opaque.Ristretto255SHA512] + checked[opaque.P256SHA256]
	// fmt, not t.Log, so that the count shows with -v and in directory mode
	// even when everything passes.
	fmt.Printf("opaque: checked %d RFC 9807 vectors byte for byte (%s: %d, %s: %d); skipped %d (3DH over curve25519)\n",
		total, opaque.Ristretto255SHA512, checked[opaque.Ristretto255SHA512],
		opaque.P256SHA256, checked[opaque.P256SHA256], skipped)
	if total == 0 {
		t.Fatalf("no vector checked in %s", vectorsPath(t))
	}
}

// checkRealVector runs registration and login with the vector's randomness
// and compares every message and key.
func checkRealVector(t *testing.T, v vector, s opaque.Suite) {
	cfg := vectorConfig(t, v, s)
	srv := vectorServer(t, v, cfg)
	client, err := opaque.NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	in, out := v.Inputs, v.Outputs
	password := mustHex(t, in, "password")
	credentialID := mustHex(t, in, "credential_identifier")
	clientID, serverID := hexField(t, in, "client_identity"), hexField(t, in, "server_identity")

	req, err := client.CreateRegistrationRequestDeterministic(password, mustHex(t, in, "blind_registration"))
	if err != nil {
		t.Fatalf("CreateRegistrationRequest: %v", err)
	}
	expectBytes(t, "registration_request", req.Encode(), mustHex(t, out, "registration_request"))
	req, err = opaque.DecodeRegistrationRequest(s, req.Encode())
	if err != nil {
		t.Fatalf("DecodeRegistrationRequest: %v", err)
	}

	resp, err := srv.CreateRegistrationResponse(req, credentialID)
	if err != nil {
		t.Fatalf("CreateRegistrationResponse: %v", err)
	}
	expectBytes(t, "registration_response", resp.Encode(), mustHex(t, out, "registration_response"))
	resp, err = opaque.DecodeRegistrationResponse(s, resp.Encode())
	if err != nil {
		t.Fatalf("DecodeRegistrationResponse: %v", err)
	}

	record, regExportKey, err := client.FinalizeRegistrationRequestDeterministic(resp, serverID, clientID, mustHex(t, in, "envelope_nonce"))
	if err != nil {
		t.Fatalf("FinalizeRegistrationRequest: %v", err)
	}
	expectBytes(t, "registration_upload", record.Encode(), mustHex(t, out, "registration_upload"))
	expectBytes(t, "client_public_key", record.ClientPublicKey, mustHex(t, v.Intermediates, "client_public_key"))
	expectBytes(t, "masking_key", record.MaskingKey, mustHex(t, v.Intermediates, "masking_key"))
	expectBytes(t, "envelope", record.Envelope.Encode(), mustHex(t, v.Intermediates, "envelope"))
	expectBytes(t, "export_key at registration", regExportKey, mustHex(t, out, "export_key"))
	record, err = opaque.DecodeRegistrationRecord(s, record.Encode())
	if err != nil {
		t.Fatalf("DecodeRegistrationRecord: %v", err)
	}

	ke1, err := client.GenerateKE1Deterministic(password, mustHex(t, in, "blind_login"),
		mustHex(t, in, "client_nonce"), mustHex(t, in, "client_keyshare_seed"))
	if err != nil {
		t.Fatalf("GenerateKE1: %v", err)
	}
	expectBytes(t, "KE1", ke1.Encode(), mustHex(t, out, "KE1"))
	ke1, err = opaque.DecodeKE1(s, ke1.Encode())
	if err != nil {
		t.Fatalf("DecodeKE1: %v", err)
	}

	ke2, state, err := srv.GenerateKE2Deterministic(serverID, record, credentialID, ke1, clientID,
		mustHex(t, in, "masking_nonce"), mustHex(t, in, "server_nonce"), mustHex(t, in, "server_keyshare_seed"))
	if err != nil {
		t.Fatalf("GenerateKE2: %v", err)
	}
	expectBytes(t, "KE2", ke2.Encode(), mustHex(t, out, "KE2"))
	ke2, err = opaque.DecodeKE2(s, ke2.Encode())
	if err != nil {
		t.Fatalf("DecodeKE2: %v", err)
	}

	ke3, sessionKey, exportKey, err := client.GenerateKE3(clientID, serverID, ke2)
	if err != nil {
		t.Fatalf("GenerateKE3: %v", err)
	}
	expectBytes(t, "KE3", ke3.Encode(), mustHex(t, out, "KE3"))
	expectBytes(t, "client session_key", sessionKey, mustHex(t, out, "session_key"))
	expectBytes(t, "export_key at login", exportKey, mustHex(t, out, "export_key"))
	ke3, err = opaque.DecodeKE3(s, ke3.Encode())
	if err != nil {
		t.Fatalf("DecodeKE3: %v", err)
	}

	serverSessionKey, err := state.ServerFinish(ke3)
	if err != nil {
		t.Fatalf("ServerFinish: %v", err)
	}
	expectBytes(t, "server session_key", serverSessionKey, mustHex(t, out, "session_key"))
}

// checkFakeVector answers the vector's KE1 from its fake record and compares
// the KE2.
func checkFakeVector(t *testing.T, v vector, s opaque.Suite) {
	cfg := vectorConfig(t, v, s)
	srv := vectorServer(t, v, cfg)
	in := v.Inputs
	ke1, err := opaque.DecodeKE1(s, mustHex(t, in, "KE1"))
	if err != nil {
		t.Fatalf("DecodeKE1: %v", err)
	}
	masking := mustHex(t, in, "masking_key")
	// RFC 9807 §6.3.2.2: a fake record is a public key, a random masking
	// key and an all-zero envelope.
	fakeRecord := &opaque.RegistrationRecord{
		ClientPublicKey: mustHex(t, in, "client_public_key"),
		MaskingKey:      masking,
		Envelope: opaque.Envelope{
			Nonce:   make([]byte, 32),
			AuthTag: make([]byte, len(masking)), // Nm = Nh in both suites
		},
	}
	ke2, _, err := srv.GenerateKE2Deterministic(hexField(t, in, "server_identity"), fakeRecord,
		mustHex(t, in, "credential_identifier"), ke1, hexField(t, in, "client_identity"),
		mustHex(t, in, "masking_nonce"), mustHex(t, in, "server_nonce"), mustHex(t, in, "server_keyshare_seed"))
	if err != nil {
		t.Fatalf("GenerateKE2: %v", err)
	}
	expectBytes(t, "KE2", ke2.Encode(), mustHex(t, v.Outputs, "KE2"))
}
