package forward

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/mesh/envelope"
	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/protocol"
)

// drain forwards domain's held envelopes in order while a route leads on,
// and returns how long the domain should rest before the next try: 0 when
// it is done, RetryDelay when the next hop refused an envelope or
// answered looped, linkRetry when the call failed (a link being replaced,
// say).
func (e *Engine) drain(ctx context.Context, domain string) (rest time.Duration) {
	var after uint64
	for ctx.Err() == nil {
		now := e.cfg.Now()
		r, ok := e.table.Next(domain, now)
		if !ok {
			return 0
		}
		batch, err := e.cfg.Store.Held(domain, after, e.cfg.Batch)
		if err != nil {
			e.log.Error("reading held envelopes", "domain", domain, "err", err)
			return e.cfg.RetryDelay
		}
		if len(batch) == 0 {
			return 0
		}
		after = batch[len(batch)-1].Seq
		var (
			out     []envelope.Next
			outHeld []protocol.HeldEnvelope
			release = map[protocol.SeenState][]uint64{}
			reports []Report
		)
		for _, h := range batch {
			// Verified in full when it was held: here only what time or
			// the next hop changes. It goes on in the form it is held
			// in, not decoded and encoded again.
			var fwd envelope.Next
			err := error(nil)
			if !now.Before(h.Expires) {
				err = fmt.Errorf("%w: TTL ran out at %s", signed.ErrExpired, h.Expires.Format(time.RFC3339))
			} else {
				fwd, err = envelope.NextHop(h.Data)
			}
			if err != nil {
				reason := nodeError(err)
				word := reasonName(reason)
				e.count("dropped:"+word, 1)
				e.log.Info("dropping held envelope", "domain", domain, "reason", word, "err", err)
				release[protocol.SeenDropped] = append(release[protocol.SeenDropped], h.Seq)
				reports = append(reports, e.news(h, stateOf(reason), e.cfg.Domain, reason))
				continue
			}
			out = append(out, fwd)
			outHeld = append(outHeld, h)
		}
		var blocked time.Duration
		if len(out) > 0 {
			// News of this hop is dated before the call, so that a report
			// from the next hop (queued there, say) counts as later.
			sent := e.cfg.Now()
			results, err := e.call(ctx, r.NextHop, out)
			if err != nil {
				e.count("refused:"+reasonName(protocol.ErrPeerUnreachable), 1)
				e.log.Debug("forwarding failed", "domain", domain, "via", r.NextHop, "err", err)
				blocked = linkRetry
				out, outHeld = nil, nil
			}
			for i, res := range results {
				h := outHeld[i]
				switch res.Outcome {
				case Delivered:
					e.count("forwarded", 1)
					release[protocol.SeenForwarded] = append(release[protocol.SeenForwarded], h.Seq)
					reports = append(reports, e.news(h, protocol.MeshDelivered, r.NextHop, nil))
				case Accepted:
					e.count("forwarded", 1)
					release[protocol.SeenForwarded] = append(release[protocol.SeenForwarded], h.Seq)
					if h.Origin == e.cfg.Domain {
						rep := e.news(h, protocol.MeshForwarded, r.NextHop, nil)
						rep.When = sent
						reports = append(reports, rep)
					}
				case Duplicate:
					e.count("duplicate", 1)
					release[protocol.SeenForwarded] = append(release[protocol.SeenForwarded], h.Seq)
				case Rejected:
					reason := res.Err
					word := reasonName(reason)
					e.count("dropped:"+word, 1)
					e.log.Info("next hop rejected an envelope", "domain", domain, "via", r.NextHop, "reason", word, "err", res.Err)
					release[protocol.SeenDropped] = append(release[protocol.SeenDropped], h.Seq)
					reports = append(reports, e.news(h, stateOf(reason), r.NextHop, reason))
				case Looped:
					e.count("looped", 1)
					blocked = e.cfg.RetryDelay
				default: // Refused
					e.count("refused:"+reasonName(res.Err), 1)
					if errors.Is(res.Err, protocol.ErrPeerUnreachable) {
						blocked = max(blocked, linkRetry)
					} else {
						blocked = e.cfg.RetryDelay
					}
				}
			}
		}
		for state, seqs := range release {
			if err := e.cfg.Store.Release(domain, seqs, state); err != nil {
				// Kept on disk: sent again later, and the next hop's
				// seen-set answers duplicate.
				e.log.Error("releasing forwarded envelopes", "domain", domain, "err", err)
				return e.cfg.RetryDelay
			}
			e.held(domain, -len(seqs))
		}
		for _, rep := range reports {
			e.report(rep)
		}
		if blocked > 0 {
			return blocked
		}
	}
	return 0
}

// linkRetry is how long a domain rests after a call to its next hop
// failed; a new link ends the rest sooner.
const linkRetry = 500 * time.Millisecond

// call forwards envs to neighbour within callTimeout and checks the
// answer's length.
func (e *Engine) call(ctx context.Context, neighbour string, envs []envelope.Next) ([]Result, error) {
	e.mu.Lock()
	links := e.links
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	results, err := links.Forward(ctx, neighbour, envs)
	if err == nil && len(results) != len(envs) {
		err = fmt.Errorf("%s answered %d results for %d envelopes", neighbour, len(results), len(envs))
	}
	return results, err
}

// news makes a report about the held envelope h for its origin.
func (e *Engine) news(h protocol.HeldEnvelope, state protocol.MeshState, at string, reason error) Report {
	return Report{ID: h.ID, Origin: h.Origin, State: state, At: at, When: e.cfg.Now(), Reason: reason}
}

// expire drops the envelopes whose TTL ran out while held here.
func (e *Engine) expire(now time.Time) {
	gone, err := e.cfg.Store.ExpireMesh(now)
	if err != nil {
		e.log.Error("expiring held envelopes", "err", err)
		return
	}
	if len(gone) == 0 {
		return
	}
	e.count("dropped:"+reasonName(protocol.ErrExpired), len(gone))
	e.log.Info("dropped expired envelopes", "count", len(gone))
	for _, h := range gone {
		e.held(h.Domain, -1)
		e.report(e.news(h, protocol.MeshExpired, e.cfg.Domain, protocol.ErrExpired))
	}
}

// stateOf is the sender's state for an envelope dropped for reason.
func stateOf(reason error) protocol.MeshState {
	if errors.Is(reason, protocol.ErrExpired) {
		return protocol.MeshExpired
	}
	return protocol.MeshDropped
}
