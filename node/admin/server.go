package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/rpc"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// ErrNotImplemented answers a method whose node side this node lacks.
var ErrNotImplemented = errors.New("not implemented by this node yet")

// Backend is what the admin's answers are made of: the node's parts, as
// its composition root holds them.
type Backend interface {
	// Status is the node at a glance.
	Status(ctx context.Context) (protocol.AdminStatus, error)
	// Users lists the accounts.
	Users(ctx context.Context) (protocol.AdminUsers, error)
	// DeleteUser deletes an account (protocol.ErrUnknownUser if none).
	DeleteUser(ctx context.Context, name string) error
	// ResetUser makes an account register again, and returns the
	// invite its owner registers with.
	ResetUser(ctx context.Context, name string) (protocol.AdminReset, error)
	// CreateInvite makes an invite code for uses registrations, valid
	// for ttl.
	CreateInvite(uses int, ttl time.Duration) (protocol.AdminInvite, error)
	// Invites lists the invites still valid.
	Invites() (protocol.AdminInvites, error)
	// RevokeInvite ends an invite (an error wrapping protocol.ErrBadRequest
	// if none has that id).
	RevokeInvite(id string) error
	// Quota is the per-user bounds and use.
	Quota(ctx context.Context) (protocol.AdminQuota, error)
	// Links are the federation links.
	Links() (protocol.AdminLinks, error)
	// Mesh is the routing table and the store-and-forward store.
	Mesh() (protocol.AdminMesh, error)
	// Drain turns draining on or off.
	Drain(on bool)
	// Audit appends an entry to the audit log.
	Audit(e protocol.AuditEntry) error
	// AuditLog returns the newest limit entries, newest first.
	AuditLog(limit int) ([]protocol.AuditEntry, error)
}

// Default invite bounds: what `qpc admin invite` makes without flags, and
// the most a code may allow.
const (
	DefaultInviteTTL = 7 * 24 * time.Hour
	MaxInviteTTL     = 365 * 24 * time.Hour
	MaxInviteUses    = 10000
	// MaxLogEntries is the most entries log returns, and what the store
	// keeps.
	MaxLogEntries = 1000
)

// Server serves the admin socket.
type Server struct {
	b   Backend
	log *slog.Logger
	now func() time.Time

	mu    sync.Mutex
	conns map[*rpc.Conn]struct{}
}

// New returns a server of b's answers; log receives refused peers and
// failures.
func New(b Backend, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{b: b, log: log, now: time.Now, conns: map[*rpc.Conn]struct{}{}}
}

// Serve accepts admin connections on ln until ctx ends, then closes ln
// (which removes the socket file) and every connection. It returns nil
// after ctx ends.
func (s *Server) Serve(ctx context.Context, ln *net.UnixListener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer func() {
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		wg.Wait()
	}()
	for {
		conn, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("admin socket: %w", err)
		}
		if err := checkPeer(conn); err != nil {
			s.log.Warn("admin socket: connection refused", "err", err)
			conn.Close()
			continue
		}
		rc := rpc.NewConn(rpc.NewStreamTransport(conn), &rpc.Options{
			BootstrapClient: capnp.Client(schemas.AdminService_ServerToClient(s)),
		})
		s.mu.Lock()
		s.conns[rc] = struct{}{}
		s.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-rc.Done()
			s.mu.Lock()
			delete(s.conns, rc)
			s.mu.Unlock()
		}()
	}
}

// exception turns err into the error a method returns. Unlike the client
// protocol, an internal error's text is kept: the admin is on the node's
// own machine and needs it.
func exception(err error) error {
	if protocol.CodeOf(err) == schemas.ErrorCode_internal {
		return fmt.Errorf("qpc:%s: %v", schemas.ErrorCode_internal, err)
	}
	return protocol.Exception(err)
}

// answer is the results of every admin method: one JSON text.
type answer interface {
	SetResult(string) error
}

// reply runs fn and sets its value as alloc's result, as JSON.
func reply[R answer](alloc func() (R, error), fn func() (any, error)) error {
	v, err := fn()
	if err != nil {
		return exception(err)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return exception(err)
	}
	res, err := alloc()
	if err != nil {
		return err
	}
	return res.SetResult(string(data))
}

// audit writes an admin action to the audit log; a failure to write it is
// logged, not the action's failure (it happened).
func (s *Server) audit(action, target, detail string) {
	e := protocol.AuditEntry{Time: s.now().Unix(), Action: action, Target: target, Detail: detail}
	if err := s.b.Audit(e); err != nil {
		s.log.Error("audit log", "action", action, "target", target, "err", err)
	}
	s.log.Info("admin action", "action", action, "target", target, "detail", detail)
}

// Status implements AdminService.status.
func (s *Server) Status(ctx context.Context, call schemas.AdminService_status) error {
	return reply(call.AllocResults, func() (any, error) { return s.b.Status(ctx) })
}

