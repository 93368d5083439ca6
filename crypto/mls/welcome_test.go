package mls

import (
	"errors"
	"testing"
)

func TestWelcomeVectors(t *testing.T) {
	var cases []struct {
		CipherSuite CipherSuiteID `json:"cipher_suite"`
		InitPriv    hexBytes      `json:"init_priv"`
		SignerPub   hexBytes      `json:"signer_pub"`
		KeyPackage  hexBytes      `json:"key_package"`
		Welcome     hexBytes      `json:"welcome"`
	}
	loadVectors(t, "welcome.json", &cases)
	checked := 0
	for i, c := range cases {
		cs, err := Suite(c.CipherSuite)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		var kpMsg, wMsg MLSMessage
		if err := Unmarshal(c.KeyPackage, &kpMsg); err != nil || kpMsg.KeyPackage == nil {
			t.Errorf("case %d: key package: %v", i, err)
			continue
		}
		if err := Unmarshal(c.Welcome, &wMsg); err != nil || wMsg.Welcome == nil {
			t.Errorf("case %d: welcome: %v", i, err)
			continue
		}
		ref, err := kpMsg.KeyPackage.Ref(cs)
		if err != nil {
			t.Fatal(err)
		}
		gs, err := wMsg.Welcome.DecryptGroupSecrets(cs, ref, c.InitPriv)
		if err != nil {
			t.Errorf("case %d: %v", i, err)
			continue
		}
		if _, err := wMsg.Welcome.DecryptGroupSecrets(cs, append([]byte{0}, ref...), c.InitPriv); !errors.Is(err, ErrNoGroupSecrets) {
			t.Errorf("case %d: unknown key package: got %v", i, err)
		}
		welcomeSecret, err := WelcomeSecret(cs, gs.JoinerSecret, nil)
		if err != nil {
			t.Fatal(err)
		}
		gi, err := DecryptGroupInfo(cs, welcomeSecret, wMsg.Welcome.EncryptedGroupInfo)
		if err != nil {
			t.Errorf("case %d: %v", i, err)
			continue
		}
		if err := gi.VerifySignature(cs, c.SignerPub); err != nil {
			t.Errorf("case %d: group info signature: %v", i, err)
			continue
		}
		secrets, err := EpochSecretsFromJoiner(cs, gs.JoinerSecret, nil, &gi.GroupContext)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyConfirmationTag(cs, secrets.ConfirmationKey, gi.GroupContext.ConfirmedTranscriptHash, gi.ConfirmationTag); err != nil {
			t.Errorf("case %d: %v", i, err)
			continue
		}
		checked++
	}
	reportCases(t, "welcome.json", checked)
}

func TestWelcomeRoundTrip(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		sigPriv, sigPub, _ := cs.GenerateSignatureKey()
		initPriv, initPub, _ := cs.GenerateKeyPair()
		_, encPub, _ := cs.GenerateKeyPair()
		kp := &KeyPackage{
			Version: ProtocolVersionMLS10, CipherSuite: cs.ID(), InitKey: initPub,
			LeafNode: LeafNode{
				EncryptionKey: encPub, SignatureKey: sigPub,
				Credential:   Credential{Type: CredentialBasic, Identity: []byte("bob")},
				Capabilities: Capabilities{Versions: []ProtocolVersion{1}, CipherSuites: []CipherSuiteID{1}},
				Source:       LeafNodeSourceKeyPackage, Lifetime: &Lifetime{NotAfter: 1 << 62},
			},
		}
		if err := kp.LeafNode.Sign(cs, sigPriv, nil, 0); err != nil {
			t.Fatal(err)
		}
		if err := kp.Sign(cs, sigPriv); err != nil {
			t.Fatal(err)
		}
		if err := kp.VerifySignature(cs); err != nil {
			t.Fatal(err)
		}
		gi := &GroupInfo{GroupContext: GroupContext{Version: 1, CipherSuite: 1, GroupID: []byte("g")}, ConfirmationTag: []byte{1}}
		if err := gi.Sign(cs, sigPriv); err != nil {
			t.Fatal(err)
		}
		joiner := make([]byte, 32)
		ws, _ := WelcomeSecret(cs, joiner, nil)
		egi, err := EncryptGroupInfo(cs, ws, gi)
		if err != nil {
			t.Fatal(err)
		}
		egs, err := EncryptGroupSecrets(cs, kp, egi, &GroupSecrets{JoinerSecret: joiner, PSKs: []PreSharedKeyID{}})
		if err != nil {
			t.Fatal(err)
		}
		w := &Welcome{CipherSuite: cs.ID(), Secrets: []EncryptedGroupSecrets{*egs}, EncryptedGroupInfo: egi}
		ref, _ := kp.Ref(cs)
		gs, err := w.DecryptGroupSecrets(cs, ref, initPriv)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecryptGroupInfo(cs, ws, w.EncryptedGroupInfo)
		if err != nil {
			t.Fatal(err)
		}
		if err := got.VerifySignature(cs, sigPub); err != nil || len(gs.JoinerSecret) != 32 {
			t.Fatalf("round trip: %v", err)
		}
		egi[0] ^= 1
		if _, err := DecryptGroupInfo(cs, ws, egi); !errors.Is(err, ErrDecryption) {
			t.Fatalf("altered group info: got %v", err)
		}
	})
}
