package files

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func sampleRef() Reference {
	r := Reference{Name: "Foto vom Dach.jpg", MIME: "image/jpeg", Size: 5*ChunkSize + 3, ChunkSize: ChunkSize,
		Home: "berlin.freifunk.net", Expires: time.UnixMilli(1_800_000_000_000), Thumbnail: []byte{1, 2, 3}}
	r.Key[0], r.ID[31] = 7, 9
	return r
}

func TestAReferenceRoundTrips(t *testing.T) {
	for _, r := range []Reference{sampleRef(), func() Reference { r := sampleRef(); r.Thumbnail, r.MIME, r.Size = nil, "", 0; return r }()} {
		b, err := MarshalReference(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseReference(b)
		if err != nil {
			t.Fatal(err)
		}
		b2, _ := MarshalReference(got)
		if !bytes.Equal(b, b2) || got.Name != r.Name || got.Key != r.Key || got.ID != r.ID || !got.Expires.Equal(r.Expires) {
			t.Errorf("round trip changed the reference: %+v", got)
		}
	}
}

func TestEveryTruncationOfAReferenceIsRefused(t *testing.T) {
	b, _ := MarshalReference(sampleRef())
	for i := range b {
		if _, err := ParseReference(b[:i]); !errors.Is(err, ErrBadReference) {
			t.Fatalf("cut at %d of %d: %v, want ErrBadReference", i, len(b), err)
		}
	}
	if _, err := ParseReference(append(b, 0)); !errors.Is(err, ErrBadReference) {
		t.Errorf("a trailing byte: %v", err)
	}
}

func TestBadReferencesAreRefusedByName(t *testing.T) {
	b, _ := MarshalReference(sampleRef())
	newer := append([]byte(nil), b...)
	newer[4] = 2
	if _, err := ParseReference(newer); !errors.Is(err, ErrReferenceVersion) {
		t.Errorf("version 2: %v, want ErrReferenceVersion", err)
	}
	for name, mutate := range map[string]func(*Reference){
		"an empty name":               func(r *Reference) { r.Name = "" },
		"a control character in name": func(r *Reference) { r.Name = "a\x1bb" },
		"a file over 50 MB":           func(r *Reference) { r.Size = MaxFileSize + 1 },
		"a tiny chunk size":           func(r *Reference) { r.ChunkSize = 10 },
		"a bad home":                  func(r *Reference) { r.Home = "not a domain" },
		"a large thumbnail":           func(r *Reference) { r.Thumbnail = make([]byte, MaxThumbnail+1) },
	} {
		r := sampleRef()
		mutate(&r)
		if _, err := MarshalReference(r); err == nil {
			t.Errorf("%s: marshalled", name)
		}
	}
}

func FuzzParseReference(f *testing.F) {
	b, _ := MarshalReference(sampleRef())
	f.Add(b)
	r := sampleRef()
	r.Thumbnail = nil
	b2, _ := MarshalReference(r)
	f.Add(b2)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseReference(b)
		if err != nil {
			if !errors.Is(err, ErrBadReference) && !errors.Is(err, ErrReferenceVersion) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		out, err := MarshalReference(r)
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("a parsed reference does not marshal to its input: %v", err)
		}
	})
}
