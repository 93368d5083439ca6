package originhdr

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"reflect"
	"testing"
	"time"
)

var (
	key     = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	created = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now     = created.Add(time.Minute)
	signed  = []byte("the format's signed bytes")
)

// testRules gives every sentinel its own error, named after its field, so
// that a failure reported under the wrong reason shows.
func testRules() *Rules {
	r := &Rules{Version: 3, MaxHopsLimit: 4, MaxTTL: time.Hour, MaxClockSkew: time.Minute}
	v := reflect.ValueOf(&r.Err).Elem()
	for i := range v.NumField() {
		v.Field(i).Set(reflect.ValueOf(errors.New(v.Type().Field(i).Name)))
	}
	return r
}

func goodHeader() Header {
	return Header{
		Version:      3,
		OriginKey:    key.Public().(ed25519.PublicKey),
		OriginDomain: "n1.example.mesh",
		Created:      created,
		TTL:          time.Hour,
		Hops:         4,
		MaxHops:      4,
	}
}

func TestAGoodHeaderPasses(t *testing.T) {
	r := testRules()
	h := goodHeader()
	if err := r.Check(h); err != nil {
		t.Errorf("Check: %v", err)
	}
	if err := r.Verify(h, now, func() []byte { return signed }, ed25519.Sign(key, signed)); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

// TestEachFailureWrapsItsFormatsSentinel checks that every sentinel of
// Errors is the one, and the only one, for its failure.
func TestEachFailureWrapsItsFormatsSentinel(t *testing.T) {
	r := testRules()
	check := func(change func(*Header)) error {
		h := goodHeader()
		change(&h)
		return r.Check(h)
	}
	verify := func(at time.Time, sig []byte) error {
		return r.Verify(goodHeader(), at, func() []byte { return signed }, sig)
	}
	sig := ed25519.Sign(key, signed)
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"version 0 is too old", check(func(h *Header) { h.Version = 0 }), "VersionTooOld"},
		{"another version is unknown", check(func(h *Header) { h.Version = 4 }), "Version"},
		{"a short origin key is bad", check(func(h *Header) { h.OriginKey = h.OriginKey[:31] }), "OriginKey"},
		{"an origin domain with a space is bad", check(func(h *Header) { h.OriginDomain = "n1 example" }), "OriginDomain"},
		{"a TTL over the format's limit is bad", check(func(h *Header) { h.TTL = time.Hour + time.Second }), "TTL"},
		{"a creation time finer than a millisecond is malformed", check(func(h *Header) { h.Created = created.Add(time.Microsecond) }), "Malformed"},
		{"max hops over the format's limit are bad", check(func(h *Header) { h.MaxHops, h.Hops = 5, 0 }), "MaxHops"},
		{"more hops than max hops pass the limit", check(func(h *Header) { h.Hops = 5 }), "HopLimit"},
		{"a creation time past the skew is in the future", verify(created.Add(-time.Minute-time.Millisecond), sig), "CreatedInFuture"},
		{"a header is expired at its expiry", verify(created.Add(time.Hour), sig), "Expired"},
		{"a signature over other bytes is bad", verify(now, ed25519.Sign(key, []byte("other"))), "BadSignature"},
		{"a TTL the wire cannot carry is malformed", ToWire[Wire](r, Header{TTL: time.Millisecond}, nil), "Malformed"},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.err == nil || !bytes.HasPrefix([]byte(c.err.Error()), []byte(c.want+": ")) {
				t.Errorf("error %v, want one wrapping %s", c.err, c.want)
			}
		})
		seen[c.want] = true
	}
	for i := range reflect.TypeFor[Errors]().NumField() {
		if name := reflect.TypeFor[Errors]().Field(i).Name; !seen[name] {
			t.Errorf("no case for Errors.%s", name)
		}
	}
}
