package sealed

import (
	"bytes"
	"crypto/hpke"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
)

const (
	alice = "alice@a.example"
	bob   = "bob@b.example"
	carol = "carol@c.example"
)

// keys are generated once: X-Wing key generation dominates test time.
var keys = struct{ alice, bob, carol *identity.UserKeys }{
	mustKeys(), mustKeys(), mustKeys(),
}

func mustKeys() *identity.UserKeys {
	k, err := identity.GenerateUserKeys()
	if err != nil {
		panic(err) // test setup only
	}
	return k
}

func textMessage(s string) Message {
	return Message{ID: NewID(), Time: time.UnixMilli(1_790_000_000_123), ContentType: ContentText, Body: []byte(s)}
}

// sealToBob seals msg from alice to bob.
func sealToBob(t testing.TB, msg Message) []byte {
	t.Helper()
	env, err := Seal(bob, keys.bob.HPKEPublic(), keys.alice, alice, msg)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// decrypt undoes only the HPKE layer of env, as recipient at addr.
func decrypt(t testing.TB, k *identity.UserKeys, addr string, env []byte) []byte {
	t.Helper()
	kdf, aead := suite()
	r, err := hpke.NewRecipient(env[1:header], k.HPKE, kdf, aead, withAddress(infoLabel, addr))
	if err != nil {
		t.Fatal(err)
	}
	content, err := r.Open(env[:1], env[header:])
	if err != nil {
		t.Fatal(err)
	}
	return content
}

// encrypt seals raw content to k at addr, without checking it.
func encrypt(t testing.TB, k *identity.UserKeys, addr string, content []byte) []byte {
	t.Helper()
	env, err := seal(addr, k.HPKE.PublicKey(), content)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestAMessageSealedToBobOpensWithEveryField(t *testing.T) {
	msg := textMessage("hello, bob")
	got, err := Open(keys.bob, bob, sealToBob(t, msg))
	if err != nil {
		t.Fatal(err)
	}
	if got.SenderAddress != alice {
		t.Errorf("sender %q, want %q", got.SenderAddress, alice)
	}
	if !bytes.Equal(got.SenderIdentityKey, keys.alice.IdentityPublic()) {
		t.Error("sender identity key is not alice's")
	}
	if got.ID != msg.ID {
		t.Errorf("id %v, want %v", got.ID, msg.ID)
	}
	if !got.Time.Equal(msg.Time) {
		t.Errorf("time %v, want %v", got.Time, msg.Time)
	}
	if got.ContentType != ContentText || string(got.Body) != "hello, bob" {
		t.Errorf("content %d %q", got.ContentType, got.Body)
	}
	if err := got.VerifySender(keys.alice.IdentityPublic()); err != nil {
		t.Errorf("VerifySender with alice's key: %v", err)
	}
}

func TestSealFillsInAMissingIDAndTime(t *testing.T) {
	before := time.Now().Truncate(time.Millisecond)
	got, err := Open(keys.bob, bob, sealToBob(t, Message{Body: []byte("x")}))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == (ID{}) {
		t.Error("id is zero")
	}
	if got.Time.Before(before) || got.Time.After(time.Now()) {
		t.Errorf("time %v is not now", got.Time)
	}
}

func TestMessagesOfEverySizeRoundTripInPaddedEnvelopes(t *testing.T) {
	longAddr := strings.Repeat("s", identity.MaxAddressLen-len("@a.example")) + "@a.example"
	tests := []struct {
		name   string
		sender string
		size   int
	}{
		{"an empty body", alice, 0},
		{"a one-byte body", alice, 1},
		{"a body that just fills one block", alice, PadBlock - fixedContent - len(alice)},
		{"a body one byte past one block", alice, PadBlock - fixedContent - len(alice) + 1},
		{"a 256-byte body", alice, 256},
		{"a 10,000-byte body", alice, 10000},
		{"the largest body", alice, MaxBodySize},
		{"the largest body from the longest address", longAddr, MaxBodySize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := bytes.Repeat([]byte{0xa5}, tt.size)
			env, err := Seal(bob, keys.bob.HPKEPublic(), keys.alice, tt.sender, Message{Body: body})
			if err != nil {
				t.Fatal(err)
			}
			n := len(env) - overhead
			if n%PadBlock != 0 || n < PadBlock || n-PadBlock >= fixedContent+len(tt.sender)+tt.size {
				t.Errorf("envelope of %d bytes holds %d bytes of content: not padded to the next block", len(env), n)
			}
			if len(env) > MaxSealedSize {
				t.Errorf("envelope is %d bytes, over the %d limit", len(env), MaxSealedSize)
			}
			got, err := Open(keys.bob, bob, env)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Body, body) || got.SenderAddress != tt.sender {
				t.Error("message changed in the round trip")
			}
		})
	}
}

