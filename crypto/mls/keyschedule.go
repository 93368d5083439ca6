package mls

import "fmt"

// EpochSecrets are the outputs of the key schedule for one epoch (RFC 9420 §8).
type EpochSecrets struct {
	JoinerSecret       []byte
	WelcomeSecret      []byte
	EpochSecret        []byte
	SenderDataSecret   []byte
	EncryptionSecret   []byte
	ExporterSecret     []byte
	ExternalSecret     []byte
	ConfirmationKey    []byte
	MembershipKey      []byte
	ResumptionPSK      []byte
	EpochAuthenticator []byte
	InitSecret         []byte
}

// zeros returns an all-zero secret of the suite's hash length, the value RFC
// 9420 uses for an absent commit secret or PSK secret.
func zeros(cs CipherSuite) []byte { return make([]byte, cs.HashLen()) }

// JoinerSecret derives joiner_secret from the previous epoch's init_secret,
// the commit_secret (nil means the all-zero secret) and the new GroupContext.
func JoinerSecret(cs CipherSuite, initSecret, commitSecret []byte, gc *GroupContext) ([]byte, error) {
	if commitSecret == nil {
		commitSecret = zeros(cs)
	}
	ctx, err := Marshal(gc)
	if err != nil {
		return nil, err
	}
	return ExpandWithLabel(cs, cs.Extract(initSecret, commitSecret), "joiner", ctx, cs.HashLen())
}

// DeriveEpochSecrets runs the key schedule from a previous init_secret.
func DeriveEpochSecrets(cs CipherSuite, initSecret, commitSecret, pskSecret []byte, gc *GroupContext) (*EpochSecrets, error) {
	joiner, err := JoinerSecret(cs, initSecret, commitSecret, gc)
	if err != nil {
		return nil, err
	}
	return EpochSecretsFromJoiner(cs, joiner, pskSecret, gc)
}

// WelcomeSecret derives welcome_secret from joiner_secret and psk_secret (nil means zero).
func WelcomeSecret(cs CipherSuite, joinerSecret, pskSecret []byte) ([]byte, error) {
	if pskSecret == nil {
		pskSecret = zeros(cs)
	}
	return DeriveSecret(cs, cs.Extract(joinerSecret, pskSecret), "welcome")
}

// EpochSecretsFromJoiner runs the key schedule from joiner_secret, as a new
// member does after decrypting its GroupSecrets. pskSecret nil means zero.
func EpochSecretsFromJoiner(cs CipherSuite, joinerSecret, pskSecret []byte, gc *GroupContext) (*EpochSecrets, error) {
	if pskSecret == nil {
		pskSecret = zeros(cs)
	}
	ctx, err := Marshal(gc)
	if err != nil {
		return nil, err
	}
	member := cs.Extract(joinerSecret, pskSecret)
	s := &EpochSecrets{JoinerSecret: joinerSecret}
	if s.WelcomeSecret, err = DeriveSecret(cs, member, "welcome"); err != nil {
		return nil, err
	}
	if s.EpochSecret, err = ExpandWithLabel(cs, member, "epoch", ctx, cs.HashLen()); err != nil {
		return nil, err
	}
	for _, d := range []struct {
		label string
		dst   *[]byte
	}{
		{"sender data", &s.SenderDataSecret},
		{"encryption", &s.EncryptionSecret},
		{"exporter", &s.ExporterSecret},
		{"external", &s.ExternalSecret},
		{"confirm", &s.ConfirmationKey},
		{"membership", &s.MembershipKey},
		{"resumption", &s.ResumptionPSK},
		{"authentication", &s.EpochAuthenticator},
		{"init", &s.InitSecret},
	} {
		if *d.dst, err = DeriveSecret(cs, s.EpochSecret, d.label); err != nil {
			return nil, fmt.Errorf("derive %s secret: %w", d.label, err)
		}
	}
	return s, nil
}

// Export is MLS-Exporter(label, context, length) (RFC 9420 §8.5).
func (s *EpochSecrets) Export(cs CipherSuite, label string, context []byte, length int) ([]byte, error) {
	secret, err := DeriveSecret(cs, s.ExporterSecret, label)
	if err != nil {
		return nil, err
	}
	return ExpandWithLabel(cs, secret, "exported", cs.Hash(context), length)
}

// ExternalKeyPair derives the epoch's external HPKE key pair from external_secret (RFC 9420 §8.3).
func (s *EpochSecrets) ExternalKeyPair(cs CipherSuite) (priv, pub []byte, err error) {
	return cs.DeriveKeyPair(s.ExternalSecret)
}

// ConfirmationTag is MAC(confirmation_key, confirmed_transcript_hash) (RFC 9420 §8.1).
func ConfirmationTag(cs CipherSuite, confirmationKey, confirmedTranscriptHash []byte) []byte {
	return cs.MAC(confirmationKey, confirmedTranscriptHash)
}

// PSKWithSecret is a PreSharedKeyID together with its secret value.
type PSKWithSecret struct {
	ID     PreSharedKeyID
	Secret []byte
}

// PSKSecret combines the PSKs of a commit or Welcome into psk_secret
// (RFC 9420 §8.4). With no PSKs it is the all-zero secret.
func PSKSecret(cs CipherSuite, psks []PSKWithSecret) ([]byte, error) {
	secret := zeros(cs)
	if len(psks) > 0xffff {
		return nil, fmt.Errorf("%w: %d PSKs", ErrTooLong, len(psks))
	}
	for i, p := range psks {
		var w writer
		p.ID.encode(&w)
		w.u16(uint16(i))
		w.u16(uint16(len(psks)))
		if w.err != nil {
			return nil, w.err
		}
		extracted := cs.Extract(nil, p.Secret)
		input, err := ExpandWithLabel(cs, extracted, "derived psk", w.b, cs.HashLen())
		if err != nil {
			return nil, err
		}
		secret = cs.Extract(input, secret)
	}
	return secret, nil
}

// VerifyConfirmationTag checks tag against MAC(confirmation_key,
// confirmed_transcript_hash) in constant time.
func VerifyConfirmationTag(cs CipherSuite, confirmationKey, confirmedTranscriptHash, tag []byte) error {
	if len(tag) == 0 {
		return ErrMissingConfirmationTag
	}
	if !hmacEqual(ConfirmationTag(cs, confirmationKey, confirmedTranscriptHash), tag) {
		return ErrBadConfirmationTag
	}
	return nil
}

// externalInitLabel is the HPKE exporter context of an external join (RFC 9420 §8.3).
const externalInitLabel = "MLS 1.0 external init secret"

// ExternalInitSecret is run by a client joining through an external commit:
// it encapsulates to the group's external_pub and returns the ExternalInit
// kem_output and the init_secret that replaces the previous epoch's.
func ExternalInitSecret(cs CipherSuite, externalPub []byte) (kemOutput, initSecret []byte, err error) {
	return cs.HPKEExportSend(externalPub, nil, externalInitLabel, cs.HashLen())
}

// ExternalInitSecretFromKEMOutput is run by members processing an external
// commit: it recovers init_secret from the ExternalInit kem_output with the
// epoch's external private key.
func ExternalInitSecretFromKEMOutput(cs CipherSuite, externalPriv, kemOutput []byte) ([]byte, error) {
	return cs.HPKEExportReceive(externalPriv, kemOutput, nil, externalInitLabel, cs.HashLen())
}
