package app

import (
	"crypto/hpke"
	"path/filepath"

	"github.com/quicprochat/qpc/datadir"
	"github.com/quicprochat/qpc/node/admin"
)

var _ admin.ReportSource = adminBackend{}

// SealedReports implements admin.ReportSource.
func (b adminBackend) SealedReports() ([]admin.SealedReport, error) {
	kept, err := b.n.svc.Reports()
	if err != nil {
		return nil, err
	}
	out := make([]admin.SealedReport, 0, len(kept))
	for _, r := range kept {
		out = append(out, admin.SealedReport{Received: r.Received, Account: r.Account + "@" + b.n.cfg.Domain, Sealed: r.Sealed})
	}
	return out, nil
}

// ReportKey implements admin.ReportSource: the key file in the data
// directory, read at each call.
func (b adminBackend) ReportKey() (hpke.PrivateKey, error) {
	return datadir.OpenReportKey(filepath.Join(b.n.cfg.DataDir, datadir.ReportKeyFile))
}
