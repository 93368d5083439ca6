package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/quicprochat/qpc/crypto/attest"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/sealed"
	"github.com/quicprochat/qpc/protocol"
)

// Account is a logged-in user with their private keys: it seals messages
// before they leave and opens them after they arrive, so the node only
// ever handles ciphertext.
type Account struct {
	Client *Client
	// Domain is the node's domain; the user's address is User@Domain.
	Domain string
	User   string
	// Keys are this device's keys: its identity key signs what it sends,
	// its HPKE key opens what is sealed to it.
	Keys *identity.UserKeys
	// AccountKey is the account key, on a device that holds it (the first
	// device, unless the user chose otherwise); nil elsewhere: such a
	// device sends and reads but cannot change the device list.
	AccountKey *identity.AccountKey
	// List is the account's own device list, as last published and
	// verified; nil for an account that has none yet (legacy).
	List *identity.DeviceList

	// Known holds keys of contacts resolved in earlier runs, by address
	// (State.Contacts). Resolve asks the node first, so that changed keys
	// are seen, and uses a known bundle only when the node cannot answer
	// because the contact's node is not reachable: that is when a message
	// goes into the mesh.
	Known map[string]identity.PublicBundle
	// KnownLists holds the signed device lists of contacts seen in earlier
	// runs, by address (State.ContactLists): used like Known when the
	// contact's node cannot answer, and to refuse a list older than one
	// seen before (ErrListRollback).
	KnownLists map[string][]byte

	// Replay, when set, makes Open refuse copies of messages it opened
	// before and messages outside the replay window; nil opens every
	// message as it comes (commands that do not read the mailbox).
	Replay *ReplayCache

	// CommunityCA holds the community CA certificates (DER) that answers
	// for users of other domains must be signed under (State.CommunityCA).
	// Nil means: ask the home node once, trusting it as the connection
	// to it is trusted (its pin).
	CommunityCA [][]byte

	// KT holds the latest key transparency head accepted of each domain's
	// log (State.KT); every resolve is checked against it and moves it
	// on. Nil starts empty: the first head of each log is taken on trust,
	// as the node's certificate is on first contact.
	KT *KTBook
	// Alarms is told what key transparency found wrong that a person must
	// see: a foreign key or device in the account's own log entry, or a
	// node's evidence of a log that lied (Alarm). Nil drops them.
	Alarms func(Alarm)

	mu         sync.Mutex
	roots      *x509.CertPool            // of CommunityCA, once needed
	resolved   map[string]Peer           // by address, verified
	unresolved map[string]resolveFailure // by address, for ReadPost
	refreshed  map[string]time.Time      // by address: ReadPost's last lookup after a mismatch
	shown      map[[32]byte]bool         // evidence alarmed in this run, by hash
}

// Address returns the account's address, user@domain.
func (a *Account) Address() string { return a.User + "@" + a.Domain }

// Publish publishes the account's keys in the node's key directory: the
// device list (List, signed by the account key) with this device as its
// primary when the account has one, else this device's keys alone, as
// accounts did before devices.
func (a *Account) Publish(ctx context.Context) error {
	if a.List != nil && a.AccountKey != nil {
		signed, err := a.List.Sign(*a.AccountKey)
		if err != nil {
			return err
		}
		return a.PublishList(ctx, signed)
	}
	b, err := a.Keys.Bundle(a.Address())
	if err != nil {
		return err
	}
	return a.Client.PublishKeys(ctx, protocol.PublishedKeys{IdentityKey: b.IdentityKey, HPKEKey: b.HPKEKey, Signature: b.Signature})
}

