package node

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/protocol"
)

// Bounds of pending link requests (schemas/node.capnp requestLink): a
// person links one machine at a time, and a request lives as long as the
// link code on the new machine's screen is worth typing in.
const (
	// MaxLinkRequests is the most pending requests of one account.
	MaxLinkRequests = 4
	// LinkRequestTTL is how long a request waits for approval.
	LinkRequestTTL = 15 * time.Minute
)

// accountOf returns the user of a queue name "user" or "user#device".
func accountOf(queue string) string {
	user, _, _ := strings.Cut(queue, "#")
	return user
}

// queue returns the logged-in user and the name of the queue the
// connection acts on: its device's (UseDevice), or the bare user's,
// which the stores give the primary device.
func (c *Conn) queue() (user, queue string, err error) {
	user, err = c.user()
	if err != nil {
		return "", "", err
	}
	c.mu.Lock()
	device := c.device
	c.mu.Unlock()
	return user, protocol.QueueName(user, device), nil
}

// UseDevice binds the connection's session to device, a current device of
// the logged-in account: Fetch, Ack, Subscribe, UploadKeyPackages and
// KeyPackageCount then act on its queue and key packages. A device that is
// not current in the account's list is ErrDeviceRevoked; an id that is not
// 16 hex digits ErrBadRequest.
func (c *Conn) UseDevice(device string) error {
	user, err := c.user()
	if err != nil {
		return err
	}
	d, err := protocol.ParseDevice(device)
	if err != nil {
		return err
	}
	devs, err := c.svc.store.Devices(user)
	if err != nil {
		return err
	}
	if !devs.Has(d) {
		return fmt.Errorf("%w: %s is not a current device of %s", protocol.ErrDeviceRevoked, d, user)
	}
	c.mu.Lock()
	c.device = d
	c.mu.Unlock()
	return nil
}

// PublishKeys replaces the logged-in user's published keys.
//
// Keys with a device list are checked before they are stored: the list
// must verify (identity.VerifyDeviceList) for user@domain under the
// account key given beside it, name a current primary device whose keys
// are IdentityKey and HPKEKey, and, under the account key already stored,
// have a higher seq than the stored list. A new account key is taken (an
// account reset by its password): clients show that change loudly. Keys
// without a list are refused once the account has one, so that a client
// from before devices cannot replace every device with its own keys.
// Pending link requests of devices that the list holds are dropped.
func (c *Conn) PublishKeys(k protocol.PublishedKeys) error {
	user, err := c.user()
	if err != nil {
		return err
	}
	switch {
	case len(k.IdentityKey) == 0 || len(k.IdentityKey) > maxIdentityKey:
		return errorf(protocol.ErrBadRequest, "identity key of %d bytes", len(k.IdentityKey))
	case len(k.HPKEKey) == 0 || len(k.HPKEKey) > maxHPKEKey:
		return errorf(protocol.ErrBadRequest, "HPKE key of %d bytes", len(k.HPKEKey))
	case len(k.Signature) == 0 || len(k.Signature) > maxSignature:
		return errorf(protocol.ErrBadRequest, "signature of %d bytes", len(k.Signature))
	}
	k.Published = c.svc.now()
	k.Answer = nil // a node signs answers, a user does not
	s := c.svc
	s.publishMu.Lock()
	defer s.publishMu.Unlock()
	old, err := s.store.Keys(user)
	if err != nil && !errors.Is(err, protocol.ErrNoKeys) {
		return err
	}
	if len(k.DeviceList) == 0 {
		if len(k.AccountKey) != 0 {
			return errorf(protocol.ErrBadRequest, "an account key without a device list")
		}
		if len(old.DeviceList) != 0 {
			return errorf(protocol.ErrBadRequest, "%s has a device list: publish keys with a newer one (a client from before devices cannot publish here)", user)
		}
		return s.store.PutKeys(user, k, Devices{})
	}
	list, devs, err := s.checkList(user, k)
	if err != nil {
		return err
	}
	if len(old.DeviceList) != 0 && bytes.Equal(old.AccountKey, k.AccountKey) {
		// The stored list was checked when it was published; one that no
		// longer verifies (a store written by hand) is no bar.
		if prev, err := identity.VerifyDeviceList(old.DeviceList, s.fullAddress(user)); err == nil && list.Seq <= prev.Seq {
			return errorf(protocol.ErrBadRequest, "device list seq %d is not above the published list's %d", list.Seq, prev.Seq)
		}
	}
	if err := s.store.PutKeys(user, k, devs); err != nil {
		return err
	}
	s.links.drop(user, list)
	return nil
}

// fullAddress is user@domain of a user of this node, as device lists name
// it.
func (s *Service) fullAddress(user string) string { return user + "@" + s.id.Domain }

