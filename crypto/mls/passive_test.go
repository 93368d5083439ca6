package mls

import (
	"bytes"
	"fmt"
	"testing"
)

// passiveClientVector is one case of the passive-client-*.json files: a
// client joins from a Welcome and follows the group's epochs.
type passiveClientVector struct {
	CipherSuite  uint16 `json:"cipher_suite"`
	ExternalPSKs []struct {
		PSKID hexBytes `json:"psk_id"`
		PSK   hexBytes `json:"psk"`
	} `json:"external_psks"`
	KeyPackage                hexBytes `json:"key_package"`
	SignaturePriv             hexBytes `json:"signature_priv"`
	EncryptionPriv            hexBytes `json:"encryption_priv"`
	InitPriv                  hexBytes `json:"init_priv"`
	Welcome                   hexBytes `json:"welcome"`
	RatchetTree               hexBytes `json:"ratchet_tree"`
	InitialEpochAuthenticator hexBytes `json:"initial_epoch_authenticator"`
	Epochs                    []struct {
		Proposals          []hexBytes `json:"proposals"`
		Commit             hexBytes   `json:"commit"`
		EpochAuthenticator hexBytes   `json:"epoch_authenticator"`
	} `json:"epochs"`
}

// runPassiveClient joins from the vector's Welcome and applies every epoch,
// comparing epoch authenticators. It returns the number of epochs followed.
func runPassiveClient(v *passiveClientVector) (int, error) {
	var m MLSMessage
	if err := Unmarshal(v.KeyPackage, &m); err != nil {
		return 0, fmt.Errorf("key package: %w", err)
	}
	if m.KeyPackage == nil {
		return 0, fmt.Errorf("key_package is not a KeyPackage message")
	}
	kpb := &KeyPackageBundle{KeyPackage: *m.KeyPackage, InitPriv: v.InitPriv, EncryptionPriv: v.EncryptionPriv, SignaturePriv: v.SignaturePriv}
	cfg := &Config{PSKs: map[string][]byte{}}
	for _, p := range v.ExternalPSKs {
		cfg.PSKs[string(p.PSKID)] = p.PSK
	}
	g, err := JoinGroup(v.Welcome, kpb, v.RatchetTree, cfg)
	if err != nil {
		return 0, fmt.Errorf("join: %w", err)
	}
	if !bytes.Equal(g.EpochAuthenticator(), v.InitialEpochAuthenticator) {
		return 0, fmt.Errorf("initial epoch authenticator mismatch")
	}
	for i, e := range v.Epochs {
		for j, p := range e.Proposals {
			if _, err := g.ProcessMessage(p); err != nil {
				return i, fmt.Errorf("epoch %d proposal %d: %w", i, j, err)
			}
		}
		r, err := g.ProcessMessage(e.Commit)
		if err != nil {
			return i, fmt.Errorf("epoch %d commit: %w", i, err)
		}
		if r.Kind != KindCommit {
			return i, fmt.Errorf("epoch %d: commit processed as kind %d", i, r.Kind)
		}
		if !bytes.Equal(g.EpochAuthenticator(), e.EpochAuthenticator) {
			return i, fmt.Errorf("epoch %d: epoch authenticator mismatch", i)
		}
	}
	return len(v.Epochs), nil
}

func TestPassiveClientVectors(t *testing.T) {
	for _, name := range []string{"passive-client-welcome.json", "passive-client-handling-commit.json", "passive-client-random.json"} {
		t.Run(name, func(t *testing.T) {
			var vs []passiveClientVector
			loadVectors(t, name, &vs)
			cases, epochs := 0, 0
			for i := range vs {
				if vs[i].CipherSuite != uint16(X25519AES128GCMSHA256Ed25519) {
					continue
				}
				n, err := runPassiveClient(&vs[i])
				if err != nil {
					t.Errorf("case %d: %v", i, err)
					continue
				}
				cases++
				epochs += n
			}
			t.Logf("%s: %d epochs followed", name, epochs)
			reportCases(t, name, cases)
			if cases != len(vs) {
				t.Errorf("%d of %d cases passed", cases, len(vs))
			}
		})
	}
}
