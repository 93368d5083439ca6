package protocol

import "testing"

func TestPairsMapBothWaysAndSayWhatTheyLack(t *testing.T) {
	p := Pairs[string, byte]{{A: "one", B: 1}, {A: "two", B: 2}}
	if b, ok := p.To("two"); !ok || b != 2 {
		t.Errorf(`To("two") = %d, %v; want 2, true`, b, ok)
	}
	if a, ok := p.From(1); !ok || a != "one" {
		t.Errorf("From(1) = %q, %v; want one, true", a, ok)
	}
	if b, ok := p.To("three"); ok || b != 0 {
		t.Errorf(`To("three") = %d, %v; want 0, false`, b, ok)
	}
	if a, ok := p.From(3); ok || a != "" {
		t.Errorf("From(3) = %q, %v; want \"\", false", a, ok)
	}
}