// PublishList publishes signed, a device list of the account signed by its
// account key, and makes it the account's List. The list's primary device
// must be this device (it signs the keys that clients from before devices
// read) or the one the node publishes now, whose signature is kept.
func (a *Account) PublishList(ctx context.Context, signed []byte) error {
	l, err := identity.VerifyDeviceList(signed, a.Address())
	if err != nil {
		return err
	}
	primary, ok := l.Primary()
	if !ok {
		return fmt.Errorf("device list: %w: no current device", identity.ErrNoDevice)
	}
	var b identity.PublicBundle
	switch {
	case a.isThisDevice(primary):
		own, err := a.Keys.Bundle(a.Address())
		if err != nil {
			return err
		}
		b = *own
	default:
		k, err := a.Client.ResolveUser(ctx, a.User)
		if err != nil {
			return err
		}
		if !bytes.Equal(k.IdentityKey, primary.IdentityKey) {
			return fmt.Errorf("%w: the new list's primary device is neither this device nor the published one", ErrPrimaryMismatch)
		}
		b = identity.PublicBundle{IdentityKey: k.IdentityKey, HPKEKey: k.HPKEKey, Signature: k.Signature}
	}
	err = a.Client.PublishKeys(ctx, protocol.PublishedKeys{IdentityKey: b.IdentityKey, HPKEKey: b.HPKEKey, Signature: b.Signature,
		AccountKey: l.AccountKey, DeviceList: signed})
	if err != nil {
		return err
	}
	a.List = l
	a.Forget(a.Address())
	return nil
}

// parse reads addr, "bob" (of the account's domain) or "bob@domain", as
// protocol.ParseRecipient: the one place the client normalises an address.
func (a *Account) parse(addr string) (protocol.Address, error) {
	return protocol.ParseRecipient(addr, a.Domain)
}

// ResolvePeer returns addr ("name" or "name@domain"; a device in the
// address is ignored) as its home node publishes it, verified up to its
// account key (PeerOf), from a cache or from the node's key directory.
// Keys that do not verify for addr are refused with
// identity.ErrBadSignature (or another identity error), a device list
// older than one seen before with ErrListRollback.
//
// Keys of a user of another domain must also carry the signed answer of
// that domain's node (checked against CommunityCA), or they are refused
// with *attest.ForgedError (attest.ErrForgedKeys): the home node, or any
// node the lookup passed, could otherwise hand over keys of its own and
// read what is sealed to them. Keys of the home node's own users need no
// such answer: they come straight from the pinned home node, which could
// as well read its users' mail queue as forge their keys.
func (a *Account) ResolvePeer(ctx context.Context, addr string) (Peer, error) {
	pa, err := a.parse(addr)
	if err != nil {
		return Peer{}, err
	}
	return a.resolve(ctx, pa.Account())
}

// Forget drops what the account cached of addr, so that the next lookup
// asks the node (after a device list changed).
func (a *Account) Forget(addr string) {
	pa, err := a.parse(addr)
	if err != nil {
		return
	}
	a.mu.Lock()
	delete(a.resolved, pa.Account().String())
	a.mu.Unlock()
}

// resolve is ResolvePeer of a parsed account address.
func (a *Account) resolve(ctx context.Context, pa protocol.Address) (Peer, error) {
	return a.resolveOn(ctx, a.Client, pa)
}

// resolveOn is resolve over the connection c, which may be a newer one
// than a.Client while a follower reconnects.
func (a *Account) resolveOn(ctx context.Context, c *Client, pa protocol.Address) (Peer, error) {
	addr := pa.String()
	a.mu.Lock()
	p, ok := a.resolved[addr]
	a.mu.Unlock()
	if ok {
		return p, nil
	}
	// The home node answers for its own users and, through federation,
	// for users of other nodes; either way the signatures below are
	// checked against the full address, so keys published for one address
	// cannot be passed off as another's.
	lookup := addr
	if pa.Domain == strings.ToLower(a.Domain) {
		lookup = pa.User
	}
	k, err := c.resolveKnown(ctx, lookup, a.ktBook().knownSize(pa.Domain))
	if err == nil && lookup != pa.User {
		err = a.checkAnswer(ctx, pa, k)
	}
	if err == nil {
		// Signed by the right node or not, keys its log does not hold
		// are not used (docs/kt.md).
		err = a.checkTransparency(ctx, pa, k)
	}
	if err != nil {
		if errors.Is(err, protocol.ErrPeerUnreachable) || errors.Is(err, protocol.ErrUnknownDomain) {
			if p, ok := a.known(addr); ok {
				return p, nil
			}
		}
		return Peer{}, err
	}
	if p, err = PeerOf(addr, k); err != nil {
		return Peer{}, err
	}
	if err := p.newerThan(a.KnownLists[addr]); err != nil {
		return Peer{}, err
	}
	a.mu.Lock()
	if a.resolved == nil {
		a.resolved = map[string]Peer{}
	}
	a.resolved[addr] = p
	a.mu.Unlock()
	if addr != a.Address() {
		// The head just accepted meets the node's other heads: a node
		// that shows this client a log of its own is caught there.
		a.GossipOn(ctx, c)
	}
	return p, nil
}

