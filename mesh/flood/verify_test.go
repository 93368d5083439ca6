package flood

import (
	"testing"

	"github.com/quicprochat/qpc/mesh/signed/signedtest"
)

// badBodies are the post's bodies as Verify must refuse them; the suite
// (signedtest.Run) checks each. The first is also how it checks that
// fields come before the clock and the signature.
var badBodies = []signedtest.Change[*Post]{
	{Name: "an empty body is bad", Change: func(p *Post) { p.Body = nil }, Want: ErrBody},
	{Name: "a body of one byte is bad", Change: func(p *Post) { p.Body = p.Body[:1] }, Want: ErrBody},
	{Name: "a body one byte short of a quantum is bad", Change: func(p *Post) { p.Body = p.Body[:Quantum-1] }, Want: ErrBody},
	{Name: "a body one byte over a quantum is bad", Change: func(p *Post) { p.Body = append(p.Body, 0) }, Want: ErrBody},
	{Name: "a body a quantum over MaxBody is bad", Change: func(p *Post) { p.Body = make([]byte, MaxBody+Quantum) }, Want: ErrBody},
}

func TestVerifyAcceptsEveryBodySize(t *testing.T) {
	for n := Quantum; n <= MaxBody; n += Quantum {
		p, err := Sign(signedtest.OriginKey, signedtest.Origin, testChannel, signedtest.Filler(n), created, signedtest.TTL, signedtest.MaxHops)
		if err == nil {
			err = p.Verify(now)
		}
		if err != nil {
			t.Errorf("a body of %d bytes: %v", n, err)
		}
	}
}