func TestEnvelopeSizesAreTheDocumentedOnes(t *testing.T) {
	const from20 = "twenty-bytes@a.examp" // 20 bytes, as in the package doc
	tests := []struct {
		name string
		body int
		want int
	}{
		{"a 2-byte body from a 20-byte address gives 1393 bytes", 2, 1393},
		{"a 108-byte body from a 20-byte address gives 1393 bytes", 108, 1393},
		{"a 109-byte body from a 20-byte address gives the next block, 1649 bytes", 109, 1649},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := Seal(bob, keys.bob.HPKEPublic(), keys.alice, from20, Message{Body: make([]byte, tt.body)})
			if err != nil {
				t.Fatal(err)
			}
			if len(env) != tt.want {
				t.Errorf("envelope is %d bytes, want %d", len(env), tt.want)
			}
		})
	}
}

func TestSealRejects(t *testing.T) {
	tests := []struct {
		name      string
		recipient string
		key       []byte
		sender    string
		body      []byte
		want      error
	}{
		{"a body over MaxBodySize", bob, keys.bob.HPKEPublic(), alice, make([]byte, MaxBodySize+1), ErrTooLarge},
		{"a recipient key that is too short", bob, keys.bob.HPKEPublic()[:100], alice, nil, ErrBadRecipientKey},
		{"a recipient key that is an identity key", bob, keys.bob.IdentityPublic(), alice, nil, ErrBadRecipientKey},
		{"an empty recipient address", "", keys.bob.HPKEPublic(), alice, nil, identity.ErrBadAddress},
		{"a sender address with a newline", bob, keys.bob.HPKEPublic(), "alice\n@a.example", nil, identity.ErrBadAddress},
		{"a sender address of 256 bytes", bob, keys.bob.HPKEPublic(), strings.Repeat("a", 256), nil, identity.ErrBadAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Seal(tt.recipient, tt.key, keys.alice, tt.sender, Message{Body: tt.body})
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := Seal(bob, keys.bob.HPKEPublic(), nil, alice, Message{}); !errors.Is(err, identity.ErrMalformedKeys) {
		t.Errorf("a nil sender: got %v, want identity.ErrMalformedKeys", err)
	}
}

func TestOpenRejectsAnEnvelopeThatIsNotForItsReader(t *testing.T) {
	env := sealToBob(t, textMessage("for bob only"))
	tests := []struct {
		name string
		keys *identity.UserKeys
		addr string
	}{
		{"carol's key at bob's address", keys.carol, bob},
		{"bob's key at carol's address", keys.bob, carol},
		{"alice, the sender, at bob's address", keys.alice, bob},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Open(tt.keys, tt.addr, env); !errors.Is(err, ErrDecrypt) {
				t.Errorf("got %v, want ErrDecrypt", err)
			}
		})
	}
}

