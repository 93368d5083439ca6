package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/schemas"
)

// ErrNoDenyList means the node keeps no deny lists: it is older than
// them, or runs without them.
var ErrNoDenyList = errors.New("the node keeps no deny lists")

// notImplemented reports whether err is a node's answer that it lacks a
// method (an older node's, or one whose schema had it before its code).
func notImplemented(err error) bool {
	return capnp.IsUnimplemented(err) || strings.Contains(err.Error(), "not implemented")
}

// BlockSender adds address (user@domain) to the logged-in account's deny
// list on its node, or removes it (blocked false): the node then refuses
// that sender's messages to the account where it knows the sender
// (docs/blocking.md).
func (c *Client) BlockSender(ctx context.Context, address string, blocked bool) error {
	fut, release := c.node.BlockSender(ctx, func(p schemas.NodeService_blockSender_Params) error {
		p.SetBlocked(blocked)
		return p.SetAddress(address)
	})
	defer release()
	if _, err := fut.Struct(); err != nil {
		if notImplemented(err) {
			return fmt.Errorf("block sender %s: %w", address, ErrNoDenyList)
		}
		return c.callErr("block sender "+address, err)
	}
	return nil
}

// BlockedSenders returns the logged-in account's deny list on its node.
func (c *Client) BlockedSenders(ctx context.Context) ([]string, error) {
	fut, release := c.node.BlockedSenders(ctx, nil)
	defer release()
	res, err := fut.Struct()
	if err != nil {
		if notImplemented(err) {
			return nil, fmt.Errorf("blocked senders: %w", ErrNoDenyList)
		}
		return nil, c.callErr("blocked senders", err)
	}
	list, err := res.Addresses()
	if err != nil {
		return nil, c.callErr("blocked senders", err)
	}
	out := make([]string, 0, list.Len())
	for i := 0; i < list.Len(); i++ {
		a, err := list.At(i)
		if err != nil {
			return nil, c.callErr("blocked senders", err)
		}
		out = append(out, a)
	}
	return out, nil
}

// ErrNoReports means the node takes no reports: it publishes no report
// key, or does not know the method.
var ErrNoReports = errors.New("the node takes no reports")

// Report hands the node a report sealed to its report key
// (crypto/report), for its admin.
func (c *Client) Report(ctx context.Context, sealed []byte) error {
	fut, release := c.node.Report(ctx, func(p schemas.NodeService_report_Params) error {
		return p.SetSealed(sealed)
	})
	defer release()
	if _, err := fut.Struct(); err != nil {
		if notImplemented(err) {
			return fmt.Errorf("report: %w", ErrNoReports)
		}
		return c.callErr("report", err)
	}
	return nil
}
