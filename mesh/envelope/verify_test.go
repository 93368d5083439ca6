package envelope

import (
	"errors"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/mesh/signed/signedtest"
)

// badFields are the envelope's own fields as Verify must refuse them; the
// suite (signedtest.Run) checks each. The first is also how it checks that
// fields come before the clock and the signature.
var badFields = []signedtest.Change[*Envelope]{
	{Name: "an empty recipient is bad", Change: func(e *Envelope) { e.Recipient = "" }, Want: ErrRecipient},
	{Name: "a device id that is not 16 hex digits is bad", Change: func(e *Envelope) { e.Recipient = "carol#0123@n3.example.mesh" }, Want: ErrRecipient},
	{Name: "an uppercase device id is bad", Change: func(e *Envelope) { e.Recipient = "carol#0123456789ABCDEF@n3.example.mesh" }, Want: ErrRecipient},
	{Name: "a recipient without a domain is bad", Change: func(e *Envelope) { e.Recipient = "carol" }, Want: ErrRecipient},
	{Name: "a recipient with an empty user is bad", Change: func(e *Envelope) { e.Recipient = "@n3.example.mesh" }, Want: ErrRecipient},
	{Name: "a recipient with an empty domain is bad", Change: func(e *Envelope) { e.Recipient = "carol@" }, Want: ErrRecipient},
	{Name: "a recipient with two @ is bad", Change: func(e *Envelope) { e.Recipient = "carol@n3@example.mesh" }, Want: ErrRecipient},
	{Name: "an uppercase user is bad", Change: func(e *Envelope) { e.Recipient = "Carol@n3.example.mesh" }, Want: ErrRecipient},
	{Name: "an uppercase domain is bad", Change: func(e *Envelope) { e.Recipient = "carol@N3.example.mesh" }, Want: ErrRecipient},
	{Name: "a user starting with a dot is bad", Change: func(e *Envelope) { e.Recipient = ".carol@n3.example.mesh" }, Want: ErrRecipient},
	{Name: "a user with a space is bad", Change: func(e *Envelope) { e.Recipient = "car ol@n3.example.mesh" }, Want: ErrRecipient},
	{Name: "a user with non-ASCII letters is bad", Change: func(e *Envelope) { e.Recipient = "carölé@n3.example.mesh" }, Want: ErrRecipient},
	{Name: "a user of 65 characters is bad", Change: func(e *Envelope) { e.Recipient = strings.Repeat("c", 65) + "@n3.example.mesh" }, Want: ErrRecipient},
	{Name: "a domain with an empty label is bad", Change: func(e *Envelope) { e.Recipient = "carol@n3..mesh" }, Want: ErrRecipient},
	{Name: "a domain with a trailing dot is bad", Change: func(e *Envelope) { e.Recipient = "carol@n3.example.mesh." }, Want: ErrRecipient},
	{Name: "a domain label starting with a hyphen is bad", Change: func(e *Envelope) { e.Recipient = "carol@-n3.example.mesh" }, Want: ErrRecipient},
	{Name: "an IP address as domain is bad", Change: func(e *Envelope) { e.Recipient = "carol@10.0.0.1" }, Want: ErrRecipient},
	{Name: "a domain label of 64 characters is bad", Change: func(e *Envelope) { e.Recipient = "carol@" + strings.Repeat("n", 64) + ".mesh" }, Want: ErrRecipient},
	{Name: "a recipient over MaxRecipient is bad", Change: func(e *Envelope) { e.Recipient = strings.Repeat("c", 64) + "@" + signedtest.LongDomain(254) }, Want: ErrRecipient},
	{Name: "an origin domain that is changed breaks the signature", Change: func(e *Envelope) { e.OriginDomain = "n2.example.mesh" }, Want: signed.ErrBadSignature},
	{Name: "an empty payload is bad", Change: func(e *Envelope) { e.Payload = nil }, Want: ErrPayload},
	{Name: "a payload over MaxPayload is bad", Change: func(e *Envelope) { e.Payload = make([]byte, MaxPayload+1) }, Want: ErrPayload},
}

func TestVerifyAcceptsEveryRecipientAndPayloadBound(t *testing.T) {
	longest := strings.Repeat("c", 64) + "#0123456789abcdef@" + signedtest.LongDomain(253)
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
		{"a device of a user is fine", "carol#0123456789abcdef@n3.example.mesh", 1},
		{"a recipient of MaxRecipient bytes is fine", longest, 1},
	} {
		e, err := Sign(signedtest.OriginKey, signedtest.Origin, c.recipient, signedtest.Filler(c.payload), created, signedtest.TTL, signedtest.MaxHops)
		if err == nil {
			err = e.Verify(now)
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestSignRefusesABadRecipientOrPayload(t *testing.T) {
	sign := func(recipient string, payload []byte) error {
		_, err := Sign(signedtest.OriginKey, signedtest.Origin, recipient, payload, created, signedtest.TTL, signedtest.MaxHops)
		return err
	}
	if err := sign("carol", []byte("x")); !errors.Is(err, ErrRecipient) {
		t.Errorf("a recipient without a domain: error %v, want ErrRecipient", err)
	}
	for _, n := range []int{0, MaxPayload + 1} {
		if err := sign(testRecipient, make([]byte, n)); !errors.Is(err, ErrPayload) {
			t.Errorf("a payload of %d bytes: error %v, want ErrPayload", n, err)
		}
	}
}
