package flood

import (
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/mesh/signed/signedtest"
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
			signedtest.Refused(t, p.Verify(c.at), c.want, "post", sentinels)
		})
	}
}

var sentinels = []error{
	signed.ErrVersionTooOld, signed.ErrVersion, signed.ErrOriginKey, signed.ErrOriginDomain, ErrBody, signed.ErrTTL, signed.ErrMaxHops,
	signed.ErrHopLimit, signed.ErrCreatedInFuture, signed.ErrExpired, signed.ErrBadSignature, signed.ErrMalformed,
}

func TestVerifyAcceptsEveryBodySize(t *testing.T) {
	for n := Quantum; n <= MaxBody; n += Quantum {
		p, err := Sign(originKey, testOrigin, testChannel, signedtest.Filler(n), created, testTTL, testMaxHops)
		if err == nil {
			err = p.Verify(now)
		}
		if err != nil {
			t.Errorf("a body of %d bytes: %v", n, err)
		}
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
	p.Body = signedtest.Filler(Quantum)
	if err := p.Verify(created.Add(testTTL)); !errors.Is(err, signed.ErrExpired) {
		t.Errorf("Verify = %v, want signed.ErrExpired before the signature", err)
	}
	p.OriginKey = ed25519.PublicKey{}
	if err := p.Verify(now); !errors.Is(err, signed.ErrOriginKey) {
		t.Errorf("Verify = %v, want signed.ErrOriginKey", err)
	}
}
