package mls

import (
	"bytes"
	"errors"
	"testing"
)

func TestKeyScheduleVectors(t *testing.T) {
	var cases []struct {
		CipherSuite       CipherSuiteID `json:"cipher_suite"`
		GroupID           hexBytes      `json:"group_id"`
		InitialInitSecret hexBytes      `json:"initial_init_secret"`
		Epochs            []struct {
			TreeHash                hexBytes `json:"tree_hash"`
			CommitSecret            hexBytes `json:"commit_secret"`
			PSKSecret               hexBytes `json:"psk_secret"`
			ConfirmedTranscriptHash hexBytes `json:"confirmed_transcript_hash"`
			GroupContext            hexBytes `json:"group_context"`
			JoinerSecret            hexBytes `json:"joiner_secret"`
			WelcomeSecret           hexBytes `json:"welcome_secret"`
			InitSecret              hexBytes `json:"init_secret"`
			SenderDataSecret        hexBytes `json:"sender_data_secret"`
			EncryptionSecret        hexBytes `json:"encryption_secret"`
			ExporterSecret          hexBytes `json:"exporter_secret"`
			EpochAuthenticator      hexBytes `json:"epoch_authenticator"`
			ExternalSecret          hexBytes `json:"external_secret"`
			ConfirmationKey         hexBytes `json:"confirmation_key"`
			MembershipKey           hexBytes `json:"membership_key"`
			ResumptionPSK           hexBytes `json:"resumption_psk"`
			ExternalPub             hexBytes `json:"external_pub"`
			Exporter                struct {
				// Label is used verbatim as the exporter label: the
				// generator chose a random hex string, and it is the
				// string, not its decoded bytes, that is labelled.
				Label   string   `json:"label"`
				Context hexBytes `json:"context"`
				Length  int      `json:"length"`
				Secret  hexBytes `json:"secret"`
			} `json:"exporter"`
		} `json:"epochs"`
	}
	loadVectors(t, "key-schedule.json", &cases)
	checked := 0
	for i, c := range cases {
		cs, err := Suite(c.CipherSuite)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		ok := true
		initSecret := []byte(c.InitialInitSecret)
		for e, ep := range c.Epochs {
			gc := &GroupContext{
				Version:                 ProtocolVersionMLS10,
				CipherSuite:             c.CipherSuite,
				GroupID:                 c.GroupID,
				Epoch:                   uint64(e),
				TreeHash:                ep.TreeHash,
				ConfirmedTranscriptHash: ep.ConfirmedTranscriptHash,
			}
			enc, err := Marshal(gc)
			if err != nil || !bytes.Equal(enc, ep.GroupContext) {
				t.Errorf("case %d epoch %d: group context %x, want %x", i, e, enc, []byte(ep.GroupContext))
				ok = false
			}
			s, err := DeriveEpochSecrets(cs, initSecret, ep.CommitSecret, ep.PSKSecret, gc)
			if err != nil {
				t.Fatalf("case %d epoch %d: %v", i, e, err)
			}
			for _, f := range []struct {
				name      string
				got, want []byte
			}{
				{"joiner_secret", s.JoinerSecret, ep.JoinerSecret},
				{"welcome_secret", s.WelcomeSecret, ep.WelcomeSecret},
				{"init_secret", s.InitSecret, ep.InitSecret},
				{"sender_data_secret", s.SenderDataSecret, ep.SenderDataSecret},
				{"encryption_secret", s.EncryptionSecret, ep.EncryptionSecret},
				{"exporter_secret", s.ExporterSecret, ep.ExporterSecret},
				{"epoch_authenticator", s.EpochAuthenticator, ep.EpochAuthenticator},
				{"external_secret", s.ExternalSecret, ep.ExternalSecret},
				{"confirmation_key", s.ConfirmationKey, ep.ConfirmationKey},
				{"membership_key", s.MembershipKey, ep.MembershipKey},
				{"resumption_psk", s.ResumptionPSK, ep.ResumptionPSK},
			} {
				if !bytes.Equal(f.got, f.want) {
					t.Errorf("case %d epoch %d: %s = %x, want %x", i, e, f.name, f.got, f.want)
					ok = false
				}
			}
			if _, pub, err := s.ExternalKeyPair(cs); err != nil || !bytes.Equal(pub, ep.ExternalPub) {
				t.Errorf("case %d epoch %d: external_pub = %x (%v), want %x", i, e, pub, err, []byte(ep.ExternalPub))
				ok = false
			}
			x := ep.Exporter
			if out, err := s.Export(cs, x.Label, x.Context, x.Length); err != nil || !bytes.Equal(out, x.Secret) {
				t.Errorf("case %d epoch %d: exporter = %x (%v), want %x", i, e, out, err, []byte(x.Secret))
				ok = false
			}
			ws, err := WelcomeSecret(cs, s.JoinerSecret, ep.PSKSecret)
			if err != nil || !bytes.Equal(ws, ep.WelcomeSecret) {
				t.Errorf("case %d epoch %d: WelcomeSecret = %x (%v)", i, e, ws, err)
				ok = false
			}
			initSecret = s.InitSecret
		}
		if ok {
			checked++
		}
	}
	reportCases(t, "key-schedule.json", checked)
}

