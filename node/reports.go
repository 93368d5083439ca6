package node

import (
	"bytes"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/crypto/report"
	"github.com/quicprochat/qpc/protocol"
)

// MaxReports is how many reports a node keeps: a new one beyond it drops
// the oldest, so that reports cannot fill a router's flash.
const MaxReports = 256

// Reports from one account: one a minute on average, five at once, so
// that reporting a burst of spam works and flooding the admin does not.
const (
	reportRate  = 1.0 / 60
	reportBurst = 5
)

// ErrNoReports means the node takes no reports (no report key or store).
var ErrNoReports = fmt.Errorf("%w: this node takes no reports", protocol.ErrBadRequest)

// Report is one report kept for the node's admin: sealed to the node's
// report key (crypto/report), so the node keeps it without reading it.
type Report struct {
	// ID numbers the reports in the order they came, from 1.
	ID uint64
	// Received is when the node took it.
	Received time.Time
	// Account is the local user who sent it, as the node's session says;
	// the sealed report names its reporter too, in the reporter's words.
	Account string
	// Sealed is the report as the client sealed it.
	Sealed []byte
}

// Reports keeps the reports to the admin; node/store implements it.
type Reports interface {
	// AddReport keeps r (its ID is the store's to give) and drops the
	// oldest reports beyond MaxReports, durably.
	AddReport(r Report) error
	// Reports returns the reports kept, oldest first.
	Reports() ([]Report, error)
}

// reportDesk is the service's part of reports: the store, the public key
// it announces and the per-account throttle.
type reportDesk struct {
	store Reports
	key   []byte
	limit *keyedBuckets
}

// publicKey returns the report key to announce, nil when the node takes
// no reports.
func (d *reportDesk) publicKey() []byte {
	if d.store == nil || len(d.key) == 0 {
		return nil
	}
	return bytes.Clone(d.key)
}

// Report keeps sealed, a report (crypto/report) from the logged-in
// account to the node's admin. The node checks only its version and size:
// it cannot open it.
func (c *Conn) Report(sealed []byte) error {
	user, err := c.user()
	if err != nil {
		return err
	}
	d := &c.svc.reports
	if d.publicKey() == nil {
		return ErrNoReports
	}
	if err := report.CheckSealed(sealed); err != nil {
		return fmt.Errorf("%w: %w", protocol.ErrBadRequest, err)
	}
	now := c.svc.now()
	if !d.limit.take(user, 1, now) {
		return protocol.ErrRateLimited
	}
	return d.store.AddReport(Report{Received: now, Account: user, Sealed: bytes.Clone(sealed)})
}

// Reports returns the reports kept for the admin, oldest first; nil when
// the node takes none.
func (s *Service) Reports() ([]Report, error) {
	if s.reports.store == nil {
		return nil, nil
	}
	return s.reports.store.Reports()
}
