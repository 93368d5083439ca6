package opaque_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/quicprochat/qpc/crypto/opaque"
)

// decoder decodes one message type; encode re-encodes the decoded struct
// when called, so that tests can change the input in between.
type decoder struct {
	name   string
	decode func(s opaque.Suite, b []byte) (encode func() []byte, err error)
}

var decoders = []decoder{
	{"RegistrationRequest", func(s opaque.Suite, b []byte) (func() []byte, error) {
		m, err := opaque.DecodeRegistrationRequest(s, b)
		if err != nil {
			return nil, err
		}
		return m.Encode, nil
	}},
	{"RegistrationResponse", func(s opaque.Suite, b []byte) (func() []byte, error) {
		m, err := opaque.DecodeRegistrationResponse(s, b)
		if err != nil {
			return nil, err
		}
		return m.Encode, nil
	}},
	{"RegistrationRecord", func(s opaque.Suite, b []byte) (func() []byte, error) {
		m, err := opaque.DecodeRegistrationRecord(s, b)
		if err != nil {
			return nil, err
		}
		return m.Encode, nil
	}},
	{"KE1", func(s opaque.Suite, b []byte) (func() []byte, error) {
		m, err := opaque.DecodeKE1(s, b)
		if err != nil {
			return nil, err
		}
		return m.Encode, nil
	}},
	{"KE2", func(s opaque.Suite, b []byte) (func() []byte, error) {
		m, err := opaque.DecodeKE2(s, b)
		if err != nil {
			return nil, err
		}
		return m.Encode, nil
	}},
	{"KE3", func(s opaque.Suite, b []byte) (func() []byte, error) {
		m, err := opaque.DecodeKE3(s, b)
		if err != nil {
			return nil, err
		}
		return m.Encode, nil
	}},
}

// sampleMessages returns one valid encoding of every message type of suite
// s, from a full registration and login.
func sampleMessages(t testing.TB, s opaque.Suite) map[string][]byte {
	t.Helper()
	cfg := opaque.Config{Suite: s, KSF: opaque.Identity{}}
	srv, _ := newServer(t, cfg)
	c := newClient(t, cfg)
	pw, id := []byte("pw"), []byte("alice")
	req, err := c.CreateRegistrationRequest(pw)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.CreateRegistrationResponse(req, id)
	if err != nil {
		t.Fatal(err)
	}
	record, _, err := c.FinalizeRegistrationRequest(resp, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ke1, err := c.GenerateKE1(pw)
	if err != nil {
		t.Fatal(err)
	}
	ke2, _, err := srv.GenerateKE2(nil, record, id, ke1, nil)
	if err != nil {
		t.Fatal(err)
	}
	ke3, _, _, err := c.GenerateKE3(nil, nil, ke2)
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"RegistrationRequest":  req.Encode(),
		"RegistrationResponse": resp.Encode(),
		"RegistrationRecord":   record.Encode(),
		"KE1":                  ke1.Encode(),
		"KE2":                  ke2.Encode(),
		"KE3":                  ke3.Encode(),
	}
}

// wireLengths are the message sizes of the package documentation.
var wireLengths = map[opaque.Suite]map[string]int{
	opaque.Ristretto255SHA512: {"RegistrationRequest": 32, "RegistrationResponse": 64, "RegistrationRecord": 192, "KE1": 96, "KE2": 320, "KE3": 64},
	opaque.P256SHA256:         {"RegistrationRequest": 33, "RegistrationResponse": 66, "RegistrationRecord": 129, "KE1": 98, "KE2": 259, "KE3": 32},
}

