package files

import (
	"sync"
	"time"
)

// Progress is how far a transfer is, for a UI to draw.
type Progress struct {
	// Done and Total are bytes of the file (plaintext) transferred and
	// in all; Done includes what an earlier, resumed attempt moved.
	Done, Total int64
	// Rate is bytes per second moved by this attempt.
	Rate float64
	// ETA is the time left at Rate; 0 when unknown.
	ETA time.Duration
}

// meter counts a transfer's bytes and reports them.
type meter struct {
	mu      sync.Mutex
	start   time.Time
	done    int64
	base    int64 // done when this attempt started
	total   int64
	report  func(Progress)
	lastRep time.Time
}

func newMeter(total, already int64, report func(Progress)) *meter {
	return &meter{start: time.Now(), done: already, base: already, total: total, report: report}
}

// add counts n more bytes and reports, at most every 100 ms and at the end.
func (m *meter) add(n int64) {
	if m.report == nil {
		return
	}
	m.mu.Lock()
	m.done += n
	now := time.Now()
	if now.Sub(m.lastRep) < 100*time.Millisecond && m.done < m.total {
		m.mu.Unlock()
		return
	}
	m.lastRep = now
	p := Progress{Done: m.done, Total: m.total}
	if el := now.Sub(m.start).Seconds(); el > 0 {
		p.Rate = float64(m.done-m.base) / el
		if p.Rate > 0 {
			p.ETA = time.Duration(float64(m.total-m.done) / p.Rate * float64(time.Second))
		}
	}
	// Reported under the lock: a UI is called by one goroutine at a
	// time, and sees Done grow.
	m.report(p)
	m.mu.Unlock()
}
