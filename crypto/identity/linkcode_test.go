package identity

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"regexp"
	"strings"
	"testing"
)

func mustLinkCode(t testing.TB) LinkCode {
	t.Helper()
	c, err := NewLinkCode()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var linkCodeText = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)

func TestLinkCodesPrintAsThreeGroupsOfFourAndParseBack(t *testing.T) {
	seen := map[LinkCode]bool{}
	var ones, zeros uint64
	for range 200 {
		c := mustLinkCode(t)
		s := c.String()
		if !linkCodeText.MatchString(s) {
			t.Fatalf("%q is not XXXX-XXXX-XXXX in Crockford base32", s)
		}
		got, err := ParseLinkCode(s)
		if err != nil || got != c {
			t.Fatalf("ParseLinkCode(%q) = %v, %v", s, got, err)
		}
		if c.v>>LinkCodeBits != 0 {
			t.Fatalf("code %x has bits above 60", c.v)
		}
		seen[c] = true
		ones |= c.v
		zeros |= ^c.v
	}
	if len(seen) != 200 {
		t.Errorf("%d distinct codes out of 200", len(seen))
	}
	// Every one of the 60 bits took both values: the secret is all random.
	const all = 1<<LinkCodeBits - 1
	if ones&all != all || zeros&all != all {
		t.Errorf("bits never set %x, never clear %x", ^ones&all, ^zeros&all)
	}
}

func TestParseLinkCode(t *testing.T) {
	c := LinkCode{v: 0x0123456789abcde}
	canonical := c.String()
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"the printed form", canonical, true},
		{"lower case", strings.ToLower(canonical), true},
		{"without dashes", strings.ReplaceAll(canonical, "-", ""), true},
		{"with spaces for dashes", strings.ReplaceAll(canonical, "-", " "), true},
		{"with spaces around", "  " + canonical + " ", true},
		{"an empty string", "", false},
		{"11 characters", canonical[:len(canonical)-1], false},
		{"13 characters", canonical + "0", false},
		{"only dashes", "----", false},
		{"a U", "U" + canonical[1:], false},
		{"punctuation", canonical[:4] + "." + canonical[5:], false},
		{"a non-ASCII letter", "Ä" + canonical[2:], false},
		{"a tab", canonical[:4] + "\t" + canonical[5:], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLinkCode(tt.in)
			if tt.ok {
				if err != nil || got != c {
					t.Fatalf("ParseLinkCode(%q) = %v, %v; want %v", tt.in, got, err, c)
				}
				return
			}
			if !errors.Is(err, ErrBadLinkCode) {
				t.Fatalf("ParseLinkCode(%q) error %v, want ErrBadLinkCode", tt.in, err)
			}
		})
	}
}

