package ca

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"time"
)

// Info is what a person needs to know about one certificate to tell
// whether it is the right one.
type Info struct {
	// Subject and Issuer are distinguished names in RFC 2253 form, such as
	// "CN=node1.example.mesh".
	Subject string
	Issuer  string
	// DNSNames are the certificate's DNS subject alternative names.
	DNSNames  []string
	NotBefore time.Time
	NotAfter  time.Time
	// IsCA says whether the certificate may sign other certificates.
	IsCA bool
	// Fingerprint is the lowercase hex SHA-256 of the certificate's DER,
	// the value nodes pin and deny lists name.
	Fingerprint string
}

// pemBegin starts every PEM block.
var pemBegin = []byte("-----BEGIN ")

// Describe returns an Info for every CERTIFICATE block of a PEM file, in
// order. Other blocks (a key kept in the same file) and text around the
// blocks (as openssl writes it) are skipped. A file with no certificate
// gives ErrNoCertificate; a block that does not decode, or a certificate
// that does not parse, gives ErrMalformed naming the block.
func Describe(pemData []byte) ([]Info, error) {
	blocks, err := certBlocks(pemData)
	if err != nil {
		return nil, err
	}
	infos := make([]Info, 0, len(blocks))
	for i, der := range blocks {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d: %v", ErrMalformed, i+1, err)
		}
		infos = append(infos, Info{
			Subject:     c.Subject.String(),
			Issuer:      c.Issuer.String(),
			DNSNames:    c.DNSNames,
			NotBefore:   c.NotBefore,
			NotAfter:    c.NotAfter,
			IsCA:        c.IsCA,
			Fingerprint: fingerprint(der),
		})
	}
	return infos, nil
}

// certBlocks returns the DER of every CERTIFICATE block in data, or
// ErrNoCertificate if there is none.
//
// pem.Decode silently skips a block it cannot decode and goes on to the
// next, and stops without a word at a block that is cut off. Either would
// hide a broken certificate in a file that also holds good ones, so every
// "-----BEGIN " line must start a block that decodes.
func certBlocks(data []byte) ([][]byte, error) {
	var ders [][]byte
	rest := data
	for n := 1; ; n++ {
		start := bytes.Index(rest, pemBegin)
		if start < 0 {
			break
		}
		block, after := pem.Decode(rest)
		consumed := rest[:len(rest)-len(after)]
		if block == nil || bytes.Count(consumed, pemBegin) != 1 {
			return nil, fmt.Errorf("%w: PEM block %d does not decode", ErrMalformed, n)
		}
		if block.Type == "CERTIFICATE" {
			ders = append(ders, block.Bytes)
		}
		rest = after
	}
	if len(ders) == 0 {
		return nil, ErrNoCertificate
	}
	return ders, nil
}
