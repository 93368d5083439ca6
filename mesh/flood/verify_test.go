package flood

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/mesh/signed"
)

func TestVerifyRejectsEachBadField(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Post)
		at     time.Time
		want   error
	}{
		{"an empty body is bad", func(p *Post) { p.Body = nil }, now, ErrBody},
		{"a body of one byte is bad", func(p *Post) { p.Body = p.Body[:1] }, now, ErrBody},
		{"a body one byte short of a quantum is bad", func(p *Post) { p.Body = p.Body[:Quantum-1] }, now, ErrBody},
		{"a body one byte over a quantum is bad", func(p *Post) { p.Body = append(p.Body, 0) }, now, ErrBody},
		{"a body a quantum over MaxBody is bad", func(p *Post) { p.Body = make([]byte, MaxBody+Quantum) }, now, ErrBody},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := sample(t, Quantum)
			if c.change != nil {
				c.change(p)
			}
			err := p.Verify(c.at)
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
			if prefix := "post: " + c.want.Error() + ": "; !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q does not say what was wrong after %q", err, prefix)
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
	signed.ErrVersionTooOld, signed.ErrVersion, signed.ErrOriginKey, signed.ErrOriginDomain, ErrBody, signed.ErrTTL, signed.ErrMaxHops,
	signed.ErrHopLimit, signed.ErrCreatedInFuture, signed.ErrExpired, signed.ErrBadSignature, signed.ErrMalformed,
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
	p := sample(t, Quantum)
	p.Signature = nil
	p.Body = p.Body[:100]
	if err := p.Verify(created.Add(testTTL)); !errors.Is(err, ErrBody) {
		t.Errorf("Verify = %v, want ErrBody first", err)
	}
	p.Body = bodyOf(Quantum)
	if err := p.Verify(created.Add(testTTL)); !errors.Is(err, signed.ErrExpired) {
		t.Errorf("Verify = %v, want signed.ErrExpired before the signature", err)
	}
	p.OriginKey = ed25519.PublicKey{}
	if err := p.Verify(now); !errors.Is(err, signed.ErrOriginKey) {
		t.Errorf("Verify = %v, want signed.ErrOriginKey", err)
	}
}
