package admin

import (
	"context"
	"crypto/hpke"
	"fmt"
	"strings"
	"time"

	"github.com/quicprochat/qpc/crypto/report"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// SealedReport is a report as the node keeps it (docs/blocking.md):
// sealed to the node's report key, with what the node itself knows.
type SealedReport struct {
	// Received is when the node took the report.
	Received time.Time
	// Account is the local account that sent it, user@domain, as the
	// node's session says.
	Account string
	// Sealed is the report (crypto/report).
	Sealed []byte
}

// ReportSource is what reports needs of the Backend: the reports kept and
// the private half of the report key they are sealed to. A Backend
// without it answers reports with ErrNotImplemented.
type ReportSource interface {
	// SealedReports returns the reports kept, oldest first.
	SealedReports() ([]SealedReport, error)
	// ReportKey reads the report key's private half (the file in the data
	// directory, datadir.ReportKeyFile).
	ReportKey() (hpke.PrivateKey, error)
}

// Reports implements AdminService.reports: every report kept, opened with
// the report key, newest first. The admin socket is as private as the key
// file (both the node's user's, on the node's machine), so the node opens
// them for the admin rather than hand out sealed bytes that LuCI's plugin
// could not read.
func (s *Server) Reports(ctx context.Context, call schemas.AdminService_reports) error {
	return reply(call.AllocResults, func() (any, error) {
		src, ok := s.b.(ReportSource)
		if !ok {
			return nil, ErrNotImplemented
		}
		kept, err := src.SealedReports()
		if err != nil {
			return nil, err
		}
		out := protocol.AdminReports{Reports: []protocol.AdminReport{}}
		if len(kept) == 0 {
			return out, nil
		}
		key, err := src.ReportKey()
		if err != nil {
			return nil, err
		}
		for i := len(kept) - 1; i >= 0; i-- {
			out.Reports = append(out.Reports, openReport(key, kept[i]))
		}
		return out, nil
	})
}

// openReport opens one kept report for the admin. The reporter is the
// account the node took the report from; a report that names another
// reporter, or does not open, says so in its note rather than vanish.
func openReport(key hpke.PrivateKey, k SealedReport) protocol.AdminReport {
	a := protocol.AdminReport{Time: k.Received.Unix(), Reporter: k.Account}
	r, err := report.Open(key, k.Sealed)
	if err != nil {
		a.Note = fmt.Sprintf("(this report does not open: %v)", err)
		return a
	}
	a.Sender, a.Message, a.Note = r.Sender, r.Text, r.Note
	if r.Reporter != k.Account {
		a.Note = strings.TrimSpace(a.Note + fmt.Sprintf(" (the report names %s as its reporter)", r.Reporter))
	}
	return a
}