// known returns addr as seen in an earlier run (KnownLists, else Known),
// checked again, for when its node cannot be asked.
func (a *Account) known(addr string) (Peer, bool) {
	b, ok := a.Known[addr]
	if !ok || b.Verify(addr) != nil {
		return Peer{}, false
	}
	if raw, ok := a.KnownLists[addr]; ok {
		l, err := identity.VerifyDeviceList(raw, addr)
		if cur := l.Current(); err == nil && len(cur) > 0 && cur[0].IdentityKey.Equal(b.IdentityKey) {
			return Peer{Address: addr, AccountKey: l.AccountKey, List: l, SignedList: raw, Devices: cur, Bundle: b}, true
		}
	}
	return legacyPeer(addr, b), true
}

// checkAnswer verifies that keys k of addr, a user of another domain,
// come with the answer of addr's own node: signed by a certificate of the
// community CA that names addr's domain. Otherwise the home node, or a
// node between it and addr's, put in keys of its own, and the lookup
// fails with *attest.ForgedError, which is also protocol.ErrForgedKeys:
// the keys are neither used nor kept.
func (a *Account) checkAnswer(ctx context.Context, pa protocol.Address, k protocol.PublishedKeys) error {
	addr := pa.String()
	roots, err := a.communityRoots(ctx)
	if err != nil {
		return err
	}
	keys := attest.Keys{Address: addr, IdentityKey: k.IdentityKey, HPKEKey: k.HPKEKey, Signature: k.Signature, Published: k.Published,
		AccountKey: k.AccountKey, DeviceList: k.DeviceList}
	signer, err := attest.VerifyAnswer(keys, k.Answer, roots, time.Now())
	if err != nil {
		fe := &attest.ForgedError{Address: addr, Domain: pa.Domain, AnsweredBy: "your node " + a.Domain, Signer: signer, Err: err}
		return protocol.Mark(protocol.ErrForgedKeys, fe)
	}
	return nil
}

// communityRoots returns the pool of CommunityCA, asking the home node
// for it when the account has none.
func (a *Account) communityRoots(ctx context.Context) (*x509.CertPool, error) {
	a.mu.Lock()
	roots, ders := a.roots, a.CommunityCA
	a.mu.Unlock()
	if roots != nil {
		return roots, nil
	}
	if ders == nil {
		h, err := a.Client.Health(ctx)
		if err != nil {
			return nil, err
		}
		ders = h.FederationCA
	}
	roots, err := communityRoots(ders)
	if err != nil || roots == nil {
		return nil, err
	}
	a.mu.Lock()
	a.roots, a.CommunityCA = roots, ders
	a.mu.Unlock()
	return roots, nil
}

