package federation

import (
	"context"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/mesh/envelope"
	"github.com/quicprochat/qpc/mesh/forward"
	"github.com/quicprochat/qpc/mesh/route"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// Mesh is the store-and-forward engine the links serve; forward.Engine
// implements it. Without one, the mesh calls of a peer fail.
type Mesh interface {
	LinkUp(domain string)
	LinkDown(domain string)
	Receive(ctx context.Context, from, fromID string, envs []*envelope.Incoming) []forward.Result
	Learn(from string, adverts []route.Advert) error
	Reports(from string, reports []forward.Report)
	// NextHop returns the neighbour that leads towards domain.
	NextHop(domain string) (string, bool)
}

// maxForward bounds the envelopes of one forward call, and maxReports the
// reports of one report call.
const (
	maxForward = 256
	maxReports = 256
)

// neighbour returns the up link to the neighbour of domain.
func (m *Manager) neighbour(domain string) (*link, error) {
	if l := m.link(domain); l != nil {
		return l, nil
	}
	return nil, fmt.Errorf("%w: %w to %s", protocol.ErrPeerUnreachable, protocol.ErrNoLink, domain)
}

// Forward implements forward.Links.
func (m *Manager) Forward(ctx context.Context, neighbour string, envs []envelope.Next) ([]forward.Result, error) {
	l, err := m.neighbour(neighbour)
	if err != nil {
		return nil, err
	}
	results, err := l.forward(ctx, envs)
	n := 0
	for _, r := range results {
		if r.Outcome == forward.Delivered || r.Outcome == forward.Accepted {
			n++
		}
	}
	m.count(neighbour, n, 0, err)
	return results, err
}

// Routes implements forward.Links.
func (m *Manager) Routes(ctx context.Context, neighbour string, adverts []route.Advert) error {
	l, err := m.neighbour(neighbour)
	if err != nil {
		return err
	}
	// A direct link is backed by the domain's own word, or the neighbour
	// drops the entry. The statements are fetched before the call: its
	// arguments are built while the RPC connection is locked.
	links := make([][]byte, len(adverts))
	for i, a := range adverts {
		if a.Hops == 1 {
			links[i] = m.statementFrom(ctx, a.Domain)
		}
	}
	fut, release := l.peer.Routes(ctx, func(p schemas.FederationService_routes_Params) error {
		list, err := p.NewAdverts(int32(len(adverts)))
		if err != nil {
			return err
		}
		for i, a := range adverts {
			w := list.At(i)
			w.SetHops(a.Hops)
			if err := w.SetDomain(a.Domain); err != nil {
				return err
			}
			if links[i] != nil {
				if err := w.SetLink(links[i]); err != nil {
					return err
				}
			}
		}
		return nil
	})
	defer release()
	if _, err := fut.Struct(); err != nil {
		return l.callErr(err)
	}
	return nil
}

// Report implements forward.Links.
func (m *Manager) Report(ctx context.Context, neighbour string, reports []forward.Report) error {
	l, err := m.neighbour(neighbour)
	if err != nil {
		return err
	}
	fut, release := l.peer.Report(ctx, func(p schemas.FederationService_report_Params) error {
		return listToWire(p.NewReports, reports, reportToWire)
	})
	defer release()
	if _, err := fut.Struct(); err != nil {
		return l.callErr(err)
	}
	return nil
}

func (l *link) forward(ctx context.Context, envs []envelope.Next) ([]forward.Result, error) {
	fut, release := l.peer.Forward(ctx, func(p schemas.FederationService_forward_Params) error {
		return listToWire(p.NewEnvelopes, envs, envelope.Next.ToWire)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, l.callErr(err)
	}
	list, err := res.Results()
	if err != nil {
		return nil, l.callErr(err)
	}
	if list.Len() != len(envs) {
		return nil, fmt.Errorf("%w: %s answered %d results for %d envelopes", protocol.ErrPeerUnreachable, l.domain, list.Len(), len(envs))
	}
	out := make([]forward.Result, list.Len())
	for i := range out {
		w := list.At(i)
		out[i] = forward.Result{Outcome: outcomeFromWire(w.Outcome()), Err: resultErr(w)}
	}
	return out, nil
}

// resultErr is the error of a forward result, the peer's detail kept.
func resultErr(w schemas.ForwardResult) error {
	base := protocol.ErrorOf(w.Error())
	if base == nil {
		return nil
	}
	if detail, _ := w.Detail(); detail != "" {
		return fmt.Errorf("%w: %s", base, detail)
	}
	return base
}

// Forward implements FederationService.forward.
func (s *server) Forward(ctx context.Context, call schemas.FederationService_forward) error {
	call.Go() // waits on the disk
	return s.do(ctx, "forward", func(ctx context.Context) error {
		mesh := s.m.cfg.Mesh
		if mesh == nil {
			return fmt.Errorf("%w: this node does not store and forward", protocol.ErrUnknownDomain)
		}
		list, err := call.Args().Envelopes()
		envs, err := admitList(s, list, err, maxForward, "envelopes", envelope.ReadIncoming)
		if err != nil {
			return err
		}
		results := mesh.Receive(ctx, s.domain, s.peerID(), envs)
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		out, err := res.NewResults(int32(len(results)))
		if err != nil {
			return err
		}
		in := 0
		for i, r := range results {
			w := out.At(i)
			w.SetOutcome(outcomeToWire(r.Outcome))
			if r.Err != nil {
				w.SetError(protocol.CodeOf(r.Err))
				if err := w.SetDetail(r.Err.Error()); err != nil {
					return err
				}
			}
			if r.Outcome == forward.Delivered || r.Outcome == forward.Accepted {
				in++
			}
		}
		s.m.count(s.domain, 0, in, nil)
		return nil
	})
}

// Routes implements FederationService.routes.
func (s *server) Routes(ctx context.Context, call schemas.FederationService_routes) error {
	return s.do(ctx, "routes", func(ctx context.Context) error {
		mesh := s.m.cfg.Mesh
		if mesh == nil {
			return nil // a node without store-and-forward routes nothing
		}
		list, err := call.Args().Adverts()
		if err != nil {
			return protocol.BadRequest(err)
		}
		if list.Len() > route.DefaultMaxRoutes {
			return fmt.Errorf("%w: %d adverts", protocol.ErrBadRequest, list.Len())
		}
		adverts := make([]route.Advert, list.Len())
		links := make([][]byte, list.Len())
		for i := range adverts {
			w := list.At(i)
			d, err := w.Domain()
			if err != nil {
				return protocol.BadRequest(err)
			}
			if links[i], err = w.Link(); err != nil {
				return protocol.BadRequest(err)
			}
			adverts[i] = route.Advert{Domain: d, Hops: w.Hops()}
		}
		adverts = s.m.checkAdverts(s.domain, adverts, links)
		if err := mesh.Learn(s.domain, adverts); err != nil {
			return fmt.Errorf("%w: %v", protocol.ErrBadRequest, err)
		}
		return nil
	})
}

// Report implements FederationService.report.
func (s *server) Report(ctx context.Context, call schemas.FederationService_report) error {
	return s.do(ctx, "report", func(ctx context.Context) error {
		mesh := s.m.cfg.Mesh
		if mesh == nil {
			return nil
		}
		list, err := call.Args().Reports()
		if err != nil {
			return protocol.BadRequest(err)
		}
		if list.Len() > maxReports {
			return fmt.Errorf("%w: %d reports (at most %d)", protocol.ErrBadRequest, list.Len(), maxReports)
		}
		reports := make([]forward.Report, 0, list.Len())
		for i := 0; i < list.Len(); i++ {
			r, err := reportFromWire(list.At(i))
			if err != nil {
				return protocol.BadRequest(err)
			}
			reports = append(reports, r)
		}
		mesh.Reports(s.domain, reports)
		return nil
	})
}

func reportToWire(r forward.Report, w schemas.MeshReport) error {
	w.SetState(protocol.MeshStateToWire(r.State))
	w.SetAtMillis(r.When.UnixMilli())
	w.SetReason(protocol.CodeOf(r.Reason))
	w.SetHops(r.Hops)
	if err := w.SetId(r.ID[:]); err != nil {
		return err
	}
	if err := w.SetOriginDomain(r.Origin); err != nil {
		return err
	}
	return w.SetAt(r.At)
}

// reportFromWire reads a report; the domains are checked so that a report
// cannot carry junk into the routing lookup or a sender's status.
func reportFromWire(w schemas.MeshReport) (forward.Report, error) {
	var r forward.Report
	id, err := w.Id()
	if err != nil {
		return r, err
	}
	if len(id) != len(r.ID) {
		return r, fmt.Errorf("report id of %d bytes", len(id))
	}
	copy(r.ID[:], id)
	if r.Origin, err = w.OriginDomain(); err != nil {
		return r, err
	}
	if r.At, err = w.At(); err != nil {
		return r, err
	}
	if err := protocol.ValidDomain(r.Origin); err != nil {
		return r, fmt.Errorf("report origin: %w", err)
	}
	if err := protocol.ValidDomain(r.At); err != nil {
		return r, fmt.Errorf("report at: %w", err)
	}
	st, ok := protocol.MeshStateFromWire(w.State())
	if !ok {
		return r, fmt.Errorf("report state %d", w.State())
	}
	r.State = st
	r.When = time.UnixMilli(w.AtMillis())
	r.Reason = protocol.ErrorOf(w.Reason())
	r.Hops = w.Hops()
	return r, nil
}
