package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Bar reports the progress of one job to a writer. Its methods may be
// called from any goroutine.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	label    string
	tty      bool
	bytes    bool
	start    time.Time
	last     time.Time
	lastLine time.Time
	drawn    bool
	open     bool // a terminal line is drawn and not ended
	now      func() time.Time
}

// Every is how often a bar is redrawn on a terminal; PlainEvery how often
// a plain line is written otherwise.
const (
	Every      = 100 * time.Millisecond
	PlainEvery = 2 * time.Second
)

// New returns a bar on w labelled label (such as "qpc send: photo.jpg");
// counts are bytes when bytes is set (shown with units, a rate and the
// time left), items otherwise. It draws in place when w is a terminal.
func New(w io.Writer, label string, bytes bool) *Bar {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &Bar{w: w, label: label, tty: tty, bytes: bytes, start: time.Now(), now: time.Now}
}

// Terminal reports whether the bar draws in place.
func (b *Bar) Terminal() bool { return b.tty }

// Update reports done of total; rate (per second) and eta are shown when
// more than 0. Calls closer together than Every (on a terminal) or
// PlainEvery (otherwise) draw nothing, but the last one (done == total)
// always draws.
func (b *Bar) Update(done, total int64, rate float64, eta time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	every := PlainEvery
	if b.tty {
		every = Every
	}
	if done < total && b.drawn && now.Sub(b.last) < every {
		return
	}
	b.last, b.drawn = now, true
	line := Line(done, total, rate, eta, b.bytes)
	if b.tty {
		fmt.Fprintf(b.w, "\r%s %s", b.label, line)
		b.open = true
		if done >= total {
			fmt.Fprintln(b.w)
			b.open = false
		}
		return
	}
	fmt.Fprintf(b.w, "%s %s\n", b.label, line)
}

// Line is the text of a bar: [####....] 42% 8.4 MiB/20.0 MiB 3.1 MiB/s 4s
// left (for items: [####....] 3/10).
func Line(done, total int64, rate float64, eta time.Duration, bytes bool) string {
	const width = 30
	filled, pct := width, 100
	if total > 0 {
		d := min(max(done, 0), total)
		filled = int(d * width / total)
		pct = int(d * 100 / total)
	}
	bar := "[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "]"
	if !bytes {
		return fmt.Sprintf("%s %d/%d", bar, done, total)
	}
	s := fmt.Sprintf("%s %3d%% %s/%s", bar, pct, Size(done), Size(total))
	if rate > 0 {
		s += fmt.Sprintf(" %s/s", Size(int64(rate)))
	}
	if eta > 0 && done < total {
		s += fmt.Sprintf(" %s left", eta.Round(time.Second))
	}
	return s
}

// Size writes n bytes with a binary unit.
func Size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// Done ends a line drawn in place that the job left unfinished (it
// failed), so that what is printed next starts on a line of its own.
func (b *Bar) Done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open {
		fmt.Fprintln(b.w)
		b.open = false
	}
}
