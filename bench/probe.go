package bench

import (
	"context"
	"sync"
	"time"
)

// probe watches the node during a run: its CPU time and commit counters at
// the start, and its memory every sampleEvery, for the peaks.
type probe struct {
	o        Options
	start    ProcSample
	commits  CommitCounts
	began    time.Time
	mu       sync.Mutex
	rss      int64
	anon     int64
	err      error
	quit     chan struct{}
	finished chan struct{}
}

// sampleEvery is how often the probe reads the node's memory: often
// enough to see the peak of a run of a few seconds, rarely enough to cost
// nothing.
const sampleEvery = 50 * time.Millisecond

func startProbe(ctx context.Context, o Options) (*probe, error) {
	p := &probe{o: o, quit: make(chan struct{}), finished: make(chan struct{}), began: time.Now()}
	if o.NodeMetrics != "" {
		var err error
		if p.commits, err = ScrapeCommits(ctx, o.NodeMetrics); err != nil {
			return nil, err
		}
	}
	if o.NodePID == 0 {
		close(p.finished)
		return p, nil
	}
	var err error
	if p.start, err = ReadProc(o.NodePID); err != nil {
		return nil, err
	}
	p.rss, p.anon = p.start.RSS, p.start.RSSAnon
	go func() {
		defer close(p.finished)
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
			}
			s, err := ReadProc(o.NodePID)
			p.mu.Lock()
			if err != nil {
				p.err = err
			} else {
				p.rss, p.anon = max(p.rss, s.RSS), max(p.anon, s.RSSAnon)
			}
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return p, nil
}

// stop ends the sampling; it may be called more than once.
func (p *probe) stop() {
	select {
	case <-p.quit:
	default:
		close(p.quit)
	}
	<-p.finished
}

// finish fills res with what the node spent since the probe started.
func (p *probe) finish(ctx context.Context, res *Result, idle ProcSample) error {
	elapsed := time.Since(p.began)
	if p.o.NodeMetrics != "" {
		c, err := ScrapeCommits(ctx, p.o.NodeMetrics)
		if err != nil {
			return err
		}
		res.Commits = c.Commits - p.commits.Commits
		res.CommitsPerSec = res.Commits / elapsed.Seconds()
		if res.Commits > 0 {
			res.MsgsPerCommit = (c.Messages - p.commits.Messages) / res.Commits
			spent := c.Seconds - p.commits.Seconds
			res.CommitMean = time.Duration(spent / res.Commits * float64(time.Second))
			res.CommitBusy = spent / elapsed.Seconds()
		}
	}
	if p.o.NodePID == 0 {
		return nil
	}
	end, err := ReadProc(p.o.NodePID)
	p.stop()
	if err != nil {
		return err
	}
	if p.err != nil {
		return p.err
	}
	if res.Delivered > 0 {
		res.NodeCPUPerMsg = (end.CPU - p.start.CPU) / time.Duration(res.Delivered)
	}
	res.RSSIdle, res.AnonIdle = idle.RSS, idle.RSSAnon
	res.RSSPeak, res.AnonPeak = max(p.rss, end.RSS), max(p.anon, end.RSSAnon)
	return nil
}
