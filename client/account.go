package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/quicprochat/qpc/crypto/opaque"
)

// ErrWrongPassword means a login failed: the password is wrong or the user
// does not exist on the node (OPAQUE makes the two look alike on purpose).
var ErrWrongPassword = errors.New("login failed: wrong user name or password")

// opaqueIdentities must match the node's: "user@domain" and "domain".
func opaqueIdentities(user, domain string) (client, server []byte) {
	return []byte(user + "@" + domain), []byte(domain)
}

// Register creates the account user on the node of domain with password,
// which never leaves this process. It returns the OPAQUE export key: a
// secret only this password yields, for encrypting the client's state.
// cfg is the OPAQUE configuration; its key stretching function must be the
// same at every login.
func (c *Client) Register(ctx context.Context, cfg opaque.Config, domain, user string, password []byte) (exportKey []byte, err error) {
	return c.RegisterWithInvite(ctx, cfg, domain, user, password, "")
}

// RegisterWithInvite is Register with an invite code from the node's
// admin, which a node whose registration policy is "invite"
// (Health.Registration) wants, and which lets the owner of an account the
// admin reset register its name again; "" sends none.
func (c *Client) RegisterWithInvite(ctx context.Context, cfg opaque.Config, domain, user string, password []byte, invite string) (exportKey []byte, err error) {
	oc, err := opaque.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	req, err := oc.CreateRegistrationRequest(password)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	respBytes, err := c.registerStart(ctx, user, req.Encode(), invite)
	if err != nil {
		return nil, err
	}
	resp, err := opaque.DecodeRegistrationResponse(oc.Suite(), respBytes)
	if err != nil {
		return nil, fmt.Errorf("register: node sent a bad response: %w", err)
	}
	clientID, serverID := opaqueIdentities(user, domain)
	record, exportKey, err := oc.FinalizeRegistrationRequest(resp, serverID, clientID)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	if err := c.registerFinish(ctx, user, record.Encode()); err != nil {
		return nil, err
	}
	return exportKey, nil
}

// Login logs user in on the node of domain with password, binding a new
// session to this connection. It returns the session and the OPAQUE export
// key of the account.
func (c *Client) Login(ctx context.Context, cfg opaque.Config, domain, user string, password []byte) (Session, []byte, error) {
	oc, err := opaque.NewClient(cfg)
	if err != nil {
		return Session{}, nil, err
	}
	ke1, err := oc.GenerateKE1(password)
	if err != nil {
		return Session{}, nil, fmt.Errorf("login: %w", err)
	}
	ke2Bytes, err := c.loginStart(ctx, user, ke1.Encode())
	if err != nil {
		return Session{}, nil, err
	}
	ke2, err := opaque.DecodeKE2(oc.Suite(), ke2Bytes)
	if err != nil {
		return Session{}, nil, fmt.Errorf("login: node sent a bad KE2: %w", err)
	}
	clientID, serverID := opaqueIdentities(user, domain)
	ke3, _, exportKey, err := oc.GenerateKE3(clientID, serverID, ke2)
	if err != nil {
		if errors.Is(err, opaque.ErrEnvelopeRecovery) {
			return Session{}, nil, ErrWrongPassword
		}
		// The envelope opened but the node did not prove it holds the
		// record's server key: a node impersonating ours.
		return Session{}, nil, fmt.Errorf("login: the node failed to authenticate: %w", err)
	}
	s, err := c.loginFinish(ctx, ke3.Encode())
	if err != nil {
		return Session{}, nil, err
	}
	c.startMsgStream()
	return s, exportKey, nil
}
