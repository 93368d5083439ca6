package attest

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// Version is the version of the statements this package writes.
const Version = 1

// Bounds and windows.
const (
	// MaxCert bounds the certificate a statement carries; a community
	// CA's Ed25519 node certificate takes about 400 bytes.
	MaxCert = 4096
	// AnswerMaxAge is how old a key answer may be. Long enough for a
	// lookup that crosses the mesh and waits on rate limits, short
	// enough that an answer replayed after a user changed keys soon
	// stops working.
	AnswerMaxAge = 5 * time.Minute
	// AnswerMaxSkew is how far in the future a statement may be dated,
	// for routers whose clocks differ a little.
	AnswerMaxSkew = 2 * time.Minute
	// LinkMaxValidity bounds a link statement's lifetime: a neighbour
	// whose link went down may keep advertising the domain at one hop
	// for at most this long.
	LinkMaxValidity = 15 * time.Minute
)

const (
	answerContext = "qpc key answer v1\x00"
	// answerContextV2 is the context of the statement over keys with an
	// account key or a device list: it covers both, so that no node on the
	// path can swap or strip them (stripped, the keys need a v1
	// statement, which the home node did not sign).
	answerContextV2 = "qpc key answer v2\x00"
	linkContext     = "qpc link statement v1\x00"
	sigLen          = ed25519.SignatureSize
	answerHeader    = 1 + 8 + sigLen + 2
	maxField        = 1<<16 - 1
	maxDomain       = 253
)

// Keys are the published keys of one user, as a lookup answers them.
type Keys struct {
	// Address is "user@domain", lowercase.
	Address     string
	IdentityKey []byte
	HPKEKey     []byte
	// Signature is the user's own signature over their keys.
	Signature []byte
	// Published is when the user's node accepted the keys.
	Published time.Time
	// AccountKey and DeviceList are the account's key and signed device
	// list (crypto/identity), empty for an account from before devices.
	// When either is set the answer's statement is version 2, which
	// covers both.
	AccountKey []byte
	DeviceList []byte
}

// Answer is a decoded key answer proof.
type Answer struct {
	Answered  time.Time
	Signature []byte
	// Cert is the signer's federation certificate, DER.
	Cert []byte
}

// answerStatement returns the bytes a key answer signs.
//
// Keys without an account key and device list are signed as they were
// before devices (context v1, four fields), so that answers between nodes
// of both versions about such accounts still verify; keys with either
// are signed under context v2 with both fields after the four.
func answerStatement(k Keys, answered time.Time) ([]byte, error) {
	fields := [][]byte{[]byte(k.Address), k.IdentityKey, k.HPKEKey, k.Signature}
	context := answerContext
	if len(k.AccountKey) > 0 || len(k.DeviceList) > 0 {
		fields = append(fields, k.AccountKey, k.DeviceList)
		context = answerContextV2
	}
	n := len(context) + 16
	for _, f := range fields {
		if len(f) > maxField {
			return nil, fmt.Errorf("%w: a key field of %d bytes", ErrMalformed, len(f))
		}
		n += 2 + len(f)
	}
	b := make([]byte, 0, n)
	b = append(b, context...)
	for _, f := range fields {
		b = binary.BigEndian.AppendUint16(b, uint16(len(f)))
		b = append(b, f...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(k.Published.UnixMilli()))
	b = binary.BigEndian.AppendUint64(b, uint64(answered.UnixMilli()))
	return b, nil
}

// SignAnswer signs k, answered now, with key, the private key of the
// federation certificate cert (DER), and returns the proof to send with
// the keys.
func SignAnswer(k Keys, answered time.Time, cert []byte, key crypto.Signer) ([]byte, error) {
	priv, err := edKey(key, cert)
	if err != nil {
		return nil, err
	}
	st, err := answerStatement(k, answered)
	if err != nil {
		return nil, err
	}
	return Answer{Answered: answered, Signature: ed25519.Sign(priv, st), Cert: cert}.Marshal(), nil
}

// Marshal encodes a in the layout of the package doc.
func (a Answer) Marshal() []byte {
	b := make([]byte, 0, answerHeader+len(a.Cert))
	b = append(b, Version)
	b = binary.BigEndian.AppendUint64(b, uint64(a.Answered.UnixMilli()))
	b = append(b, a.Signature...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(a.Cert)))
	return append(b, a.Cert...)
}

// ParseAnswer decodes a key answer proof. The slices it returns alias b.
func ParseAnswer(b []byte) (Answer, error) {
	if err := checkVersion(b); err != nil {
		return Answer{}, err
	}
	if len(b) < answerHeader {
		return Answer{}, fmt.Errorf("%w: key answer of %d bytes, at least %d", ErrMalformed, len(b), answerHeader)
	}
	a := Answer{
		Answered:  time.UnixMilli(int64(binary.BigEndian.Uint64(b[1:9]))),
		Signature: b[9 : 9+sigLen],
	}
	n := int(binary.BigEndian.Uint16(b[9+sigLen:]))
	if n == 0 || n > MaxCert {
		return Answer{}, fmt.Errorf("%w: certificate of %d bytes (1-%d)", ErrMalformed, n, MaxCert)
	}
	if len(b) != answerHeader+n {
		return Answer{}, fmt.Errorf("%w: key answer of %d bytes, its certificate length says %d", ErrMalformed, len(b), answerHeader+n)
	}
	a.Cert = b[answerHeader:]
	return a, nil
}

