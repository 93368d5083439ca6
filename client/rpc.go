package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/rpc"

	"github.com/quicprochat/qpc/crypto/attest"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// This file holds one method per NodeService call: the wire on one side,
// the node's types on the other. Errors the node raised come back as
// *protocol.RemoteError, which unwraps to the node's sentinel errors.

// Session is a login session as the node granted it.
type Session struct {
	Token   []byte
	User    string
	Expires time.Time
}

// callErr names the method a call failed in. An error the node answered
// maps to its sentinel; a call cut off because the node closed the
// connection says why the node closed it (ClosedByNodeError), not just
// that the connection is gone.
func (c *Client) callErr(method string, err error) error {
	if err == nil {
		return nil
	}
	if c.offline { // a call on the null capability of a stand-in
		return fmt.Errorf("%s: %w", method, ErrOffline)
	}
	// A call cut off by the node's close fails as disconnected; one whose
	// message was being sent at that moment fails as a failed send, whose
	// cause is the node's close itself or the closed RPC connection.
	if closed := closedByNodeCause(err); closed != nil {
		return fmt.Errorf("%s: %w", method, closed)
	}
	if capnp.IsDisconnected(err) || errors.Is(err, rpc.ErrConnClosed) || c.ended() {
		if closed := c.closedByNode(); closed != nil {
			return fmt.Errorf("%s: %w", method, closed)
		}
	}
	err = protocol.FromException(err)
	if errors.Is(err, protocol.ErrForgedKeys) {
		// The node refused forged keys that crypto/attest found: callers
		// may test for either sentinel, as for the client's own check.
		err = protocol.Mark(attest.ErrForgedKeys, err)
	}
	return fmt.Errorf("%s: %w", method, err)
}

func sessionFromWire(w schemas.Session, err error) (Session, error) {
	if err != nil {
		return Session{}, err
	}
	tok, err := w.Token()
	if err != nil {
		return Session{}, err
	}
	user, err := w.User()
	if err != nil {
		return Session{}, err
	}
	return Session{Token: append([]byte(nil), tok...), User: user, Expires: time.UnixMilli(w.ExpiresMillis())}, nil
}

