package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"syscall"

	"capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/rpc"

	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// The admin socket's client (schemas/admin.capnp): the one file of the
// command that meets its generated types.

// errNoAdminSocket means there is no admin socket at the path: no node
// runs on that data dir, or it runs with --admin-socket "" or elsewhere.
var errNoAdminSocket = errors.New("no admin socket")

// errAdminDenied means this user may not use the admin socket: only the
// node's own user and root may.
var errAdminDenied = errors.New("admin socket refused this user")

// adminArgs are the arguments of the admin methods that take any.
type adminArgs struct {
	name    string // deleteUser, resetUser
	id      string // revokeInvite
	uses    uint32 // createInvite
	expires uint64 // createInvite, seconds
	on      bool   // drain
	limit   uint32 // log
}

// adminCall calls method on the admin socket at path and returns its JSON
// answer.
func adminCall(ctx context.Context, path, method string, a adminArgs) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
			return "", fmt.Errorf("%w at %s: %w", errNoAdminSocket, path, err)
		case errors.Is(err, fs.ErrPermission):
			return "", fmt.Errorf("%w: %s: %w", errAdminDenied, path, err)
		}
		return "", err
	}
	rc := rpc.NewConn(rpc.NewStreamTransport(conn), nil)
	defer rc.Close()
	svc := schemas.AdminService(rc.Bootstrap(ctx))
	defer svc.Release()
	out, err := adminDo(ctx, svc, method, a)
	if err != nil {
		if errors.Is(err, ctx.Err()) {
			return "", err
		}
		if e := protocol.FromException(err); e != err {
			return "", e
		}
		// The node hangs up on a peer of another user without a word.
		if capnp.IsDisconnected(err) {
			return "", fmt.Errorf("%w (only the node's user and root may use it): %w", errAdminDenied, err)
		}
		return "", err
	}
	return out, nil
}

// resultOf is what every admin method's results have.
type resultOf interface{ Result() (string, error) }

func await[S resultOf](f interface{ Struct() (S, error) }, release capnp.ReleaseFunc) (string, error) {
	defer release()
	s, err := f.Struct()
	if err != nil {
		return "", err
	}
	return s.Result()
}

func adminDo(ctx context.Context, svc schemas.AdminService, method string, a adminArgs) (string, error) {
	switch method {
	case "status":
		return await(svc.Status(ctx, nil))
	case "users":
		return await(svc.Users(ctx, nil))
	case "deleteUser":
		return await(svc.DeleteUser(ctx, func(p schemas.AdminService_deleteUser_Params) error { return p.SetName(a.name) }))
	case "resetUser":
		return await(svc.ResetUser(ctx, func(p schemas.AdminService_resetUser_Params) error { return p.SetName(a.name) }))
	case "createInvite":
		return await(svc.CreateInvite(ctx, func(p schemas.AdminService_createInvite_Params) error {
			p.SetUses(a.uses)
			p.SetExpiresSeconds(a.expires)
			return nil
		}))
	case "invites":
		return await(svc.Invites(ctx, nil))
	case "revokeInvite":
		return await(svc.RevokeInvite(ctx, func(p schemas.AdminService_revokeInvite_Params) error { return p.SetId(a.id) }))
	case "quota":
		return await(svc.Quota(ctx, nil))
	case "links":
		return await(svc.Links(ctx, nil))
	case "mesh":
		return await(svc.Mesh(ctx, nil))
	case "drain":
		return await(svc.Drain(ctx, func(p schemas.AdminService_drain_Params) error {
			p.SetOn(a.on)
			return nil
		}))
	case "log":
		return await(svc.Log(ctx, func(p schemas.AdminService_log_Params) error {
			p.SetLimit(a.limit)
			return nil
		}))
	case "reports":
		return await(svc.Reports(ctx, nil))
	}
	return "", fmt.Errorf("unknown admin method %q", method)
}
