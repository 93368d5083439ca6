package signed

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The checks here are the ones every signed mesh message shares; the
// envelope's and the post's tests keep only what is theirs.

// key signs the tests' headers, made at created and checked at now, a
// minute later, with a week's TTL; body stands for a format's own fields.
var (
	key          = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	created, now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 12, 1, 0, 0, time.UTC)
	testTTL      = 7 * 24 * time.Hour
	body         = []byte("the format's own fields")
)

// rules have the limits both formats use, so that the bounds tested here
// are the ones nodes apply.
var rules = Rules{Kind: "test", Version: 1, MaxHopsLimit: MaxHopsLimit, MaxTTL: MaxTTL, MaxClockSkew: MaxClockSkew}

// signedBytes stands for a format's signed bytes: the shared start, the
// origin domain and some fields of its own.
func signedBytes(h *Header) []byte {
	return AppendField(AppendField(h.AppendSigned(nil, "test v1\x00"), h.OriginDomain), body)
}

// sample returns a header made and signed as a format's Sign does, with
// max hops 8.
func sample(t testing.TB) *Header {
	t.Helper()
	h, err := rules.New(key, "n1.example.mesh", created, testTTL, 8)
	if err != nil {
		t.Fatal(err)
	}
	if err := rules.Check(&h); err != nil {
		t.Fatal(err)
	}
	h.Sign(key, signedBytes(&h))
	return &h
}

// check runs both checks, as a format's Verify does.
func check(h *Header, at time.Time) error {
	if err := rules.Check(h); err != nil {
		return err
	}
	return rules.Verify(h, at, func() []byte { return signedBytes(h) })
}

// domainOf returns a valid domain of n characters of one-letter labels
// (n odd, up to 253) or one a letter longer (n even): the longest DNS name
// is 253 characters.
func domainOf(n int) string { return strings.Repeat("d.", (n-1)/2) + strings.Repeat("d", 2-n%2) }

var sentinels = []error{
	ErrVersionTooOld, ErrVersion, ErrOriginKey, ErrOriginDomain, ErrTTL, ErrMaxHops,
	ErrHopLimit, ErrCreatedInFuture, ErrExpired, ErrBadSignature, ErrMalformed,
}

func TestAFreshHeaderPassesBothChecks(t *testing.T) {
	h := sample(t)
	if err := check(h, now); err != nil {
		t.Fatal(err)
	}
	if h.Version != 1 || h.Hops != 0 || h.MaxHops != 8 || h.TTL != testTTL || !h.Created.Equal(created) {
		t.Errorf("New made %+v", h)
	}
	if got, want := h.Expires(), created.Add(testTTL); !got.Equal(want) {
		t.Errorf("Expires = %s, want %s", got, want)
	}
}

