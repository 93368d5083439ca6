package app

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/transport"
)

// The directory of devices and the per-device mailboxes, over real QUIC
// on a node with its bbolt store, across a restart.

// twoDevices is alice's account key and a list of her two devices.
type twoDevices struct {
	acct identity.AccountKey
	list *identity.DeviceList
	keys []*identity.UserKeys
}

func newTwoDevices(t *testing.T, addr string) *twoDevices {
	t.Helper()
	acct, err := identity.GenerateAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	d := &twoDevices{acct: acct, list: &identity.DeviceList{Address: addr}}
	for _, name := range []string{"laptop", "desk"} {
		k, err := identity.GenerateUserKeys()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.list.Add(acct, name, k, time.Now()); err != nil {
			t.Fatal(err)
		}
		d.keys = append(d.keys, k)
	}
	return d
}

func (d *twoDevices) id(i int) string {
	return identity.DeviceIDOf(d.keys[i].IdentityPublic()).String()
}

// published is what alice publishes: the laptop's (the primary's) keys
// with the account key and the signed list.
func (d *twoDevices) published(t *testing.T) protocol.PublishedKeys {
	t.Helper()
	signed, err := d.list.Sign(d.acct)
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.keys[0].Bundle(d.list.Address)
	if err != nil {
		t.Fatal(err)
	}
	return protocol.PublishedKeys{IdentityKey: b.IdentityKey, HPKEKey: b.HPKEKey, Signature: b.Signature,
		AccountKey: d.acct.Public(), DeviceList: signed}
}

// loginAgain dials n and logs in as user (password "pw"), for a second
// device of an account that newAccountNoPublish made.
func loginAgain(t *testing.T, n *running, user string) *client.Client {
	t.Helper()
	c, err := dial(t, n.Addr().String(), transport.Trust{Pin: n.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, _, err := c.Login(ctxT(t), fastOPAQUE, n.cfg.Domain, user, []byte("pw")); err != nil {
		t.Fatal(err)
	}
	return c
}

func payloadsOf(t *testing.T, c *client.Client) []string {
	t.Helper()
	msgs, err := c.Fetch(ctxT(t), 0, 100)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.Payload))
	}
	return out
}