// checkList verifies the device list of keys k that user publishes and
// returns it with the stores' view of its devices.
func (s *Service) checkList(user string, k protocol.PublishedKeys) (*identity.DeviceList, Devices, error) {
	list, err := identity.VerifyDeviceList(k.DeviceList, s.fullAddress(user))
	if err != nil {
		return nil, Devices{}, fmt.Errorf("%w: device list: %w", protocol.ErrBadRequest, err)
	}
	if !bytes.Equal(list.AccountKey, k.AccountKey) {
		return nil, Devices{}, errorf(protocol.ErrBadRequest, "the device list is signed by another account key than the one published with it")
	}
	primary, ok := list.Primary()
	if !ok {
		return nil, Devices{}, errorf(protocol.ErrBadRequest, "the device list has no current device")
	}
	if !bytes.Equal(primary.IdentityKey, k.IdentityKey) || !bytes.Equal(primary.HPKEKey, k.HPKEKey) {
		return nil, Devices{}, errorf(protocol.ErrBadRequest, "the identity and HPKE keys are not those of the list's primary device %s", primary.ID)
	}
	devs := Devices{Primary: primary.ID.String()}
	for _, d := range list.Current() {
		devs.Current = append(devs.Current, d.ID.String())
	}
	return list, devs, nil
}

// RequestLink keeps a request of a new machine to become a device of the
// logged-in account, for the account's devices to list (LinkRequests) and
// approve, and returns its id. The node checks the request's form and
// that it names the account; the tag it cannot check (only the link code
// keys it). A request of a device the account's list already has is
// ErrBadRequest; a new request of the same device replaces the old; more
// than MaxLinkRequests pending is ErrRateLimited.
func (c *Conn) RequestLink(request, tag []byte) (uint64, error) {
	user, err := c.user()
	if err != nil {
		return 0, err
	}
	if err := protocol.CheckLinkRequest(request, tag); err != nil {
		return 0, err
	}
	req, err := identity.UnmarshalLinkRequest(request)
	if err != nil {
		return 0, fmt.Errorf("%w: link request: %w", protocol.ErrBadRequest, err)
	}
	if want := c.svc.fullAddress(user); req.Address != want {
		return 0, errorf(protocol.ErrBadRequest, "link request for %s on the session of %s", req.Address, want)
	}
	devs, err := c.svc.store.Devices(user)
	if err != nil {
		return 0, err
	}
	if devs.Has(req.ID().String()) {
		return 0, errorf(protocol.ErrBadRequest, "device %s is already a device of %s", req.ID(), user)
	}
	return c.svc.links.add(user, req.IdentityKey, request, tag, c.svc.now())
}

// LinkRequests returns the logged-in account's pending link requests,
// oldest first.
func (c *Conn) LinkRequests() ([]protocol.LinkRequest, error) {
	user, err := c.user()
	if err != nil {
		return nil, err
	}
	return c.svc.links.list(user, c.svc.now()), nil
}

// linkRequests are the pending link requests of every account, in memory:
// they live minutes, and a request lost with a restart is posted again by
// the new device.
type linkRequests struct {
	mu     sync.Mutex
	next   uint64
	byUser map[string][]pendingLink
}

type pendingLink struct {
	identityKey []byte
	req         protocol.LinkRequest
}

func newLinkRequests() *linkRequests {
	return &linkRequests{byUser: map[string][]pendingLink{}}
}

// expire drops user's requests older than LinkRequestTTL; the caller holds
// the mutex.
func (l *linkRequests) expire(user string, now time.Time) {
	kept := l.byUser[user][:0]
	for _, p := range l.byUser[user] {
		if now.Sub(p.req.Created) < LinkRequestTTL {
			kept = append(kept, p)
		}
	}
	if len(kept) == 0 {
		delete(l.byUser, user)
		return
	}
	l.byUser[user] = kept
}

func (l *linkRequests) add(user string, identityKey, request, tag []byte, now time.Time) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expire(user, now)
	pending := l.byUser[user]
	for i, p := range pending {
		if bytes.Equal(p.identityKey, identityKey) {
			pending = append(pending[:i], pending[i+1:]...)
			break
		}
	}
	if len(pending) >= MaxLinkRequests {
		return 0, fmt.Errorf("%w: %s has %d link requests pending (at most %d, each for %s)",
			protocol.ErrRateLimited, user, len(pending), MaxLinkRequests, LinkRequestTTL)
	}
	l.next++
	p := pendingLink{identityKey: bytes.Clone(identityKey),
		req: protocol.LinkRequest{ID: l.next, Request: bytes.Clone(request), Tag: bytes.Clone(tag), Created: now}}
	l.byUser[user] = append(pending, p)
	return p.req.ID, nil
}

func (l *linkRequests) list(user string, now time.Time) []protocol.LinkRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expire(user, now)
	out := []protocol.LinkRequest{}
	for _, p := range l.byUser[user] {
		r := p.req
		r.Request, r.Tag = bytes.Clone(r.Request), bytes.Clone(r.Tag)
		out = append(out, r)
	}
	return out
}

// drop removes user's requests of the devices that list holds, current or
// revoked: they were answered.
func (l *linkRequests) drop(user string, list *identity.DeviceList) {
	l.mu.Lock()
	defer l.mu.Unlock()
	kept := l.byUser[user][:0]
	for _, p := range l.byUser[user] {
		answered := false
		for _, d := range list.Devices {
			if bytes.Equal(d.IdentityKey, p.identityKey) {
				answered = true
				break
			}
		}
		if !answered {
			kept = append(kept, p)
		}
	}
	if len(kept) == 0 {
		delete(l.byUser, user)
		return
	}
	l.byUser[user] = kept
}