func (c *Client) registerStart(ctx context.Context, user string, req []byte, invite string) ([]byte, error) {
	fut, release := c.node.RegisterStart(ctx, func(p schemas.NodeService_registerStart_Params) error {
		if err := p.SetUser(user); err != nil {
			return err
		}
		if invite != "" {
			if err := p.SetInvite(invite); err != nil {
				return err
			}
		}
		return p.SetRequest(req)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, c.callErr("register", err)
	}
	resp, err := res.Response()
	return append([]byte(nil), resp...), err
}

func (c *Client) registerFinish(ctx context.Context, user string, record []byte) error {
	fut, release := c.node.RegisterFinish(ctx, func(p schemas.NodeService_registerFinish_Params) error {
		if err := p.SetUser(user); err != nil {
			return err
		}
		return p.SetRecord(record)
	})
	defer release()
	_, err := fut.Struct()
	return c.callErr("register", err)
}

func (c *Client) loginStart(ctx context.Context, user string, ke1 []byte) ([]byte, error) {
	fut, release := c.node.LoginStart(ctx, func(p schemas.NodeService_loginStart_Params) error {
		if err := p.SetUser(user); err != nil {
			return err
		}
		return p.SetKe1(ke1)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, c.callErr("login", err)
	}
	ke2, err := res.Ke2()
	return append([]byte(nil), ke2...), err
}

func (c *Client) loginFinish(ctx context.Context, ke3 []byte) (Session, error) {
	fut, release := c.node.LoginFinish(ctx, func(p schemas.NodeService_loginFinish_Params) error {
		return p.SetKe3(ke3)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return Session{}, c.callErr("login", err)
	}
	return sessionFromWire(res.Session())
}

// Resume binds an existing session to this connection.
func (c *Client) Resume(ctx context.Context, token []byte) (Session, error) {
	fut, release := c.node.ResumeSession(ctx, func(p schemas.NodeService_resumeSession_Params) error {
		return p.SetToken(token)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return Session{}, c.callErr("resume session", err)
	}
	s, err := sessionFromWire(res.Session())
	if err == nil {
		c.startMsgStream()
	}
	return s, err
}

// PublishKeys publishes the logged-in user's public keys.
func (c *Client) PublishKeys(ctx context.Context, k protocol.PublishedKeys) error {
	fut, release := c.node.PublishKeys(ctx, func(p schemas.NodeService_publishKeys_Params) error {
		w, err := p.NewKeys()
		if err != nil {
			return err
		}
		return protocol.KeysToWire(k, w)
	})
	defer release()
	_, err := fut.Struct()
	return c.callErr("publish keys", err)
}

// ResolveUser returns the published keys of a user of the node.
func (c *Client) ResolveUser(ctx context.Context, user string) (protocol.PublishedKeys, error) {
	return c.resolveKnown(ctx, user, 0)
}

// NameAvailable asks the node whether user could be registered there now:
// false when the name is taken or not valid. It needs no session. A node
// that does not answer the call (older than it) gives ErrNoNameCheck.
func (c *Client) NameAvailable(ctx context.Context, user string) (bool, error) {
	fut, release := c.node.NameAvailable(ctx, func(p schemas.NodeService_nameAvailable_Params) error {
		return p.SetUser(user)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		// A node without the method answers "unimplemented"; one whose
		// schema had it before its code (issue 24's first nodes) failed
		// it without a qpc error code.
		if capnp.IsUnimplemented(err) || strings.Contains(err.Error(), "not implemented") {
			return false, fmt.Errorf("name available %s: %w", user, ErrNoNameCheck)
		}
		return false, c.callErr("name available "+user, err)
	}
	return res.Available(), nil
}

// UploadKeyPackages adds MLS key packages for the logged-in user.
func (c *Client) UploadKeyPackages(ctx context.Context, pkgs [][]byte, lastResort []byte) error {
	fut, release := c.node.UploadKeyPackages(ctx, func(p schemas.NodeService_uploadKeyPackages_Params) error {
		list, err := p.NewPackages(int32(len(pkgs)))
		if err != nil {
			return err
		}
		for i, pkg := range pkgs {
			if err := list.Set(i, pkg); err != nil {
				return err
			}
		}
		if lastResort != nil {
			return p.SetLastResort(lastResort)
		}
		return nil
	})
	defer release()
	_, err := fut.Struct()
	return c.callErr("upload key packages", err)
}

// FetchKeyPackage takes one key package of MLS cipher suite suite of a
// user, or of one device of theirs ("user#device" or
// "user#device@domain"). A node that predates suites ignores suite and hands out suite 1;
// callers check the suite of what they get.
func (c *Client) FetchKeyPackage(ctx context.Context, user string, suite uint16) (pkg []byte, lastResort bool, err error) {
	fut, release := c.node.FetchKeyPackage(ctx, func(p schemas.NodeService_fetchKeyPackage_Params) error {
		p.SetSuite(suite)
		return p.SetUser(user)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, false, c.callErr("fetch key package of "+user, err)
	}
	pkg, err = res.Package()
	return append([]byte(nil), pkg...), res.LastResort(), err
}

// KeyPackageCount returns how many of the account's key packages of MLS
// cipher suite suite the node still holds (not counting the last-resort
// one) and whether it holds a last-resort one.
func (c *Client) KeyPackageCount(ctx context.Context, suite uint16) (int, bool, error) {
	fut, release := c.node.KeyPackageCount(ctx, func(p schemas.NodeService_keyPackageCount_Params) error {
		p.SetSuite(suite)
		return nil
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return 0, false, c.callErr("key package count", err)
	}
	return int(res.Count()), res.LastResort(), nil
}

// RequestLink asks the node to keep a request to make this machine a
// device of the logged-in account: request is the new device's
// certificate fields (crypto/identity LinkRequest), tag the HMAC of it
// under the link code's key. It returns the request's id on the node.
func (c *Client) RequestLink(ctx context.Context, request, tag []byte) (uint64, error) {
	fut, release := c.node.RequestLink(ctx, func(p schemas.NodeService_requestLink_Params) error {
		if err := p.SetRequest(request); err != nil {
			return err
		}
		return p.SetTag(tag)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return 0, c.callErr("request link", err)
	}
	return res.Id(), nil
}

// LinkRequests returns the logged-in account's pending link requests,
// oldest first, for a device that holds the account key to approve.
func (c *Client) LinkRequests(ctx context.Context) ([]protocol.LinkRequest, error) {
	fut, release := c.node.LinkRequests(ctx, nil)
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, c.callErr("link requests", err)
	}
	list, err := res.Requests()
	if err != nil {
		return nil, err
	}
	return protocol.LinkRequestsFromWire(list)
}

// UseDevice binds this connection's session to device (its id's 16 hex
// digits): Fetch, Ack, Subscribe, UploadKeyPackages and KeyPackageCount
// then act on that device's queue and key packages. It holds for the
// connection: a client that reconnects calls it again after resuming.
// protocol.ErrDeviceRevoked if the device is not current.
func (c *Client) UseDevice(ctx context.Context, device string) error {
	fut, release := c.node.UseDevice(ctx, func(p schemas.NodeService_useDevice_Params) error {
		return p.SetDevice(device)
	})
	defer release()
	_, err := fut.Struct()
	return c.callErr("use device "+device, err)
}

// CommitClaim is a claim of an epoch of an MLS group for a commit, with
// its proof of membership (see crypto/commitclaim).
type CommitClaim = protocol.CommitClaim

// OrderCommit asks the node that orders the group's commits (home) to
// accept claim. home "" is the client's own node; another domain is
// reached through it. Losing the epoch to another member's commit is not
// an error: the answer says so, with the commits the client lacks. A claim
// the node cannot order (a proof not under the epoch's kept key, an epoch
// above the group's next or older than its kept commits) fails with
// protocol.ErrBadCommitClaim.
func (c *Client) OrderCommit(ctx context.Context, home string, claim CommitClaim) (protocol.CommitOrder, error) {
	fut, release := c.node.OrderCommit(ctx, func(p schemas.NodeService_orderCommit_Params) error {
		return protocol.CommitClaimToWire(protocol.HomeClaim{Home: home, CommitClaim: claim}, p)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return protocol.CommitOrder{}, c.callErr("order commit", err)
	}
	o, err := protocol.CommitOrderFromWire(res)
	if err != nil {
		return protocol.CommitOrder{}, fmt.Errorf("order commit: %w", err)
	}
	return o, nil
}

// Outgoing is a message to enqueue: the node's own type, so that client
// and node write envelopes with the same code.
type Outgoing = protocol.Outgoing

// Receipt acknowledges an enqueued message: its sequence number in the
// recipient's mailbox, or why it was not stored; or, when the recipient's
// node was not reachable, the id under which the message waits in the
// mesh (see MessageStatus).
type Receipt struct {
	Seq        uint64
	ServerTime time.Time
	Err        error
	// MeshID is set, and Seq 0, when the message went into the mesh: it is
	// safe on the disk of node QueuedAt (the sender's node's domain), not
	// yet in the recipient's mailbox.
	MeshID   protocol.MeshID
	QueuedAt string
}

func receiptFromWire(w schemas.Receipt) Receipt {
	r := protocol.ReceiptFromWire(w)
	return Receipt{Seq: r.Seq, ServerTime: time.UnixMilli(w.ServerTimeMillis()), Err: r.Err, MeshID: r.MeshID, QueuedAt: r.QueuedAt}
}

// MaxBatchBytes bounds the estimated size of one batchEnqueue call.
// A node reads a frame of at least 256 KiB of payloads plus overhead
// whatever its --max-payload (transport.FrameBound), and closes the
// connection of a client that sends a larger one, so EnqueueBatch splits
// larger batches into several calls. A single message above it goes alone
// (a node whose --max-payload allows it reads four such messages a frame).
const MaxBatchBytes = 256 << 10

// batchEntryOverhead estimates what one message adds to a batch beyond its
// payload and recipient: the Envelope struct, list pointers, TTL and hops.
const batchEntryOverhead = 64

// EnqueueBatch puts many messages in mailboxes; each receipt says whether
// its message was stored. Batches over MaxBatchBytes go in several calls;
// when one fails, the receipts of the calls before it are returned with
// the error (those messages were stored).
func (c *Client) EnqueueBatch(ctx context.Context, msgs []Outgoing) ([]Receipt, error) {
	if mc := c.msgStream(ctx); mc != nil && fitsStream(msgs, mc) {
		out, err := mc.enqueue(ctx, msgs)
		if !errors.Is(err, errStreamGone) {
			return out, err
		}
	}
	var out []Receipt
	for len(msgs) > 0 {
		n, size := 0, 0
		for n < len(msgs) {
			s := len(msgs[n].Payload) + len(msgs[n].Recipient) + batchEntryOverhead
			if n > 0 && size+s > MaxBatchBytes {
				break
			}
			size += s
			n++
		}
		rs, err := c.enqueueBatch(ctx, msgs[:n])
		out = append(out, rs...)
		if err != nil {
			return out, err
		}
		msgs = msgs[n:]
	}
	return out, nil
}

func (c *Client) enqueueBatch(ctx context.Context, msgs []Outgoing) ([]Receipt, error) {
	fut, release := c.node.BatchEnqueue(ctx, func(p schemas.NodeService_batchEnqueue_Params) error {
		return protocol.EnvelopesToWire(msgs, p.NewEnvelopes)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, c.callErr("send batch", err)
	}
	list, err := res.Receipts()
	if err != nil {
		return nil, err
	}
	if list.Len() != len(msgs) {
		return nil, fmt.Errorf("send batch: %w: %d receipts for %d messages", protocol.ErrMalformedAnswer, list.Len(), len(msgs))
	}
	out := make([]Receipt, list.Len())
	for i := range out {
		out[i] = receiptFromWire(list.At(i))
	}
	return out, nil
}

// Fetch returns up to limit messages after afterSeq.
func (c *Client) Fetch(ctx context.Context, afterSeq uint64, limit int) ([]protocol.Message, error) {
	fut, release := c.node.Fetch(ctx, func(p schemas.NodeService_fetch_Params) error {
		p.SetAfterSeq(afterSeq)
		p.SetLimit(uint32(limit))
		return nil
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, c.callErr("fetch", err)
	}
	list, err := res.Messages()
	if err != nil {
		return nil, err
	}
	return protocol.MessagesFromWire(list)
}

// Ack deletes messages up to uptoSeq from the mailbox.
func (c *Client) Ack(ctx context.Context, uptoSeq uint64) (int, error) {
	if mc := c.msgStream(ctx); mc != nil {
		n, err := mc.ack(ctx, uptoSeq)
		if !errors.Is(err, errStreamGone) {
			return n, err
		}
	}
	fut, release := c.node.Ack(ctx, func(p schemas.NodeService_ack_Params) error {
		p.SetUptoSeq(uptoSeq)
		return nil
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return 0, c.callErr("ack", err)
	}
	return int(res.Removed()), nil
}

// DeleteAccount removes the logged-in user's account and everything of it.
func (c *Client) DeleteAccount(ctx context.Context) error {
	fut, release := c.node.DeleteAccount(ctx, nil)
	defer release()
	_, err := fut.Struct()
	return c.callErr("delete account", err)
}

// MessageStatus asks what became of messages the logged-in user sent into
// the mesh (receipts with a MeshID): one status per id, in order. An id the
// node does not know, or that someone else sent, is protocol.MeshUnknown.
func (c *Client) MessageStatus(ctx context.Context, ids []protocol.MeshID) ([]protocol.MessageStatus, error) {
	fut, release := c.node.MessageStatus(ctx, func(p schemas.NodeService_messageStatus_Params) error {
		return protocol.MeshIDsToWire(ids, p.NewIds)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, c.callErr("message status", err)
	}
	list, err := res.Statuses()
	if err != nil {
		return nil, fmt.Errorf("message status: %w", err)
	}
	if list.Len() != len(ids) {
		return nil, fmt.Errorf("message status: %w: %d statuses for %d ids", protocol.ErrMalformedAnswer, list.Len(), len(ids))
	}
	sts, err := protocol.MessageStatusesFromWire(list)
	if err != nil {
		return nil, fmt.Errorf("message status: %w", err)
	}
	return sts, nil
}

// MeshState asks the node for its routing table and the state of its
// store-and-forward store; it needs no login.
func (c *Client) MeshState(ctx context.Context) (protocol.MeshReport, error) {
	fut, release := c.node.MeshState(ctx, nil)
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return protocol.MeshReport{}, c.callErr("mesh state", err)
	}
	r, err := protocol.MeshReportFromWire(res)
	if err != nil {
		return protocol.MeshReport{}, fmt.Errorf("mesh state: %w", err)
	}
	return r, nil
}

// Handler receives pushed messages, in sequence order. It runs on the
// connection's goroutine: it should be quick, and the node sends the next
// batch only after it returns.
type Handler func(msgs []protocol.Message)

// Subscription is an active push subscription, on the message stream
// (ms) or an RPC capability (sub).
type Subscription struct {
	sub schemas.Subscription
	ms  *msgConn
}

// release drops this side's reference to an RPC subscription, which
// ends with its connection anyway.
func (s *Subscription) release() {
	if s.ms == nil {
		s.sub.Release()
	}
}

// Cancel ends the subscription.
func (s *Subscription) Cancel(ctx context.Context) error {
	if s.ms != nil {
		return s.ms.unsubscribe(ctx)
	}
	fut, release := s.sub.Cancel(ctx, nil)
	defer release()
	_, err := fut.Struct()
	s.sub.Release()
	if err != nil {
		return fmt.Errorf("cancel subscription: %w", protocol.FromException(err))
	}
	return nil
}

// Subscribe asks the node to push every message after afterSeq to h: those
// waiting now, then each new one as it arrives.
func (c *Client) Subscribe(ctx context.Context, afterSeq uint64, h Handler) (*Subscription, error) {
	if mc := c.msgStream(ctx); mc != nil {
		s, err := mc.subscribe(ctx, afterSeq, h)
		if !errors.Is(err, errStreamGone) {
			return s, err
		}
	}
	l := schemas.MessageListener_ServerToClient(handlerListener{h})
	// The call's message takes a reference of its own, and only if it is
	// built: a call on a connection that has just ended fails without
	// building it, and the listener's goroutine would then run forever.
	defer l.Release()
	fut, release := c.node.Subscribe(ctx, func(p schemas.NodeService_subscribe_Params) error {
		p.SetAfterSeq(afterSeq)
		return p.SetListener(l.AddRef())
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, c.callErr("subscribe", err)
	}
	return &Subscription{sub: res.Subscription().AddRef()}, nil
}

type handlerListener struct{ h Handler }

func (l handlerListener) Deliver(ctx context.Context, call schemas.MessageListener_deliver) error {
	list, err := call.Args().Messages()
	if err != nil {
		return err
	}
	msgs, err := protocol.MessagesFromWire(list)
	if err != nil {
		return err
	}
	l.h(msgs)
	return nil
}