// Users implements AdminService.users.
func (s *Server) Users(ctx context.Context, call schemas.AdminService_users) error {
	return reply(call.AllocResults, func() (any, error) { return s.b.Users(ctx) })
}

// DeleteUser implements AdminService.deleteUser.
func (s *Server) DeleteUser(ctx context.Context, call schemas.AdminService_deleteUser) error {
	return reply(call.AllocResults, func() (any, error) {
		name, err := userArg(call.Args().Name())
		if err != nil {
			return nil, err
		}
		if err := s.b.DeleteUser(ctx, name); err != nil {
			return nil, err
		}
		s.audit("user delete", name, "")
		return protocol.AdminDeleted{Deleted: name}, nil
	})
}

// ResetUser implements AdminService.resetUser.
func (s *Server) ResetUser(ctx context.Context, call schemas.AdminService_resetUser) error {
	return reply(call.AllocResults, func() (any, error) {
		name, err := userArg(call.Args().Name())
		if err != nil {
			return nil, err
		}
		r, err := s.b.ResetUser(ctx, name)
		if err != nil {
			return nil, err
		}
		s.audit("user reset", name, "invite for the name until "+time.Unix(r.Expires, 0).UTC().Format(time.RFC3339))
		return r, nil
	})
}

// userArg checks a user name argument.
func userArg(name string, err error) (string, error) {
	if err != nil {
		return "", protocol.BadRequest(err)
	}
	if err := protocol.ValidateUserName(name); err != nil {
		return "", err
	}
	return name, nil
}

// CreateInvite implements AdminService.createInvite.
func (s *Server) CreateInvite(ctx context.Context, call schemas.AdminService_createInvite) error {
	return reply(call.AllocResults, func() (any, error) {
		uses := int(call.Args().Uses())
		if uses == 0 {
			uses = 1
		}
		ttl := DefaultInviteTTL
		if secs := call.Args().ExpiresSeconds(); secs != 0 {
			if secs > uint64(MaxInviteTTL/time.Second) {
				return nil, fmt.Errorf("%w: an invite expires within %s", protocol.ErrBadRequest, MaxInviteTTL)
			}
			ttl = time.Duration(secs) * time.Second
		}
		if uses > MaxInviteUses {
			return nil, fmt.Errorf("%w: an invite allows at most %d registrations", protocol.ErrBadRequest, MaxInviteUses)
		}
		inv, err := s.b.CreateInvite(uses, ttl)
		if err != nil {
			return nil, err
		}
		s.audit("invite", inv.ID, fmt.Sprintf("uses %d, expires %s", inv.Uses,
			time.Unix(inv.Expires, 0).UTC().Format(time.RFC3339)))
		return inv, nil
	})
}

// Invites implements AdminService.invites.
func (s *Server) Invites(ctx context.Context, call schemas.AdminService_invites) error {
	return reply(call.AllocResults, func() (any, error) { return s.b.Invites() })
}

// RevokeInvite implements AdminService.revokeInvite.
func (s *Server) RevokeInvite(ctx context.Context, call schemas.AdminService_revokeInvite) error {
	return reply(call.AllocResults, func() (any, error) {
		id, err := call.Args().Id()
		if err != nil {
			return nil, protocol.BadRequest(err)
		}
		if err := s.b.RevokeInvite(id); err != nil {
			return nil, err
		}
		s.audit("invite revoke", id, "")
		return protocol.AdminRevoked{Revoked: id}, nil
	})
}

// Quota implements AdminService.quota.
func (s *Server) Quota(ctx context.Context, call schemas.AdminService_quota) error {
	return reply(call.AllocResults, func() (any, error) { return s.b.Quota(ctx) })
}

// Links implements AdminService.links.
func (s *Server) Links(ctx context.Context, call schemas.AdminService_links) error {
	return reply(call.AllocResults, func() (any, error) { return s.b.Links() })
}

// Mesh implements AdminService.mesh.
func (s *Server) Mesh(ctx context.Context, call schemas.AdminService_mesh) error {
	return reply(call.AllocResults, func() (any, error) { return s.b.Mesh() })
}

// Drain implements AdminService.drain.
func (s *Server) Drain(ctx context.Context, call schemas.AdminService_drain) error {
	return reply(call.AllocResults, func() (any, error) {
		on := call.Args().On()
		s.b.Drain(on)
		if on {
			s.audit("drain", "", "on: new clients refused")
		} else {
			s.audit("drain", "", "off: clients taken again")
		}
		return protocol.AdminDrain{Draining: on}, nil
	})
}

// Log implements AdminService.log.
func (s *Server) Log(ctx context.Context, call schemas.AdminService_log) error {
	return reply(call.AllocResults, func() (any, error) {
		limit := int(call.Args().Limit())
		if limit == 0 || limit > MaxLogEntries {
			limit = MaxLogEntries
		}
		entries, err := s.b.AuditLog(limit)
		if err != nil {
			return nil, err
		}
		if entries == nil {
			entries = []protocol.AuditEntry{}
		}
		return protocol.AdminLog{Entries: entries}, nil
	})
}
