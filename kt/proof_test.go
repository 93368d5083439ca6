package kt

import (
	"errors"
	"testing"
)

func TestProofsRoundTripThroughTheWireForm(t *testing.T) {
	m := memoryOf(t, leavesOf(100))
	p, err := InclusionProof(m, 42, 100)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseProof(MarshalProof(p))
	if err != nil || !equalHashes(got, p) {
		t.Fatalf("round trip: %v", err)
	}
	if got, err := ParseProof(nil); err != nil || len(got) != 0 {
		t.Fatalf("an empty proof: %v, %v", got, err)
	}
}

func TestBadWireProofsAreRefused(t *testing.T) {
	h := make([]byte, 32)
	for name, c := range map[string]struct {
		items [][]byte
		want  error
	}{
		"a hash of 31 bytes":          {[][]byte{h, h[:31]}, ErrEncoding},
		"a hash of 33 bytes":          {[][]byte{append(h, 0)}, ErrEncoding},
		"an empty hash":               {[][]byte{{}}, ErrEncoding},
		"more than MaxProof elements": {make([][]byte, MaxProof+1), ErrRange},
	} {
		if _, err := ParseProof(c.items); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
	if _, err := ParseHash(h[:5]); !errors.Is(err, ErrEncoding) {
		t.Errorf("ParseHash of 5 bytes: %v", err)
	}
}

func FuzzParseProof(f *testing.F) {
	m := memoryOf(f, leavesOf(10))
	p, _ := InclusionProof(m, 3, 10)
	f.Add(bytesOf(p), uint8(32))
	f.Add([]byte{1, 2, 3}, uint8(3))
	// The fuzzer's bytes are cut into elements of size step (0: one
	// element of all of them), so elements of every length occur.
	f.Fuzz(func(t *testing.T, b []byte, step uint8) {
		var items [][]byte
		if step == 0 {
			items = [][]byte{b}
		} else {
			for len(b) > 0 {
				n := min(int(step), len(b))
				items, b = append(items, b[:n]), b[n:]
			}
		}
		got, err := ParseProof(items)
		if err != nil {
			if !errors.Is(err, ErrEncoding) && !errors.Is(err, ErrRange) {
				t.Fatalf("untyped refusal: %v", err)
			}
			return
		}
		back := MarshalProof(got)
		if len(back) != len(items) || len(items) > MaxProof {
			t.Fatalf("accepted %d elements", len(items))
		}
		for i := range items {
			if string(back[i]) != string(items[i]) {
				t.Fatalf("element %d changed", i)
			}
		}
	})
}
