package node_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/mls"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/memstore"
	"github.com/quicprochat/qpc/protocol"
)

// devAccount is an account's key and device list as the account's
// holder keeps them: what the clients of issue 22 publish.
type devAccount struct {
	acct    identity.AccountKey
	list    *identity.DeviceList
	devices []*identity.UserKeys
}

// newDevAccount makes an account key for user@domain and a list of n
// devices, the first the primary.
func newDevAccount(t *testing.T, user string, n int) *devAccount {
	t.Helper()
	acct, err := identity.GenerateAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	a := &devAccount{acct: acct, list: &identity.DeviceList{Address: user + "@" + domain}}
	for i := range n {
		a.add(t, string(rune('a'+i))+"-device")
	}
	return a
}

// add makes a device's keys and adds it to the list.
func (a *devAccount) add(t *testing.T, name string) *identity.UserKeys {
	t.Helper()
	k, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.list.Add(a.acct, name, k, time.Now()); err != nil {
		t.Fatal(err)
	}
	a.devices = append(a.devices, k)
	return k
}

// id is the device id of device i.
func (a *devAccount) id(i int) string {
	return identity.DeviceIDOf(a.devices[i].IdentityPublic()).String()
}

// keys signs the list and returns what the account publishes: the
// primary's keys beside the account key and the list.
func (a *devAccount) keys(t *testing.T) protocol.PublishedKeys {
	t.Helper()
	signed, err := a.list.Sign(a.acct)
	if err != nil {
		t.Fatal(err)
	}
	primary, ok := a.list.Primary()
	if !ok {
		t.Fatal("no current device")
	}
	for _, k := range a.devices {
		if bytes.Equal(k.IdentityPublic(), primary.IdentityKey) {
			b, err := k.Bundle(a.list.Address)
			if err != nil {
				t.Fatal(err)
			}
			return protocol.PublishedKeys{IdentityKey: b.IdentityKey, HPKEKey: b.HPKEKey, Signature: b.Signature,
				AccountKey: a.acct.Public(), DeviceList: signed}
		}
	}
	t.Fatal("the primary's keys are not the account's")
	return protocol.PublishedKeys{}
}

func TestPublishKeysTakesAVerifiedDeviceListAndRefusesTheRest(t *testing.T) {
	f := newFixture(t, node.Limits{}, memstore.Options{})
	alice := loggedIn(t, f, "alice")
	a := newDevAccount(t, "alice", 2)
	good := a.keys(t)

	forged := good
	forged.DeviceList = bytes.Clone(good.DeviceList)
	forged.DeviceList[len(forged.DeviceList)-1] ^= 1
	bobs := newDevAccount(t, "bob", 1).keys(t)
	otherAccount := good
	otherAccount.AccountKey = bobs.AccountKey
	notPrimary := good
	second, err := a.devices[1].Bundle(a.list.Address)
	if err != nil {
		t.Fatal(err)
	}
	notPrimary.IdentityKey, notPrimary.HPKEKey = second.IdentityKey, second.HPKEKey
	keyWithoutList := good
	keyWithoutList.DeviceList = nil
	for name, k := range map[string]protocol.PublishedKeys{
		"a list whose signature is broken":          forged,
		"bob's list on alice's account":             bobs,
		"an account key that did not sign the list": otherAccount,
		"keys of a device that is not the primary":  notPrimary,
		"an account key without a list":             keyWithoutList,
		"a list that is not a list":                 {IdentityKey: good.IdentityKey, HPKEKey: good.HPKEKey, Signature: good.Signature, AccountKey: good.AccountKey, DeviceList: []byte{1, 2, 3}},
	} {
		if err := alice.PublishKeys(k); !errors.Is(err, protocol.ErrBadRequest) {
			t.Errorf("%s: %v, want ErrBadRequest", name, err)
		}
	}
	if _, err := f.st.Keys("alice"); !errors.Is(err, protocol.ErrNoKeys) {
		t.Fatalf("a refused publish stored keys: %v", err)
	}

	must(t, alice.PublishKeys(good))
	d, err := f.st.Devices("alice")
	if err != nil || d.Primary != a.id(0) || len(d.Current) != 2 || d.Current[1] != a.id(1) {
		t.Fatalf("Devices after the publish = %+v, %v", d, err)
	}
	bob := loggedIn(t, f, "bob")
	got, err := bob.ResolveUser(context.Background(), "alice#"+a.id(1), 0)
	if err != nil || !bytes.Equal(got.AccountKey, good.AccountKey) || !bytes.Equal(got.DeviceList, good.DeviceList) || !bytes.Equal(got.IdentityKey, good.IdentityKey) {
		t.Errorf("ResolveUser returns %d bytes of list, %v", len(got.DeviceList), err)
	}

	// The same list again, or an older one, is refused; a newer one taken.
	if err := alice.PublishKeys(good); !errors.Is(err, protocol.ErrBadRequest) {
		t.Errorf("the same seq again: %v, want ErrBadRequest", err)
	}
	a.add(t, "desk")
	newer := a.keys(t)
	must(t, alice.PublishKeys(newer))
	if err := alice.PublishKeys(good); !errors.Is(err, protocol.ErrBadRequest) {
		t.Errorf("an older list after a newer one: %v, want ErrBadRequest", err)
	}
	// Keys from a client of before devices cannot replace the list.
	legacy := protocol.PublishedKeys{IdentityKey: good.IdentityKey, HPKEKey: good.HPKEKey, Signature: good.Signature}
	if err := alice.PublishKeys(legacy); !errors.Is(err, protocol.ErrBadRequest) {
		t.Errorf("keys without a list over a list: %v, want ErrBadRequest", err)
	}
	// A new account key (a reset by the password) starts over at any seq.
	reset := newDevAccount(t, "alice", 1)
	must(t, alice.PublishKeys(reset.keys(t)))
	if d, _ := f.st.Devices("alice"); d.Primary != reset.id(0) || len(d.Current) != 1 {
		t.Errorf("Devices after a reset = %+v", d)
	}
}