// VerifyAnswer checks that proof shows k to be what the node serving k's
// domain answered, at a time within AnswerMaxAge of now. It returns the
// domain the proof's certificate names (or "" if it did not get that far)
// and an error that wraps ErrForgedKeys and the reason.
func VerifyAnswer(k Keys, proof []byte, roots *x509.CertPool, now time.Time) (signer string, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w: %w", ErrForgedKeys, err)
		}
	}()
	if len(proof) == 0 {
		return "", ErrNoProof
	}
	a, err := ParseAnswer(proof)
	if err != nil {
		return "", err
	}
	_, domain, ok := strings.Cut(k.Address, "@")
	if !ok || domain == "" {
		return "", fmt.Errorf("%w: %q is not user@domain", ErrMalformed, k.Address)
	}
	signer, pub, err := checkCert(a.Cert, roots, now, domain)
	if err != nil {
		return signer, err
	}
	if err := fresh(a.Answered, a.Answered.Add(AnswerMaxAge), now); err != nil {
		return signer, err
	}
	st, err := answerStatement(k, a.Answered)
	if err != nil {
		return signer, err
	}
	if !ed25519.Verify(pub, st, a.Signature) {
		return signer, fmt.Errorf("%w over the keys of %s", ErrBadSignature, k.Address)
	}
	return signer, nil
}

// Link is a decoded link statement.
type Link struct {
	// Neighbour is the domain the signer says it is linked to.
	Neighbour       string
	Issued, Expires time.Time
	Signature       []byte
	// Cert is the signer's federation certificate, DER; the signer is
	// the domain it names.
	Cert []byte
}

// linkStatement returns the bytes a link statement signs.
func linkStatement(signer string, l Link) []byte {
	b := make([]byte, 0, len(linkContext)+2+len(signer)+len(l.Neighbour)+16)
	b = append(b, linkContext...)
	b = append(b, byte(len(signer)))
	b = append(b, signer...)
	b = append(b, byte(len(l.Neighbour)))
	b = append(b, l.Neighbour...)
	b = binary.BigEndian.AppendUint64(b, uint64(l.Issued.UnixMilli()))
	return binary.BigEndian.AppendUint64(b, uint64(l.Expires.UnixMilli()))
}

// SignLink states that signer, the node of the federation certificate
// cert (DER) whose private key is key, is linked to neighbour from issued
// for validity (at most LinkMaxValidity), and returns the encoded
// statement for neighbour to attach to its adverts.
func SignLink(neighbour string, issued time.Time, validity time.Duration, cert []byte, key crypto.Signer) ([]byte, error) {
	priv, err := edKey(key, cert)
	if err != nil {
		return nil, err
	}
	if validity <= 0 || validity > LinkMaxValidity {
		return nil, fmt.Errorf("%w: link statement valid for %s (at most %s)", ErrMalformed, validity, LinkMaxValidity)
	}
	if neighbour == "" || len(neighbour) > maxDomain {
		return nil, fmt.Errorf("%w: neighbour %q", ErrMalformed, neighbour)
	}
	c, err := x509.ParseCertificate(cert)
	if err != nil || len(c.DNSNames) != 1 {
		return nil, fmt.Errorf("%w: the signing certificate must name one domain", ErrMalformed)
	}
	l := Link{Neighbour: neighbour, Issued: issued, Expires: issued.Add(validity), Cert: cert}
	l.Signature = ed25519.Sign(priv, linkStatement(strings.ToLower(c.DNSNames[0]), l))
	return l.Marshal(), nil
}

// Marshal encodes l in the layout of the package doc.
func (l Link) Marshal() []byte {
	b := make([]byte, 0, 1+16+1+len(l.Neighbour)+sigLen+2+len(l.Cert))
	b = append(b, Version)
	b = binary.BigEndian.AppendUint64(b, uint64(l.Issued.UnixMilli()))
	b = binary.BigEndian.AppendUint64(b, uint64(l.Expires.UnixMilli()))
	b = append(b, byte(len(l.Neighbour)))
	b = append(b, l.Neighbour...)
	b = append(b, l.Signature...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(l.Cert)))
	return append(b, l.Cert...)
}

