package identity

// This file holds the link code: the short secret a new device shows, and
// that the user types on a device holding the account key. The new device
// posts its keys to the node with a tag made from the code; the approver
// checks the tag, so a node that invents or alters a request cannot get its
// own keys approved without the 60-bit secret, which never leaves the two
// devices and the user's eyes.

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

const (
	// LinkCodeBits is the size of a link code's secret.
	LinkCodeBits = 60

	// LinkCodeChars is the number of base32 characters of a link code.
	LinkCodeChars = LinkCodeBits / 5

	// LinkTagSize is the size of a link request's tag.
	LinkTagSize = sha256.Size

	// LinkRequestVersion is the version byte written by
	// LinkRequest.MarshalBinary.
	LinkRequestVersion = 1

	// MaxLinkRequestSize is the longest encoded link request.
	MaxLinkRequestSize = 1 + 1 + MaxAddressLen + 1 + MaxDeviceNameLen + IdentityKeySize + HPKEPublicKeySize
)

// linkInfo is the HKDF info of the tag key.
const linkInfo = "qpc/1 link"

// LinkCode is a 60-bit secret shared by a new device and the device that
// approves it. Its text form is 12 Crockford base32 characters in three
// groups of four, "7KQ4-M2XD-9RTA"; the zero value is a valid (but
// guessable) code, so make codes with NewLinkCode.
type LinkCode struct {
	v uint64 // low 60 bits
}

// NewLinkCode makes a random link code.
func NewLinkCode() (LinkCode, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return LinkCode{}, fmt.Errorf("link code: %w", err)
	}
	return LinkCode{v: binary.BigEndian.Uint64(b[:]) >> (64 - LinkCodeBits)}, nil
}

// String returns the code as "XXXX-XXXX-XXXX".
func (c LinkCode) String() string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], c.v<<(64-LinkCodeBits))
	s := base32Encode(b[:], LinkCodeChars)
	return string(s[0:4]) + "-" + string(s[4:8]) + "-" + string(s[8:12])
}

// ParseLinkCode reads a code as String writes it. Case does not matter,
// dashes and spaces are ignored anywhere, and I, L and O are read as 1, 1
// and 0. It returns ErrBadLinkCode saying which character or what length
// was wrong.
func ParseLinkCode(s string) (LinkCode, error) {
	sym, err := base32Symbols(s, ErrBadLinkCode, isCodeSeparator)
	if err != nil {
		return LinkCode{}, err
	}
	if len(sym) != LinkCodeChars {
		return LinkCode{}, fmt.Errorf("%w: %d characters, want %d", ErrBadLinkCode, len(sym), LinkCodeChars)
	}
	var v uint64
	for _, x := range sym {
		v = v<<5 | uint64(x)
	}
	return LinkCode{v: v}, nil
}

// key derives the tag key: HKDF-SHA256 (RFC 5869) with the secret as 8
// bytes big endian (the top 4 bits zero), no salt, info "qpc/1 link", 32
// bytes. One output block is all it takes, so it is written out here rather
// than through crypto/hkdf, whose error return could only be ignored; the
// tests hold it to crypto/hkdf.
func (c LinkCode) key() []byte {
	var secret [8]byte
	binary.BigEndian.PutUint64(secret[:], c.v)
	extract := hmac.New(sha256.New, make([]byte, sha256.Size)) // no salt = HashLen zeros
	extract.Write(secret[:])
	expand := hmac.New(sha256.New, extract.Sum(nil))
	expand.Write([]byte(linkInfo))
	expand.Write([]byte{1})
	return expand.Sum(nil)
}

// Tag returns HMAC-SHA256 of req (a LinkRequest's encoding) under the key
// derived from c.
func (c LinkCode) Tag(req []byte) []byte {
	m := hmac.New(sha256.New, c.key())
	m.Write(req)
	return m.Sum(nil)
}

// Check compares tag with c.Tag(req) in constant time and returns
// ErrBadLinkTag if they differ.
func (c LinkCode) Check(req, tag []byte) error {
	if !hmac.Equal(c.Tag(req), tag) {
		return ErrBadLinkTag
	}
	return nil
}

// LinkRequest is what a new device posts to its node to be linked: the
// public fields of its future DeviceCert, unsigned (only the account key
// signs them, once the user approved the code).
//
// MarshalBinary encodes it as:
//
//	size      field
//	1         version (LinkRequestVersion = 1)
//	1         len(address)
//	n         address (CheckAddress)
//	1         len(name)
//	m         device name (CheckDeviceName)
//	32        device Ed25519 identity public key
//	1216      device X-Wing public key
type LinkRequest struct {
	// Address is the account the device asks to join.
	Address string
	// Name is the device name the user chose on the new device.
	Name string
	// IdentityKey is the new device's Ed25519 identity public key.
	IdentityKey ed25519.PublicKey
	// HPKEKey is the new device's X-Wing public key.
	HPKEKey []byte
}

// ID returns the device id the new device will have.
func (r *LinkRequest) ID() DeviceID { return DeviceIDOf(r.IdentityKey) }

// MarshalBinary checks r and encodes it in the layout of the LinkRequest
// doc.
func (r *LinkRequest) MarshalBinary() ([]byte, error) {
	if err := CheckAddress(r.Address); err != nil {
		return nil, err
	}
	if err := CheckDeviceName(r.Name); err != nil {
		return nil, err
	}
	if len(r.IdentityKey) != IdentityKeySize {
		return nil, fmt.Errorf("%w: device identity key is %d bytes", ErrMalformedKeys, len(r.IdentityKey))
	}
	if len(r.HPKEKey) != HPKEPublicKeySize {
		return nil, fmt.Errorf("%w: device HPKE key is %d bytes", ErrMalformedKeys, len(r.HPKEKey))
	}
	b := make([]byte, 0, MaxLinkRequestSize)
	b = append(b, LinkRequestVersion, byte(len(r.Address)))
	b = append(b, r.Address...)
	b = append(b, byte(len(r.Name)))
	b = append(b, r.Name...)
	b = append(b, r.IdentityKey...)
	b = append(b, r.HPKEKey...)
	return b, nil
}

// UnmarshalLinkRequest decodes the output of LinkRequest.MarshalBinary,
// checking the address, the name and that the X-Wing key parses. It returns
// ErrMalformedKeys, ErrTooOld, ErrUnsupportedVersion, ErrBadAddress or
// ErrBadDeviceName.
func UnmarshalLinkRequest(b []byte) (*LinkRequest, error) {
	if err := checkVersion(b, LinkRequestVersion); err != nil {
		return nil, fmt.Errorf("link request: %w", err)
	}
	rd := reader{b: b[1:], what: "link request"}
	r := &LinkRequest{
		Address:     string(rd.bytes8()),
		Name:        string(rd.bytes8()),
		IdentityKey: ed25519.PublicKey(rd.fixed(IdentityKeySize)),
		HPKEKey:     rd.fixed(HPKEPublicKeySize),
	}
	if err := rd.end(); err != nil {
		return nil, err
	}
	if err := CheckAddress(r.Address); err != nil {
		return nil, fmt.Errorf("link request: %w", err)
	}
	if err := CheckDeviceName(r.Name); err != nil {
		return nil, fmt.Errorf("link request: %w", err)
	}
	if _, err := HPKEKEM().NewPublicKey(r.HPKEKey); err != nil {
		return nil, fmt.Errorf("%w: link request HPKE key: %v", ErrMalformedKeys, err)
	}
	return r, nil
}
