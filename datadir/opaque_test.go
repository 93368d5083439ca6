package datadir

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/internal/jsontree"
)

func TestOPAQUESecretsAreCreatedOnceAndKept(t *testing.T) {
	d, _ := Open(t.TempDir())
	cfg := opaque.DefaultConfig()
	s1, created, err := d.OPAQUESecrets(cfg)
	if err != nil || !created {
		t.Fatalf("first start: created=%v err=%v", created, err)
	}
	if m := mode(t, d.Join(OPAQUEFile)); m != 0o600 {
		t.Errorf("mode %o, want 600", m)
	}
	s2, created, err := d.OPAQUESecrets(cfg)
	if err != nil || created {
		t.Fatalf("second start: created=%v err=%v", created, err)
	}
	if !bytes.Equal(s1.PrivateKey, s2.PrivateKey) || !bytes.Equal(s1.OPRFSeed, s2.OPRFSeed) || !bytes.Equal(s1.FakeRecordSeed, s2.FakeRecordSeed) {
		t.Error("secrets changed across restarts: every user would be locked out")
	}
	if _, err := opaque.NewServer(cfg, s2); err != nil {
		t.Errorf("reloaded secrets do not make a server: %v", err)
	}
}

func TestBadOPAQUESecretsFilesAreRefusedAndLeftAlone(t *testing.T) {
	tests := []struct{ name, content, mention string }{
		{"garbage", "not json", "OPAQUE secrets"},
		{"a newer version", `{"version": 9, "suite": "ristretto255-SHA512"}`, "newer"},
		{"no version", `{"suite": "ristretto255-SHA512"}`, "no version"},
		{"another suite", `{"version": 1, "suite": "P256-SHA256"}`, "suite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := Open(t.TempDir())
			os.WriteFile(d.Join(OPAQUEFile), []byte(tt.content), 0o600)
			_, _, err := d.OPAQUESecrets(opaque.DefaultConfig())
			if err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.mention)
			}
			if got, _ := os.ReadFile(d.Join(OPAQUEFile)); string(got) != tt.content {
				t.Error("the file was overwritten")
			}
		})
	}
}

// FuzzOPAQUESecretsFile reads arbitrary file contents: never a panic, and
// whatever is accepted is what the file says.
func FuzzOPAQUESecretsFile(f *testing.F) {
	f.Add(`{"version": 1, "suite": "ristretto255-SHA512", "private_key": "AA==", "oprf_seed": "AA==", "fake_record_seed": "AA=="}`)
	f.Add(`{"version": 2}`)
	f.Fuzz(func(t *testing.T, content string) {
		d, _ := Open(t.TempDir())
		os.WriteFile(d.Join(OPAQUEFile), []byte(content), 0o600)
		if _, created, err := d.OPAQUESecrets(opaque.DefaultConfig()); err == nil && created {
			t.Error("an existing file was replaced")
		}
	})
}

// TestOPAQUESecretsWrittenByEarlierNodesAreRead reads a file as nodes have
// written it since the first release (encoding/json, indented), now that
// it is read with jsontree: a node that cannot read its file locks every
// user out.
func TestOPAQUESecretsWrittenByEarlierNodesAreRead(t *testing.T) {
	want := opaqueFile{
		Version: 1, Suite: opaque.Ristretto255SHA512.String(),
		PrivateKey: bytes.Repeat([]byte{0xfb}, 32), OPRFSeed: bytes.Repeat([]byte{0x3e}, 64), FakeRecordSeed: bytes.Repeat([]byte{0xff, 0}, 16),
	}
	written, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := Open(t.TempDir())
	if err := os.WriteFile(d.Join(OPAQUEFile), append(written, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	got, created, err := d.OPAQUESecrets(opaque.DefaultConfig())
	if err != nil || created {
		t.Fatalf("created=%v err=%v", created, err)
	}
	if !bytes.Equal(got.PrivateKey, want.PrivateKey) || !bytes.Equal(got.OPRFSeed, want.OPRFSeed) || !bytes.Equal(got.FakeRecordSeed, want.FakeRecordSeed) {
		t.Errorf("read %x/%x/%x from %s", got.PrivateKey, got.OPRFSeed, got.FakeRecordSeed, written)
	}
}

// TestOPAQUESecretsFileErrorsAreTyped checks that a malformed file and a
// member of the wrong type are told apart by their sentinels.
func TestOPAQUESecretsFileErrorsAreTyped(t *testing.T) {
	for _, tc := range []struct {
		content string
		want    error
	}{
		{"not json", jsontree.ErrSyntax},
		{`{"version": "1", "suite": "ristretto255-SHA512"}`, jsontree.ErrType},
		{`{"version": 1, "suite": "ristretto255-SHA512", "private_key": "not base64"}`, jsontree.ErrType},
	} {
		d, _ := Open(t.TempDir())
		os.WriteFile(d.Join(OPAQUEFile), []byte(tc.content), 0o600)
		if _, _, err := d.OPAQUESecrets(opaque.DefaultConfig()); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.content, err, tc.want)
		}
	}
}
