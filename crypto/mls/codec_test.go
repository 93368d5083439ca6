package mls

import (
	"bytes"
	"errors"
	"testing"
)

func TestDeserializationVectors(t *testing.T) {
	var cases []struct {
		Header hexBytes `json:"vlbytes_header"`
		Length int      `json:"length"`
	}
	loadVectors(t, "deserialization.json", &cases)
	checked := 0
	for _, c := range cases {
		n, hl, err := ReadVarintHeader(c.Header)
		if err != nil || n != c.Length || hl != len(c.Header) {
			t.Errorf("header %x: got (%d, %d, %v), want length %d", []byte(c.Header), n, hl, err, c.Length)
			continue
		}
		enc, err := AppendVarintHeader(nil, c.Length)
		if err != nil || !bytes.Equal(enc, c.Header) {
			t.Errorf("length %d encodes to %x, want %x", c.Length, enc, []byte(c.Header))
			continue
		}
		checked++
	}
	reportCases(t, "deserialization.json", checked)
}

func TestVarintRejections(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"a two-byte encoding of a one-byte value is rejected", []byte{0x40, 0x3f}, ErrNonMinimalVarint},
		{"a four-byte encoding of a two-byte value is rejected", []byte{0x80, 0x00, 0x3f, 0xff}, ErrNonMinimalVarint},
		{"the reserved 0b11 prefix is rejected", []byte{0xc0, 0, 0, 0, 0, 0, 0, 0}, ErrVarintReserved},
		{"a cut-off two-byte header is truncated", []byte{0x40}, ErrTruncated},
		{"empty input is truncated", nil, ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := ReadVarintHeader(tc.in); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := AppendVarintHeader(nil, maxVarint+1); !errors.Is(err, ErrTooLong) {
		t.Fatalf("encoding 2^30: got %v, want ErrTooLong", err)
	}
}

func TestOpaqueRejections(t *testing.T) {
	var b Bytes
	if err := Unmarshal([]byte{0x03, 1, 2}, &b); !errors.Is(err, ErrTruncated) {
		t.Errorf("short body: got %v", err)
	}
	if err := Unmarshal([]byte{0x01, 1, 2}, &b); !errors.Is(err, ErrTrailingData) {
		t.Errorf("trailing byte: got %v", err)
	}
	if err := Unmarshal([]byte{0x02, 1, 2}, &b); err != nil || !bytes.Equal(b, []byte{1, 2}) {
		t.Errorf("valid: got %x, %v", []byte(b), err)
	}
}

func TestStructureRejections(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		into codec
		want error
	}{
		{"an MLSMessage of an unknown protocol version is rejected", []byte{0, 2, 0, 1}, new(MLSMessage), ErrUnknownValue},
		{"an MLSMessage of an unknown wire format is rejected", []byte{0, 1, 0, 9}, new(MLSMessage), ErrUnknownValue},
		{"a proposal of an unknown type is rejected", []byte{0, 0x0a, 0}, new(Proposal), ErrUnknownValue},
		{"a credential of an unknown type is rejected", []byte{0, 3, 0}, new(Credential), ErrUnknownValue},
		{"a presence byte of 2 is rejected", []byte{0, 2}, new(GroupSecrets), ErrInvalidOptional},
		{"a private message of content type 4 is rejected", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0}, new(PrivateMessage), ErrUnknownValue},
		{"a vector whose length cuts an item short is rejected", []byte{0x02, 0, 1, 0}, new(extensionsBody), ErrTruncated},
		{"a sender of an unknown type is rejected", []byte{9}, new(Sender), ErrUnknownValue},
		{"a PSK of an unknown type is rejected", []byte{3, 0}, new(PreSharedKeyID), ErrUnknownValue},
		{"a resumption PSK with an unknown usage is rejected", []byte{2, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, new(PreSharedKeyID), ErrUnknownValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := Unmarshal(tc.in, tc.into); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestEncodeRejections(t *testing.T) {
	tests := []struct {
		name string
		v    codec
		want error
	}{
		{"an Add without a KeyPackage does not encode", &Proposal{Type: ProposalAdd}, ErrProposal},
		{"an MLSMessage without a body does not encode", &MLSMessage{Version: 1, WireFormat: WireFormatWelcome}, ErrWireFormat},
		{"a KeyPackage leaf without a lifetime does not encode", &LeafNode{Source: LeafNodeSourceKeyPackage, Credential: Credential{Type: CredentialBasic}}, ErrLeafNode},
		{"a credential of an unknown type does not encode", &Credential{Type: 7}, ErrUnknownValue},
		{"an empty opaque encodes", &Bytes{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Marshal(tc.v); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	var w writer
	w.varint(maxVarint + 1)
	if !errors.Is(w.err, ErrTooLong) {
		t.Fatalf("oversized vector: got %v", w.err)
	}
}