// Seal encrypts body to addr's primary device and returns the envelope
// for the node. SealAll reaches every device; Seal is for what only one
// device needs.
func (a *Account) Seal(ctx context.Context, addr string, contentType uint16, body []byte) (Outgoing, sealed.ID, error) {
	pa, err := a.parse(addr)
	if err != nil {
		return Outgoing{}, sealed.ID{}, err
	}
	p, err := a.resolve(ctx, pa.Account())
	if err != nil {
		return Outgoing{}, sealed.ID{}, err
	}
	d := p.Devices[0]
	if pa.Device != "" {
		id, err := identity.ParseDeviceID(pa.Device)
		if err != nil {
			return Outgoing{}, sealed.ID{}, err
		}
		var ok bool
		if d, ok = p.Device(id); !ok {
			return Outgoing{}, sealed.ID{}, fmt.Errorf("%s: %w", pa, identity.ErrNoDevice)
		}
	}
	id := sealed.NewID()
	out, err := a.sealTo(p, d, sealed.Message{ID: id, ContentType: contentType, Body: body})
	return out, id, err
}

// SealAll encrypts body, as one message id, to every current device of
// addr and, as a sent copy (ContentSentCopy), to every other current
// device of the account itself, so that each of them shows the
// conversation. The envelopes for addr come first.
func (a *Account) SealAll(ctx context.Context, addr string, contentType uint16, body []byte) ([]Outgoing, sealed.ID, error) {
	return a.SealAllAs(ctx, addr, sealed.NewID(), contentType, body)
}

// SealAllAs is SealAll of a message whose id is fixed already: a line
// that waited in a chat outbox keeps the id it has in the history.
func (a *Account) SealAllAs(ctx context.Context, addr string, id sealed.ID, contentType uint16, body []byte) ([]Outgoing, sealed.ID, error) {
	pa, err := a.parse(addr)
	if err != nil {
		return nil, sealed.ID{}, err
	}
	pa = pa.Account()
	p, err := a.resolve(ctx, pa)
	if err != nil {
		return nil, sealed.ID{}, err
	}
	msg := sealed.Message{ID: id, Time: time.Now(), ContentType: contentType, Body: body}
	var outs []Outgoing
	for _, d := range p.Devices {
		if pa.String() == a.Address() && a.isThisDevice(d) {
			continue
		}
		out, err := a.sealTo(p, d, msg)
		if err != nil {
			return nil, sealed.ID{}, err
		}
		outs = append(outs, out)
	}
	if pa.String() == a.Address() {
		return outs, id, nil
	}
	own, err := a.OwnDevices(ctx)
	if err != nil {
		return nil, sealed.ID{}, err
	}
	copyBody, err := SentCopy{To: pa.String(), ContentType: contentType, Body: body}.MarshalBinary()
	if err != nil {
		return nil, sealed.ID{}, err
	}
	msg.ContentType, msg.Body = ContentSentCopy, copyBody
	for _, d := range own.Devices {
		if a.isThisDevice(d) {
			continue
		}
		out, err := a.sealTo(own, d, msg)
		if err != nil {
			return nil, sealed.ID{}, err
		}
		outs = append(outs, out)
	}
	return outs, id, nil
}

// PublicAccountKey returns the account's account key, the key people
// verify: the one its device list names, else the one this device holds,
// else (an account from before devices) this device's identity key, which
// becomes the account key when it migrates.
func (a *Account) PublicAccountKey() ed25519.PublicKey {
	switch {
	case a.List != nil:
		return a.List.AccountKey
	case a.AccountKey != nil:
		return a.AccountKey.Public()
	}
	return a.Keys.IdentityPublic()
}

// DeviceID returns the id of the device the account runs on, the one its
// Keys are.
func (a *Account) DeviceID() identity.DeviceID { return identity.DeviceIDOf(a.Keys.IdentityPublic()) }

// isThisDevice reports whether d is the device the account runs on.
func (a *Account) isThisDevice(d identity.Device) bool {
	return bytes.Equal(d.IdentityKey, a.Keys.IdentityPublic())
}

// OwnDevices returns the account itself as its node publishes it.
func (a *Account) OwnDevices(ctx context.Context) (Peer, error) {
	return a.resolve(ctx, protocol.Address{User: strings.ToLower(a.User), Domain: strings.ToLower(a.Domain)})
}

