package report

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func sample() Report {
	return Report{
		Reported:    time.UnixMilli(1_800_000_000_000),
		MessageID:   [16]byte{1, 2, 3},
		MessageTime: time.UnixMilli(1_799_999_000_000),
		Reporter:    "alice@a.test",
		Sender:      "mallory@b.test",
		Text:        "buy my pills",
		Note:        "spam, third time",
	}
}

func newKey(t testing.TB) ([]byte, []byte) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := k.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return seed, k.PublicKey().Bytes()
}

func TestASealedReportOpensWithTheKeyAndHidesItsText(t *testing.T) {
	seed, pub := newKey(t)
	r := sample()
	b, err := Seal(pub, r)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(r.Text)) || bytes.Contains(b, []byte(r.Note)) || bytes.Contains(b, []byte(r.Sender)) {
		t.Fatal("the sealed report holds plaintext")
	}
	key, err := PrivateKey(seed)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Open(key, b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Reported.Equal(r.Reported) || !got.MessageTime.Equal(r.MessageTime) {
		t.Fatalf("times %v %v, want %v %v", got.Reported, got.MessageTime, r.Reported, r.MessageTime)
	}
	got.Reported, got.MessageTime = r.Reported, r.MessageTime
	if got != r {
		t.Fatalf("opened %+v, want %+v", got, r)
	}
}

func TestOpenRefusesAnotherKeyAChangeAndOtherVersions(t *testing.T) {
	_, pub := newKey(t)
	other, _ := GenerateKey()
	b, err := Seal(pub, sample())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(other, b); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("another key: %v, want ErrDecrypt", err)
	}
	flipped := bytes.Clone(b)
	flipped[len(flipped)-20] ^= 1
	if _, err := Open(other, flipped); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("changed: %v, want ErrDecrypt", err)
	}
	v2 := bytes.Clone(b)
	v2[0] = 2
	if _, err := Open(other, v2); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("version 2: %v, want ErrUnknownVersion", err)
	}
	if err := CheckSealed(b[:MinSealed-1]); !errors.Is(err, ErrBadReport) {
		t.Fatalf("short: %v, want ErrBadReport", err)
	}
}

func TestSealRefusesReportsOutOfBounds(t *testing.T) {
	_, pub := newKey(t)
	for name, change := range map[string]func(*Report){
		"a reporter with a space":     func(r *Report) { r.Reporter = "al ice@a.test" },
		"a sender that is no address": func(r *Report) { r.Sender = "" },
		"a text too long":             func(r *Report) { r.Text = strings.Repeat("x", MaxText+1) },
		"a note too long":             func(r *Report) { r.Note = strings.Repeat("x", MaxNote+1) },
		"a note that is not UTF-8":    func(r *Report) { r.Note = "\xff" },
	} {
		r := sample()
		change(&r)
		if _, err := Seal(pub, r); !errors.Is(err, ErrBadReport) {
			t.Errorf("%s: %v, want ErrBadReport", name, err)
		}
	}
	if _, err := Seal([]byte("short"), sample()); !errors.Is(err, ErrBadKey) {
		t.Errorf("a bad key: %v, want ErrBadKey", err)
	}
	r := sample()
	r.Text, r.Note = strings.Repeat("x", MaxText), strings.Repeat("y", MaxNote)
	r.Reporter = strings.Repeat("a", 60) + "@" + strings.Repeat("b", 60) + ".test"
	b, err := Seal(pub, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckSealed(b); err != nil {
		t.Fatalf("the largest report: %v", err)
	}
}

func TestContentTruncatedAnywhereIsRefused(t *testing.T) {
	r := sample()
	content, err := r.marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseContent(content); err != nil {
		t.Fatal(err)
	}
	for n := range len(content) {
		if _, err := parseContent(content[:n]); !errors.Is(err, ErrBadReport) {
			t.Fatalf("cut at %d: %v, want ErrBadReport", n, err)
		}
	}
	if _, err := parseContent(append(bytes.Clone(content), 0)); !errors.Is(err, ErrBadReport) {
		t.Fatalf("a byte after the note: %v, want ErrBadReport", err)
	}
}

// FuzzParseContent feeds the content decoder anything: it never panics,
// and what it accepts encodes back to the same bytes.
func FuzzParseContent(f *testing.F) {
	r := sample()
	c, _ := r.marshal()
	f.Add(c)
	r.Text, r.Note = "", ""
	c, _ = r.marshal()
	f.Add(c)
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseContent(b)
		if err != nil {
			if !errors.Is(err, ErrBadReport) && !errors.Is(err, ErrUnknownVersion) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		again, err := got.marshal()
		if err != nil {
			t.Fatalf("accepted %x but cannot encode it: %v", b, err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("accepted %x, encodes as %x", b, again)
		}
	})
}

// FuzzOpen feeds Open anything: it never panics and fails with a typed
// error.
func FuzzOpen(f *testing.F) {
	k, err := GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	b, err := Seal(k.PublicKey().Bytes(), sample())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:MinSealed])
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := Open(k, b); err != nil && !errors.Is(err, ErrBadReport) && !errors.Is(err, ErrUnknownVersion) && !errors.Is(err, ErrDecrypt) {
			t.Fatalf("untyped error %v", err)
		}
	})
}
