package channel

import (
	"strings"
	"testing"
)

var text200 = strings.Repeat("0123456789", 20)

func BenchmarkSeal(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Seal(chanX, alice, aliceKey, text200, at); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	body := mustSeal(b, chanX, text200)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Open(chanX, body); err != nil {
			b.Fatal(err)
		}
	}
}