func TestOpenRejectsATamperedEnvelope(t *testing.T) {
	env := sealToBob(t, textMessage("do not touch"))
	tests := []struct {
		name string
		at   int
		xor  byte
		want error
	}{
		{"version 1 changed to 0 as too old", 0, 1, ErrTooOld},
		{"version 1 changed to 3 as unsupported", 0, 2, ErrUnsupportedVersion},
		{"a flipped bit at the start of enc as undecryptable", 1, 0x01, ErrDecrypt},
		{"a flipped bit in the ML-KEM part of enc as undecryptable", 500, 0x80, ErrDecrypt},
		{"a flipped bit in the X25519 part of enc as undecryptable", header - 1, 0x10, ErrDecrypt},
		{"a flipped bit at the start of the ciphertext as undecryptable", header, 0x01, ErrDecrypt},
		{"a flipped bit in the middle of the ciphertext as undecryptable", header + 100, 0x04, ErrDecrypt},
		{"a flipped bit in the tag as undecryptable", len(env) - 1, 0x01, ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := bytes.Clone(env)
			c[tt.at] ^= tt.xor
			if _, err := Open(keys.bob, bob, c); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestOpenRejectsEveryTruncationAndExtension(t *testing.T) {
	env := sealToBob(t, textMessage("whole"))
	for n := 0; n < len(env); n++ {
		_, err := Open(keys.bob, bob, env[:n])
		// A cut that happens to leave a whole number of blocks is only
		// caught by the AEAD.
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDecrypt) {
			t.Fatalf("truncated to %d bytes: got %v, want ErrMalformed or ErrDecrypt", n, err)
		}
	}
	for _, extra := range []int{1, 15, 16, PadBlock} {
		_, err := Open(keys.bob, bob, append(bytes.Clone(env), make([]byte, extra)...))
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDecrypt) {
			t.Errorf("%d bytes appended: got %v", extra, err)
		}
	}
	if _, err := Open(keys.bob, bob, make([]byte, MaxSealedSize+1)); !errors.Is(err, ErrTooOld) {
		// Version 0 is read first; a real oversized envelope follows.
		t.Errorf("zeros: got %v", err)
	}
	big := make([]byte, MaxSealedSize+PadBlock)
	big[0] = Version
	if _, err := Open(keys.bob, bob, big); !errors.Is(err, ErrMalformed) {
		t.Errorf("an envelope over MaxSealedSize: got %v, want ErrMalformed", err)
	}
}

func TestAMessageResealedByItsRecipientFailsForTheNextReader(t *testing.T) {
	// Bob takes alice's signed content and seals it to carol as is: carol
	// must not believe that alice wrote to her.
	content := decrypt(t, keys.bob, bob, sealToBob(t, textMessage("meet at noon")))
	_, err := Open(keys.carol, carol, encrypt(t, keys.carol, carol, content))
	if !errors.Is(err, ErrBadSignature) {
		t.Errorf("got %v, want ErrBadSignature", err)
	}
}

func TestOpenRejectsBadContent(t *testing.T) {
	msg := textMessage("inside")
	valid := decrypt(t, keys.bob, bob, sealToBob(t, msg))
	addrAt := 2
	keyAt := addrAt + len(alice)
	idAt := keyAt + identity.IdentityKeySize
	timeAt := idAt + 16
	typeAt := timeAt + 8
	lenAt := typeAt + 2
	bodyAt := lenAt + 4
	sigAt := bodyAt + len(msg.Body)
	padAt := sigAt + identity.SignatureSize

	change := func(f func(c []byte) []byte) []byte { return f(bytes.Clone(valid)) }
	flip := func(at int) []byte { return change(func(c []byte) []byte { c[at] ^= 0x01; return c }) }
	tests := []struct {
		name    string
		content []byte
		want    error
	}{
		{"content version 0 as too old", change(func(c []byte) []byte { c[0] = 0; return c }), ErrTooOld},
		{"content version 2 as unsupported", change(func(c []byte) []byte { c[0] = 2; return c }), ErrUnsupportedVersion},
		{"a changed sender address as a bad signature", flip(addrAt), ErrBadSignature},
		{"an identity key other than the signer's as a bad signature", change(func(c []byte) []byte {
			copy(c[keyAt:], keys.carol.IdentityPublic())
			return c
		}), ErrBadSignature},
		{"a changed message id as a bad signature", flip(idAt + 3), ErrBadSignature},
		{"a changed timestamp as a bad signature", flip(timeAt + 7), ErrBadSignature},
		{"a changed content type as a bad signature", flip(typeAt + 1), ErrBadSignature},
		{"a changed body as a bad signature", flip(bodyAt), ErrBadSignature},
		{"a changed signature as a bad signature", flip(sigAt + 5), ErrBadSignature},
		{"a body length one longer as a bad signature", change(func(c []byte) []byte { c[lenAt+3]++; return c }), ErrBadSignature},
		{"a body length past the content as malformed", change(func(c []byte) []byte { c[lenAt+2] = 0xff; return c }), ErrMalformed},
		{"a body length over MaxBodySize as malformed", change(func(c []byte) []byte { c[lenAt] = 0xff; return c }), ErrMalformed},
		{"a zero-length sender address as malformed", change(func(c []byte) []byte { c[1] = 0; return c }), ErrMalformed},
		{"a sender address with a space as malformed", change(func(c []byte) []byte { c[addrAt] = ' '; return c }), ErrMalformed},
		{"nonzero padding as malformed", change(func(c []byte) []byte { c[padAt] = 1; return c }), ErrMalformed},
		{"a needless extra block of padding as malformed", append(bytes.Clone(valid), make([]byte, PadBlock)...), ErrMalformed},
		{"content that is not a whole block as malformed", valid[:PadBlock-1], ErrMalformed},
		{"an empty content as malformed", nil, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := openContent(bob, tt.content); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			if tt.content == nil {
				return
			}
			if _, err := Open(keys.bob, bob, encrypt(t, keys.bob, bob, tt.content)); !errors.Is(err, tt.want) {
				t.Errorf("through Open: got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifySender(t *testing.T) {
	got, err := Open(keys.bob, bob, sealToBob(t, textMessage("who am i")))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		published []byte
		want      error
	}{
		{"accepts the published key of the signer", keys.alice.IdentityPublic(), nil},
		{"flags a published key that is someone else's", keys.carol.IdentityPublic(), ErrSenderKeyMismatch},
		{"flags a missing published key", nil, ErrSenderKeyMismatch},
		{"flags a published key that is a prefix", keys.alice.IdentityPublic()[:16], ErrSenderKeyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := got.VerifySender(tt.published); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAnImpostorSigningWithItsOwnKeyIsCaughtByVerifySender(t *testing.T) {
	// Mallory seals a message claiming alice's address; the signature is
	// valid (Mallory's own key) and only the directory check reveals her.
	mallory := keys.carol
	env, err := Seal(bob, keys.bob.HPKEPublic(), mallory, alice, textMessage("it is me, alice"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Open(keys.bob, bob, env)
	if err != nil {
		t.Fatalf("a well-signed impostor message should open: %v", err)
	}
	if err := got.VerifySender(keys.alice.IdentityPublic()); !errors.Is(err, ErrSenderKeyMismatch) {
		t.Errorf("got %v, want ErrSenderKeyMismatch", err)
	}
}

func TestVerifySenderBundle(t *testing.T) {
	got, err := Open(keys.bob, bob, sealToBob(t, textMessage("check my keys")))
	if err != nil {
		t.Fatal(err)
	}
	bundle := func(k *identity.UserKeys, addr string) *identity.PublicBundle {
		b, err := k.Bundle(addr)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	forged := bundle(keys.carol, alice)
	forged.IdentityKey = keys.alice.IdentityPublic()
	tests := []struct {
		name   string
		bundle *identity.PublicBundle
		want   error
	}{
		{"accepts alice's bundle for alice's address", bundle(keys.alice, alice), nil},
		{"flags carol's bundle published under alice's address", bundle(keys.carol, alice), ErrSenderKeyMismatch},
		{"rejects alice's bundle signed for another address", bundle(keys.alice, carol), identity.ErrBadSignature},
		{"rejects a bundle with alice's key but not her signature", forged, identity.ErrBadSignature},
		{"flags a sender with no published bundle", nil, ErrSenderKeyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := got.VerifySenderBundle(tt.bundle); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzOpen(f *testing.F) {
	f.Add(sealToBob(f, textMessage("seed")))
	f.Add(sealToBob(f, Message{Body: make([]byte, 300)}))
	f.Add([]byte{Version})
	f.Fuzz(func(t *testing.T, env []byte) {
		o, err := Open(keys.bob, bob, env)
		if err == nil && o.SenderAddress == "" {
			t.Fatal("opened a message without a sender")
		}
	})
}

func FuzzDecodeContent(f *testing.F) {
	f.Add(decrypt(f, keys.bob, bob, sealToBob(f, textMessage("seed"))))
	f.Add(decrypt(f, keys.bob, bob, sealToBob(f, Message{ContentType: 7, Body: make([]byte, 400)})))
	f.Fuzz(func(t *testing.T, content []byte) {
		o, signedLen, sig, err := decodeContent(content)
		if err != nil {
			return
		}
		if signedLen > len(content) || len(sig) != identity.SignatureSize || len(o.SenderIdentityKey) != identity.IdentityKeySize {
			t.Fatalf("decoded fields out of bounds: signed %d of %d", signedLen, len(content))
		}
		if len(o.Body) > MaxBodySize {
			t.Fatalf("body of %d bytes", len(o.Body))
		}
		_, _ = openContent(bob, content)
	})
}

func BenchmarkSeal256(b *testing.B) {
	msg := Message{ContentType: ContentText, Body: make([]byte, 256)}
	pub := keys.bob.HPKEPublic()
	for b.Loop() {
		if _, err := Seal(bob, pub, keys.alice, alice, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen256(b *testing.B) {
	env := sealToBob(b, Message{ContentType: ContentText, Body: make([]byte, 256)})
	for b.Loop() {
		if _, err := Open(keys.bob, bob, env); err != nil {
			b.Fatal(err)
		}
	}
}
