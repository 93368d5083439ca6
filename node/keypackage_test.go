package node_test

import (
	"errors"
	"testing"

	"github.com/quicprochat/qpc/crypto/mls"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// realKeyPackage returns a KeyPackage of suite id as a client uploads it.
func realKeyPackage(tb testing.TB, id mls.CipherSuiteID) []byte {
	tb.Helper()
	cs, err := mls.Suite(id)
	if err != nil {
		tb.Fatal(err)
	}
	kpb, err := mls.NewKeyPackage(cs, mls.KeyPackageParams{Identity: []byte("alice@a.example")})
	if err != nil {
		tb.Fatal(err)
	}
	b, err := mls.Marshal(&mls.MLSMessage{Version: mls.ProtocolVersionMLS10, WireFormat: mls.WireFormatKeyPackage, KeyPackage: &kpb.KeyPackage})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestKeyPackageSuiteReadsTheHeader(t *testing.T) {
	if node.SuitePQ != uint16(mls.MLKEM768X25519AES256GCMSHA384Ed25519) || node.SuiteClassic != uint16(mls.X25519AES128GCMSHA256Ed25519) {
		t.Fatal("the node's suite numbers are not crypto/mls's")
	}
	for _, id := range mls.SupportedSuites {
		if got, err := node.KeyPackageSuite(realKeyPackage(t, id)); err != nil || got != uint16(id) {
			t.Errorf("KeyPackage of %v: suite 0x%04x, %v", id, got, err)
		}
	}
	for name, b := range map[string][]byte{
		"empty":                  nil,
		"a truncated header":     {0, 1, 0, 5, 0, 1, 0},
		"MLS version 2":          {0, 2, 0, 5, 0, 1, 0, 1},
		"a KeyPackage of v2":     {0, 1, 0, 5, 0, 2, 0, 1},
		"a Welcome":              {0, 1, 0, 3, 0, 1, 0, 1},
		"the reserved suite 0":   {0, 1, 0, 5, 0, 1, 0, 0},
		"suite 3, not kept":      {0, 1, 0, 5, 0, 1, 0, 3},
		"text, not a KeyPackage": []byte("kp1 is not a key package"),
	} {
		if _, err := node.KeyPackageSuite(b); !errors.Is(err, protocol.ErrBadRequest) {
			t.Errorf("%s: %v, want ErrBadRequest", name, err)
		}
	}
}

// FuzzKeyPackageSuite checks that any input either is refused with
// ErrBadRequest or yields the suite its bytes 6-8 name, never 0.
func FuzzKeyPackageSuite(f *testing.F) {
	for _, id := range mls.SupportedSuites {
		f.Add(realKeyPackage(f, id))
	}
	f.Add([]byte{0, 1, 0, 5, 0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := node.KeyPackageSuite(b)
		if err != nil {
			if !errors.Is(err, protocol.ErrBadRequest) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if (s != node.SuiteClassic && s != node.SuitePQ) || len(b) < 8 || s != uint16(b[6])<<8|uint16(b[7]) {
			t.Fatalf("suite 0x%04x from %x", s, b)
		}
	})
}