func TestDecoders(t *testing.T) {
	for _, s := range allSuites {
		msgs := sampleMessages(t, s)
		for _, d := range decoders {
			valid := msgs[d.name]
			t.Run(fmt.Sprintf("%s %s has the documented length and survives decode and encode unchanged", s, d.name), func(t *testing.T) {
				if want := wireLengths[s][d.name]; len(valid) != want {
					t.Errorf("%d bytes, documented %d", len(valid), want)
				}
				encode, err := d.decode(s, valid)
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if got := encode(); !bytes.Equal(got, valid) {
					t.Errorf("re-encoded\n%x\nwant\n%x", got, valid)
				}
			})
			t.Run(fmt.Sprintf("%s %s of every other length is refused with ErrInvalidLength", s, d.name), func(t *testing.T) {
				for n := 0; n <= len(valid)+1; n++ {
					if n == len(valid) {
						continue
					}
					b := append(append([]byte(nil), valid...), 0)[:n]
					if _, err := d.decode(s, b); !errors.Is(err, opaque.ErrInvalidLength) {
						t.Fatalf("%d bytes: got %v, want ErrInvalidLength", n, err)
					}
				}
			})
			t.Run(fmt.Sprintf("%s %s decoded does not alias its input", s, d.name), func(t *testing.T) {
				in := append([]byte(nil), valid...)
				encode, err := d.decode(s, in)
				if err != nil {
					t.Fatal(err)
				}
				clear(in)
				if !bytes.Equal(encode(), valid) {
					t.Errorf("clearing the input changed the decoded message")
				}
			})
		}
	}
}

func TestDecodersRefuseInvalidElements(t *testing.T) {
	bad := map[opaque.Suite]map[string][]byte{
		opaque.Ristretto255SHA512: {
			"the identity":             make([]byte, 32),
			"a non-canonical encoding": bytes.Repeat([]byte{0xff}, 32),
		},
		opaque.P256SHA256: {
			"the identity (all zero)":         make([]byte, 33),
			"an x coordinate above p":         append([]byte{0x03}, bytes.Repeat([]byte{0xff}, 32)...),
			"an uncompressed-point prefix":    append([]byte{0x04}, bytes.Repeat([]byte{0x01}, 32)...),
			"an x with no point on the curve": append([]byte{0x02}, append(make([]byte, 31), 0x01)...), // 1 - 3 + b is not a square mod p
		},
	}
	// offsets of the element fields of each message (Noe = Npk in both
	// suites, Nn = 32).
	type elem struct {
		msg    string
		field  string
		offset func(n int) int
	}
	elems := []elem{
		{"RegistrationRequest", "blinded_message", func(int) int { return 0 }},
		{"RegistrationResponse", "evaluated_message", func(int) int { return 0 }},
		{"RegistrationResponse", "server_public_key", func(n int) int { return n }},
		{"RegistrationRecord", "client_public_key", func(int) int { return 0 }},
		{"KE1", "blinded_message", func(int) int { return 0 }},
		{"KE1", "client_public_keyshare", func(n int) int { return n + 32 }},
		{"KE2", "evaluated_message", func(int) int { return 0 }},
		{"KE2", "server_public_keyshare", func(n int) int { return -1 }}, // located from the end below
	}
	for _, s := range allSuites {
		msgs := sampleMessages(t, s)
		n := len(msgs["RegistrationRequest"])
		for _, e := range elems {
			for what, point := range bad[s] {
				t.Run(fmt.Sprintf("%s %s with %s as %s is refused with ErrInvalidElement", s, e.msg, what, e.field), func(t *testing.T) {
					b := append([]byte(nil), msgs[e.msg]...)
					off := e.offset(n)
					if off < 0 { // KE2 server_public_keyshare: before server_mac (Nm)
						nm := len(msgs["KE3"])
						off = len(b) - nm - n
					}
					copy(b[off:], point)
					var d decoder
					for _, x := range decoders {
						if x.name == e.msg {
							d = x
						}
					}
					if _, err := d.decode(s, b); !errors.Is(err, opaque.ErrInvalidElement) {
						t.Fatalf("got %v, want ErrInvalidElement", err)
					}
				})
			}
		}
	}
}

func TestDecodersRefuseUnknownSuites(t *testing.T) {
	for _, d := range decoders {
		if _, err := d.decode(opaque.Suite(99), make([]byte, 32)); !errors.Is(err, opaque.ErrInvalidConfig) {
			t.Errorf("%s with suite 99: got %v, want ErrInvalidConfig", d.name, err)
		}
	}
}
