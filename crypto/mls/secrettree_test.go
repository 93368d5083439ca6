package mls

import (
	"bytes"
	"errors"
	"testing"
)

func TestSecretTreeVectors(t *testing.T) {
	var cases []struct {
		CipherSuite      CipherSuiteID `json:"cipher_suite"`
		EncryptionSecret hexBytes      `json:"encryption_secret"`
		SenderData       struct {
			SenderDataSecret hexBytes `json:"sender_data_secret"`
			Ciphertext       hexBytes `json:"ciphertext"`
			Key              hexBytes `json:"key"`
			Nonce            hexBytes `json:"nonce"`
		} `json:"sender_data"`
		Leaves [][]struct {
			Generation       uint32   `json:"generation"`
			ApplicationKey   hexBytes `json:"application_key"`
			ApplicationNonce hexBytes `json:"application_nonce"`
			HandshakeKey     hexBytes `json:"handshake_key"`
			HandshakeNonce   hexBytes `json:"handshake_nonce"`
		} `json:"leaves"`
	}
	loadVectors(t, "secret-tree.json", &cases)
	checked := 0
	for i, c := range cases {
		cs, err := Suite(c.CipherSuite)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		ok := true
		sd := c.SenderData
		key, nonce, err := SenderDataKeyNonce(cs, sd.SenderDataSecret, sd.Ciphertext)
		if err != nil || !bytes.Equal(key, sd.Key) || !bytes.Equal(nonce, sd.Nonce) {
			t.Errorf("case %d: sender data key/nonce = %x/%x (%v)", i, key, nonce, err)
			ok = false
		}
		tree := NewSecretTree(cs, c.EncryptionSecret, uint32(len(c.Leaves)))
		for l, gens := range c.Leaves {
			for _, g := range gens {
				for _, r := range []struct {
					rt         RatchetType
					key, nonce []byte
				}{
					{RatchetHandshake, g.HandshakeKey, g.HandshakeNonce},
					{RatchetApplication, g.ApplicationKey, g.ApplicationNonce},
				} {
					key, nonce, err := tree.Get(LeafIndex(l), r.rt, g.Generation)
					if err != nil || !bytes.Equal(key, r.key) || !bytes.Equal(nonce, r.nonce) {
						t.Errorf("case %d leaf %d gen %d ratchet %d: %x/%x (%v)", i, l, g.Generation, r.rt, key, nonce, err)
						ok = false
					}
				}
			}
		}
		if ok {
			checked++
		}
	}
	reportCases(t, "secret-tree.json", checked)
}

func TestSecretTreeRatchet(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		secret := bytes.Repeat([]byte{7}, 32)
		sender := NewSecretTree(cs, secret, 4)
		receiver := NewSecretTree(cs, secret, 4)
		receiver.MaxForward = 10
		receiver.Window = 3

		var keys [][]byte
		for range 8 {
			g, k, _, err := sender.Next(2, RatchetApplication)
			if err != nil || int(g) != len(keys) {
				t.Fatalf("Next: generation %d, %v", g, err)
			}
			keys = append(keys, k)
		}
		tests := []struct {
			name string
			gen  uint32
			want error
		}{
			{"a key ahead of the ratchet is derived", 5, nil},
			{"a used key is refused", 5, ErrGenerationConsumed},
			{"a skipped key inside the window is available", 4, nil},
			{"a skipped key outside the window was deleted", 1, ErrGenerationConsumed},
			{"the next key is derived", 6, nil},
			{"a generation beyond the forward limit is refused", 100, ErrGenerationTooFar},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				k, _, err := receiver.Get(2, RatchetApplication, tc.gen)
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				if err == nil && !bytes.Equal(k, keys[tc.gen]) {
					t.Fatalf("receiver key differs from sender key")
				}
			})
		}
		if _, _, err := receiver.Get(4, RatchetApplication, 0); !errors.Is(err, ErrLeafIndex) {
			t.Fatalf("leaf out of range: got %v", err)
		}
	})
}