func TestPSKSecretVectors(t *testing.T) {
	var cases []struct {
		CipherSuite CipherSuiteID `json:"cipher_suite"`
		PSKs        []struct {
			PSKID    hexBytes `json:"psk_id"`
			PSK      hexBytes `json:"psk"`
			PSKNonce hexBytes `json:"psk_nonce"`
		} `json:"psks"`
		PSKSecret hexBytes `json:"psk_secret"`
	}
	loadVectors(t, "psk_secret.json", &cases)
	checked := 0
	for i, c := range cases {
		cs, err := Suite(c.CipherSuite)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		var psks []PSKWithSecret
		for _, p := range c.PSKs {
			psks = append(psks, PSKWithSecret{
				ID:     PreSharedKeyID{Type: PSKExternal, PSKID: p.PSKID, Nonce: p.PSKNonce},
				Secret: p.PSK,
			})
		}
		got, err := PSKSecret(cs, psks)
		if err != nil || !bytes.Equal(got, c.PSKSecret) {
			t.Errorf("case %d (%d psks): psk_secret = %x (%v), want %x", i, len(psks), got, err, []byte(c.PSKSecret))
			continue
		}
		checked++
	}
	reportCases(t, "psk_secret.json", checked)
}

func TestTranscriptHashesVectors(t *testing.T) {
	var cases []struct {
		CipherSuite                  CipherSuiteID `json:"cipher_suite"`
		ConfirmationKey              hexBytes      `json:"confirmation_key"`
		AuthenticatedContent         hexBytes      `json:"authenticated_content"`
		InterimTranscriptHashBefore  hexBytes      `json:"interim_transcript_hash_before"`
		ConfirmedTranscriptHashAfter hexBytes      `json:"confirmed_transcript_hash_after"`
		InterimTranscriptHashAfter   hexBytes      `json:"interim_transcript_hash_after"`
	}
	loadVectors(t, "transcript-hashes.json", &cases)
	checked := 0
	for i, c := range cases {
		cs, err := Suite(c.CipherSuite)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		var ac AuthenticatedContent
		if err := Unmarshal(c.AuthenticatedContent, &ac); err != nil {
			t.Errorf("case %d: decode authenticated content: %v", i, err)
			continue
		}
		if ac.Content.ContentType != ContentCommit {
			t.Errorf("case %d: content type %d, want commit", i, ac.Content.ContentType)
			continue
		}
		if err := VerifyConfirmationTag(cs, c.ConfirmationKey, c.ConfirmedTranscriptHashAfter, ac.Auth.ConfirmationTag); err != nil {
			t.Errorf("case %d: %v", i, err)
			continue
		}
		confirmed, err := ConfirmedTranscriptHash(cs, c.InterimTranscriptHashBefore, &ac)
		if err != nil || !bytes.Equal(confirmed, c.ConfirmedTranscriptHashAfter) {
			t.Errorf("case %d: confirmed = %x (%v)", i, confirmed, err)
			continue
		}
		interim, err := InterimTranscriptHash(cs, confirmed, ac.Auth.ConfirmationTag)
		if err != nil || !bytes.Equal(interim, c.InterimTranscriptHashAfter) {
			t.Errorf("case %d: interim = %x (%v)", i, interim, err)
			continue
		}
		bad := append([]byte(nil), ac.Auth.ConfirmationTag...)
		bad[0] ^= 1
		if err := VerifyConfirmationTag(cs, c.ConfirmationKey, confirmed, bad); !errors.Is(err, ErrBadConfirmationTag) {
			t.Errorf("case %d: altered tag: got %v", i, err)
			continue
		}
		checked++
	}
	reportCases(t, "transcript-hashes.json", checked)
}

func TestExternalInitSecret(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		s := &EpochSecrets{ExternalSecret: bytes.Repeat([]byte{9}, 32)}
		priv, pub, err := s.ExternalKeyPair(cs)
		if err != nil {
			t.Fatal(err)
		}
		kem, joiner, err := ExternalInitSecret(cs, pub)
		if err != nil {
			t.Fatal(err)
		}
		member, err := ExternalInitSecretFromKEMOutput(cs, priv, kem)
		if err != nil || !bytes.Equal(joiner, member) || len(member) != cs.HashLen() {
			t.Fatalf("external init secrets differ (%v)", err)
		}
	})
}
