package flood

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
		change func(*Post)
		at     time.Time
		want   error
	}{
		{"a post of version 0 is too old", func(p *Post) { p.Version = 0 }, now, ErrVersionTooOld},
		{"a post of version 2 is unknown", func(p *Post) { p.Version = 2 }, now, ErrVersion},
		{"a post of version 255 is unknown", func(p *Post) { p.Version = 255 }, now, ErrVersion},
		{"a missing origin key is bad", func(p *Post) { p.OriginKey = nil }, now, ErrOriginKey},
		{"a 31-byte origin key is bad", func(p *Post) { p.OriginKey = p.OriginKey[:31] }, now, ErrOriginKey},
		{"a 33-byte origin key is bad", func(p *Post) { p.OriginKey = append(p.OriginKey, 0) }, now, ErrOriginKey},
		{"an empty origin domain is bad", func(p *Post) { p.OriginDomain = "" }, now, ErrOriginDomain},
		{"an uppercase origin domain is bad", func(p *Post) { p.OriginDomain = "N1.example.mesh" }, now, ErrOriginDomain},
		{"an origin domain with a trailing dot is bad", func(p *Post) { p.OriginDomain = "n1.example.mesh." }, now, ErrOriginDomain},
		{"an IP address as origin domain is bad", func(p *Post) { p.OriginDomain = "10.0.0.1" }, now, ErrOriginDomain},
		{"an origin domain over 253 bytes is bad", func(p *Post) { p.OriginDomain = longDomain(254) }, now, ErrOriginDomain},
		{"an empty body is bad", func(p *Post) { p.Body = nil }, now, ErrBody},
		{"a body of one byte is bad", func(p *Post) { p.Body = p.Body[:1] }, now, ErrBody},
		{"a body one byte short of a quantum is bad", func(p *Post) { p.Body = p.Body[:Quantum-1] }, now, ErrBody},
		{"a body one byte over a quantum is bad", func(p *Post) { p.Body = append(p.Body, 0) }, now, ErrBody},
		{"a body a quantum over MaxBody is bad", func(p *Post) { p.Body = make([]byte, MaxBody+Quantum) }, now, ErrBody},
		{"a zero TTL is bad", func(p *Post) { p.TTL = 0 }, now, ErrTTL},
		{"a negative TTL is bad", func(p *Post) { p.TTL = -time.Hour }, now, ErrTTL},
		{"a TTL over MaxTTL is bad", func(p *Post) { p.TTL = MaxTTL + time.Second }, now, ErrTTL},
		{"a TTL with a fraction of a second is bad", func(p *Post) { p.TTL = time.Hour + time.Millisecond }, now, ErrTTL},
		{"a creation time finer than a millisecond is malformed", func(p *Post) { p.Created = p.Created.Add(time.Microsecond) }, now, ErrMalformed},
		{"zero max hops are bad", func(p *Post) { p.MaxHops = 0 }, now, ErrMaxHops},
		{"max hops over MaxHopsLimit are bad", func(p *Post) { p.MaxHops = MaxHopsLimit + 1 }, now, ErrMaxHops},
		{"a hop count over max hops is past the limit", func(p *Post) { p.Hops = p.MaxHops + 1 }, now, ErrHopLimit},
		{"a creation time past the clock skew is in the future", nil, created.Add(-MaxClockSkew - time.Millisecond), ErrCreatedInFuture},
		{"a post is expired at its expiry", nil, created.Add(testTTL), ErrExpired},
		{"a post is expired after its expiry", nil, created.Add(testTTL + time.Hour), ErrExpired},
		{"a missing signature is bad", func(p *Post) { p.Signature = nil }, now, ErrBadSignature},
		{"a 63-byte signature is bad", func(p *Post) { p.Signature = p.Signature[:63] }, now, ErrBadSignature},
		{"a zero signature is bad", func(p *Post) { p.Signature = make([]byte, 64) }, now, ErrBadSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := signed(t, Quantum)
			if c.change != nil {
				c.change(p)
			}
			err := p.Verify(c.at)
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
	ErrVersionTooOld, ErrVersion, ErrOriginKey, ErrOriginDomain, ErrBody, ErrTTL, ErrMaxHops,
	ErrHopLimit, ErrCreatedInFuture, ErrExpired, ErrBadSignature, ErrMalformed,
}

// longDomain returns a domain of n characters, valid up to 253: labels of
// 62 and a last one of 1 to 63.
func longDomain(n int) string {
	var labels []string
	for n > 63 {
		labels = append(labels, strings.Repeat("d", 62))
		n -= 63
	}
	return strings.Join(append(labels, strings.Repeat("d", n)), ".")
}

func TestVerifyAcceptsEveryBound(t *testing.T) {
	cases := []struct {
		name    string
		origin  string
		body    int
		ttl     time.Duration
		maxHops uint8
		hops    uint8
		at      time.Time
	}{
		{"a body of one quantum is fine", testOrigin, Quantum, testTTL, 8, 0, now},
		{"a body of three quanta is fine", testOrigin, 3 * Quantum, testTTL, 8, 0, now},
		{"a body of MaxBody is fine", testOrigin, MaxBody, testTTL, 8, 0, now},
		{"a TTL of one second is fine just before it runs out", testOrigin, Quantum, time.Second, 8, 0, created.Add(time.Second - time.Millisecond)},
		{"a TTL of MaxTTL is fine", testOrigin, Quantum, MaxTTL, 8, 0, created.Add(MaxTTL - time.Millisecond)},
		{"max hops of 1 are fine", testOrigin, Quantum, testTTL, 1, 1, now},
		{"max hops of MaxHopsLimit are fine", testOrigin, Quantum, testTTL, MaxHopsLimit, MaxHopsLimit, now},
		{"a creation time exactly MaxClockSkew ahead is fine", testOrigin, Quantum, testTTL, 8, 0, created.Add(-MaxClockSkew)},
		{"a single-label origin domain is fine", "n", Quantum, testTTL, 8, 0, now},
		{"an origin domain of 253 bytes is fine", longDomain(253), Quantum, testTTL, 8, 0, now},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Sign(originKey, c.origin, testChannel, bodyOf(c.body), created, c.ttl, c.maxHops)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			p.Hops = c.hops
			if err := p.Verify(c.at); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

// TestVerifyChecksFieldsBeforeTheSignature makes sure junk is turned away
// by cheap checks: a post that is wrong in several ways reports the
// structural fault, not the signature.
func TestVerifyChecksFieldsBeforeTheSignature(t *testing.T) {
	p := signed(t, Quantum)
	p.Signature = nil
	p.Body = p.Body[:100]
	if err := p.Verify(created.Add(testTTL)); !errors.Is(err, ErrBody) {
		t.Errorf("Verify = %v, want ErrBody first", err)
	}
	p.Body = bodyOf(Quantum)
	if err := p.Verify(created.Add(testTTL)); !errors.Is(err, ErrExpired) {
		t.Errorf("Verify = %v, want ErrExpired before the signature", err)
	}
	p.OriginKey = ed25519.PublicKey{}
	if err := p.Verify(now); !errors.Is(err, ErrOriginKey) {
		t.Errorf("Verify = %v, want ErrOriginKey", err)
	}
}
