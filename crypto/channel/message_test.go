package channel

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAPostOpensWithEveryFieldAsSealed(t *testing.T) {
	long := strings.Repeat("ä", MaxText/2)
	author255 := strings.Repeat("u", 255-len("@a.example")) + "@a.example"
	tests := []struct {
		name   string
		author string
		text   string
		at     time.Time
	}{
		{"a short text", alice, "hello, kiez", at},
		{"a text of one byte", alice, "x", at},
		{"a text of MaxText bytes", alice, long, at},
		{"a text with line breaks and emoji", alice, "line 1\nline 2 🐝\r\n", at},
		{"an author of 255 bytes", author255, "hi", at},
		{"an author with several @", "a@b@c.example", "hi", at},
		{"a time before 1970", alice, "old", time.UnixMilli(-1_234_567)},
		{"a time with nanoseconds, in another zone", alice, "now", time.Date(2026, 11, 24, 1, 2, 3, 456_789_012, time.FixedZone("CET", 3600))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := Seal(chanX, tt.author, aliceKey, tt.text, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			m := mustOpen(t, chanX, body)
			if m.Author != tt.author {
				t.Errorf("author %q, want %q", m.Author, tt.author)
			}
			if !m.AuthorKey.Equal(aliceKey.Public()) {
				t.Errorf("author key %x, want alice's", m.AuthorKey)
			}
			if want := time.UnixMilli(tt.at.UnixMilli()).UTC(); !m.Time.Equal(want) || m.Time.Location() != time.UTC {
				t.Errorf("time %v, want %v", m.Time, want)
			}
			if m.Text != tt.text {
				t.Errorf("text %q, want %q", m.Text, tt.text)
			}
			signed := appendSigned(nil, chanX.ID, tt.author, aliceKey[32:], tt.at.UnixMilli(), tt.text)
			if m.Digest != sha256.Sum256(signed) {
				t.Errorf("digest %x is not SHA-256 of the signed bytes", m.Digest)
			}
		})
	}
}

func TestEveryBodyIsTheSmallestMultipleOfQuantumThatHoldsIt(t *testing.T) {
	text := strings.Repeat("t", MaxText)
	for n := 1; n <= MaxText; n++ {
		body := mustSeal(t, chanX, text[:n])
		want := (fixedSize + len(alice) + n + Quantum - 1) / Quantum * Quantum
		if len(body) != want {
			t.Fatalf("text of %d bytes: body of %d bytes, want %d", n, len(body), want)
		}
	}
}

// The overhead of a post is 151 bytes plus the author (15 here), so the
// first body size holds texts of 1 to 90 bytes, the second 91 to 346.
func TestTextsOfSimilarLengthGiveBodiesOfTheSameSize(t *testing.T) {
	tests := []struct {
		short, long int
		size        int
	}{
		{1, 90, 256},
		{91, 346, 512},
		{200, 300, 512},
	}
	for _, tt := range tests {
		a := mustSeal(t, chanX, strings.Repeat("a", tt.short))
		b := mustSeal(t, chanX, strings.Repeat("b", tt.long))
		if len(a) != tt.size || len(b) != tt.size {
			t.Errorf("texts of %d and %d bytes: bodies of %d and %d bytes, want %d", tt.short, tt.long, len(a), len(b), tt.size)
		}
	}
}

func TestTheLargestPostFitsInMaxBody(t *testing.T) {
	author := strings.Repeat("u", 255-len("@a.example")) + "@a.example"
	body, err := Seal(chanX, author, aliceKey, strings.Repeat("t", MaxText), at)
	if err != nil {
		t.Fatal(err)
	}
	if len(body) != 4608 || len(body) > MaxBody {
		t.Fatalf("largest body %d bytes, want 4608 (at most %d)", len(body), MaxBody)
	}
}

func TestSealingTheSameTextTwiceGivesDifferentBodiesWithTheSameDigest(t *testing.T) {
	a, b := mustSeal(t, chanX, "same"), mustSeal(t, chanX, "same")
	if bytes.Equal(a, b) || bytes.Equal(a[1:headerSize], b[1:headerSize]) {
		t.Fatal("two seals share a body or a nonce")
	}
	if mustOpen(t, chanX, a).Digest != mustOpen(t, chanX, b).Digest {
		t.Fatal("the same signed post has two digests")
	}
}

