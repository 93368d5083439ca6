//go:build !router

package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/quicprochat/qpc/client/chat"
)

// meshPoll is how often the REPL asks its node what became of own
// messages that went into the mesh (store and forward), so that their
// "(sent)" moves on to delivered without the user asking.
const meshPoll = 5 * time.Second

// watchDelivery asks the node about own messages in the mesh every
// meshPoll while the engine is online and watches any; the function it
// returns stops it and waits, before the engine closes.
func watchDelivery(ctx context.Context, eng *chat.Engine) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(meshPoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if !eng.Online() || eng.Watching() == 0 {
				continue
			}
			if err := eng.PollDelivery(ctx); err != nil && !errors.Is(err, chat.ErrOffline) && ctx.Err() == nil {
				// The next tick asks again; a node that cannot answer
				// now is what offline looks like.
				continue
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}