func sameStrings(a []string, b ...string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTwoDevicesOfOneAccountHaveTheirOwnQueuesOverQUICAndBbolt(t *testing.T) {
	cfg := testConfig(t)
	cfg.MailboxMaxMessages = 4
	n := start(t, cfg)
	ctx := ctxT(t)
	laptop, bob := newAccountNoPublish(t, n, "alice"), newAccountNoPublish(t, n, "bob")
	d := newTwoDevices(t, "alice@"+cfg.Domain)
	good := d.published(t)

	forged := good
	forged.DeviceList = bytes.Clone(good.DeviceList)
	forged.DeviceList[len(forged.DeviceList)-1] ^= 1
	if err := laptop.PublishKeys(ctx, forged); !errors.Is(err, protocol.ErrBadRequest) {
		t.Fatalf("a forged device list at publish: %v, want ErrBadRequest", err)
	}
	if err := laptop.PublishKeys(ctx, good); err != nil {
		t.Fatal(err)
	}
	got, err := bob.ResolveUser(ctx, "alice")
	if err != nil || !bytes.Equal(got.DeviceList, good.DeviceList) || !bytes.Equal(got.AccountKey, good.AccountKey) {
		t.Fatalf("resolveUser gives %d bytes of list, %v", len(got.DeviceList), err)
	}
	if list, err := identity.VerifyDeviceList(got.DeviceList, "alice@"+cfg.Domain); err != nil || len(list.Current()) != 2 {
		t.Fatalf("the list bob got does not verify: %v", err)
	}

	desk := loginAgain(t, n, "alice")
	if err := desk.UseDevice(ctx, "0123456789abcdef"); !errors.Is(err, protocol.ErrDeviceRevoked) {
		t.Errorf("useDevice of a device not in the list: %v, want ErrDeviceRevoked", err)
	}
	if err := desk.UseDevice(ctx, d.id(1)); err != nil {
		t.Fatal(err)
	}
	for _, m := range []client.Outgoing{
		{Recipient: "alice", Payload: []byte("to the laptop")},
		{Recipient: "alice#" + d.id(1) + "@" + cfg.Domain, Payload: []byte("to the desk")},
		{Recipient: "alice#" + d.id(0), Payload: []byte("to the laptop by name")},
	} {
		if _, err := bob.Enqueue(ctx, m); err != nil {
			t.Fatalf("enqueue to %s: %v", m.Recipient, err)
		}
	}
	if got := payloadsOf(t, laptop); !sameStrings(got, "to the laptop", "to the laptop by name") {
		t.Errorf("the laptop (no useDevice: the primary) fetches %q", got)
	}
	if got := payloadsOf(t, desk); !sameStrings(got, "to the desk") {
		t.Errorf("the desk fetches %q", got)
	}
	if n, err := desk.Ack(ctx, 1); err != nil || n != 1 {
		t.Errorf("the desk's ack = %d, %v", n, err)
	}
	if got := payloadsOf(t, laptop); len(got) != 2 {
		t.Errorf("the desk's ack took the laptop's messages: %q", got)
	}

	// The account's bound counts both queues: 2 held by the laptop, so two
	// more fit and the third is refused, whichever device it is for.
	for i, rcpt := range []string{"alice#" + d.id(1), "alice"} {
		if _, err := bob.Enqueue(ctx, client.Outgoing{Recipient: rcpt, Payload: []byte{byte(i)}}); err != nil {
			t.Fatalf("message %d within the account's bound: %v", i, err)
		}
	}
	if _, err := bob.Enqueue(ctx, client.Outgoing{Recipient: "alice#" + d.id(1), Payload: []byte("over")}); !errors.Is(err, protocol.ErrMailboxFull) {
		t.Errorf("a fifth message in alice's queues with a bound of 4: %v, want ErrMailboxFull", err)
	}

	// Across a restart the devices and their queues are still apart.
	n.wait(t)
	n = start(t, cfg)
	laptop, bob, desk = loginAgain(t, n, "alice"), loginAgain(t, n, "bob"), loginAgain(t, n, "alice")
	if err := desk.UseDevice(ctx, d.id(1)); err != nil {
		t.Fatal(err)
	}
	if got := payloadsOf(t, desk); !sameStrings(got, "\x00") {
		t.Errorf("after the restart the desk fetches %q", got)
	}
	if got := payloadsOf(t, laptop); len(got) != 3 {
		t.Errorf("after the restart the laptop fetches %q", got)
	}

	// Revoked, the desk is refused and gets nothing more.
	if err := d.list.Revoke(identity.DeviceIDOf(d.keys[1].IdentityPublic()), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := laptop.PublishKeys(ctx, d.published(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := desk.Fetch(ctx, 0, 10); !errors.Is(err, protocol.ErrDeviceRevoked) {
		t.Errorf("a revoked device's fetch: %v, want ErrDeviceRevoked", err)
	}
	if _, err := bob.Enqueue(ctx, client.Outgoing{Recipient: "alice#" + d.id(1), Payload: []byte("late")}); !errors.Is(err, protocol.ErrDeviceRevoked) {
		t.Errorf("a message to a revoked device: %v, want ErrDeviceRevoked", err)
	}
	// An older list (the one with the desk current) is refused.
	if err := laptop.PublishKeys(ctx, good); !errors.Is(err, protocol.ErrBadRequest) {
		t.Errorf("publishing the older list again: %v, want ErrBadRequest", err)
	}
}

func TestALinkRequestTravelsFromTheNewMachineToTheAccountsDevices(t *testing.T) {
	n := start(t, testConfig(t))
	ctx := ctxT(t)
	holder := newAccountNoPublish(t, n, "alice")
	d := newTwoDevices(t, "alice@"+n.cfg.Domain)
	if err := holder.PublishKeys(ctx, d.published(t)); err != nil {
		t.Fatal(err)
	}
	newMachine := loginAgain(t, n, "alice")
	k, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	req, err := (&identity.LinkRequest{Address: "alice@" + n.cfg.Domain, Name: "phone", IdentityKey: k.IdentityPublic(), HPKEKey: k.HPKEPublic()}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	code, err := identity.NewLinkCode()
	if err != nil {
		t.Fatal(err)
	}
	id, err := newMachine.RequestLink(ctx, req, code.Tag(req))
	if err != nil {
		t.Fatal(err)
	}
	reqs, err := holder.LinkRequests(ctx)
	if err != nil || len(reqs) != 1 || reqs[0].ID != id {
		t.Fatalf("LinkRequests = %+v, %v", reqs, err)
	}
	if err := code.Check(reqs[0].Request, reqs[0].Tag); err != nil {
		t.Errorf("the approver cannot check the request it got: %v", err)
	}
	if _, err := d.list.Add(d.acct, "phone", k, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := holder.PublishKeys(ctx, d.published(t)); err != nil {
		t.Fatal(err)
	}
	if reqs, err := holder.LinkRequests(ctx); err != nil || len(reqs) != 0 {
		t.Errorf("after the approval LinkRequests = %d, %v", len(reqs), err)
	}
}

func TestADeviceIsReachedAcrossFederationAndItsListIsVouchedFor(t *testing.T) {
	c := newCommunity(t)
	a := start(t, c.federated("a.example.mesh", ca.IssueOptions{}))
	b := start(t, c.federated("b.example.mesh", ca.IssueOptions{}, a.Addr().String()))
	waitLinks(t, a, "b.example.mesh")
	waitLinks(t, b, "a.example.mesh")
	ctx := ctxT(t)
	laptop := newAccountNoPublish(t, a, "alice")
	d := newTwoDevices(t, "alice@a.example.mesh")
	keys := d.published(t)
	if err := laptop.PublishKeys(ctx, keys); err != nil {
		t.Fatal(err)
	}
	desk := loginAgain(t, a, "alice")
	if err := desk.UseDevice(ctx, d.id(1)); err != nil {
		t.Fatal(err)
	}
	if err := desk.UploadKeyPackages(ctx, [][]byte{kp(1, "the desk's")}, nil); err != nil {
		t.Fatal(err)
	}
	bob := newAccount(t, b, "bob")

	// The answer covers the account key and the list: b checks it, and so
	// does bob's client (Resolve verifies the answer against the CA).
	if _, err := bob.ResolvePeer(ctx, "alice@a.example.mesh"); err != nil {
		t.Fatalf("bob resolves alice across federation: %v", err)
	}
	got, err := bob.Client.ResolveUser(ctx, "alice@a.example.mesh")
	if err != nil || !bytes.Equal(got.DeviceList, keys.DeviceList) || !bytes.Equal(got.AccountKey, keys.AccountKey) || len(got.Answer) == 0 {
		t.Fatalf("the answer across federation: %d bytes of list, %d of answer, %v", len(got.DeviceList), len(got.Answer), err)
	}
	// The recipient text crosses the link as it is; only a reads the device.
	if _, err := bob.Client.Enqueue(ctx, client.Outgoing{Recipient: "alice#" + d.id(1) + "@a.example.mesh", Payload: []byte("to the desk from afar")}); err != nil {
		t.Fatal(err)
	}
	if got := payloadsOf(t, desk); !sameStrings(got, "to the desk from afar") {
		t.Errorf("the desk fetches %q", got)
	}
	if got := payloadsOf(t, laptop); len(got) != 0 {
		t.Errorf("the laptop fetches %q, want nothing", got)
	}
	pkg, _, err := bob.Client.FetchKeyPackage(ctx, "alice#"+d.id(1)+"@a.example.mesh", 1)
	if err != nil || !bytes.HasSuffix(pkg, []byte("the desk's")) {
		t.Errorf("the desk's key package across federation: %q, %v", pkg, err)
	}
	if _, _, err := bob.Client.FetchKeyPackage(ctx, "alice#0123456789abcdef@a.example.mesh", 1); !errors.Is(err, protocol.ErrDeviceRevoked) {
		t.Errorf("a key package of a device alice does not have: %v, want ErrDeviceRevoked", err)
	}
}
