// Package noderpc serves a node.Service as the Cap'n Proto NodeService of
// schemas/node.capnp, one Server per client connection, and maps the
// service's errors to wire codes and back (codes.go). It is the only place
// where the service meets generated wire types.
package noderpc

import (
	"bytes"
	"context"
	"log/slog"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/blob"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// Calls lets a server count the calls it is running, so that shutdown can
// wait for them and the node can bound them. TryBegin returns the function
// that ends the call, or an error (wrapping a node error, such as
// protocol.ErrRateLimited) that refuses the call at once.
type Calls interface {
	TryBegin() (end func(), err error)
}

// Observer is told about every call, for metrics: the method, its result
// (a wire code name, "none" for success) and how long it took.
type Observer interface {
	RPC(method, result string, elapsed time.Duration)
}

// Options configure a Server.
type Options struct {
	// Calls counts running calls; required.
	Calls Calls
	// Timeout bounds each call; 0 means no bound.
	Timeout time.Duration
	// Observer is told about each call; nil ignores.
	Observer Observer
	// Log receives internal errors; nil discards.
	Log *slog.Logger
	// Blobs serves the file calls (blob_rpc.go); nil refuses them.
	Blobs *blob.Service
	// Answers, if not nil, says whether the connection holds too many
	// chunk answers its peer has not finished; blob puts and gets are
	// held back while it does, and refused (rateLimited) after
	// answerWait. transport.AnswerBudget is one.
	Answers AnswerBudget
}

// AnswerBudget tells whether a connection holds more unfinished chunk
// answers than it may (see transport.AnswerBudget).
type AnswerBudget interface {
	// WaitRoom waits until the connection is within its budget or ctx
	// ends, and reports whether it is.
	WaitRoom(ctx context.Context) bool
	// Held returns the bytes of chunk answers not yet finished.
	Held() int64
}

// Server implements schemas.NodeService_Server for one connection.
type Server struct {
	svc  *node.Service
	conn *node.Conn
	opts Options
	// blobSlots bounds this connection's blob puts and gets in progress
	// (maxBlobCalls), so that one client cannot take every node-wide slot.
	blobSlots chan struct{}
}

// NewServer returns the server of one client connection. It closes conn
// when its capability is released (the connection ends).
func NewServer(svc *node.Service, conn *node.Conn, opts Options) *Server {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Server{svc: svc, conn: conn, opts: opts, blobSlots: make(chan struct{}, maxBlobCalls)}
}

// Client returns a capability for s, to hand to the connection as its
// bootstrap.
func (s *Server) Client() schemas.NodeService {
	return schemas.NodeService_ServerToClient(s)
}

// Shutdown is called when the last reference to s is released.
func (s *Server) Shutdown() { s.conn.Close() }

// do runs one call: it counts it, bounds it, observes it and turns its
// error into a qpc exception.
func (s *Server) do(ctx context.Context, method string, fn func(context.Context) error) error {
	if err := s.run(ctx, method, fn); err != nil {
		return protocol.Exception(err)
	}
	return nil
}

// run is do without the exception: the message stream (msgstream.go)
// answers with the error's code in a frame.
func (s *Server) run(ctx context.Context, method string, fn func(context.Context) error) error {
	start := time.Now()
	end, err := s.opts.Calls.TryBegin()
	if err != nil {
		if s.opts.Observer != nil {
			s.opts.Observer.RPC(method, protocol.CodeOf(err).String(), time.Since(start))
		}
		return err
	}
	defer end()
	if s.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.Timeout)
		defer cancel()
	}
	err = fn(ctx)
	code := protocol.CodeOf(err)
	if s.opts.Observer != nil {
		s.opts.Observer.RPC(method, code.String(), time.Since(start))
	}
	if err == nil {
		return nil
	}
	if code == schemas.ErrorCode_internal {
		s.opts.Log.Error("call failed", "method", method, "user", s.conn.User(), "err", err)
	}
	return err
}

