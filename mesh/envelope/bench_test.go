package envelope

import (
	"testing"

	"github.com/quicprochat/qpc/mesh/signed/signedtest"
)

// The benchmarks use a 1 KiB payload, a typical sealed chat message with
// its HPKE and sealed-sender overhead.
const benchPayload = 1024

func BenchmarkSign(b *testing.B) {
	p := signedtest.Filler(benchPayload)
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(originKey, testOrigin, testRecipient, p, created, testTTL, testMaxHops); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	e := sample(b, benchPayload)
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Verify(now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkID(b *testing.B) {
	e := sample(b, benchPayload)
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	for b.Loop() {
		_ = e.ID()
	}
}

func BenchmarkMarshal(b *testing.B) {
	e := sample(b, benchPayload)
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	m := signedtest.Marshal(b, format, sample(b, benchPayload))
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Unmarshal(m); err != nil {
			b.Fatal(err)
		}
	}
}
