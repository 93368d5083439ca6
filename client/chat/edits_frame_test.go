package chat

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client/chatdb"
)

func TestEditAndDeleteFramesRoundTrip(t *testing.T) {
	for _, f := range []changeFrame{
		{Target: newMsgID(), Time: time.UnixMilli(1_700_000_000_123), Text: "héllo, corrected"},
		{Delete: true, Target: newMsgID(), Time: time.UnixMilli(1_700_000_000_456)},
	} {
		b, err := f.marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseChangeFrame(f.contentType(), b)
		if err != nil || got.Delete != f.Delete || got.Target != f.Target || !got.Time.Equal(f.Time) || got.Text != f.Text {
			t.Fatalf("%+v: got %+v, %v", f, got, err)
		}
		ctype, body, ok, err := parseTyped(marshalTyped(f.contentType(), b))
		if !ok || err != nil || ctype != f.contentType() || !bytes.Equal(body, b) {
			t.Fatalf("typed frame: %#x %x %v %v", ctype, body, ok, err)
		}
	}
	// A chat frame is no typed frame: it starts with its version.
	cb, err := (&chatFrame{ID: newMsgID(), Seq: 1, Time: time.Now(), Text: "hi"}).marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := parseTyped(cb); ok {
		t.Error("a chat frame read as a typed frame")
	}
}

func TestBadEditAndDeleteFramesAreRefused(t *testing.T) {
	good, err := (&changeFrame{Target: chatdb.MsgID{1}, Time: time.UnixMilli(5), Text: "x"}).marshal()
	if err != nil {
		t.Fatal(err)
	}
	header := good[:changeHeader]
	zeroTime := append(append([]byte{1}, make([]byte, 16)...), make([]byte, 8)...)
	for name, c := range map[string]struct {
		ctype uint16
		b     []byte
	}{
		"empty":                {ContentEdit, nil},
		"short":                {ContentEdit, good[:changeHeader-1]},
		"version 2":            {ContentEdit, append([]byte{2}, good[1:]...)},
		"edit without text":    {ContentEdit, header},
		"edit not UTF-8":       {ContentEdit, append(append([]byte{}, header...), 0xff)},
		"edit too long":        {ContentEdit, append(append([]byte{}, header...), strings.Repeat("a", MaxText+1)...)},
		"delete with text":     {ContentDelete, good},
		"time zero":            {ContentDelete, zeroTime},
		"another content type": {ContentReceipt, header},
	} {
		if _, err := parseChangeFrame(c.ctype, c.b); !errors.Is(err, ErrFrame) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, ok, err := parseTyped([]byte{0, 1}); !ok || !errors.Is(err, ErrFrame) {
		t.Errorf("a typed frame too short for its content type: %v, %v", ok, err)
	}
	if _, err := (&changeFrame{Delete: true, Text: "x", Time: time.Now()}).marshal(); !errors.Is(err, ErrFrame) {
		t.Errorf("marshalling a delete with text: %v", err)
	}
	if _, err := (&changeFrame{Time: time.Now()}).marshal(); !errors.Is(err, ErrText) {
		t.Errorf("marshalling an edit without text: %v", err)
	}
}

func FuzzParseChangeFrame(f *testing.F) {
	edit, _ := (&changeFrame{Target: chatdb.MsgID{1}, Time: time.UnixMilli(1_700_000_000_000), Text: "fixed"}).marshal()
	del, _ := (&changeFrame{Delete: true, Target: chatdb.MsgID{2}, Time: time.UnixMilli(1_700_000_000_000)}).marshal()
	f.Add(ContentEdit, edit)
	f.Add(ContentDelete, del)
	f.Add(ContentEdit, []byte{})
	f.Fuzz(func(t *testing.T, ctype uint16, b []byte) {
		g, err := parseChangeFrame(ctype, b)
		if err != nil {
			return
		}
		again, err := g.marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("%x decoded to %+v, which encodes to %x, %v", b, g, again, err)
		}
	})
}

func FuzzParseTyped(f *testing.F) {
	f.Add(marshalTyped(ContentEdit, []byte("body")))
	f.Add([]byte{0})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		ctype, body, ok, err := parseTyped(b)
		if !ok || err != nil {
			return
		}
		if again := marshalTyped(ctype, body); !bytes.Equal(again, b) {
			t.Fatalf("%x re-encodes to %x", b, again)
		}
	})
}

