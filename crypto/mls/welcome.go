package mls

import (
	"bytes"
	"fmt"
)

// welcomeKeyNonce derives the AEAD key and nonce that protect a Welcome's GroupInfo.
func welcomeKeyNonce(cs CipherSuite, welcomeSecret []byte) (key, nonce []byte, err error) {
	if key, err = ExpandWithLabel(cs, welcomeSecret, "key", nil, cs.AEADKeyLen()); err != nil {
		return nil, nil, err
	}
	if nonce, err = ExpandWithLabel(cs, welcomeSecret, "nonce", nil, cs.AEADNonceLen()); err != nil {
		return nil, nil, err
	}
	return key, nonce, nil
}

// EncryptGroupInfo encrypts a signed GroupInfo under the welcome secret (RFC 9420 §12.4.3.1).
func EncryptGroupInfo(cs CipherSuite, welcomeSecret []byte, gi *GroupInfo) ([]byte, error) {
	pt, err := Marshal(gi)
	if err != nil {
		return nil, err
	}
	key, nonce, err := welcomeKeyNonce(cs, welcomeSecret)
	if err != nil {
		return nil, err
	}
	aead, err := cs.AEAD(key)
	if err != nil {
		return nil, err
	}
	return aead.Seal(nil, nonce, pt, nil), nil
}

// DecryptGroupInfo decrypts and decodes a Welcome's GroupInfo. The caller
// verifies its signature against the signer's leaf in the ratchet tree.
func DecryptGroupInfo(cs CipherSuite, welcomeSecret, encryptedGroupInfo []byte) (*GroupInfo, error) {
	key, nonce, err := welcomeKeyNonce(cs, welcomeSecret)
	if err != nil {
		return nil, err
	}
	aead, err := cs.AEAD(key)
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, nonce, encryptedGroupInfo, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: group info", ErrDecryption)
	}
	gi := new(GroupInfo)
	if err := Unmarshal(pt, gi); err != nil {
		return nil, fmt.Errorf("group info: %w", err)
	}
	return gi, nil
}

// EncryptGroupSecrets encrypts gs to the init key of kp, bound to the
// encrypted GroupInfo of the same Welcome.
func EncryptGroupSecrets(cs CipherSuite, kp *KeyPackage, encryptedGroupInfo []byte, gs *GroupSecrets) (*EncryptedGroupSecrets, error) {
	ref, err := kp.Ref(cs)
	if err != nil {
		return nil, err
	}
	pt, err := Marshal(gs)
	if err != nil {
		return nil, err
	}
	kem, ct, err := EncryptWithLabel(cs, kp.InitKey, "Welcome", encryptedGroupInfo, pt)
	if err != nil {
		return nil, err
	}
	return &EncryptedGroupSecrets{NewMember: ref, EncryptedGroupSecrets: HPKECiphertext{KEMOutput: kem, Ciphertext: ct}}, nil
}

// DecryptGroupSecrets finds the entry for the KeyPackage with reference
// keyPackageRef and decrypts it with the KeyPackage's init private key.
func (wl *Welcome) DecryptGroupSecrets(cs CipherSuite, keyPackageRef, initPriv []byte) (*GroupSecrets, error) {
	if wl.CipherSuite != cs.ID() {
		return nil, fmt.Errorf("%w: welcome for suite 0x%04x", ErrUnsupportedCipherSuite, uint16(wl.CipherSuite))
	}
	for i := range wl.Secrets {
		s := &wl.Secrets[i]
		if !bytes.Equal(s.NewMember, keyPackageRef) {
			continue
		}
		pt, err := DecryptWithLabel(cs, initPriv, "Welcome", wl.EncryptedGroupInfo, s.EncryptedGroupSecrets.KEMOutput, s.EncryptedGroupSecrets.Ciphertext)
		if err != nil {
			return nil, fmt.Errorf("group secrets: %w", err)
		}
		gs := new(GroupSecrets)
		if err := Unmarshal(pt, gs); err != nil {
			return nil, fmt.Errorf("group secrets: %w", err)
		}
		return gs, nil
	}
	return nil, ErrNoGroupSecrets
}
