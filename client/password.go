//go:build !router

package client

import (
	"context"
	"fmt"

	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/schemas"
)

// ChangePassword gives the account user@domain, logged in on this
// connection with its current password (the node takes a change only from
// a connection that logged in with the password, not one that resumed a
// session), the password newPassword: an OPAQUE registration under the
// account's identities, so that the account key, devices, messages and
// groups stay. Every other session of the account ends; this one goes on.
//
// The new export key is known before the node is asked to take the new
// record: beforeFinish gets it then, so that what is sealed on this
// machine can be made to open with it before the node forgets the old
// password (a crash between the two leaves both keys able to open it).
// An error from beforeFinish stops the change before the node makes it.
func (c *Client) ChangePassword(ctx context.Context, cfg opaque.Config, domain, user string, newPassword []byte, beforeFinish func(newExportKey []byte) error) (newExportKey []byte, err error) {
	oc, err := opaque.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	req, err := oc.CreateRegistrationRequest(newPassword)
	if err != nil {
		return nil, fmt.Errorf("change password: %w", err)
	}
	fut, release := c.node.PasswordStart(ctx, func(p schemas.NodeService_passwordStart_Params) error {
		return p.SetRequest(req.Encode())
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, c.callErr("change password", err)
	}
	respBytes, err := res.Response()
	if err != nil {
		return nil, fmt.Errorf("change password: %w", err)
	}
	resp, err := opaque.DecodeRegistrationResponse(oc.Suite(), respBytes)
	if err != nil {
		return nil, fmt.Errorf("change password: node sent a bad response: %w", err)
	}
	clientID, serverID := opaqueIdentities(user, domain)
	record, exportKey, err := oc.FinalizeRegistrationRequest(resp, serverID, clientID)
	if err != nil {
		return nil, fmt.Errorf("change password: %w", err)
	}
	if beforeFinish != nil {
		if err := beforeFinish(exportKey); err != nil {
			return nil, err
		}
	}
	ffut, frelease := c.node.PasswordFinish(ctx, func(p schemas.NodeService_passwordFinish_Params) error {
		return p.SetRecord(record.Encode())
	})
	defer frelease()
	if _, err := ffut.Struct(); err != nil {
		return nil, c.callErr("change password", err)
	}
	return exportKey, nil
}

// Logout ends the session of this connection on the node, and with
// everywhere every session of the account, on every device. It returns how
// many sessions the node ended. The connection stays open, logged out.
func (c *Client) Logout(ctx context.Context, everywhere bool) (int, error) {
	fut, release := c.node.Logout(ctx, func(p schemas.NodeService_logout_Params) error {
		p.SetEverywhere(everywhere)
		return nil
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return 0, c.callErr("logout", err)
	}
	return int(res.Ended()), nil
}
