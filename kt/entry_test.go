package kt

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strconv"
	"testing"
)

func testEntry() Entry {
	key := bytes.Repeat([]byte{0xAB}, AccountKeySize)
	return Entry{
		Kind:       KindUpdate,
		Seq:        3,
		TimeMillis: 1_765_000_000_123,
		Address:    "alice@n1.mesh",
		AccountKey: key,
		Keys:       KeysHash([]byte("id"), []byte("hpke"), []byte("sig"), key, []byte("devices")),
	}
}

func TestAnEntryEncodesByteForByteAsThePackageDocSays(t *testing.T) {
	e := testEntry()
	var want []byte
	want = append(want, 1, 2)                                     // version, kind update
	want = append(want, 0, 0, 0, 0, 0, 0, 0, 3)                   // seq
	want = append(want, 0, 0, 0x01, 0x9A, 0xF2, 0x32, 0xB2, 0x7B) // time 1765000000123 = 0x19AF232B27B
	want = append(want, 13)
	want = append(want, "alice@n1.mesh"...)
	want = append(want, 32)
	want = append(want, e.AccountKey...)
	want = append(want, e.Keys[:]...)
	if got := e.Marshal(); !bytes.Equal(got, want) {
		t.Fatalf("encoding\n got %x\nwant %x", got, want)
	}
	if e.Leaf() != LeafHash(want) || LeafHash(want) != Hash(sha256.Sum256(append([]byte{0}, want...))) {
		t.Fatal("the leaf hash is not SHA-256(0x00 || entry)")
	}
}

func TestEntriesRoundTrip(t *testing.T) {
	full := testEntry()
	legacy := testEntry()
	legacy.Kind, legacy.Seq, legacy.AccountKey = KindRegister, 1, nil
	del := testEntry()
	del.Kind, del.Keys = KindDelete, Hash{}
	neg := testEntry()
	neg.Kind, neg.TimeMillis, neg.Seq = KindReset, -1, ^uint64(0)
	for name, e := range map[string]Entry{"update": full, "account from before devices": legacy, "delete": del, "reset at a time before 1970": neg} {
		t.Run(name, func(t *testing.T) {
			b := e.Marshal()
			got, err := ParseEntry(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != e.Kind || got.Seq != e.Seq || got.TimeMillis != e.TimeMillis || got.Address != e.Address ||
				!bytes.Equal(got.AccountKey, e.AccountKey) || got.Keys != e.Keys {
				t.Fatalf("got %+v, want %+v", got, e)
			}
			if !bytes.Equal(got.Marshal(), b) {
				t.Fatal("re-encoding differs")
			}
		})
	}
}

func TestBadEntriesAreRefused(t *testing.T) {
	good := testEntry().Marshal()
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := map[string][]byte{
		"empty":                     nil,
		"a trailing byte":           append(append([]byte(nil), good...), 0),
		"version 0":                 mod(func(b []byte) []byte { b[0] = 0; return b }),
		"version 2":                 mod(func(b []byte) []byte { b[0] = 2; return b }),
		"kind 0":                    mod(func(b []byte) []byte { b[1] = 0; return b }),
		"kind 5":                    mod(func(b []byte) []byte { b[1] = 5; return b }),
		"seq 0":                     mod(func(b []byte) []byte { b[9] = 0; return b }),
		"an address of 0 bytes":     append(append([]byte(nil), good[:18]...), 0, 0),
		"an address longer than it": mod(func(b []byte) []byte { b[18] = 200; return b }),
		"an upper-case address":     mod(func(b []byte) []byte { b[19] = 'A'; return b }),
		"an address without domain": mod(func(b []byte) []byte { b[19+5] = 'x'; return b }),
		"an account key of 31":      mod(func(b []byte) []byte { b[19+13] = 31; return b }),
		"an account key of 33":      mod(func(b []byte) []byte { b[19+13] = 33; return b }),
		"an account key of 255":     mod(func(b []byte) []byte { b[19+13] = 255; return b }),
		"an update with no keys":    mod(func(b []byte) []byte { clear(b[len(b)-32:]); return b }),
		"a delete with keys":        mod(func(b []byte) []byte { b[1] = byte(KindDelete); return b }),
	}
	for i := 1; i < len(good); i++ {
		cases["truncated to "+strconv.Itoa(i)+" bytes"] = good[:i]
	}
	for name, b := range cases {
		if _, err := ParseEntry(b); !errors.Is(err, ErrEncoding) {
			t.Errorf("%s: got %v, want ErrEncoding", name, err)
		}
	}
}

func TestAnInvalidEntryMarshalsToNothing(t *testing.T) {
	for name, f := range map[string]func(*Entry){
		"seq 0":                 func(e *Entry) { e.Seq = 0 },
		"kind 9":                func(e *Entry) { e.Kind = 9 },
		"an address of 256":     func(e *Entry) { e.Address = string(bytes.Repeat([]byte{'a'}, 250)) + "@n1.mesh" },
		"an upper-case address": func(e *Entry) { e.Address = "Alice@n1.mesh" },
		"an account key of 16":  func(e *Entry) { e.AccountKey = e.AccountKey[:16] },
	} {
		e := testEntry()
		f(&e)
		if err := e.Validate(); !errors.Is(err, ErrEncoding) {
			t.Errorf("%s: Validate %v", name, err)
		}
		if b := e.Marshal(); b != nil {
			t.Errorf("%s: marshalled to %d bytes", name, len(b))
		}
	}
}

func TestKeysHashSeparatesItsFields(t *testing.T) {
	base := KeysHash([]byte("ab"), []byte("c"), nil, nil, nil)
	// The same bytes cut between fields differently must hash differently.
	for name, h := range map[string]Hash{
		"a byte moved to the next field": KeysHash([]byte("a"), []byte("bc"), nil, nil, nil),
		"fields in another order":        KeysHash([]byte("c"), []byte("ab"), nil, nil, nil),
		"a byte moved to the last field": KeysHash([]byte("ab"), nil, nil, nil, []byte("c")),
	} {
		if h == base {
			t.Errorf("%s: same hash", name)
		}
	}
	// The layout of the package doc, written out.
	var b []byte
	b = append(b, "qpc kt keys v1"...)
	b = append(b, 0)
	b = append(b, 0, 0, 0, 2, 'a', 'b', 0, 0, 0, 1, 'c', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	if Hash(sha256.Sum256(b)) != base {
		t.Fatal("KeysHash is not the documented layout")
	}
}

func FuzzParseEntry(f *testing.F) {
	f.Add(testEntry().Marshal())
	del := testEntry()
	del.Kind, del.Keys, del.AccountKey = KindDelete, Hash{}, nil
	f.Add(del.Marshal())
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEntry(b)
		if err != nil {
			if !errors.Is(err, ErrEncoding) {
				t.Fatalf("untyped refusal: %v", err)
			}
			return
		}
		// What parses is canonical: it encodes to exactly the input.
		if !bytes.Equal(e.Marshal(), b) {
			t.Fatalf("accepted %x, which encodes as %x", b, e.Marshal())
		}
	})
}