func TestSealRefusesWhatItCannotSign(t *testing.T) {
	badPub := bytes.Clone(aliceKey)
	copy(badPub[32:], malloryKey[32:])
	tests := []struct {
		name   string
		author string
		key    ed25519.PrivateKey
		text   string
		want   error
	}{
		{"a nil key", alice, nil, "hi", ErrKey},
		{"a seed instead of a private key", alice, aliceKey.Seed(), "hi", ErrKey},
		{"a private key with another key's public half", alice, badPub, "hi", ErrKey},
		{"an empty author", "", aliceKey, "hi", ErrAuthor},
		{"an author without a domain", "alice", aliceKey, "hi", ErrAuthor},
		{"an author without a user", "@a.example", aliceKey, "hi", ErrAuthor},
		{"an author ending in @", "alice@", aliceKey, "hi", ErrAuthor},
		{"an author with a space", "al ice@a.example", aliceKey, "hi", ErrAuthor},
		{"an author of 256 bytes", strings.Repeat("u", 246) + "@a.example", aliceKey, "hi", ErrAuthor},
		{"an empty text", alice, aliceKey, "", ErrText},
		{"a text of MaxText+1 bytes", alice, aliceKey, strings.Repeat("t", MaxText+1), ErrText},
		{"a text that is not UTF-8", alice, aliceKey, "caf\xe9", ErrText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := Seal(chanX, tt.author, tt.key, tt.text, at)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Seal: %v, want %v", err, tt.want)
			}
			if body != nil {
				t.Fatal("Seal returned a body with its error")
			}
		})
	}
}

func TestABodyOfAnotherChannelDoesNotDecrypt(t *testing.T) {
	body := mustSeal(t, chanX, "for x")
	if _, err := Open(chanY, body); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Open with y's keys: %v, want ErrDecrypt", err)
	}
}

func TestAFlippedBitAnywhereInTheBodyIsRefusedWithTheRightError(t *testing.T) {
	body := mustSeal(t, chanX, strings.Repeat("flip ", 40))
	for i := range body {
		for _, mask := range []byte{0x01, 0x80} {
			b := bytes.Clone(body)
			b[i] ^= mask
			var want error
			switch {
			case i == 0 && b[0] == 0:
				want = ErrVersionTooOld
			case i == 0:
				want = ErrVersion
			default:
				want = ErrDecrypt
			}
			if _, err := Open(chanX, b); !errors.Is(err, want) {
				t.Fatalf("byte %d ^ %#x: %v, want %v", i, mask, err, want)
			}
		}
	}
}