func TestEachBadFieldFailsWithItsOwnSentinel(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Header)
		at     time.Time
		want   error
	}{
		{"version 0 is too old", func(h *Header) { h.Version = 0 }, now, ErrVersionTooOld},
		{"version 2 is unknown", func(h *Header) { h.Version = 2 }, now, ErrVersion},
		{"version 255 is unknown", func(h *Header) { h.Version = 255 }, now, ErrVersion},
		{"a missing origin key is bad", func(h *Header) { h.OriginKey = nil }, now, ErrOriginKey},
		{"a 31-byte origin key is bad", func(h *Header) { h.OriginKey = h.OriginKey[:31] }, now, ErrOriginKey},
		{"a 33-byte origin key is bad", func(h *Header) { h.OriginKey = append(h.OriginKey, 0) }, now, ErrOriginKey},
		{"an empty origin domain is bad", func(h *Header) { h.OriginDomain = "" }, now, ErrOriginDomain},
		{"an uppercase origin domain is bad", func(h *Header) { h.OriginDomain = "N1.example.mesh" }, now, ErrOriginDomain},
		{"an origin domain with a trailing dot is bad", func(h *Header) { h.OriginDomain = "n1.example.mesh." }, now, ErrOriginDomain},
		{"an IP address as origin domain is bad", func(h *Header) { h.OriginDomain = "10.0.0.1" }, now, ErrOriginDomain},
		{"an origin domain over 253 bytes is bad", func(h *Header) { h.OriginDomain = domainOf(254) }, now, ErrOriginDomain},
		{"a changed origin domain breaks the signature", func(h *Header) { h.OriginDomain = "n2.example.mesh" }, now, ErrBadSignature},
		{"a zero TTL is bad", func(h *Header) { h.TTL = 0 }, now, ErrTTL},
		{"a negative TTL is bad", func(h *Header) { h.TTL = -time.Hour }, now, ErrTTL},
		{"a TTL over MaxTTL is bad", func(h *Header) { h.TTL = rules.MaxTTL + time.Second }, now, ErrTTL},
		{"a TTL with a fraction of a second is bad", func(h *Header) { h.TTL = time.Hour + time.Millisecond }, now, ErrTTL},
		{"a creation time finer than a millisecond is malformed", func(h *Header) { h.Created = h.Created.Add(time.Microsecond) }, now, ErrMalformed},
		{"zero max hops are bad", func(h *Header) { h.MaxHops = 0 }, now, ErrMaxHops},
		{"max hops over MaxHopsLimit are bad", func(h *Header) { h.MaxHops = rules.MaxHopsLimit + 1 }, now, ErrMaxHops},
		{"a hop count over max hops is past the limit", func(h *Header) { h.Hops = h.MaxHops + 1 }, now, ErrHopLimit},
		{"a creation time past the clock skew is in the future", nil, created.Add(-rules.MaxClockSkew - time.Millisecond), ErrCreatedInFuture},
		{"a message is expired at its expiry", nil, created.Add(testTTL), ErrExpired},
		{"a message is expired after its expiry", nil, created.Add(testTTL + time.Hour), ErrExpired},
		{"a missing signature is bad", func(h *Header) { h.Signature = nil }, now, ErrBadSignature},
		{"a 63-byte signature is bad", func(h *Header) { h.Signature = h.Signature[:63] }, now, ErrBadSignature},
		{"a zero signature is bad", func(h *Header) { h.Signature = make([]byte, 64) }, now, ErrBadSignature},
		{"a signature over other bytes is bad", func(h *Header) { h.Signature = ed25519.Sign(key, []byte("other")) }, now, ErrBadSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := sample(t)
			if c.change != nil {
				c.change(h)
			}
			err := check(h, c.at)
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			// The format's name, the reason, and then what was wrong.
			if prefix := "test: " + c.want.Error() + ": "; !strings.HasPrefix(err.Error(), prefix) || len(err.Error()) == len(prefix) {
				t.Errorf("error %q does not say what was wrong after %q", err, prefix)
			}
			for _, other := range sentinels {
				if other != c.want && errors.Is(err, other) {
					t.Errorf("error %q also matches %q", err, other)
				}
			}
		})
	}
}

