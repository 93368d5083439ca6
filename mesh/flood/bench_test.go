package flood

import "testing"

// The benchmarks use a body of one Quantum: a one-line chat post, the most
// common size.
const benchBody = Quantum

func BenchmarkSign(b *testing.B) {
	body := bodyOf(benchBody)
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
	m := marshalled(b, sample(b, benchBody))
	b.SetBytes(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Unmarshal(m); err != nil {
			b.Fatal(err)
		}
	}
}
