package transport

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fp = "c239e42af0d7e038fcd064f3181dfb9b5914aacda6c2beff87b10b5f41f8290d"

func TestParseFingerprint(t *testing.T) {
	colons := strings.ToUpper(fp[:2])
	for i := 2; i < len(fp); i += 2 {
		colons += ":" + strings.ToUpper(fp[i:i+2])
	}
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"lowercase hex is accepted", fp, true},
		{"openssl's colon-separated uppercase form is accepted", colons, true},
		{"surrounding space is ignored", " " + fp + "\n", true},
		{"a short value is refused", fp[:62], false},
		{"a long value is refused", fp + "00", false},
		{"non-hex characters are refused", "zz" + fp[2:], false},
		{"an empty value is refused", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFingerprint(tt.in)
			if tt.ok {
				if err != nil || got != fp {
					t.Errorf("ParseFingerprint(%q) = %q, %v; want %q", tt.in, got, err, fp)
				}
				return
			}
			if !errors.Is(err, ErrBadFingerprint) {
				t.Errorf("err = %v, want ErrBadFingerprint", err)
			}
		})
	}
}

func TestClientTLSRefusesToTrustNothing(t *testing.T) {
	if _, err := ClientTLS("h", Trust{}); !errors.Is(err, ErrNoTrust) {
		t.Errorf("err = %v, want ErrNoTrust", err)
	}
}

func TestClientTLSRefusesABadCAFile(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(empty, []byte("no certificates here\n"), 0o600)
	if _, err := ClientTLS("h", Trust{CAFile: empty}); !errors.Is(err, ErrNoCertificates) {
		t.Errorf("err = %v, want ErrNoCertificates", err)
	}
	if _, err := ClientTLS("h", Trust{CAFile: empty + ".missing"}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want a not-exist error", err)
	}
}

func TestClientTLSIsTLS13WithTheClientALPN(t *testing.T) {
	conf, err := ClientTLS("h", Trust{Pin: fp})
	if err != nil {
		t.Fatal(err)
	}
	if conf.MinVersion != 0x0304 || len(conf.NextProtos) != 1 || conf.NextProtos[0] != ALPNClient {
		t.Errorf("MinVersion %x NextProtos %v", conf.MinVersion, conf.NextProtos)
	}
}