func TestUseDeviceActsOnThatDevicesQueueAndKeyPackages(t *testing.T) {
	f := newFixture(t, node.Limits{}, memstore.Options{})
	laptop, bob := loggedIn(t, f, "alice"), loggedIn(t, f, "bob")
	a := newDevAccount(t, "alice", 2)
	must(t, laptop.PublishKeys(a.keys(t)))
	desk := f.conn(t, "192.0.2.200:1")
	if _, err := login(desk, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := desk.UseDevice("not hex"); !errors.Is(err, protocol.ErrBadRequest) {
		t.Errorf("UseDevice of a malformed id: %v, want ErrBadRequest", err)
	}
	if err := desk.UseDevice("0123456789abcdef"); !errors.Is(err, protocol.ErrDeviceRevoked) {
		t.Errorf("UseDevice of a device not in the list: %v, want ErrDeviceRevoked", err)
	}
	must(t, desk.UseDevice(a.id(1)))

	for i, r := range send(t, bob, "alice", "to the primary") {
		if r.Err != nil {
			t.Fatalf("receipt %d: %v", i, r.Err)
		}
	}
	for i, r := range send(t, bob, "alice#"+a.id(1)+"@"+domain, "to the desk", "to the desk again") {
		if r.Err != nil || r.Seq != uint64(i+1) {
			t.Fatalf("receipt %d: %+v", i, r)
		}
	}
	payloads := func(c *node.Conn) string {
		t.Helper()
		msgs, err := c.Fetch(0, 0)
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		var out []string
		for _, m := range msgs {
			out = append(out, string(m.Payload))
		}
		return join(out)
	}
	if got := payloads(laptop); got != "to the primary" {
		t.Errorf("a connection that named no device fetches %q, want the primary's queue", got)
	}
	if got := payloads(desk); got != "to the desk|to the desk again" {
		t.Errorf("the desk fetches %q", got)
	}
	if n, err := desk.Ack(2); err != nil || n != 2 {
		t.Errorf("the desk's ack = %d, %v", n, err)
	}
	if got := payloads(laptop); got != "to the primary" {
		t.Errorf("the desk's ack took the primary's messages: %q", got)
	}

	// Key packages are the device's own.
	kp := realKeyPackage(t, mls.X25519AES128GCMSHA256Ed25519)
	must(t, desk.UploadKeyPackages([][]byte{kp}, nil))
	if n, _, err := desk.KeyPackageCount(0); err != nil || n != 1 {
		t.Errorf("the desk's count = %d, %v", n, err)
	}
	if n, _, err := laptop.KeyPackageCount(0); err != nil || n != 0 {
		t.Errorf("the primary's count = %d, %v; the desk's package is not its", n, err)
	}
	ctx := context.Background()
	if _, _, err := bob.FetchKeyPackage(ctx, "alice", 0); !errors.Is(err, protocol.ErrNoKeyPackage) {
		t.Errorf("a package of the primary, which has none: %v", err)
	}
	if pkg, _, err := bob.FetchKeyPackage(ctx, "alice#"+a.id(1), 0); err != nil || !bytes.Equal(pkg, kp) {
		t.Errorf("the desk's package: %d bytes, %v", len(pkg), err)
	}

	// Revoked, the desk gets nothing more.
	if err := a.list.Revoke(identity.DeviceIDOf(a.devices[1].IdentityPublic()), time.Now()); err != nil {
		t.Fatal(err)
	}
	must(t, laptop.PublishKeys(a.keys(t)))
	if _, err := desk.Fetch(0, 0); !errors.Is(err, protocol.ErrDeviceRevoked) {
		t.Errorf("Fetch of a revoked device: %v, want ErrDeviceRevoked", err)
	}
	if r := send(t, bob, "alice#"+a.id(1), "after the revocation"); !errors.Is(r[0].Err, protocol.ErrDeviceRevoked) {
		t.Errorf("a message to a revoked device: %v, want ErrDeviceRevoked", r[0].Err)
	}
	if _, _, err := bob.FetchKeyPackage(ctx, "alice#"+a.id(1), 0); !errors.Is(err, protocol.ErrDeviceRevoked) {
		t.Errorf("a package of a revoked device: %v, want ErrDeviceRevoked", err)
	}
	if err := desk.UseDevice(a.id(1)); !errors.Is(err, protocol.ErrDeviceRevoked) {
		t.Errorf("UseDevice of a revoked device: %v, want ErrDeviceRevoked", err)
	}
}

func TestASubscriptionPushesItsDevicesQueueOnly(t *testing.T) {
	f := newFixture(t, node.Limits{}, memstore.Options{})
	laptop, bob := loggedIn(t, f, "alice"), loggedIn(t, f, "bob")
	a := newDevAccount(t, "alice", 2)
	must(t, laptop.PublishKeys(a.keys(t)))
	must(t, laptop.UseDevice(a.id(1)))
	l := newRecorder()
	sub, err := laptop.Subscribe(l, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Cancel()
	send(t, bob, "alice", "for the primary")
	send(t, bob, "alice#"+a.id(1), "for this device")
	got := l.waitFor(t, 1)
	if string(got[0].Payload) != "for this device" {
		t.Errorf("the subscription of device 2 pushed %q", got[0].Payload)
	}
	send(t, bob, "alice#"+a.id(1), "and another")
	if got := l.waitFor(t, 2); string(got[1].Payload) != "and another" {
		t.Errorf("second push %q", got[1].Payload)
	}
}

func TestLinkRequestsAreBoundedExpireAndGoWhenAListHoldsThem(t *testing.T) {
	f := newFixture(t, node.Limits{}, memstore.Options{})
	holder := loggedIn(t, f, "alice")
	a := newDevAccount(t, "alice", 1)
	must(t, holder.PublishKeys(a.keys(t)))
	newMachine := f.conn(t, "192.0.2.201:1")
	if _, err := login(newMachine, "alice"); err != nil {
		t.Fatal(err)
	}
	tag := bytes.Repeat([]byte{7}, protocol.LinkTagLen)
	request := func(addr, name string) ([]byte, *identity.UserKeys) {
		k, err := identity.GenerateUserKeys()
		if err != nil {
			t.Fatal(err)
		}
		r := &identity.LinkRequest{Address: addr, Name: name, IdentityKey: k.IdentityPublic(), HPKEKey: k.HPKEPublic()}
		b, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b, k
	}
	first, firstKeys := request("alice@"+domain, "phone")
	id, err := newMachine.RequestLink(first, tag)
	if err != nil || id == 0 {
		t.Fatalf("RequestLink = %d, %v", id, err)
	}
	bobs, _ := request("bob@"+domain, "phone")
	for name, c := range map[string]struct{ req, tag []byte }{
		"a request for another account": {bobs, tag},
		"a request that is not one":     {[]byte("not a request"), tag},
		"a short tag":                   {first, tag[:16]},
		"an empty request":              {nil, tag},
	} {
		if _, err := newMachine.RequestLink(c.req, c.tag); !errors.Is(err, protocol.ErrBadRequest) {
			t.Errorf("%s: %v, want ErrBadRequest", name, err)
		}
	}
	// A device of the list cannot ask again.
	already, err := a.devices[0].Bundle(a.list.Address)
	if err != nil {
		t.Fatal(err)
	}
	r := &identity.LinkRequest{Address: "alice@" + domain, Name: "again", IdentityKey: already.IdentityKey, HPKEKey: already.HPKEKey}
	raw, _ := r.MarshalBinary()
	if _, err := newMachine.RequestLink(raw, tag); !errors.Is(err, protocol.ErrBadRequest) {
		t.Errorf("a request of a listed device: %v, want ErrBadRequest", err)
	}
	for i := range node.MaxLinkRequests - 1 {
		req, _ := request("alice@"+domain, "spare"+string(rune('0'+i)))
		if _, err := newMachine.RequestLink(req, tag); err != nil {
			t.Fatalf("request %d: %v", i+2, err)
		}
	}
	extra, _ := request("alice@"+domain, "one too many")
	if _, err := newMachine.RequestLink(extra, tag); !errors.Is(err, protocol.ErrRateLimited) {
		t.Errorf("request %d: %v, want ErrRateLimited", node.MaxLinkRequests+1, err)
	}
	// The same device again replaces its request rather than adding one.
	if _, err := newMachine.RequestLink(first, tag); err != nil {
		t.Errorf("the first device asking again: %v", err)
	}
	reqs, err := holder.LinkRequests()
	if err != nil || len(reqs) != node.MaxLinkRequests {
		t.Fatalf("LinkRequests = %d, %v; want %d", len(reqs), err, node.MaxLinkRequests)
	}
	if got := reqs[len(reqs)-1]; !bytes.Equal(got.Request, first) || !bytes.Equal(got.Tag, tag) || got.Created.IsZero() {
		t.Errorf("the replaced request is not last and whole: %+v", got)
	}
	bob := loggedIn(t, f, "bob")
	if reqs, err := bob.LinkRequests(); err != nil || len(reqs) != 0 {
		t.Errorf("bob sees %d of alice's requests, %v", len(reqs), err)
	}

	// Approved: the list that holds the device takes its request away.
	if _, err := a.list.Add(a.acct, "phone", firstKeys, time.Now()); err != nil {
		t.Fatal(err)
	}
	a.devices = append(a.devices, firstKeys)
	must(t, holder.PublishKeys(a.keys(t)))
	reqs, _ = holder.LinkRequests()
	if len(reqs) != node.MaxLinkRequests-1 {
		t.Errorf("after the approval %d requests pending, want %d", len(reqs), node.MaxLinkRequests-1)
	}
	for _, q := range reqs {
		if bytes.Equal(q.Request, first) {
			t.Error("the approved request is still pending")
		}
	}
	// The rest expire.
	f.clock.add(node.LinkRequestTTL)
	if reqs, _ := holder.LinkRequests(); len(reqs) != 0 {
		t.Errorf("%d requests left after %s", len(reqs), node.LinkRequestTTL)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += "|"
		}
		out += x
	}
	return out
}

// recorder is a Listener that keeps what it is pushed.
type recorder struct {
	mu   sync.Mutex
	msgs []protocol.Message
	more chan struct{}
}

func newRecorder() *recorder { return &recorder{more: make(chan struct{}, 1)} }

func (r *recorder) Deliver(_ context.Context, msgs []protocol.Message) error {
	r.mu.Lock()
	r.msgs = append(r.msgs, msgs...)
	r.mu.Unlock()
	select {
	case r.more <- struct{}{}:
	default:
	}
	return nil
}

// waitFor waits, up to a deadline, until n messages were pushed, and
// returns them.
func (r *recorder) waitFor(t *testing.T, n int) []protocol.Message {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		r.mu.Lock()
		got := append([]protocol.Message{}, r.msgs...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.more:
		case <-deadline:
			t.Fatalf("%d messages pushed, want %d", len(got), n)
		}
	}
}