// sealTo seals msg to device d of p.
func (a *Account) sealTo(p Peer, d identity.Device, msg sealed.Message) (Outgoing, error) {
	env, err := sealed.Seal(p.Address, d.HPKEKey, a.Keys, a.Address(), msg)
	if err != nil {
		return Outgoing{}, err
	}
	return Outgoing{Recipient: p.Recipient(d), Payload: env}, nil
}

// SendText seals text to every device of addr (and the account's other
// devices) and enqueues it; it returns once the node has the messages on
// disk, with the receipt of the first envelope for addr and the first
// error of any.
func (a *Account) SendText(ctx context.Context, addr, text string) (Receipt, error) {
	outs, _, err := a.SealAll(ctx, addr, sealed.ContentText, []byte(text))
	if err != nil {
		return Receipt{}, err
	}
	if len(outs) == 0 {
		return Receipt{}, fmt.Errorf("%s: %w", addr, identity.ErrNoDevice)
	}
	if len(outs) == 1 {
		return a.Client.Enqueue(ctx, outs[0])
	}
	rs, err := a.Client.EnqueueBatch(ctx, outs)
	if err != nil {
		return Receipt{}, err
	}
	for _, r := range rs {
		if r.Err != nil {
			return rs[0], r.Err
		}
	}
	return rs[0], nil
}

// Received is a message opened by its recipient.
type Received struct {
	// Seq is the message's sequence number in the mailbox.
	Seq uint64
	// From is the sender's claimed address.
	From string
	// ID and Time are the sender's message id and timestamp.
	ID   sealed.ID
	Time time.Time
	// ContentType and Body are the content.
	ContentType uint16
	Body        []byte
	// Verified is true when the sender's signature checks out against a
	// current device of the sender's published device list. A message that
	// is not verified must be shown as such: Problem says why.
	Verified bool
	// Sender is the sender's account as resolved when the message was
	// checked (its account key for key-change checks), and Device the
	// device of it that signed; both are set only when Verified.
	Sender  Peer
	Device  identity.Device
	Problem error
	// Replayed is true when the message is a copy of one opened before
	// (Problem wraps ErrReplayed): it has no Body and must not be shown as
	// a message, only acknowledged.
	Replayed bool
}

// Open decrypts a message from the mailbox and checks who sent it. A
// message that cannot be decrypted or whose signature is broken is returned
// with Problem set and no content. With a.Replay set, a message signed
// outside the replay window (ErrStaleMessage) or opened before
// (ErrReplayed, Replayed set) is returned with its sender, id, time and
// content type but no Body; the caller saves a.Replay before it
// acknowledges the messages.
func (a *Account) Open(ctx context.Context, m protocol.Message) Received {
	r := Received{Seq: m.Seq}
	o, err := sealed.Open(a.Keys, a.Address(), m.Payload)
	if err != nil {
		r.Problem = err
		return r
	}
	r.From, r.ID, r.Time, r.ContentType = o.SenderAddress, o.ID, o.Time, o.ContentType
	// The id and time are inside the sender's signature, which sealed.Open
	// has checked: a relay that re-wraps the payload cannot change them.
	if a.Replay != nil {
		if err := a.Replay.Check(o.SenderAddress, o.ID, o.Time); err != nil {
			r.Problem, r.Replayed = err, errors.Is(err, ErrReplayed)
			return r
		}
	}
	r.Body = o.Body
	p, err := a.ResolvePeer(ctx, o.SenderAddress)
	if err != nil {
		r.Problem = fmt.Errorf("cannot check the sender: %w", err)
		return r
	}
	d, ok := p.DeviceByKey(o.SenderIdentityKey)
	if !ok {
		// The cache may predate a device the sender added: ask again once.
		a.Forget(o.SenderAddress)
		if p, err = a.ResolvePeer(ctx, o.SenderAddress); err == nil {
			d, ok = p.DeviceByKey(o.SenderIdentityKey)
		}
	}
	if !ok {
		r.Problem = fmt.Errorf("%w: signed by a key that is not a current device of %s", sealed.ErrSenderKeyMismatch, o.SenderAddress)
		return r
	}
	r.Verified, r.Sender, r.Device = true, p, d
	return r
}