func TestTombstonesRoundTripAndRefuseMalformedRecords(t *testing.T) {
	ts := []tombstone{{Author: "bob@b.example", ID: chatdb.MsgID{1}}, {Author: "carol@c.example", ID: chatdb.MsgID{2}}}
	got, err := parseTombstones(marshalTombstones(ts))
	if err != nil || len(got) != 2 || got[0] != ts[0] || got[1] != ts[1] {
		t.Fatalf("got %+v, %v", got, err)
	}
	b := marshalTombstones(ts)
	for n := 1; n < len(b); n++ {
		if n == len(marshalTombstones(ts[:1])) {
			continue // one whole entry
		}
		if _, err := parseTombstones(b[:n]); !errors.Is(err, ErrTombstones) {
			t.Errorf("cut to %d of %d bytes: %v", n, len(b), err)
		}
	}
	if _, err := parseTombstones(append([]byte{0}, make([]byte, 16)...)); !errors.Is(err, ErrTombstones) {
		t.Errorf("an empty author: %v", err)
	}
	many := make([]tombstone, maxTombstones+1)
	for i := range many {
		many[i] = tombstone{Author: "a@b.example"}
	}
	if _, err := parseTombstones(marshalTombstones(many)); !errors.Is(err, ErrTombstones) {
		t.Errorf("more than %d entries: %v", maxTombstones, err)
	}
}

func FuzzParseTombstones(f *testing.F) {
	f.Add(marshalTombstones([]tombstone{{Author: "bob@b.example", ID: chatdb.MsgID{1}}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := parseTombstones(b)
		if err != nil {
			return
		}
		if again := marshalTombstones(ts); !bytes.Equal(again, b) {
			t.Fatalf("%x re-encodes to %x", b, again)
		}
	})
}

func TestEarlyEditsRoundTripAndRefuseMalformedRecords(t *testing.T) {
	es := []earlyEdit{
		{Author: "bob@b.example", ID: chatdb.MsgID{1}, Time: time.UnixMilli(1_700_000_000_001), Text: "fixed"},
		{Author: "carol@c.example", ID: chatdb.MsgID{2}, Time: time.UnixMilli(1_700_000_000_002), Text: "grüße"},
	}
	b := marshalEarlyEdits(es)
	got, err := parseEarlyEdits(b)
	if err != nil || len(got) != 2 || got[1].Author != es[1].Author || got[1].ID != es[1].ID || !got[1].Time.Equal(es[1].Time) || got[1].Text != es[1].Text {
		t.Fatalf("got %+v, %v", got, err)
	}
	one := len(marshalEarlyEdits(es[:1]))
	for n := 1; n < len(b); n++ {
		if _, err := parseEarlyEdits(b[:n]); n != one && !errors.Is(err, ErrEarlyEdits) {
			t.Errorf("cut to %d of %d bytes: %v", n, len(b), err)
		}
	}
	for name, e := range map[string]earlyEdit{
		"no author": {ID: chatdb.MsgID{1}, Time: time.UnixMilli(1), Text: "x"},
		"no text":   {Author: "a@b.example", Time: time.UnixMilli(1)},
		"time zero": {Author: "a@b.example", Time: time.UnixMilli(0), Text: "x"},
	} {
		if _, err := parseEarlyEdits(marshalEarlyEdits([]earlyEdit{e})); !errors.Is(err, ErrEarlyEdits) {
			t.Errorf("%s: %v", name, err)
		}
	}
	many := make([]earlyEdit, maxEarlyEdits+1)
	for i := range many {
		many[i] = earlyEdit{Author: "a@b.example", Time: time.UnixMilli(1), Text: "x"}
	}
	if _, err := parseEarlyEdits(marshalEarlyEdits(many)); !errors.Is(err, ErrEarlyEdits) {
		t.Errorf("more than %d entries: %v", maxEarlyEdits, err)
	}
}

func FuzzParseEarlyEdits(f *testing.F) {
	f.Add(marshalEarlyEdits([]earlyEdit{{Author: "bob@b.example", ID: chatdb.MsgID{1}, Time: time.UnixMilli(1_700_000_000_001), Text: "fixed"}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := parseEarlyEdits(b)
		if err != nil {
			return
		}
		if again := marshalEarlyEdits(es); !bytes.Equal(again, b) {
			t.Fatalf("%x re-encodes to %x", b, again)
		}
	})
}
