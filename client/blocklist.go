package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/sealed"
)

// ContentBlockList is the sealed content type of a block list: what one
// device of an account that blocked or unblocked someone sends the
// account's other devices, so that every device drops what the blocked
// accounts send (issue 30, docs/blocking.md).
const ContentBlockList uint16 = 4

// MaxBlocked is the most accounts a block list holds.
const MaxBlocked = 256

// BlockListVersion is the version ParseBlockList reads and
// BlockList.MarshalBinary writes.
const BlockListVersion = 1

// ErrBadBlockList means a block list does not decode or breaks a bound.
var ErrBadBlockList = errors.New("malformed block list")

// BlockList is the whole of an account's block list as one device sends
// it to the others (ContentBlockList): the list, not a change, so that a
// device that missed a message is right again at the next. A device keeps
// the list of the newest message (by its signed time) and ignores older
// ones. It is JSON, {"v":1,"blocked":["user@domain",...]}, sorted.
type BlockList struct {
	// Version is BlockListVersion.
	Version int `json:"v"`
	// Blocked are the blocked accounts, user@domain, lowercase.
	Blocked []string `json:"blocked"`
}

// MarshalBinary checks l and encodes it with its addresses sorted.
func (l BlockList) MarshalBinary() ([]byte, error) {
	l.Version = BlockListVersion
	l.Blocked = slices.Sorted(slices.Values(l.Blocked))
	if l.Blocked == nil {
		l.Blocked = []string{}
	}
	if err := l.check(); err != nil {
		return nil, err
	}
	return json.Marshal(l)
}

// ParseBlockList decodes what MarshalBinary wrote; failures wrap
// ErrBadBlockList.
func ParseBlockList(raw []byte) (BlockList, error) {
	var l BlockList
	if len(raw) > sealed.MaxBodySize {
		return l, fmt.Errorf("%w: %d bytes", ErrBadBlockList, len(raw))
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(&l); err != nil {
		return BlockList{}, fmt.Errorf("%w: %v", ErrBadBlockList, err)
	}
	if d.More() {
		return BlockList{}, fmt.Errorf("%w: data after the list", ErrBadBlockList)
	}
	if l.Version != BlockListVersion {
		return BlockList{}, fmt.Errorf("%w: version %d, this qpc reads %d", ErrBadBlockList, l.Version, BlockListVersion)
	}
	if err := l.check(); err != nil {
		return BlockList{}, err
	}
	return l, nil
}

// check enforces the bound, the address form and the order.
func (l BlockList) check() error {
	if len(l.Blocked) > MaxBlocked {
		return fmt.Errorf("%w: %d accounts, at most %d", ErrBadBlockList, len(l.Blocked), MaxBlocked)
	}
	for i, a := range l.Blocked {
		if err := identity.CheckAddress(a); err != nil {
			return fmt.Errorf("%w: entry %d: %w", ErrBadBlockList, i, err)
		}
		if i > 0 && l.Blocked[i-1] >= a {
			return fmt.Errorf("%w: entries not sorted or repeated at %d", ErrBadBlockList, i)
		}
	}
	return nil
}

// SealToOwnDevices seals body (of contentType) to every current device of
// the account but this one, for what the account's devices keep in step
// (a block list).
func (a *Account) SealToOwnDevices(ctx context.Context, contentType uint16, body []byte) ([]Outgoing, error) {
	own, err := a.OwnDevices(ctx)
	if err != nil {
		return nil, err
	}
	msg := sealed.Message{ID: sealed.NewID(), Time: time.Now(), ContentType: contentType, Body: body}
	var outs []Outgoing
	for _, d := range own.Devices {
		if a.isThisDevice(d) {
			continue
		}
		out, err := a.sealTo(own, d, msg)
		if err != nil {
			return nil, err
		}
		outs = append(outs, out)
	}
	return outs, nil
}
