package flood

import (
	"testing"

	"github.com/quicprochat/qpc/mesh/signed/signedtest"
)

// The benchmarks use a body of one Quantum: a one-line chat post, the most
// common size.
const benchBody = Quantum

func BenchmarkSign(b *testing.B) {
	body := signedtest.Filler(benchBody)
	b.SetBytes(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(originKey, testOrigin, testChannel, body, created, testTTL, testMaxHops); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	p := sample(b, benchBody)
	b.SetBytes(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Verify(now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkID(b *testing.B) {
	p := sample(b, benchBody)
	b.SetBytes(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		_ = p.ID()
	}
}

func BenchmarkMarshal(b *testing.B) {
	p := sample(b, benchBody)
	b.SetBytes(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	m := signedtest.Marshal(b, format, sample(b, benchBody))
	b.SetBytes(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Unmarshal(m); err != nil {
			b.Fatal(err)
		}
	}
}
