package app

import (
	"log/slog"

	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/datadir"
)

// loadReportKey returns the public half of the node's report key, made in
// the data directory on first start (datadir.ReportKey): users seal their
// reports to it, and qpc admin reports opens them with the private half.
func loadReportKey(cfg config.Node, log *slog.Logger) ([]byte, error) {
	dir, err := datadir.Open(cfg.DataDir)
	if err != nil {
		return nil, &config.FlagError{Flag: "data-dir", Err: err}
	}
	key, created, err := dir.ReportKey()
	if err != nil {
		return nil, err
	}
	if created {
		log.Info("created the report key; qpc admin reports opens reports with it", "file", dir.Join(datadir.ReportKeyFile))
	}
	return key.PublicKey().Bytes(), nil
}
