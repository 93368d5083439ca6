package envelope

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/mesh/signed/signedtest"
)

func TestVerifyRejectsEachBadField(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Envelope)
		at     time.Time
		want   error
	}{
		{"an empty recipient is bad", func(e *Envelope) { e.Recipient = "" }, now, ErrRecipient},
		{"a recipient without a domain is bad", func(e *Envelope) { e.Recipient = "carol" }, now, ErrRecipient},
		{"a recipient with an empty user is bad", func(e *Envelope) { e.Recipient = "@n3.example.mesh" }, now, ErrRecipient},
		{"a recipient with an empty domain is bad", func(e *Envelope) { e.Recipient = "carol@" }, now, ErrRecipient},
		{"a recipient with two @ is bad", func(e *Envelope) { e.Recipient = "carol@n3@example.mesh" }, now, ErrRecipient},
		{"an uppercase user is bad", func(e *Envelope) { e.Recipient = "Carol@n3.example.mesh" }, now, ErrRecipient},
		{"an uppercase domain is bad", func(e *Envelope) { e.Recipient = "carol@N3.example.mesh" }, now, ErrRecipient},
		{"a user starting with a dot is bad", func(e *Envelope) { e.Recipient = ".carol@n3.example.mesh" }, now, ErrRecipient},
		{"a user with a space is bad", func(e *Envelope) { e.Recipient = "car ol@n3.example.mesh" }, now, ErrRecipient},
		{"a user with non-ASCII letters is bad", func(e *Envelope) { e.Recipient = "carölé@n3.example.mesh" }, now, ErrRecipient},
		{"a user of 65 characters is bad", func(e *Envelope) { e.Recipient = strings.Repeat("c", 65) + "@n3.example.mesh" }, now, ErrRecipient},
		{"a domain with an empty label is bad", func(e *Envelope) { e.Recipient = "carol@n3..mesh" }, now, ErrRecipient},
		{"a domain with a trailing dot is bad", func(e *Envelope) { e.Recipient = "carol@n3.example.mesh." }, now, ErrRecipient},
		{"a domain label starting with a hyphen is bad", func(e *Envelope) { e.Recipient = "carol@-n3.example.mesh" }, now, ErrRecipient},
		{"an IP address as domain is bad", func(e *Envelope) { e.Recipient = "carol@10.0.0.1" }, now, ErrRecipient},
		{"a domain label of 64 characters is bad", func(e *Envelope) { e.Recipient = "carol@" + strings.Repeat("n", 64) + ".mesh" }, now, ErrRecipient},
		{"a recipient over MaxRecipient is bad", func(e *Envelope) { e.Recipient = strings.Repeat("c", 64) + "@" + longDomain(254) }, now, ErrRecipient},
		{"an origin domain that is changed breaks the signature", func(e *Envelope) { e.OriginDomain = "n2.example.mesh" }, now, signed.ErrBadSignature},
		{"an empty payload is bad", func(e *Envelope) { e.Payload = nil }, now, ErrPayload},
		{"a payload over MaxPayload is bad", func(e *Envelope) { e.Payload = make([]byte, MaxPayload+1) }, now, ErrPayload},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := sample(t, 64)
			if c.change != nil {
				c.change(e)
			}
			signedtest.Refused(t, e.Verify(c.at), c.want, "envelope", sentinels)
		})
	}
}

var sentinels = []error{
	signed.ErrVersionTooOld, signed.ErrVersion, signed.ErrOriginKey, ErrRecipient, ErrPayload, signed.ErrTTL, signed.ErrMaxHops,
	signed.ErrHopLimit, signed.ErrCreatedInFuture, signed.ErrExpired, signed.ErrBadSignature, signed.ErrMalformed,
}

// longDomain returns a valid domain of n characters: labels of 62 and a
// last one of 1 to 63.
func longDomain(n int) string {
	var labels []string
	for n > 63 {
		labels = append(labels, strings.Repeat("d", 62))
		n -= 63
	}
	return strings.Join(append(labels, strings.Repeat("d", n)), ".")
}

func TestVerifyAcceptsEveryRecipientAndPayloadBound(t *testing.T) {
	longest := strings.Repeat("c", 64) + "@" + longDomain(253)
	if len(longest) != MaxRecipient {
		t.Fatalf("the longest test recipient is %d bytes, want %d", len(longest), MaxRecipient)
	}
	for _, c := range []struct {
		name      string
		recipient string
		payload   int
	}{
		{"a one-byte payload is fine", testRecipient, 1},
		{"a payload of MaxPayload is fine", testRecipient, MaxPayload},
		{"a user with dots, underscores and hyphens is fine", "c.a_r-o.l@n3.example.mesh", 1},
		{"a single-character user and domain are fine", "c@n", 1},
		{"a user starting with a digit is fine", "0carol@n3.example.mesh", 1},
		{"a recipient of MaxRecipient bytes is fine", longest, 1},
	} {
		e, err := Sign(originKey, testOrigin, c.recipient, signedtest.Filler(c.payload), created, testTTL, testMaxHops)
		if err == nil {
			err = e.Verify(now)
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// TestVerifyChecksFieldsBeforeTheSignature makes sure junk is turned away
// by cheap checks: an envelope that is wrong in several ways reports the
// structural fault, not the signature.
func TestVerifyChecksFieldsBeforeTheSignature(t *testing.T) {
	e := sample(t, 64)
	e.Signature = nil
	e.Recipient = "nobody"
	if err := e.Verify(created.Add(testTTL)); !errors.Is(err, ErrRecipient) {
		t.Errorf("Verify = %v, want ErrRecipient first", err)
	}
	e.Recipient = testRecipient
	if err := e.Verify(created.Add(testTTL)); !errors.Is(err, signed.ErrExpired) {
		t.Errorf("Verify = %v, want signed.ErrExpired before the signature", err)
	}
	e.OriginKey = ed25519.PublicKey{}
	if err := e.Verify(now); !errors.Is(err, signed.ErrOriginKey) {
		t.Errorf("Verify = %v, want signed.ErrOriginKey", err)
	}
}