func TestEveryBoundIsAccepted(t *testing.T) {
	cases := []struct {
		name    string
		origin  string
		ttl     time.Duration
		maxHops uint8
		hops    uint8
		at      time.Time
	}{
		{"a TTL of one second is fine just before it runs out", "n1.example.mesh", time.Second, 8, 0, created.Add(time.Second - time.Millisecond)},
		{"a TTL of MaxTTL is fine", "n1.example.mesh", rules.MaxTTL, 8, 0, created.Add(rules.MaxTTL - time.Millisecond)},
		{"max hops of 1 are fine", "n1.example.mesh", testTTL, 1, 1, now},
		{"max hops of MaxHopsLimit are fine", "n1.example.mesh", testTTL, rules.MaxHopsLimit, rules.MaxHopsLimit, now},
		{"a creation time exactly MaxClockSkew ahead is fine", "n1.example.mesh", testTTL, 8, 0, created.Add(-rules.MaxClockSkew)},
		{"a single-label origin domain is fine", "n", testTTL, 8, 0, now},
		{"an origin domain of 253 bytes is fine", domainOf(253), testTTL, 8, 0, now},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := rules.New(key, c.origin, created, c.ttl, c.maxHops)
			if err != nil {
				t.Fatal(err)
			}
			h.Sign(key, signedBytes(&h))
			h.Hops = c.hops // not signed: a relay may set it within max hops
			if err := check(&h, c.at); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestTheClockIsCheckedBeforeTheSignature keeps junk cheap: an expired
// message with a bad signature reports the expiry, which costs no
// signature check.
func TestTheClockIsCheckedBeforeTheSignature(t *testing.T) {
	h := sample(t)
	h.Signature = nil
	if err := check(h, created.Add(testTTL)); !errors.Is(err, ErrExpired) {
		t.Errorf("error %v, want ErrExpired before the signature", err)
	}
	h.OriginKey = ed25519.PublicKey{}
	if err := check(h, now); !errors.Is(err, ErrOriginKey) {
		t.Errorf("error %v, want ErrOriginKey before the clock", err)
	}
}

func TestNewCutsTheCreationTimeAndRefusesShortKeys(t *testing.T) {
	at := created.Add(1234567 * time.Nanosecond).In(time.FixedZone("CET", 3600))
	h, err := rules.New(key, "n1.example.mesh", at, testTTL, 8)
	if err != nil {
		t.Fatal(err)
	}
	if want := created.Add(time.Millisecond); h.Created != want {
		t.Errorf("Created = %v, want %v (UTC, whole milliseconds)", h.Created, want)
	}
	if _, err := rules.New(key[:32], "n1.example.mesh", at, testTTL, 8); !errors.Is(err, ErrOriginKey) {
		t.Errorf("a truncated private key: error %v, want ErrOriginKey", err)
	}
}

func TestHopStopsAtMaxHops(t *testing.T) {
	h := sample(t)
	for want := uint8(1); want <= h.MaxHops; want++ {
		if err := h.Hop(); err != nil || h.Hops != want {
			t.Fatalf("hop %d: Hops = %d, error %v", want, h.Hops, err)
		}
		// The hop count is not signed: every count within max hops verifies.
		if err := check(h, now); err != nil {
			t.Fatalf("hop count %d broke the checks: %v", h.Hops, err)
		}
	}
	if err := h.Hop(); !errors.Is(err, ErrHopLimit) || h.Hops != h.MaxHops {
		t.Errorf("a hop past max hops: Hops = %d, error %v; want ErrHopLimit and no change", h.Hops, err)
	}
	h.Hops = 255
	if err := check(h, now); !errors.Is(err, ErrHopLimit) {
		t.Errorf("hop count 255 of max 8: error %v, want ErrHopLimit", err)
	}
}

// TestAppendSignedFollowsTheLayout checks the shared start of the signed
// bytes against the layout the formats document, independently of the
// code that writes it.
func TestAppendSignedFollowsTheLayout(t *testing.T) {
	h := sample(t)
	b := h.AppendSigned([]byte("before"), "pfx\x00")
	if got, want := len(b), len("before")+SignedLen("pfx\x00", len(h.OriginKey)); got != want {
		t.Fatalf("%d bytes, SignedLen says %d", got, want)
	}
	b = b[len("before"):]
	want := []byte("pfx\x00")
	want = append(want, 1, 8)
	want = binary.BigEndian.AppendUint32(want, uint32(testTTL/time.Second))
	want = binary.BigEndian.AppendUint64(want, uint64(created.UnixMilli()))
	want = binary.BigEndian.AppendUint32(want, 32)
	want = append(want, h.OriginKey...)
	if !bytes.Equal(b, want) {
		t.Errorf("AppendSigned wrote\n% x\nwant\n% x", b, want)
	}
	if got := AppendField([]byte{9}, "ab"); !bytes.Equal(got, []byte{9, 0, 0, 0, 2, 'a', 'b'}) {
		t.Errorf("AppendField wrote % x", got)
	}
}

// TestReasonsAreTheMetricLabels pins the reason of each sentinel: they are
// label values of qpc_channel_rejected_total that docs/channels.md lists.
func TestReasonsAreTheMetricLabels(t *testing.T) {
	body := NewError("bad body", "body")
	cases := []struct {
		err  error
		want string
	}{
		{ErrVersionTooOld, "version"},
		{ErrVersion, "version"},
		{ErrOriginKey, "bad-post"},
		{ErrOriginDomain, "bad-post"},
		{ErrTTL, "bad-post"},
		{ErrMaxHops, "bad-post"},
		{ErrHopLimit, "hop-limit"},
		{ErrCreatedInFuture, "future"},
		{ErrExpired, "expired"},
		{ErrBadSignature, "bad-signature"},
		{ErrMalformed, "malformed"},
		{body, "body"},
		{fmt.Errorf("post: %w: 3 bytes", body), "body"},
		{rules.errorf(ErrExpired, "long ago"), "expired"},
		{errors.New("not ours"), "bad-post"},
		{nil, "bad-post"},
	}
	for _, c := range cases {
		if got := Reason(c.err, "post"); got != c.want {
			t.Errorf("Reason(%v) = %q, want %q", c.err, got, c.want)
		}
	}
	if got := Reason(ErrTTL, "envelope"); got != "bad-envelope" {
		t.Errorf("Reason(ErrTTL, envelope) = %q, want bad-envelope", got)
	}
}

func TestToWireRefusesWhatTheWireCannotCarry(t *testing.T) {
	for _, h := range []Header{
		{TTL: time.Millisecond},
		{TTL: -time.Second},
		{TTL: (1 << 32) * time.Second},
		{TTL: time.Second, Created: created.Add(time.Microsecond)},
	} {
		// The checks come before any field is set, so no struct is needed.
		if err := ToWire[Wire](&rules, &h, nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("TTL %s, created %s: error %v, want ErrMalformed", h.TTL, h.Created, err)
		}
	}
}
