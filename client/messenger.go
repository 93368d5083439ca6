package client

import (
	"context"
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
	Keys   *identity.UserKeys

	// Known holds keys of contacts resolved in earlier runs, by address
	// (State.Contacts). Resolve asks the node first, so that changed keys
	// are seen, and uses a known bundle only when the node cannot answer
	// because the contact's node is not reachable: that is when a message
	// goes into the mesh.
	Known map[string]identity.PublicBundle

	// Replay, when set, makes Open refuse copies of messages it opened
	// before and messages outside the replay window; nil opens every
	// message as it comes (commands that do not read the mailbox).
	Replay *ReplayCache

	// CommunityCA holds the community CA certificates (DER) that answers
	// for users of other domains must be signed under (State.CommunityCA).
	// Nil means: ask the home node once, trusting it as the connection
	// to it is trusted (its pin).
	CommunityCA [][]byte

	mu         sync.Mutex
	roots      *x509.CertPool                   // of CommunityCA, once needed
	resolved   map[string]identity.PublicBundle // by address, verified
	unresolved map[string]resolveFailure        // by address, for ReadPost
	refreshed  map[string]time.Time             // by address: ReadPost's last lookup after a mismatch
}

// Address returns the account's address, user@domain.
func (a *Account) Address() string { return a.User + "@" + a.Domain }

// Publish signs the account's public keys for its address and publishes
// them in the node's key directory.
func (a *Account) Publish(ctx context.Context) error {
	b, err := a.Keys.Bundle(a.Address())
	if err != nil {
		return err
	}
	return a.Client.PublishKeys(ctx, protocol.PublishedKeys{IdentityKey: b.IdentityKey, HPKEKey: b.HPKEKey, Signature: b.Signature})
}

// parse reads addr, "bob" (of the account's domain) or "bob@domain", as
// protocol.ParseRecipient: the one place the client normalises an address.
func (a *Account) parse(addr string) (protocol.Address, error) {
	return protocol.ParseRecipient(addr, a.Domain)
}

// Resolve returns the verified public keys of addr ("name" or
// "name@domain"), from a cache or from the node's key directory. Keys whose
// signature does not verify for addr are refused with
// identity.ErrBadSignature.
//
// Keys of a user of another domain must also carry the signed answer of
// that domain's node (checked against CommunityCA), or they are refused
// with *attest.ForgedError (attest.ErrForgedKeys): the home node, or any
// node the lookup passed, could otherwise hand over keys of its own and
// read what is sealed to them. Keys of the home node's own users need no
// such answer: they come straight from the pinned home node, which could
// as well read its users' mail queue as forge their keys.
func (a *Account) Resolve(ctx context.Context, addr string) (identity.PublicBundle, error) {
	pa, err := a.parse(addr)
	if err != nil {
		return identity.PublicBundle{}, err
	}
	return a.resolve(ctx, pa)
}

// resolve is Resolve of a parsed address.
func (a *Account) resolve(ctx context.Context, pa protocol.Address) (identity.PublicBundle, error) {
	addr := pa.String()
	a.mu.Lock()
	b, ok := a.resolved[addr]
	a.mu.Unlock()
	if ok {
		return b, nil
	}
	// The home node answers for its own users and, through federation,
	// for users of other nodes; either way the signature below is checked
	// against the full address, so keys published for one address cannot
	// be passed off as another's.
	lookup := addr
	if pa.Domain == strings.ToLower(a.Domain) {
		lookup = pa.User
	}
	k, err := a.Client.ResolveUser(ctx, lookup)
	if err == nil && lookup != pa.User {
		err = a.checkAnswer(ctx, pa, k)
	}
	if err != nil {
		if known, ok := a.Known[addr]; ok && (errors.Is(err, protocol.ErrPeerUnreachable) || errors.Is(err, protocol.ErrUnknownDomain)) {
			if known.Verify(addr) == nil {
				return known, nil
			}
		}
		return identity.PublicBundle{}, err
	}
	b = identity.PublicBundle{IdentityKey: k.IdentityKey, HPKEKey: k.HPKEKey, Signature: k.Signature}
	if err := b.Verify(addr); err != nil {
		return identity.PublicBundle{}, fmt.Errorf("published keys of %s: %w", addr, err)
	}
	a.mu.Lock()
	if a.resolved == nil {
		a.resolved = map[string]identity.PublicBundle{}
	}
	a.resolved[addr] = b
	a.mu.Unlock()
	return b, nil
}

// Forget drops the keys of addr that Resolve keeps from earlier lookups,
// so that the next one asks the node: a message signed with a key other
// than the kept one may come from a contact whose published keys changed
// since.
func (a *Account) Forget(addr string) {
	pa, err := a.parse(addr)
	if err != nil {
		return
	}
	a.mu.Lock()
	delete(a.resolved, pa.String())
	a.mu.Unlock()
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

// Seal encrypts body to addr and returns the envelope for the node.
func (a *Account) Seal(ctx context.Context, addr string, contentType uint16, body []byte) (Outgoing, sealed.ID, error) {
	pa, err := a.parse(addr)
	if err != nil {
		return Outgoing{}, sealed.ID{}, err
	}
	addr = pa.String()
	b, err := a.resolve(ctx, pa)
	if err != nil {
		return Outgoing{}, sealed.ID{}, err
	}
	id := sealed.NewID()
	env, err := sealed.Seal(addr, b.HPKEKey, a.Keys, a.Address(), sealed.Message{ID: id, ContentType: contentType, Body: body})
	if err != nil {
		return Outgoing{}, sealed.ID{}, err
	}
	return Outgoing{Recipient: addr, Payload: env}, id, nil
}

// SendText seals text to addr and enqueues it; it returns once the node has
// the message on disk.
func (a *Account) SendText(ctx context.Context, addr, text string) (Receipt, error) {
	out, _, err := a.Seal(ctx, addr, sealed.ContentText, []byte(text))
	if err != nil {
		return Receipt{}, err
	}
	return a.Client.Enqueue(ctx, out)
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
	// Verified is true when the sender's signature checks out against the
	// key the sender's address has published. A message that is not
	// verified must be shown as such: Problem says why.
	Verified bool
	Problem  error
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
	b, err := a.Resolve(ctx, o.SenderAddress)
	if err != nil {
		r.Problem = fmt.Errorf("cannot check the sender: %w", err)
		return r
	}
	err = o.VerifySender(b.IdentityKey)
	if errors.Is(err, sealed.ErrSenderKeyMismatch) {
		// The keys kept from an earlier lookup may be older than the
		// message: compare with what the sender publishes now.
		a.Forget(o.SenderAddress)
		if b, err = a.Resolve(ctx, o.SenderAddress); err != nil {
			r.Problem = fmt.Errorf("cannot check the sender: %w", err)
			return r
		}
		err = o.VerifySender(b.IdentityKey)
	}
	if err != nil {
		r.Problem = err
		return r
	}
	r.Verified = true
	return r
}
