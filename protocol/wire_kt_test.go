package protocol

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/schemas"
)

func sampleKeyProof() KeyProof {
	return KeyProof{
		Entry:       []byte("entry"),
		Index:       41,
		Inclusion:   [][]byte{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)},
		Head:        []byte("signed head"),
		Consistency: [][]byte{bytes.Repeat([]byte{3}, 32)},
	}
}

func sampleEvidence() []KTEvidence {
	return []KTEvidence{
		{First: []byte("h1"), Second: []byte("h2"), Reason: "fork", Domain: "a.mesh", Found: time.UnixMilli(5000), ReportedBy: "b.mesh"},
		{First: []byte("h3"), Second: []byte("h4"), Reason: "inconsistent", Domain: "c.mesh"},
	}
}

func TestKeysWithATransparencyProofCrossTheWireUnchanged(t *testing.T) {
	p := newRoot(t, schemas.NewRootNodeService_resolveUser_Results)
	w, err := p.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	proof := sampleKeyProof()
	k := PublishedKeys{IdentityKey: []byte{1}, HPKEKey: []byte{2}, Signature: []byte{3}, Transparency: &proof}
	if err := KeysToWire(k, w); err != nil {
		t.Fatal(err)
	}
	back, err := reread(t, p, schemas.ReadRootNodeService_resolveUser_Results).Keys()
	if err != nil {
		t.Fatal(err)
	}
	got, err := KeysFromWire(back)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, k) {
		t.Errorf("keys came back as\n%+v\nwant\n%+v", got, k)
	}
}

func TestKeysWithoutAProofComeBackWithoutOne(t *testing.T) {
	p := newRoot(t, schemas.NewRootNodeService_resolveUser_Results)
	w, err := p.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	if err := KeysToWire(PublishedKeys{IdentityKey: []byte{1}}, w); err != nil {
		t.Fatal(err)
	}
	got, err := KeysFromWire(w)
	if err != nil {
		t.Fatal(err)
	}
	if got.Transparency != nil {
		t.Errorf("a proof appeared: %+v", got.Transparency)
	}
}

func TestHealthWithKTEvidenceCrossesTheWireUnchanged(t *testing.T) {
	h := sampleHealth()
	h.KTHead = []byte("head")
	h.KTEvidence = sampleEvidence()
	w := newRoot(t, schemas.NewRootHealth)
	if err := HealthToWire(h, w); err != nil {
		t.Fatal(err)
	}
	got, err := HealthFromWire(reread(t, w, schemas.ReadRootHealth))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, h) {
		t.Errorf("health came back as\n%+v\nwant\n%+v", got, h)
	}
}

func TestAKeyProofBeyondItsBoundsIsRefused(t *testing.T) {
	for _, c := range []struct {
		name  string
		proof KeyProof
	}{
		{"a proof of 65 hashes", KeyProof{Inclusion: make([][]byte, MaxKTProofHashes+1)}},
		{"a hash of 33 bytes", KeyProof{Consistency: [][]byte{make([]byte, 33)}}},
		{"a head of too many bytes", KeyProof{Head: make([]byte, MaxKTHeadBytes+1)}},
		{"an entry of too many bytes", KeyProof{Entry: make([]byte, MaxKTEntryBytes+1)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newRoot(t, schemas.NewRootKeyProof)
			if err := KeyProofToWire(c.proof, w); err != nil {
				t.Fatal(err)
			}
			if _, err := KeyProofFromWire(w); !errors.Is(err, ErrBadRequest) {
				t.Errorf("got %v, want ErrBadRequest", err)
			}
		})
	}
}

func FuzzKeyProofFromWire(f *testing.F) {
	w := newRoot(f, schemas.NewRootKeyProof)
	if err := KeyProofToWire(sampleKeyProof(), w); err != nil {
		f.Fatal(err)
	}
	fuzzRoot(f, []capnp.Struct{capnp.Struct(w)}, func(t *testing.T, root capnp.Struct) {
		p, err := KeyProofFromWire(schemas.KeyProof(root))
		if err != nil {
			return
		}
		if len(p.Inclusion) > MaxKTProofHashes || len(p.Consistency) > MaxKTProofHashes {
			t.Errorf("a proof beyond the bound was read: %d/%d", len(p.Inclusion), len(p.Consistency))
		}
	})
}

func FuzzKTEvidenceFromWire(f *testing.F) {
	r := newRoot(f, schemas.NewRootNodeService_ktGossip_Results)
	if err := KTEvidenceToWire(sampleEvidence(), r.NewEvidence); err != nil {
		f.Fatal(err)
	}
	fuzzRoot(f, []capnp.Struct{capnp.Struct(r)}, func(t *testing.T, root capnp.Struct) {
		list, err := schemas.NodeService_ktGossip_Results(root).Evidence()
		if err != nil {
			return
		}
		ev, err := KTEvidenceFromWire(list)
		if err != nil {
			return
		}
		if len(ev) > MaxKTEvidence {
			t.Errorf("%d pieces of evidence read", len(ev))
		}
	})
}
