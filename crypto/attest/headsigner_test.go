package attest

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"
)

func TestCheckHeadSigner(t *testing.T) {
	community, other := newCA(t), newCA(t)
	d := issue(t, community, "d.mesh")
	evil := issue(t, community, "evil.mesh")
	outsider := issue(t, other, "d.mesh")
	roots := x509.NewCertPool()
	roots.AddCert(community.Cert)
	now := time.Now()

	pub, err := CheckHeadSigner(d.der, roots, now, "d.mesh")
	if err != nil {
		t.Fatalf("the domain's own certificate: %v", err)
	}
	if !pub.Equal(d.key.Public()) {
		t.Fatal("the key returned is not the certificate's")
	}
	for _, tc := range []struct {
		name   string
		cert   []byte
		roots  *x509.CertPool
		now    time.Time
		domain string
		want   error
	}{
		{"another domain's certificate is refused", evil.der, roots, now, "d.mesh", ErrWrongSigner},
		{"a certificate of another CA is refused", outsider.der, roots, now, "d.mesh", ErrUntrusted},
		{"no community CA refuses", d.der, nil, now, "d.mesh", ErrUntrusted},
		{"an expired certificate is refused", d.der, roots, now.Add(48 * time.Hour), "d.mesh", ErrUntrusted},
		{"garbage is malformed", []byte{1, 2, 3}, roots, now, "d.mesh", ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := CheckHeadSigner(tc.cert, tc.roots, tc.now, tc.domain); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