// ParseLink decodes a link statement. The slices it returns alias b.
func ParseLink(b []byte) (Link, error) {
	if err := checkVersion(b); err != nil {
		return Link{}, err
	}
	if len(b) < 18 {
		return Link{}, fmt.Errorf("%w: link statement of %d bytes", ErrMalformed, len(b))
	}
	l := Link{
		Issued:  time.UnixMilli(int64(binary.BigEndian.Uint64(b[1:9]))),
		Expires: time.UnixMilli(int64(binary.BigEndian.Uint64(b[9:17]))),
	}
	m := int(b[17])
	if m == 0 {
		return Link{}, fmt.Errorf("%w: empty neighbour", ErrMalformed)
	}
	rest := b[18:]
	if len(rest) < m+sigLen+2 {
		return Link{}, fmt.Errorf("%w: link statement of %d bytes cut short", ErrMalformed, len(b))
	}
	l.Neighbour = string(rest[:m])
	l.Signature = rest[m : m+sigLen]
	n := int(binary.BigEndian.Uint16(rest[m+sigLen:]))
	rest = rest[m+sigLen+2:]
	if n == 0 || n > MaxCert {
		return Link{}, fmt.Errorf("%w: certificate of %d bytes (1-%d)", ErrMalformed, n, MaxCert)
	}
	if len(rest) != n {
		return Link{}, fmt.Errorf("%w: %d certificate bytes, its length says %d", ErrMalformed, len(rest), n)
	}
	l.Cert = rest
	return l, nil
}

// VerifyLink checks that statement, attached by neighbour to its advert of
// domain at one hop, is domain's signed word that it is linked to
// neighbour now. The error wraps ErrBadLink and the reason.
func VerifyLink(statement []byte, domain, neighbour string, roots *x509.CertPool, now time.Time) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w: %s at one hop from %s: %w", ErrBadLink, domain, neighbour, err)
		}
	}()
	if len(statement) == 0 {
		return ErrNoProof
	}
	l, err := ParseLink(statement)
	if err != nil {
		return err
	}
	if l.Neighbour != neighbour {
		return fmt.Errorf("%w: %q", ErrWrongNeighbour, l.Neighbour)
	}
	if l.Expires.Sub(l.Issued) > LinkMaxValidity || l.Expires.Before(l.Issued) {
		return fmt.Errorf("%w: valid from %s to %s, longer than %s", ErrStale, l.Issued.UTC(), l.Expires.UTC(), LinkMaxValidity)
	}
	signer, pub, err := checkCert(l.Cert, roots, now, domain)
	if err != nil {
		return err
	}
	if err := fresh(l.Issued, l.Expires, now); err != nil {
		return err
	}
	if !ed25519.Verify(pub, linkStatement(signer, l), l.Signature) {
		return ErrBadSignature
	}
	return nil
}

// checkVersion refuses empty input and versions other than Version.
func checkVersion(b []byte) error {
	switch {
	case len(b) == 0:
		return fmt.Errorf("%w: empty", ErrMalformed)
	case b[0] == 0:
		return fmt.Errorf("%w: version 0", ErrTooOld)
	case b[0] != Version:
		return fmt.Errorf("%w: version %d, this node knows %d", ErrUnknownVersion, b[0], Version)
	}
	return nil
}

// checkCert parses der, chains it to roots at now, and checks that it
// names exactly domain and holds an Ed25519 key. It returns the domain
// the certificate names even when that is the wrong one, for the error
// message.
func checkCert(der []byte, roots *x509.CertPool, now time.Time, domain string) (string, ed25519.PublicKey, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return "", nil, fmt.Errorf("%w: certificate: %v", ErrMalformed, err)
	}
	signer := ""
	if len(c.DNSNames) == 1 {
		signer = strings.ToLower(c.DNSNames[0])
	}
	if roots == nil {
		return signer, nil, fmt.Errorf("%w: no community CA to check against", ErrUntrusted)
	}
	if _, err := c.Verify(x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return signer, nil, fmt.Errorf("%w: %v", ErrUntrusted, err)
	}
	if len(c.DNSNames) != 1 || signer != domain {
		return signer, nil, fmt.Errorf("%w: the certificate names %s, not %s", ErrWrongSigner, strings.Join(c.DNSNames, ", "), domain)
	}
	pub, ok := c.PublicKey.(ed25519.PublicKey)
	if !ok {
		return signer, nil, fmt.Errorf("%w: the certificate of %s has no Ed25519 key", ErrUntrusted, signer)
	}
	return signer, pub, nil
}

// fresh checks that now lies in [from-AnswerMaxSkew, until).
func fresh(from, until, now time.Time) error {
	if now.Before(from.Add(-AnswerMaxSkew)) {
		return fmt.Errorf("%w: dated %s, in the future", ErrStale, from.UTC().Format(time.RFC3339))
	}
	if !now.Before(until) {
		return fmt.Errorf("%w: valid until %s", ErrStale, until.UTC().Format(time.RFC3339))
	}
	return nil
}

// edKey returns key as an Ed25519 private key that belongs to cert.
func edKey(key crypto.Signer, cert []byte) (ed25519.PrivateKey, error) {
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: the federation key is not Ed25519", ErrMalformed)
	}
	c, err := x509.ParseCertificate(cert)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %v", ErrMalformed, err)
	}
	pub, ok := c.PublicKey.(ed25519.PublicKey)
	if !ok || !bytes.Equal(pub, priv.Public().(ed25519.PublicKey)) {
		return nil, fmt.Errorf("%w: the key does not belong to the certificate", ErrMalformed)
	}
	return priv, nil
}
