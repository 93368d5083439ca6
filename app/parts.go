package app

import (
	"context"
	"errors"
	"log/slog"

	"golang.org/x/sync/errgroup"
)

// ErrPartEnded says that a part of a node returned before it was told to
// stop: nothing failed loudly, but the node no longer does that part's
// job, so it stops rather than run on without it.
var ErrPartEnded = errors.New("returned before it was told to stop")

// PartError is the error of Node.Run when one of the node's parts failed;
// the node stopped because of it.
type PartError struct {
	Part string // the part that failed: "accept loop", "metrics", "federation", ...
	Err  error
}

// Error says which part failed and why.
func (e *PartError) Error() string { return e.Part + " stopped: " + e.Err.Error() }

// Unwrap returns the part's own error.
func (e *PartError) Unwrap() error { return e.Err }

// parts runs the long-lived parts of a node under one errgroup. Each part
// gets a context of its own rather than the group's: a node stops its
// parts one by one in a fixed order (discovery says goodbye before the
// listener stops, federation stops after the client connections), which
// one shared context cannot do. The first part to fail, or the end of the
// parent context, closes Done; whoever runs the parts then stops them with
// Stop, in its order, and collects the first failure with Wait.
type parts struct {
	g       *errgroup.Group
	ctx     context.Context // the group's: done on the first failure or when the parent ends
	base    context.Context // the parent's values without its cancellation, for the parts
	log     *slog.Logger
	running map[string]*part
}

// part is one running part: its stop, and a channel closed once it has
// returned.
type part struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func newParts(ctx context.Context, log *slog.Logger) *parts {
	g, gctx := errgroup.WithContext(ctx)
	return &parts{g: g, ctx: gctx, base: context.WithoutCancel(ctx), log: log, running: map[string]*part{}}
}

// Go runs run as the part called name until Stop names it. An error it
// returns, or a return before Stop (ErrPartEnded), is logged with the
// part's name and ends the group. Names must be unique; Go and Stop are
// called from one goroutine.
func (p *parts) Go(name string, run func(context.Context) error) {
	ctx, cancel := context.WithCancel(p.base)
	pt := &part{cancel: cancel, done: make(chan struct{})}
	p.running[name] = pt
	p.g.Go(func() error {
		defer close(pt.done)
		err := run(ctx)
		if err == nil && ctx.Err() == nil {
			err = ErrPartEnded
		}
		if err != nil {
			p.log.Error("node part failed; stopping the node", "part", name, "err", err)
			return &PartError{Part: name, Err: err}
		}
		return nil
	})
}

// Done is closed when a part has failed or the parent context has ended:
// it is time to stop.
func (p *parts) Done() <-chan struct{} { return p.ctx.Done() }

// Stop tells the named parts to stop, all at once, and waits until each
// has returned. Names of parts that never ran are ignored, so that a
// shutdown can name parts that this node's configuration left out.
func (p *parts) Stop(names ...string) {
	var stopping []*part
	for _, name := range names {
		if pt, ok := p.running[name]; ok {
			pt.cancel()
			stopping = append(stopping, pt)
		}
	}
	for _, pt := range stopping {
		<-pt.done
	}
}

// Wait stops every part not stopped yet, waits for all of them and
// returns the first failure, or nil.
func (p *parts) Wait() error {
	for _, pt := range p.running {
		pt.cancel()
	}
	return p.g.Wait()
}
