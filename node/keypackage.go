package node

import (
	"encoding/binary"
	"fmt"

	"github.com/quicprochat/qpc/protocol"
)

// SuiteClassic is MLS cipher suite 1 (RFC 9420), the suite of every
// KeyPackage uploaded before suites were told apart. A fetch or count that
// names no suite (0, what older clients and nodes send) means this one.
const SuiteClassic uint16 = 0x0001

// SuitePQ is the post-quantum MLS cipher suite of crypto/mls,
// MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519 on its private-use code
// point.
const SuitePQ uint16 = 0xF002

// The node keeps key packages of the suites clients use and no others:
// each suite has its own bound of key packages per user, so accepting any
// suite number would multiply what one account can store by 65,535.
func knownSuite(s uint16) bool { return s == SuiteClassic || s == SuitePQ }

// keyPackageHeader is the length of the start of an MLSMessage holding a
// KeyPackage that names its cipher suite: version, wire_format, then the
// KeyPackage's version and cipher_suite (RFC 9420 §6, §10), all uint16.
const keyPackageHeader = 8

// KeyPackageSuite reads the cipher suite of a KeyPackage as clients upload
// it (an MLSMessage of wire format mls_key_package, RFC 9420 §6): the node
// files KeyPackages by suite so that a client can take one of the suite it
// wants, without trusting anything but the package's own bytes, which the
// package's signature covers for whoever uses it. It checks only the
// header; the rest stays opaque to the node. A malformed header, or a
// suite the node does not keep, is ErrBadRequest.
func KeyPackageSuite(pkg []byte) (uint16, error) {
	if len(pkg) < keyPackageHeader {
		return 0, fmt.Errorf("%w: key package of %d bytes has no header", protocol.ErrBadRequest, len(pkg))
	}
	version := binary.BigEndian.Uint16(pkg[0:])
	wireFormat := binary.BigEndian.Uint16(pkg[2:])
	kpVersion := binary.BigEndian.Uint16(pkg[4:])
	suite := binary.BigEndian.Uint16(pkg[6:])
	switch {
	case version != 1 || kpVersion != 1:
		return 0, fmt.Errorf("%w: key package of MLS version %d/%d, want 1 (mls10)", protocol.ErrBadRequest, version, kpVersion)
	case wireFormat != 5:
		return 0, fmt.Errorf("%w: message of wire format %d is not a key package (5)", protocol.ErrBadRequest, wireFormat)
	case !knownSuite(suite):
		return 0, fmt.Errorf("%w: key package of cipher suite 0x%04x, which this node does not keep (0x%04x, 0x%04x)", protocol.ErrBadRequest, suite, SuiteClassic, SuitePQ)
	}
	return suite, nil
}

// fetchSuite maps the suite a fetch names to the one it means: 0 (a caller
// that names none) is SuiteClassic.
func fetchSuite(suite uint16) uint16 {
	if suite == 0 {
		return SuiteClassic
	}
	return suite
}
