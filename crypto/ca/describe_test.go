package ca_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/ca"
)

func TestDescribeListsEveryCertificateInOrder(t *testing.T) {
	a, _ := initCA(t)
	nb := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	na := nb.Add(24 * time.Hour)
	crt, key, err := a.Issue(ca.IssueOptions{Domain: "node1.example.mesh", NotBefore: nb, NotAfter: na})
	if err != nil {
		t.Fatal(err)
	}
	// A chain file as people make them: text around, a key in between.
	file := "Certificate:\n    Data: (openssl text)\n" + string(crt) + string(key) + "trailing words\n" + string(a.CertPEM)
	infos, err := ca.Describe([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 {
		t.Fatalf("%d certificates, want 2", len(infos))
	}
	leaf, root := infos[0], infos[1]
	if leaf.Subject != "CN=node1.example.mesh" || leaf.Issuer != "CN="+ca.DefaultName || leaf.IsCA {
		t.Errorf("leaf %+v", leaf)
	}
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "node1.example.mesh" {
		t.Errorf("leaf DNS names %q", leaf.DNSNames)
	}
	if !leaf.NotBefore.Equal(nb) || !leaf.NotAfter.Equal(na) {
		t.Errorf("leaf valid %s to %s, want %s to %s", leaf.NotBefore, leaf.NotAfter, nb, na)
	}
	block, _ := pem.Decode(crt)
	sum := sha256.Sum256(block.Bytes)
	if leaf.Fingerprint != hex.EncodeToString(sum[:]) {
		t.Errorf("leaf fingerprint %s, want %x", leaf.Fingerprint, sum)
	}
	if root.Subject != "CN="+ca.DefaultName || !root.IsCA || root.Fingerprint != a.Fingerprint() || len(root.DNSNames) != 0 {
		t.Errorf("CA %+v, fingerprint want %s", root, a.Fingerprint())
	}
}

func TestDescribeRefusesFilesWithoutGoodCertificates(t *testing.T) {
	a, _ := initCA(t)
	good := string(a.CertPEM)
	_, key, _ := a.Issue(ca.IssueOptions{Domain: "n.mesh"})
	badDER := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")}))
	tests := []struct {
		name string
		file string
		want error
	}{
		{"an empty file", "", ca.ErrNoCertificate},
		{"a file of text", "hello\n", ca.ErrNoCertificate},
		{"a key alone", string(key), ca.ErrNoCertificate},
		{"a certificate block that is not DER", good + badDER, ca.ErrMalformed},
		{"a block with broken base64 before a good one", "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n" + good, ca.ErrMalformed},
		{"a good certificate then a truncated one", good + good[:len(good)/2], ca.ErrMalformed},
		{"a block without its end line", "-----BEGIN CERTIFICATE-----\nMIIB\n", ca.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			infos, err := ca.Describe([]byte(tt.file))
			if !errors.Is(err, tt.want) || infos != nil {
				t.Errorf("got %d infos, error %v; want %v", len(infos), err, tt.want)
			}
		})
	}
}

// FuzzDescribe feeds arbitrary files to the PEM reader: it must not panic,
// and what it accepts must be certificates described in full.
func FuzzDescribe(f *testing.F) {
	a, err := ca.New("", time.Hour, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	crt, key, err := a.Issue(ca.IssueOptions{Domain: "node1.example.mesh", NotAfter: a.Cert.NotAfter})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(a.CertPEM)
	f.Add(append(append(append([]byte{}, crt...), key...), a.CertPEM...))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		infos, err := ca.Describe(data)
		if err != nil {
			if infos != nil {
				t.Error("infos with an error")
			}
			if !errors.Is(err, ca.ErrNoCertificate) && !errors.Is(err, ca.ErrMalformed) {
				t.Errorf("error outside the package's: %v", err)
			}
			return
		}
		if len(infos) == 0 {
			t.Error("no error and no certificate")
		}
		if n := strings.Count(string(data), "-----BEGIN "); len(infos) > n {
			t.Errorf("%d certificates from %d PEM blocks", len(infos), n)
		}
		for _, in := range infos {
			if len(in.Fingerprint) != 64 || strings.ToLower(in.Fingerprint) != in.Fingerprint {
				t.Errorf("fingerprint %q is not 64 lowercase hex digits", in.Fingerprint)
			}
		}
	})
}