func TestLinkCodeLookAlikesReadAsTheDigits(t *testing.T) {
	want, err := ParseLinkCode("0111-0000-0000")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"OIL1-oooo-0000", "0ilI-0000-O000"} {
		got, err := ParseLinkCode(s)
		if err != nil || got != want {
			t.Errorf("ParseLinkCode(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
}

func TestParseLinkCodeSaysWhatIsWrong(t *testing.T) {
	_, err := ParseLinkCode("ABCD-EFUH-JKMN")
	if err == nil || !strings.Contains(err.Error(), "'U'") || !strings.Contains(err.Error(), "position 8") {
		t.Errorf("error %v does not name the character and its position", err)
	}
	_, err = ParseLinkCode("ABCD-EFGH")
	if err == nil || !strings.Contains(err.Error(), "8 characters") {
		t.Errorf("error %v does not say the length", err)
	}
}

func TestTheLinkTagKeyIsHKDFOfTheSecret(t *testing.T) {
	c := mustLinkCode(t)
	var secret [8]byte
	binary.BigEndian.PutUint64(secret[:], c.v)
	want, err := hkdf.Key(sha256.New, secret[:], nil, "qpc/1 link", 32)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.key(), want) {
		t.Error("the tag key is not HKDF-SHA256(secret, info \"qpc/1 link\")")
	}
}

func TestALinkTagChecksOnlyWithItsCodeAndRequest(t *testing.T) {
	keys := mustUserKeys(t)
	req := &LinkRequest{Address: testAddr, Name: "new laptop", IdentityKey: keys.IdentityPublic(), HPKEKey: keys.HPKEPublic()}
	enc, err := req.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	c := mustLinkCode(t)
	tag := c.Tag(enc)
	if len(tag) != LinkTagSize {
		t.Fatalf("tag is %d bytes", len(tag))
	}
	if err := c.Check(enc, tag); err != nil {
		t.Fatalf("the right code and request: %v", err)
	}
	// One bit off in the code: the node cannot make a tag without the secret.
	near := LinkCode{v: c.v ^ 1}
	if err := near.Check(enc, tag); !errors.Is(err, ErrBadLinkTag) {
		t.Errorf("another code: %v, want ErrBadLinkTag", err)
	}
	// The node swaps in its own keys: the tag no longer matches.
	evil := mustUserKeys(t)
	swapped := *req
	swapped.IdentityKey, swapped.HPKEKey = evil.IdentityPublic(), evil.HPKEPublic()
	encSwapped, err := swapped.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(encSwapped, tag); !errors.Is(err, ErrBadLinkTag) {
		t.Errorf("swapped keys: %v, want ErrBadLinkTag", err)
	}
	for _, bad := range [][]byte{nil, tag[:LinkTagSize-1], append(bytes.Clone(tag), 0)} {
		if err := c.Check(enc, bad); !errors.Is(err, ErrBadLinkTag) {
			t.Errorf("a %d-byte tag: %v, want ErrBadLinkTag", len(bad), err)
		}
	}
}

func TestALinkRequestSurvivesMarshalAndUnmarshal(t *testing.T) {
	keys := mustUserKeys(t)
	req := &LinkRequest{Address: testAddr, Name: "new laptop", IdentityKey: keys.IdentityPublic(), HPKEKey: keys.HPKEPublic()}
	enc, err := req.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if enc[0] != LinkRequestVersion || len(enc) != 1+1+len(testAddr)+1+len("new laptop")+IdentityKeySize+HPKEPublicKeySize {
		t.Fatalf("encoding is %d bytes starting %d", len(enc), enc[0])
	}
	got, err := UnmarshalLinkRequest(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Address != req.Address || got.Name != req.Name || !got.IdentityKey.Equal(req.IdentityKey) || !bytes.Equal(got.HPKEKey, req.HPKEKey) {
		t.Errorf("round trip changed the request: %+v", got)
	}
	if got.ID() != DeviceIDOf(keys.IdentityPublic()) {
		t.Error("ID is not the device id of the identity key")
	}
	// What the approver does with it: a list entry with the same keys.
	acct := mustAccountKey(t)
	l := &DeviceList{Address: got.Address}
	d, err := l.AddKeys(acct, got.Name, got.IdentityKey, got.HPKEKey, testNow)
	if err != nil || d.ID != got.ID() {
		t.Fatalf("AddKeys from a request: %v, id %v", err, d.ID)
	}
}

func TestLinkRequestRejects(t *testing.T) {
	keys := mustUserKeys(t)
	valid, err := (&LinkRequest{Address: testAddr, Name: "laptop", IdentityKey: keys.IdentityPublic(), HPKEKey: keys.HPKEPublic()}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	withName := func(name string) []byte {
		b := []byte{1, byte(len(testAddr))}
		b = append(b, testAddr...)
		b = append(b, byte(len(name)))
		b = append(b, name...)
		b = append(b, keys.IdentityPublic()...)
		return append(b, keys.HPKEPublic()...)
	}
	if !bytes.Equal(withName("laptop"), valid) {
		t.Fatal("MarshalBinary does not write the documented layout")
	}
	badHPKE := bytes.Clone(valid)
	for i := len(badHPKE) - HPKEPublicKeySize; i < len(badHPKE); i++ {
		badHPKE[i] = 0xff
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformedKeys},
		{"version 0", append([]byte{0}, valid[1:]...), ErrTooOld},
		{"version 2", append([]byte{2}, valid[1:]...), ErrUnsupportedVersion},
		{"truncated", valid[:len(valid)-1], ErrMalformedKeys},
		{"a trailing byte", append(bytes.Clone(valid), 0), ErrMalformedKeys},
		{"a name with a newline", withName("lap\ntop"), ErrBadDeviceName},
		{"an empty name", withName(""), ErrBadDeviceName},
		{"an HPKE key that does not parse", badHPKE, ErrMalformedKeys},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := UnmarshalLinkRequest(tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("UnmarshalLinkRequest: %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := (&LinkRequest{Address: "a b", Name: "x", IdentityKey: keys.IdentityPublic(), HPKEKey: keys.HPKEPublic()}).MarshalBinary(); !errors.Is(err, ErrBadAddress) {
		t.Errorf("MarshalBinary with a bad address: %v, want ErrBadAddress", err)
	}
}
