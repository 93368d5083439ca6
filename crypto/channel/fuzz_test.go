package channel

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// sentinels are the errors Open and ParseShare may return.
var sentinels = []error{ErrTopic, ErrShare, ErrBody, ErrVersionTooOld, ErrVersion, ErrDecrypt, ErrMalformed, ErrBadSignature}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// seedBodies are valid bodies of chanX, of one to three quanta.
func seedBodies(f *testing.F) [][]byte {
	return [][]byte{
		mustSeal(f, chanX, "x"),
		mustSeal(f, chanX, strings.Repeat("ü", 100)),
		mustSeal(f, chanX, strings.Repeat("long ", 100)),
	}
}

// checkOpened checks what Open returned for a body of chanX: a package
// error, or a message that survives being encrypted again (the same
// plaintext under a new nonce opens to the same message and Digest, in a
// body of the same size) and, when signed by aliceKey, sealed again (Ed25519
// is deterministic, so Seal of the same fields gives the same Digest).
func checkOpened(t *testing.T, body []byte, m *Message, err error) {
	if err != nil {
		if m != nil {
			t.Fatalf("Open returned a message with %v", err)
		}
		if !isSentinel(err) {
			t.Fatalf("Open: %v is none of the package's errors", err)
		}
		return
	}
	if checkAuthor(m.Author) != nil || checkText(m.Text) != nil {
		t.Fatalf("Open accepted author %q, text %q", m.Author, m.Text)
	}
	again := reencrypt(t, chanX, plaintext(t, chanX, body))
	if len(again) != len(body) {
		t.Fatalf("re-encrypted: %d bytes, was %d", len(again), len(body))
	}
	if m2 := mustOpen(t, chanX, again); !sameMessage(m, m2) {
		t.Fatalf("re-encrypted opens as %+v, was %+v", m2, m)
	}
	if m.AuthorKey.Equal(aliceKey.Public()) {
		resealed, err := Seal(chanX, m.Author, aliceKey, m.Text, m.Time)
		if err != nil {
			t.Fatalf("Seal of an opened message: %v", err)
		}
		if m2 := mustOpen(t, chanX, resealed); !sameMessage(m, m2) || len(resealed) != len(body) {
			t.Fatalf("resealed opens as %+v in %d bytes, was %+v in %d", m2, len(resealed), m, len(body))
		}
	}
}

func sameMessage(a, b *Message) bool {
	return a.Author == b.Author && a.AuthorKey.Equal(b.AuthorKey) && a.Time.Equal(b.Time) &&
		a.Text == b.Text && a.Digest == b.Digest
}

// FuzzOpen opens arbitrary bodies under chanX's keys.
func FuzzOpen(f *testing.F) {
	for _, b := range seedBodies(f) {
		f.Add(b)
		v0 := bytes.Clone(b)
		v0[0] = 0
		f.Add(v0)
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte{})
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := Open(chanX, body)
		checkOpened(t, body, m, err)
	})
}

// FuzzOpenPlaintext encrypts arbitrary plaintexts under chanX's key, as
// a member holding the secret can, and opens them: this reaches the
// parser, which random bodies never get past the AEAD to.
func FuzzOpenPlaintext(f *testing.F) {
	for _, b := range seedBodies(f) {
		f.Add(plaintext(f, chanX, b))
	}
	f.Add([]byte{})
	f.Add(make([]byte, Quantum-headerSize-tagSize))
	f.Fuzz(func(t *testing.T, pt []byte) {
		if headerSize+len(pt)+tagSize > MaxBody {
			return
		}
		body := reencrypt(t, chanX, pt)
		m, err := Open(chanX, body)
		checkOpened(t, body, m, err)
	})
}

// FuzzParseShare parses arbitrary strings. What parses writes back to the
// canonical form of what was given (same secret spelling; scheme and
// topic differ at most in ASCII case), which parses to the same Share.
func FuzzParseShare(f *testing.F) {
	f.Add(Share{Topic: "kiez-news", Secret: testSecret(0)}.String())
	f.Add(" QPC://channel/Kiez.News_2#AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n")
	f.Add("qpc://channel/x#")
	f.Add("qpc://channel/#AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		sh, err := ParseShare(s)
		if err != nil {
			if !errors.Is(err, ErrShare) || sh != (Share{}) {
				t.Fatalf("ParseShare(%q) = %+v, %v", s, sh, err)
			}
			return
		}
		if err := CheckTopic(sh.Topic); err != nil {
			t.Fatalf("ParseShare(%q) gave topic %q: %v", s, sh.Topic, err)
		}
		out := sh.String()
		inHead, inSecret, _ := strings.Cut(strings.TrimSpace(s), "#")
		outHead, outSecret, _ := strings.Cut(out, "#")
		if !strings.EqualFold(inHead, outHead) || inSecret != outSecret {
			t.Fatalf("ParseShare(%q).String() = %q", s, out)
		}
		if again, err := ParseShare(out); err != nil || again != sh {
			t.Fatalf("ParseShare(%q) = %+v, %v; want %+v", out, again, err, sh)
		}
	})
}
