package mls

import (
	"bytes"
	"testing"
)

func TestCryptoBasicsVectors(t *testing.T) {
	var cases []struct {
		CipherSuite CipherSuiteID `json:"cipher_suite"`
		RefHash     struct {
			Label string   `json:"label"`
			Value hexBytes `json:"value"`
			Out   hexBytes `json:"out"`
		} `json:"ref_hash"`
		ExpandWithLabel struct {
			Secret  hexBytes `json:"secret"`
			Label   string   `json:"label"`
			Context hexBytes `json:"context"`
			Length  int      `json:"length"`
			Out     hexBytes `json:"out"`
		} `json:"expand_with_label"`
		DeriveSecret struct {
			Secret hexBytes `json:"secret"`
			Label  string   `json:"label"`
			Out    hexBytes `json:"out"`
		} `json:"derive_secret"`
		DeriveTreeSecret struct {
			Secret     hexBytes `json:"secret"`
			Label      string   `json:"label"`
			Generation uint32   `json:"generation"`
			Length     int      `json:"length"`
			Out        hexBytes `json:"out"`
		} `json:"derive_tree_secret"`
		SignWithLabel struct {
			Priv      hexBytes `json:"priv"`
			Pub       hexBytes `json:"pub"`
			Content   hexBytes `json:"content"`
			Label     string   `json:"label"`
			Signature hexBytes `json:"signature"`
		} `json:"sign_with_label"`
		EncryptWithLabel struct {
			Priv       hexBytes `json:"priv"`
			Pub        hexBytes `json:"pub"`
			Label      string   `json:"label"`
			Context    hexBytes `json:"context"`
			Plaintext  hexBytes `json:"plaintext"`
			KEMOutput  hexBytes `json:"kem_output"`
			Ciphertext hexBytes `json:"ciphertext"`
		} `json:"encrypt_with_label"`
	}
	loadVectors(t, "crypto-basics.json", &cases)
	checked := 0
	for i, c := range cases {
		cs, err := Suite(c.CipherSuite)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		ok := true
		fail := func(format string, args ...any) {
			t.Errorf("case %d: "+format, append([]any{i}, args...)...)
			ok = false
		}

		if out, err := RefHash(cs, c.RefHash.Label, c.RefHash.Value); err != nil || !bytes.Equal(out, c.RefHash.Out) {
			fail("RefHash = %x, %v", out, err)
		}
		e := c.ExpandWithLabel
		if out, err := ExpandWithLabel(cs, e.Secret, e.Label, e.Context, e.Length); err != nil || !bytes.Equal(out, e.Out) {
			fail("ExpandWithLabel = %x, %v", out, err)
		}
		d := c.DeriveSecret
		if out, err := DeriveSecret(cs, d.Secret, d.Label); err != nil || !bytes.Equal(out, d.Out) {
			fail("DeriveSecret = %x, %v", out, err)
		}
		dt := c.DeriveTreeSecret
		if out, err := DeriveTreeSecret(cs, dt.Secret, dt.Label, dt.Generation, dt.Length); err != nil || !bytes.Equal(out, dt.Out) {
			fail("DeriveTreeSecret = %x, %v", out, err)
		}
		s := c.SignWithLabel
		if err := VerifyWithLabel(cs, s.Pub, s.Label, s.Content, s.Signature); err != nil {
			fail("VerifyWithLabel(vector signature): %v", err)
		}
		sig, err := SignWithLabel(cs, s.Priv, s.Label, s.Content)
		if err != nil {
			fail("SignWithLabel: %v", err)
		} else if err := VerifyWithLabel(cs, s.Pub, s.Label, s.Content, sig); err != nil {
			fail("VerifyWithLabel(own signature): %v", err)
		}
		if err := VerifyWithLabel(cs, s.Pub, s.Label+"x", s.Content, s.Signature); err == nil {
			fail("signature verified under another label")
		}
		en := c.EncryptWithLabel
		if pt, err := DecryptWithLabel(cs, en.Priv, en.Label, en.Context, en.KEMOutput, en.Ciphertext); err != nil || !bytes.Equal(pt, en.Plaintext) {
			fail("DecryptWithLabel = %x, %v", pt, err)
		}
		kem, ct, err := EncryptWithLabel(cs, en.Pub, en.Label, en.Context, en.Plaintext)
		if err != nil {
			fail("EncryptWithLabel: %v", err)
		} else if pt, err := DecryptWithLabel(cs, en.Priv, en.Label, en.Context, kem, ct); err != nil || !bytes.Equal(pt, en.Plaintext) {
			fail("round trip = %x, %v", pt, err)
		}
		if ok {
			checked++
		}
	}
	reportCases(t, "crypto-basics.json", checked)
}
