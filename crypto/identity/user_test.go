package identity

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func mustUserKeys(t testing.TB) *UserKeys {
	t.Helper()
	k, err := GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestGeneratedUserKeysHaveTheDocumentedSizes(t *testing.T) {
	k := mustUserKeys(t)
	if got := len(k.IdentityPublic()); got != IdentityKeySize {
		t.Errorf("identity key is %d bytes, want %d", got, IdentityKeySize)
	}
	if got := len(k.HPKEPublic()); got != HPKEPublicKeySize {
		t.Errorf("HPKE key is %d bytes, want %d", got, HPKEPublicKeySize)
	}
	if HPKEKEM().ID() != 0x647a {
		t.Errorf("KEM id %#x, want X-Wing 0x647a", HPKEKEM().ID())
	}
}

func TestUserKeysSurviveMarshalAndUnmarshal(t *testing.T) {
	k := mustUserKeys(t)
	enc, err := k.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) != UserKeysSize || enc[0] != UserKeysVersion {
		t.Fatalf("encoding is %d bytes starting %d", len(enc), enc[0])
	}
	got, err := UnmarshalUserKeys(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Identity.Equal(k.Identity) {
		t.Error("identity key changed in the round trip")
	}
	if !bytes.Equal(got.HPKEPublic(), k.HPKEPublic()) {
		t.Error("HPKE key changed in the round trip")
	}
}

func TestUnmarshalUserKeysRejects(t *testing.T) {
	k := mustUserKeys(t)
	valid, err := k.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(valid)) }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"an empty input as malformed", nil, ErrMalformedKeys},
		{"version 0 as too old", with(func(b []byte) []byte { b[0] = 0; return b }), ErrTooOld},
		{"version 2 as unsupported", with(func(b []byte) []byte { b[0] = 2; return b }), ErrUnsupportedVersion},
		{"a truncated encoding as malformed", valid[:UserKeysSize-1], ErrMalformedKeys},
		{"a trailing byte as malformed", append(bytes.Clone(valid), 0), ErrMalformedKeys},
		{"the version byte alone as malformed", valid[:1], ErrMalformedKeys},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := UnmarshalUserKeys(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestABundleVerifiesForTheAddressItWasSignedFor(t *testing.T) {
	k := mustUserKeys(t)
	b, err := k.Bundle("alice@a.example")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Verify("alice@a.example"); err != nil {
		t.Fatal(err)
	}
}

func TestBundleVerifyRejects(t *testing.T) {
	k, other := mustUserKeys(t), mustUserKeys(t)
	const addr = "alice@a.example"
	good, err := k.Bundle(addr)
	if err != nil {
		t.Fatal(err)
	}
	clone := func() *PublicBundle {
		return &PublicBundle{
			IdentityKey: bytes.Clone(good.IdentityKey),
			HPKEKey:     bytes.Clone(good.HPKEKey),
			Signature:   bytes.Clone(good.Signature),
		}
	}
	tests := []struct {
		name   string
		bundle func() *PublicBundle
		addr   string
		want   error
	}{
		{"a bundle checked against another address", clone, "bob@a.example", ErrBadSignature},
		{"a bundle whose HPKE key was swapped", func() *PublicBundle {
			b := clone()
			b.HPKEKey = other.HPKEPublic()
			return b
		}, addr, ErrBadSignature},
		{"a bundle whose identity key was swapped", func() *PublicBundle {
			b := clone()
			b.IdentityKey = other.IdentityPublic()
			return b
		}, addr, ErrBadSignature},
		{"a bundle signed by a key other than its identity key", func() *PublicBundle {
			b := clone()
			if err := b.Sign(other.Identity, addr); err != nil {
				t.Fatal(err)
			}
			return b
		}, addr, ErrBadSignature},
		{"a bundle with a flipped signature bit", func() *PublicBundle {
			b := clone()
			b.Signature[10] ^= 1
			return b
		}, addr, ErrBadSignature},
		{"a bundle with a short signature", func() *PublicBundle {
			b := clone()
			b.Signature = b.Signature[:63]
			return b
		}, addr, ErrMalformedKeys},
		{"a bundle with a short HPKE key", func() *PublicBundle {
			b := clone()
			b.HPKEKey = b.HPKEKey[:100]
			return b
		}, addr, ErrMalformedKeys},
		{"a bundle with no identity key", func() *PublicBundle {
			b := clone()
			b.IdentityKey = nil
			return b
		}, addr, ErrMalformedKeys},
		{"an empty address", clone, "", ErrBadAddress},
		{"an address with a space", clone, "alice @a.example", ErrBadAddress},
		{"an address of 256 bytes", clone, strings.Repeat("a", 246) + "@a.example", ErrBadAddress},
		{"an address that is not UTF-8", clone, "al\xffce@a.example", ErrBadAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.bundle().Verify(tt.addr); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAnAddressOf255BytesCanBeSigned(t *testing.T) {
	k := mustUserKeys(t)
	addr := strings.Repeat("a", 245) + "@a.example"
	b, err := k.Bundle(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Verify(addr); err != nil {
		t.Fatal(err)
	}
}

func TestPublicBundleSurvivesMarshalAndUnmarshal(t *testing.T) {
	k := mustUserKeys(t)
	b, err := k.Bundle("alice@a.example")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) != BundleSize {
		t.Fatalf("bundle is %d bytes, want %d", len(enc), BundleSize)
	}
	got, err := UnmarshalPublicBundle(enc)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Verify("alice@a.example"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.IdentityKey, b.IdentityKey) || !bytes.Equal(got.HPKEKey, b.HPKEKey) ||
		!bytes.Equal(got.Signature, b.Signature) {
		t.Error("bundle changed in the round trip")
	}
}

func TestUnmarshalPublicBundleRejects(t *testing.T) {
	k := mustUserKeys(t)
	b, err := k.Bundle("alice@a.example")
	if err != nil {
		t.Fatal(err)
	}
	valid, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(b []byte)) []byte { c := bytes.Clone(valid); f(c); return c }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"an empty input as malformed", nil, ErrMalformedKeys},
		{"version 0 as too old", with(func(b []byte) { b[0] = 0 }), ErrTooOld},
		{"version 9 as unsupported", with(func(b []byte) { b[0] = 9 }), ErrUnsupportedVersion},
		{"a bundle one byte short as malformed", valid[:BundleSize-1], ErrMalformedKeys},
		{"a bundle one byte long as malformed", append(bytes.Clone(valid), 0), ErrMalformedKeys},
	}
	for n := 1; n < BundleSize; n += 97 {
		tests = append(tests, struct {
			name string
			in   []byte
			want error
		}{"a bundle truncated to " + strconv.Itoa(n) + " bytes as malformed", valid[:n], ErrMalformedKeys})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := UnmarshalPublicBundle(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTamperingAnyRegionOfAnEncodedBundleFailsVerification(t *testing.T) {
	k := mustUserKeys(t)
	b, err := k.Bundle("alice@a.example")
	if err != nil {
		t.Fatal(err)
	}
	valid, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	regions := []struct {
		name string
		at   int
	}{
		{"identity key", 1 + 5},
		{"HPKE key", 1 + IdentityKeySize + 600},
		{"signature", 1 + IdentityKeySize + HPKEPublicKeySize + 3},
	}
	for _, r := range regions {
		t.Run("a flipped bit in the "+r.name, func(t *testing.T) {
			c := bytes.Clone(valid)
			c[r.at] ^= 0x40
			got, err := UnmarshalPublicBundle(c)
			if err != nil {
				if !errors.Is(err, ErrMalformedKeys) {
					t.Fatalf("unmarshal: %v", err)
				}
				return
			}
			if err := got.Verify("alice@a.example"); !errors.Is(err, ErrBadSignature) {
				t.Errorf("got %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestFingerprintIsEightGroupsOfFourHexDigits(t *testing.T) {
	k := mustUserKeys(t)
	fp := k.Fingerprint()
	if !regexp.MustCompile(`^[0-9a-f]{4}( [0-9a-f]{4}){7}$`).MatchString(fp) {
		t.Errorf("fingerprint %q is not eight groups of four hex digits", fp)
	}
	if Fingerprint(mustUserKeys(t).IdentityPublic()) == fp {
		t.Error("two keys have the same fingerprint")
	}
}

func TestFingerprintOfTheZeroKeyIsStable(t *testing.T) {
	// Pinned so that a change to the derivation, which would make every
	// safety number people have compared wrong, cannot pass unnoticed.
	got := Fingerprint(make(ed25519.PublicKey, IdentityKeySize))
	if got != zeroKeyFingerprint {
		t.Errorf("fingerprint of the zero key is %q, want %q", got, zeroKeyFingerprint)
	}
}

// zeroKeyFingerprint is SHA-256("qpc/1 safety-number\x00" | 32 zero bytes), by sha256sum.
const zeroKeyFingerprint = "2030 d64b e8ca a887 4ce2 389c 7fa3 2de7"

func FuzzUnmarshalPublicBundle(f *testing.F) {
	k := mustUserKeys(f)
	b, err := k.Bundle("alice@a.example")
	if err != nil {
		f.Fatal(err)
	}
	valid, err := b.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:100])
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := UnmarshalPublicBundle(data)
		if err != nil {
			return
		}
		again, err := b.MarshalBinary()
		if err != nil {
			t.Fatalf("a decoded bundle does not encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatal("decode then encode changed the bundle")
		}
		_ = b.Verify("alice@a.example")
	})
}

func FuzzUnmarshalUserKeys(f *testing.F) {
	valid, err := mustUserKeys(f).MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:1])
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := UnmarshalUserKeys(data)
		if err != nil {
			return
		}
		again, err := k.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded keys do not encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatal("decode then encode changed the keys")
		}
	})
}

func BenchmarkGenerateUserKeys(b *testing.B) {
	for b.Loop() {
		if _, err := GenerateUserKeys(); err != nil {
			b.Fatal(err)
		}
	}
}