func TestABodyOfTheWrongSizeIsRefused(t *testing.T) {
	body := mustSeal(t, chanX, strings.Repeat("s", 200)) // 512 bytes
	tests := []struct {
		name string
		body []byte
		want error
	}{
		{"an empty body", nil, ErrBody},
		{"the version byte alone", []byte{Version}, ErrBody},
		{"a body one byte short", body[:len(body)-1], ErrBody},
		{"a body one byte long", append(bytes.Clone(body), 0), ErrBody},
		{"a body cut to one quantum", body[:Quantum], ErrDecrypt},
		{"a body with a quantum of zeros added", append(bytes.Clone(body), make([]byte, Quantum)...), ErrDecrypt},
		{"a body one quantum over MaxBody", append([]byte{Version}, make([]byte, MaxBody+Quantum-1)...), ErrBody},
		{"a body of MaxBody zeros after the version", append([]byte{Version}, make([]byte, MaxBody-1)...), ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Open(chanX, tt.body); !errors.Is(err, tt.want) {
				t.Fatalf("Open: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVersionZeroAndAnUnknownVersionAreDistinctErrors(t *testing.T) {
	body := mustSeal(t, chanX, "v")
	tests := []struct {
		version   byte
		want, not error
	}{
		{0, ErrVersionTooOld, ErrVersion},
		{2, ErrVersion, ErrVersionTooOld},
		{255, ErrVersion, ErrVersionTooOld},
	}
	for _, tt := range tests {
		b := bytes.Clone(body)
		b[0] = tt.version
		_, err := Open(chanX, b)
		if !errors.Is(err, tt.want) || errors.Is(err, tt.not) || errors.Is(err, ErrDecrypt) {
			t.Errorf("version %d: %v, want only %v", tt.version, err, tt.want)
		}
		// Even a body of a size version 1 never has: the version decides.
		if _, err := Open(chanX, b[:100]); !errors.Is(err, tt.want) {
			t.Errorf("version %d, 100 bytes: %v, want %v", tt.version, err, tt.want)
		}
	}
}

// A member holds the secret, so can decrypt a post and encrypt anything;
// without the author's identity key, any change shows.
func TestAMemberWhoChangesAPostAndEncryptsItAgainIsCaught(t *testing.T) {
	orig := split(t, plaintext(t, chanX, mustSeal(t, chanX, "meet at 8")))
	tests := []struct {
		name   string
		change func(f *fields)
	}{
		{"another text of the same length", func(f *fields) { f.text = "meet at 9" }},
		{"a longer text", func(f *fields) { f.text = "meet at 8, bring money" }},
		{"another author", func(f *fields) { f.author = "bob@b.example" }},
		{"another time", func(f *fields) { f.ms += 3_600_000 }},
		{"another key, the author's signature", func(f *fields) { f.key = malloryKey[32:] }},
		{"a flipped signature bit", func(f *fields) { f.sig = bytes.Clone(f.sig); f.sig[10] ^= 4 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := orig
			tt.change(&f)
			_, err := Open(chanX, reencrypt(t, chanX, f.join()))
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Open: %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestAPostMovedToAnotherChannelIsCaught(t *testing.T) {
	pt := plaintext(t, chanX, mustSeal(t, chanX, "only for x"))
	if _, err := Open(chanY, reencrypt(t, chanY, pt)); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("x's post in y: %v, want ErrBadSignature", err)
	}
}

func TestAReplayUnderANewNonceOpensWithTheSameDigest(t *testing.T) {
	body := mustSeal(t, chanX, "once")
	replay := reencrypt(t, chanX, plaintext(t, chanX, body))
	if bytes.Equal(body, replay) {
		t.Fatal("the replay is the same body")
	}
	m, r := mustOpen(t, chanX, body), mustOpen(t, chanX, replay)
	if m.Digest != r.Digest || m.Text != r.Text {
		t.Fatalf("replay opened as %q (digest %x), want %q (digest %x)", r.Text, r.Digest, m.Text, m.Digest)
	}
}

// Bodies here are made by someone holding the secret and, where it
// matters, signing correctly: only the layout is wrong.
func TestAPlaintextThatBreaksTheLayoutIsMalformed(t *testing.T) {
	good := plaintext(t, chanX, mustSeal(t, chanX, "layout"))
	edit := func(f func(p []byte) []byte) []byte { return f(bytes.Clone(good)) }
	signed := func(author, text string) []byte {
		body, err := seal(chanX, author, aliceKey, text, at.UnixMilli())
		if err != nil {
			t.Fatal(err)
		}
		return plaintext(t, chanX, body)
	}
	tests := []struct {
		name string
		pt   []byte
		also error // besides ErrMalformed
	}{
		{"nonzero last padding byte", edit(func(p []byte) []byte { p[len(p)-1] = 1; return p }), nil},
		{"nonzero first padding byte", edit(func(p []byte) []byte {
			p[contentSize(len(alice), len("layout"))+sigSize] = 0x80
			return p
		}), nil},
		{"a quantum more padding than needed", edit(func(p []byte) []byte { return append(p, make([]byte, Quantum)...) }), nil},
		{"an author length past the end", edit(func(p []byte) []byte { binary.BigEndian.PutUint16(p, 0xffff); return p }), nil},
		{"a text length past the end", edit(func(p []byte) []byte {
			binary.BigEndian.PutUint32(p[2+len(alice)+keySize+8:], 0xffff_ffff)
			return p
		}), nil},
		{"all zeros", make([]byte, Quantum-headerSize-tagSize), ErrAuthor},
		{"an empty author, signed", signed("", "hi"), ErrAuthor},
		{"an author that is not user@domain, signed", signed("alice", "hi"), ErrAuthor},
		{"an empty text, signed", signed(alice, ""), ErrText},
		{"a text that is not UTF-8, signed", signed(alice, "\xff\xfe"), ErrText},
		{"a text of MaxText+1 bytes, signed", signed(alice, strings.Repeat("t", MaxText+1)), ErrText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(chanX, reencrypt(t, chanX, tt.pt))
			if !errors.Is(err, ErrMalformed) || tt.also != nil && !errors.Is(err, tt.also) {
				t.Fatalf("Open: %v, want ErrMalformed and %v", err, tt.also)
			}
		})
	}
}
