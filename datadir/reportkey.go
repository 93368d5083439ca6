package datadir

import (
	"crypto/hpke"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/quicprochat/qpc/crypto/report"
	"github.com/quicprochat/qpc/internal/atomicfile"
)

// ReportKeyFile holds the private half of the node's report key: the
// X-Wing key that users seal reports to the admin with (crypto/report).
// It is a PEM block of type reportKeyPEM holding the key's 32-byte seed,
// mode 0600.
const ReportKeyFile = "report.key"

const reportKeyPEM = "QPC REPORT KEY"

// ErrBadReportKey means report.key does not hold a report key.
var ErrBadReportKey = errors.New("not a qpc report key file")

// ReportKey reads report.key, or makes and writes one on first start;
// created reports which happened. A file that cannot be read as a report
// key is an error and left untouched: replacing it would lose the reports
// sealed to it.
func (d *Dir) ReportKey() (key hpke.PrivateKey, created bool, err error) {
	path := d.Join(ReportKeyFile)
	data, err := os.ReadFile(path)
	if err == nil {
		key, err := ParseReportKey(data)
		if err != nil {
			return nil, false, fmt.Errorf("report key %s: %w", path, err)
		}
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("report key: %w", err)
	}
	if key, err = report.GenerateKey(); err != nil {
		return nil, false, fmt.Errorf("report key: %w", err)
	}
	seed, err := key.Bytes()
	if err != nil {
		return nil, false, fmt.Errorf("report key: %w", err)
	}
	if err := atomicfile.Write(path, pem.EncodeToMemory(&pem.Block{Type: reportKeyPEM, Bytes: seed}), 0o600); err != nil {
		return nil, false, err
	}
	return key, true, nil
}

// OpenReportKey reads report.key of the data directory at path, for qpc
// admin reports; it never creates one.
func OpenReportKey(path string) (hpke.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("report key: %w", err)
	}
	key, err := ParseReportKey(data)
	if err != nil {
		return nil, fmt.Errorf("report key %s: %w", path, err)
	}
	return key, nil
}

// ParseReportKey reads what ReportKey writes. Failures wrap
// ErrBadReportKey.
func ParseReportKey(data []byte) (hpke.PrivateKey, error) {
	b, rest := pem.Decode(data)
	if b == nil || b.Type != reportKeyPEM || len(b.Headers) != 0 {
		return nil, fmt.Errorf("%w: no %q PEM block", ErrBadReportKey, reportKeyPEM)
	}
	if len(rest) != 0 && len(trimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: data after the key", ErrBadReportKey)
	}
	key, err := report.PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadReportKey, err)
	}
	return key, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == '\n' || b[0] == '\r' || b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}
