package envelope

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestVerifyRejectsEachBadField(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Envelope)
		at     time.Time
		want   error
	}{
		{"an envelope of version 0 is too old", func(e *Envelope) { e.Version = 0 }, now, ErrVersionTooOld},
		{"an envelope of version 2 is unknown", func(e *Envelope) { e.Version = 2 }, now, ErrVersion},
		{"an envelope of version 255 is unknown", func(e *Envelope) { e.Version = 255 }, now, ErrVersion},
		{"a missing origin key is bad", func(e *Envelope) { e.OriginKey = nil }, now, ErrOriginKey},
		{"a 31-byte origin key is bad", func(e *Envelope) { e.OriginKey = e.OriginKey[:31] }, now, ErrOriginKey},
		{"a 33-byte origin key is bad", func(e *Envelope) { e.OriginKey = append(e.OriginKey, 0) }, now, ErrOriginKey},
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
		{"an empty origin domain is bad", func(e *Envelope) { e.OriginDomain = "" }, now, ErrOriginDomain},
		{"an uppercase origin domain is bad", func(e *Envelope) { e.OriginDomain = "N1.example.mesh" }, now, ErrOriginDomain},
		{"an origin domain that is changed breaks the signature", func(e *Envelope) { e.OriginDomain = "n2.example.mesh" }, now, ErrBadSignature},
		{"an empty payload is bad", func(e *Envelope) { e.Payload = nil }, now, ErrPayload},
		{"a payload over MaxPayload is bad", func(e *Envelope) { e.Payload = make([]byte, MaxPayload+1) }, now, ErrPayload},
		{"a zero TTL is bad", func(e *Envelope) { e.TTL = 0 }, now, ErrTTL},
		{"a negative TTL is bad", func(e *Envelope) { e.TTL = -time.Hour }, now, ErrTTL},
		{"a TTL over MaxTTL is bad", func(e *Envelope) { e.TTL = MaxTTL + time.Second }, now, ErrTTL},
		{"a TTL with a fraction of a second is bad", func(e *Envelope) { e.TTL = time.Hour + time.Millisecond }, now, ErrTTL},
		{"a creation time finer than a millisecond is malformed", func(e *Envelope) { e.Created = e.Created.Add(time.Microsecond) }, now, ErrMalformed},
		{"zero max hops are bad", func(e *Envelope) { e.MaxHops = 0 }, now, ErrMaxHops},
		{"max hops over MaxHopsLimit are bad", func(e *Envelope) { e.MaxHops = MaxHopsLimit + 1 }, now, ErrMaxHops},
		{"a hop count over max hops is past the limit", func(e *Envelope) { e.Hops = e.MaxHops + 1 }, now, ErrHopLimit},
		{"a creation time past the clock skew is in the future", nil, created.Add(-MaxClockSkew - time.Millisecond), ErrCreatedInFuture},
		{"an envelope is expired at its expiry", nil, created.Add(testTTL), ErrExpired},
		{"an envelope is expired after its expiry", nil, created.Add(testTTL + time.Hour), ErrExpired},
		{"a missing signature is bad", func(e *Envelope) { e.Signature = nil }, now, ErrBadSignature},
		{"a 63-byte signature is bad", func(e *Envelope) { e.Signature = e.Signature[:63] }, now, ErrBadSignature},
		{"a zero signature is bad", func(e *Envelope) { e.Signature = make([]byte, 64) }, now, ErrBadSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := signed(t, 64)
			if c.change != nil {
				c.change(e)
			}
			err := e.Verify(c.at)
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), c.want.Error()+": ") {
				t.Errorf("error %q does not say what was wrong after %q", err, c.want)
			}
			// Each reason is its own: no other sentinel matches.
			for _, other := range sentinels {
				if other != c.want && errors.Is(err, other) {
					t.Errorf("error %q also matches %q", err, other)
				}
			}
		})
	}
}

var sentinels = []error{
	ErrVersionTooOld, ErrVersion, ErrOriginKey, ErrRecipient, ErrPayload, ErrTTL, ErrMaxHops,
	ErrHopLimit, ErrCreatedInFuture, ErrExpired, ErrBadSignature, ErrMalformed,
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

func TestVerifyAcceptsEveryBound(t *testing.T) {
	key := originKey
	longest := strings.Repeat("c", 64) + "@" + longDomain(253)
	if len(longest) != MaxRecipient {
		t.Fatalf("the longest test recipient is %d bytes, want %d", len(longest), MaxRecipient)
	}
	cases := []struct {
		name      string
		recipient string
		payload   int
		ttl       time.Duration
		maxHops   uint8
		hops      uint8
		at        time.Time
	}{
		{"a one-byte payload is fine", testRecipient, 1, testTTL, 8, 0, now},
		{"a payload of MaxPayload is fine", testRecipient, MaxPayload, testTTL, 8, 0, now},
		{"a TTL of one second is fine just before it runs out", testRecipient, 1, time.Second, 8, 0, created.Add(time.Second - time.Millisecond)},
		{"a TTL of MaxTTL is fine", testRecipient, 1, MaxTTL, 8, 0, created.Add(MaxTTL - time.Millisecond)},
		{"max hops of 1 are fine", testRecipient, 1, testTTL, 1, 1, now},
		{"max hops of MaxHopsLimit are fine", testRecipient, 1, testTTL, MaxHopsLimit, MaxHopsLimit, now},
		{"a creation time exactly MaxClockSkew ahead is fine", testRecipient, 1, testTTL, 8, 0, created.Add(-MaxClockSkew)},
		{"a user with dots, underscores and hyphens is fine", "c.a_r-o.l@n3.example.mesh", 1, testTTL, 8, 0, now},
		{"a single-character user and domain are fine", "c@n", 1, testTTL, 8, 0, now},
		{"a user starting with a digit is fine", "0carol@n3.example.mesh", 1, testTTL, 8, 0, now},
		{"a recipient of MaxRecipient bytes is fine", longest, 1, testTTL, 8, 0, now},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := Sign(key, testOrigin, c.recipient, payloadOf(c.payload), created, c.ttl, c.maxHops)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			e.Hops = c.hops
			if err := e.Verify(c.at); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

// TestVerifyChecksFieldsBeforeTheSignature makes sure junk is turned away
// by cheap checks: an envelope that is wrong in several ways reports the
// structural fault, not the signature.
func TestVerifyChecksFieldsBeforeTheSignature(t *testing.T) {
	e := signed(t, 64)
	e.Signature = nil
	e.Recipient = "nobody"
	if err := e.Verify(created.Add(testTTL)); !errors.Is(err, ErrRecipient) {
		t.Errorf("Verify = %v, want ErrRecipient first", err)
	}
	e.Recipient = testRecipient
	if err := e.Verify(created.Add(testTTL)); !errors.Is(err, ErrExpired) {
		t.Errorf("Verify = %v, want ErrExpired before the signature", err)
	}
	e.OriginKey = ed25519.PublicKey{}
	if err := e.Verify(now); !errors.Is(err, ErrOriginKey) {
		t.Errorf("Verify = %v, want ErrOriginKey", err)
	}
}
