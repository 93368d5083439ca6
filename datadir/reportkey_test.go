package datadir

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

func TestReportKeyIsCreatedOncePrivateAndKept(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k1, created, err := d.ReportKey()
	if err != nil || !created {
		t.Fatalf("first start: created %v, %v", created, err)
	}
	if m := mode(t, d.Join(ReportKeyFile)); m != 0o600 {
		t.Fatalf("report.key mode %o, want 600", m)
	}
	k2, created, err := d.ReportKey()
	if err != nil || created {
		t.Fatalf("restart: created %v, %v", created, err)
	}
	if !bytes.Equal(k1.PublicKey().Bytes(), k2.PublicKey().Bytes()) {
		t.Fatal("the report key changed across a restart")
	}
	k3, err := OpenReportKey(d.Join(ReportKeyFile))
	if err != nil || !bytes.Equal(k1.PublicKey().Bytes(), k3.PublicKey().Bytes()) {
		t.Fatalf("OpenReportKey: %v", err)
	}
}

func TestABadReportKeyFileIsRefusedAndLeftAlone(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bad := []byte("-----BEGIN QPC REPORT KEY-----\nAAAA\n-----END QPC REPORT KEY-----\n")
	if err := os.WriteFile(d.Join(ReportKeyFile), bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.ReportKey(); !errors.Is(err, ErrBadReportKey) {
		t.Fatalf("a 3-byte key: %v, want ErrBadReportKey", err)
	}
	if got, _ := os.ReadFile(d.Join(ReportKeyFile)); !bytes.Equal(got, bad) {
		t.Fatal("the bad file was replaced")
	}
	if _, err := OpenReportKey(d.Join("missing")); err == nil {
		t.Fatal("OpenReportKey made a key")
	}
}

func FuzzParseReportKey(f *testing.F) {
	d, err := Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	if _, _, err := d.ReportKey(); err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(d.Join(ReportKeyFile))
	f.Add(good)
	f.Add([]byte("-----BEGIN QPC REPORT KEY-----\n-----END QPC REPORT KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParseReportKey(b); err != nil && !errors.Is(err, ErrBadReportKey) {
			t.Fatalf("untyped error %v", err)
		}
	})
}