// Health implements NodeService.health.
func (s *Server) Health(ctx context.Context, call schemas.NodeService_health) error {
	return s.do(ctx, "health", func(ctx context.Context) error {
		h, err := s.svc.Health(ctx)
		if err != nil {
			return err
		}
		if s.opts.Blobs != nil {
			st := s.opts.Blobs.Store().Stats()
			h.Files = protocol.FileStoreHealth{Bytes: uint64(st.Reserved), Limit: uint64(st.Limit), Count: st.Blobs}
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		w, err := res.NewHealth()
		if err != nil {
			return err
		}
		return protocol.HealthToWire(h, w)
	})
}

// RegisterStart implements NodeService.registerStart.
func (s *Server) RegisterStart(ctx context.Context, call schemas.NodeService_registerStart) error {
	return s.do(ctx, "registerStart", func(ctx context.Context) error {
		user, err := call.Args().User()
		if err != nil {
			return protocol.BadRequest(err)
		}
		req, err := call.Args().Request()
		if err != nil {
			return protocol.BadRequest(err)
		}
		invite, err := call.Args().Invite()
		if err != nil {
			return protocol.BadRequest(err)
		}
		resp, err := s.conn.RegisterStartWithInvite(user, req, invite)
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		return res.SetResponse(resp)
	})
}

// RegisterFinish implements NodeService.registerFinish.
func (s *Server) RegisterFinish(ctx context.Context, call schemas.NodeService_registerFinish) error {
	return s.do(ctx, "registerFinish", func(ctx context.Context) error {
		user, err := call.Args().User()
		if err != nil {
			return protocol.BadRequest(err)
		}
		record, err := call.Args().Record()
		if err != nil {
			return protocol.BadRequest(err)
		}
		return s.conn.RegisterFinish(user, record)
	})
}

// LoginStart implements NodeService.loginStart.
func (s *Server) LoginStart(ctx context.Context, call schemas.NodeService_loginStart) error {
	return s.do(ctx, "loginStart", func(ctx context.Context) error {
		user, err := call.Args().User()
		if err != nil {
			return protocol.BadRequest(err)
		}
		ke1, err := call.Args().Ke1()
		if err != nil {
			return protocol.BadRequest(err)
		}
		ke2, err := s.conn.LoginStart(user, ke1)
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		return res.SetKe2(ke2)
	})
}

// LoginFinish implements NodeService.loginFinish.
func (s *Server) LoginFinish(ctx context.Context, call schemas.NodeService_loginFinish) error {
	return s.do(ctx, "loginFinish", func(ctx context.Context) error {
		ke3, err := call.Args().Ke3()
		if err != nil {
			return protocol.BadRequest(err)
		}
		token, sess, err := s.conn.LoginFinish(ke3)
		if err != nil {
			return err
		}
		return setSession(call.AllocResults, token, sess)
	})
}

// ResumeSession implements NodeService.resumeSession.
func (s *Server) ResumeSession(ctx context.Context, call schemas.NodeService_resumeSession) error {
	return s.do(ctx, "resumeSession", func(ctx context.Context) error {
		token, err := call.Args().Token()
		if err != nil {
			return protocol.BadRequest(err)
		}
		sess, err := s.conn.ResumeSession(token)
		if err != nil {
			return err
		}
		return setSession(call.AllocResults, token, sess)
	})
}

type sessionResults interface {
	NewSession() (schemas.Session, error)
}

func setSession[R sessionResults](alloc func() (R, error), token []byte, sess node.Session) error {
	res, err := alloc()
	if err != nil {
		return err
	}
	w, err := res.NewSession()
	if err != nil {
		return err
	}
	if err := w.SetToken(token); err != nil {
		return err
	}
	w.SetExpiresMillis(sess.Expires.UnixMilli())
	return w.SetUser(sess.User)
}

// PublishKeys implements NodeService.publishKeys.
func (s *Server) PublishKeys(ctx context.Context, call schemas.NodeService_publishKeys) error {
	return s.do(ctx, "publishKeys", func(ctx context.Context) error {
		w, err := call.Args().Keys()
		if err != nil {
			return protocol.BadRequest(err)
		}
		k, err := protocol.KeysFromWire(w)
		if err != nil {
			return protocol.BadRequest(err)
		}
		return s.conn.PublishKeys(k)
	})
}

// ResolveUser implements NodeService.resolveUser.
func (s *Server) ResolveUser(ctx context.Context, call schemas.NodeService_resolveUser) error {
	call.Go() // may wait on the disk or a timer: let the next call start
	return s.do(ctx, "resolveUser", func(ctx context.Context) error {
		user, err := call.Args().User()
		if err != nil {
			return protocol.BadRequest(err)
		}
		k, err := s.conn.ResolveUser(ctx, user, call.Args().KnownSize())
		if err != nil {
			return err
		}
		return protocol.SetKeys(call.AllocResults, k)
	})
}

// UploadKeyPackages implements NodeService.uploadKeyPackages.
func (s *Server) UploadKeyPackages(ctx context.Context, call schemas.NodeService_uploadKeyPackages) error {
	return s.do(ctx, "uploadKeyPackages", func(ctx context.Context) error {
		list, err := call.Args().Packages()
		if err != nil {
			return protocol.BadRequest(err)
		}
		pkgs := make([][]byte, list.Len())
		for i := range pkgs {
			if pkgs[i], err = list.At(i); err != nil {
				return protocol.BadRequest(err)
			}
			pkgs[i] = bytes.Clone(pkgs[i])
		}
		last, err := call.Args().LastResort()
		if err != nil {
			return protocol.BadRequest(err)
		}
		return s.conn.UploadKeyPackages(pkgs, bytes.Clone(last))
	})
}

// FetchKeyPackage implements NodeService.fetchKeyPackage.
func (s *Server) FetchKeyPackage(ctx context.Context, call schemas.NodeService_fetchKeyPackage) error {
	call.Go() // may wait on the disk or a timer: let the next call start
	return s.do(ctx, "fetchKeyPackage", func(ctx context.Context) error {
		user, err := call.Args().User()
		if err != nil {
			return protocol.BadRequest(err)
		}
		pkg, last, err := s.conn.FetchKeyPackage(ctx, user, call.Args().Suite())
		if err != nil {
			return err
		}
		return protocol.SetKeyPackage(call.AllocResults, pkg, last)
	})
}

// KeyPackageCount implements NodeService.keyPackageCount.
func (s *Server) KeyPackageCount(ctx context.Context, call schemas.NodeService_keyPackageCount) error {
	return s.do(ctx, "keyPackageCount", func(ctx context.Context) error {
		n, last, err := s.conn.KeyPackageCount(call.Args().Suite())
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		res.SetCount(protocol.CountToWire(n))
		res.SetLastResort(last)
		return nil
	})
}

// RequestLink implements NodeService.requestLink.
func (s *Server) RequestLink(ctx context.Context, call schemas.NodeService_requestLink) error {
	return s.do(ctx, "requestLink", func(ctx context.Context) error {
		req, err := call.Args().Request()
		if err != nil {
			return protocol.BadRequest(err)
		}
		tag, err := call.Args().Tag()
		if err != nil {
			return protocol.BadRequest(err)
		}
		id, err := s.conn.RequestLink(bytes.Clone(req), bytes.Clone(tag))
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		res.SetId(id)
		return nil
	})
}

// LinkRequests implements NodeService.linkRequests.
func (s *Server) LinkRequests(ctx context.Context, call schemas.NodeService_linkRequests) error {
	return s.do(ctx, "linkRequests", func(ctx context.Context) error {
		reqs, err := s.conn.LinkRequests()
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		return protocol.LinkRequestsToWire(reqs, res.NewRequests)
	})
}

// UseDevice implements NodeService.useDevice.
func (s *Server) UseDevice(ctx context.Context, call schemas.NodeService_useDevice) error {
	return s.do(ctx, "useDevice", func(ctx context.Context) error {
		device, err := call.Args().Device()
		if err != nil {
			return protocol.BadRequest(err)
		}
		return s.conn.UseDevice(device)
	})
}

// OrderCommit implements NodeService.orderCommit.
func (s *Server) OrderCommit(ctx context.Context, call schemas.NodeService_orderCommit) error {
	call.Go() // waits on the disk or a federation peer: let the next call start
	return s.do(ctx, "orderCommit", func(ctx context.Context) error {
		c, err := protocol.CommitClaimFromWire(call.Args())
		if err != nil {
			return err
		}
		o, err := s.conn.OrderCommit(ctx, c.Home, c.CommitClaim)
		if err != nil {
			return err
		}
		return protocol.SetCommitOrder(call.AllocResults, o)
	})
}

// Enqueue implements NodeService.enqueue. A message the node refuses fails
// the call with the refusal's code.
func (s *Server) Enqueue(ctx context.Context, call schemas.NodeService_enqueue) error {
	call.Go() // may wait on the disk or a timer: let the next call start
	return s.do(ctx, "enqueue", func(ctx context.Context) error {
		w, err := call.Args().Envelope()
		if err != nil {
			return protocol.BadRequest(err)
		}
		m, err := protocol.EnvelopeFromWire(w)
		if err != nil {
			return protocol.BadRequest(err)
		}
		receipts, now, err := s.conn.Enqueue(ctx, []protocol.Outgoing{m})
		if err != nil {
			return err
		}
		if receipts[0].Err != nil {
			return receipts[0].Err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		r, err := res.NewReceipt()
		if err != nil {
			return err
		}
		return protocol.ReceiptToWire(receipts[0], now, r)
	})
}

// BatchEnqueue implements NodeService.batchEnqueue.
func (s *Server) BatchEnqueue(ctx context.Context, call schemas.NodeService_batchEnqueue) error {
	call.Go() // may wait on the disk or a timer: let the next call start
	return s.do(ctx, "batchEnqueue", func(ctx context.Context) error {
		msgs, err := protocol.EnvelopesFromWire(call.Args().Envelopes())
		if err != nil {
			return err
		}
		receipts, now, err := s.conn.Enqueue(ctx, msgs)
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		return protocol.ReceiptsToWire(receipts, now, res.NewReceipts)
	})
}

// Fetch implements NodeService.fetch.
func (s *Server) Fetch(ctx context.Context, call schemas.NodeService_fetch) error {
	call.Go() // may wait on the disk or a timer: let the next call start
	return s.do(ctx, "fetch", func(ctx context.Context) error {
		msgs, err := s.conn.Fetch(call.Args().AfterSeq(), int(call.Args().Limit()))
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		out, err := res.NewMessages(int32(len(msgs)))
		if err != nil {
			return err
		}
		return protocol.MessagesToWire(msgs, out)
	})
}

// Ack implements NodeService.ack.
func (s *Server) Ack(ctx context.Context, call schemas.NodeService_ack) error {
	return s.do(ctx, "ack", func(ctx context.Context) error {
		n, err := s.conn.Ack(call.Args().UptoSeq())
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		res.SetRemoved(uint32(n))
		return nil
	})
}

// Subscribe implements NodeService.subscribe.
func (s *Server) Subscribe(ctx context.Context, call schemas.NodeService_subscribe) error {
	return s.do(ctx, "subscribe", func(ctx context.Context) error {
		l := listener{call.Args().Listener().AddRef()}
		sub, err := s.conn.Subscribe(l, call.Args().AfterSeq())
		return answerSubscription(sub, err, l.c.Release, func(c schemas.Subscription) error {
			res, err := call.AllocResults()
			if err != nil {
				return err
			}
			return res.SetSubscription(c)
		})
	})
}

// answerSubscription hands sub to the client through set, as a
// Subscription capability, and releases the client's listener (release)
// when sub ends. If sub did not start (err) or the answer cannot be made,
// it cleans up and returns the error.
func answerSubscription(sub *node.Subscription, err error, release func(), set func(schemas.Subscription) error) error {
	if err != nil {
		release()
		return err
	}
	go func() {
		<-sub.Done()
		release()
	}()
	c := schemas.Subscription_ServerToClient(subscription{sub})
	if err := set(c); err != nil {
		c.Release()
		sub.Cancel()
		return err
	}
	return nil
}

// DeleteAccount implements NodeService.deleteAccount.
func (s *Server) DeleteAccount(ctx context.Context, call schemas.NodeService_deleteAccount) error {
	return s.do(ctx, "deleteAccount", func(ctx context.Context) error {
		return s.conn.DeleteAccount()
	})
}

// MessageStatus implements NodeService.messageStatus.
func (s *Server) MessageStatus(ctx context.Context, call schemas.NodeService_messageStatus) error {
	call.Go() // may wait on the disk: let the next call start
	return s.do(ctx, "messageStatus", func(ctx context.Context) error {
		ids, err := protocol.MeshIDsFromWire(call.Args().Ids())
		if err != nil {
			return err
		}
		sts, err := s.conn.MessageStatus(ids)
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		return protocol.MessageStatusesToWire(sts, res.NewStatuses)
	})
}

// MeshState implements NodeService.meshState. Like health it needs no
// session: routes and store sizes say nothing of any user.
func (s *Server) MeshState(ctx context.Context, call schemas.NodeService_meshState) error {
	return s.do(ctx, "meshState", func(ctx context.Context) error {
		r, err := s.svc.MeshState()
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		return protocol.MeshReportToWire(r, res)
	})
}

// listener delivers pushed messages to a client's MessageListener.
type listener struct{ c schemas.MessageListener }

// Deliver implements node.Listener.
func (l listener) Deliver(ctx context.Context, msgs []protocol.Message) error {
	_, wait := l.Send(ctx, msgs)
	return wait()
}

// Send implements node.PipelinedListener: the call is built (the messages
// copied into it) before Send returns, and Cap'n Proto delivers the calls
// on one capability in order; done is the call's answer arriving.
func (l listener) Send(ctx context.Context, msgs []protocol.Message) (<-chan struct{}, func() error) {
	fut, release := l.c.Deliver(ctx, func(p schemas.MessageListener_deliver_Params) error {
		out, err := p.NewMessages(int32(len(msgs)))
		if err != nil {
			return err
		}
		return protocol.MessagesToWire(msgs, out)
	})
	return fut.Done(), func() error {
		defer release()
		_, err := fut.Struct()
		return err
	}
}

// subscription is the Subscription capability of one subscribe.
type subscription struct{ sub *node.Subscription }

func (s subscription) Cancel(ctx context.Context, call schemas.Subscription_cancel) error {
	s.sub.Cancel()
	return nil
}

// Shutdown ends the subscription when the client releases it.
func (s subscription) Shutdown() { go s.sub.Cancel() }
