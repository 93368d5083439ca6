package session_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/keystore"
	"github.com/quicprochat/qpc/protocol"
)

// writeV1State registers p on the node and leaves what qpc of before
// devices left: its one UserKeys published as a self-signed bundle, and a
// state of format version 1 (the JSON of that state, sealed the same way,
// under the name it used). It returns the keys.
func writeV1State(t *testing.T, p *person) *identity.UserKeys {
	t.Helper()
	ctx := ctxT(t)
	c, err := p.config().Dial(ctx, p.n.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exportKey, err := c.Register(ctx, fastOPAQUE, domain, p.user, p.pw)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Login(ctx, fastOPAQUE, domain, p.user, p.pw); err != nil {
		t.Fatal(err)
	}
	keys, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	// The publish of before devices: the keys alone, self-signed.
	if err := (&client.Account{Client: c, Domain: domain, User: p.user, Keys: keys}).Publish(ctx); err != nil {
		t.Fatal(err)
	}
	raw, err := keys.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// The fields of the version-1 State, as it wrote them.
	v1 := struct {
		Version     int    `json:"version"`
		User        string `json:"user"`
		Domain      string `json:"domain"`
		Server      string `json:"server"`
		Fingerprint string `json:"fingerprint"`
		Keys        []byte `json:"keys"`
	}{1, p.user, domain, p.n.Addr, p.n.Fingerprint, raw}
	plain, err := json.Marshal(v1)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := keystore.Seal(exportKey, plain)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.stateDir, p.user+"@"+domain+".keystore"), sealed, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := client.SaveCurrent(p.stateDir, p.current()); err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestAStateOfBeforeDevicesMigratesAtTheNextLoginAndContactsSeeNoKeyChange(t *testing.T) {
	n := startNode(t)
	alice, bob := newPerson(t, n, "alice"), newPerson(t, n, "bob")
	oldKeys := writeV1State(t, alice)
	b := bob.register()
	ctx := ctxT(t)

	// Bob knows alice by her one key before she migrates.
	if _, err := b.SendText(ctx, "alice", "before", session.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	a := alice.mustLogin()
	if !a.State().Migrated() || a.Account().AccountKey == nil || !a.Account().AccountKey.Public().Equal(oldKeys.IdentityPublic()) {
		t.Fatalf("after the login: migrated %v, account key %v; want the old identity key as the account key", a.State().Migrated(), a.Account().AccountKey)
	}
	if !bytes.Equal(a.State().Keys, mustMarshal(t, oldKeys)) {
		t.Error("the migration changed the device's keys")
	}
	k, err := b.Client().ResolveUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	l, err := identity.VerifyDeviceList(k.DeviceList, "alice@"+domain)
	if err != nil || l.Seq != 1 || len(l.Current()) != 1 || !l.AccountKey.Equal(oldKeys.IdentityPublic()) ||
		!l.Current()[0].IdentityKey.Equal(oldKeys.IdentityPublic()) {
		t.Fatalf("published list %+v, %v; want seq 1 with the old key as account key and only device", l, err)
	}
	if got := receive(t, a); len(got) != 1 || string(got[0].Body) != "before" || !got[0].Verified {
		t.Fatalf("alice read %+v; want bob's message sealed before the migration", got)
	}
	// Bob saw her old key before; her messages from now on are no key change.
	if _, err := a.SendText(ctx, "bob", "after", session.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, b); len(got) != 1 || !got[0].Verified || got[0].KeyChange != nil || len(got[0].DeviceNotices) != 0 {
		t.Fatalf("bob read %+v; want alice's message, verified, without a key change or notice", got)
	}
	// A second login does not migrate again.
	a.Close()
	again := alice.mustLogin()
	if again.Account().List.Seq != 1 {
		t.Errorf("a second login published seq %d, want the migration's 1", again.Account().List.Seq)
	}
}

func mustMarshal(t *testing.T, k *identity.UserKeys) []byte {
	t.Helper()
	b, err := k.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// link makes p's state dir a device of its account, approved by approver;
// it returns the new device's session and what Approve said.
func link(t *testing.T, p *person, name string, approver *session.Session) (*session.Session, session.Approved) {
	t.Helper()
	return linkWith(t, p, name, approver, session.ApproveOptions{})
}

// linkWith is link with the approver's options o (its contacts are read
// from the approver's chat database).
func linkWith(t *testing.T, p *person, name string, approver *session.Session, o session.ApproveOptions) (*session.Session, session.Approved) {
	t.Helper()
	ctx := ctxT(t)
	cfg := p.config()
	cfg.DeviceName = name
	l, err := session.StartLink(ctx, cfg, p.current())
	if err != nil {
		t.Fatal(err)
	}
	eng, err := approver.OpenChat(nil)
	if err != nil {
		t.Fatal(err)
	}
	contacts, err := eng.SyncContents()
	eng.Close()
	if err != nil {
		t.Fatal(err)
	}
	o.Contacts = contacts
	a, err := approver.Approve(ctx, l.Code.String(), o)
	if err != nil {
		l.Close()
		t.Fatalf("approve: %v", err)
	}
	s, err := l.Wait(ctx, 20*time.Millisecond, nil)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, a
}

func TestALinkedDeviceGetsTheContactsAndEveryMessageReachesEveryDevice(t *testing.T) {
	n := startNode(t)
	alice, bob := newPerson(t, n, "alice"), newPerson(t, n, "bob")
	a1, b := alice.register(), bob.register()
	ctx := ctxT(t)
	if _, err := a1.SendText(ctx, "bob", "hi", session.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	receive(t, b)
	verify(t, a1, "bob")

	// Wrong codes are refused, typed, and add nothing.
	desk := newPerson(t, n, "alice")
	cfg := desk.config()
	cfg.DeviceName = "desk"
	l, err := session.StartLink(ctx, cfg, desk.current())
	if err != nil {
		t.Fatal(err)
	}
	other, _ := identity.NewLinkCode()
	if _, err := a1.Approve(ctx, other.String(), session.ApproveOptions{}); !errors.Is(err, session.ErrNoLinkRequest) {
		t.Errorf("approve with another code: %v, want ErrNoLinkRequest", err)
	}
	if _, err := a1.Approve(ctx, "7KQ4-M2XD-9RT", session.ApproveOptions{}); !errors.Is(err, identity.ErrBadLinkCode) {
		t.Errorf("approve with a short code: %v, want ErrBadLinkCode", err)
	}
	if devs, err := a1.Devices(ctx); err != nil || len(devs.Current()) != 1 {
		t.Fatalf("devices after wrong codes: %v, %v; want alice's one", devs, err)
	}
	l.Close()

	a2, approved := link(t, desk, "desk", a1)
	if approved.Contacts != 1 || approved.Device.Name != "desk" || approved.BundleSize == 0 {
		t.Errorf("approved %+v; want desk with one contact", approved)
	}
	if a2.HoldsAccountKey() {
		t.Error("the linked device holds the account key; it was not asked to")
	}
	got := receive(t, a2)
	if len(got) != 1 || got[0].Synced == nil || got[0].Synced.Contacts != 1 || got[0].Body != nil {
		t.Fatalf("the new device read %+v; want the sync bundle, applied, with one contact and no body", got)
	}
	// Bob's verification mark came along.
	eng, err := a2.OpenChat(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, ct, err := eng.SafetyNumber(ctx, "bob")
	eng.Close()
	if err != nil || !ct.Verified {
		t.Errorf("bob on the new device: %+v, %v; want verified", ct, err)
	}

	// Every message reaches every device: bob → both of alice's; alice's
	// desk → bob, and a sent copy to her first device.
	sent, err := b.SendText(ctx, "alice", "to both", session.SendOptions{})
	if err != nil || sent.Envelopes != 2 {
		t.Fatalf("bob's send: %+v, %v; want two envelopes", sent, err)
	}
	// Bob learns of alice's new device at his send, the first time he
	// looks at her since.
	if want := "alice@" + domain + " added a device 'desk' on "; len(sent.DeviceNotices) != 1 || !strings.HasPrefix(sent.DeviceNotices[0], want) {
		t.Errorf("bob's notices at his send %q; want one that starts %q", sent.DeviceNotices, want)
	}
	for i, s := range []*session.Session{a1, a2} {
		if got := receive(t, s); len(got) != 1 || string(got[0].Body) != "to both" || !got[0].Verified {
			t.Errorf("alice's device %d read %+v", i+1, got)
		}
	}
	if _, err := a2.SendText(ctx, "bob", "from the desk", session.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	got = receive(t, b)
	if len(got) != 1 || string(got[0].Body) != "from the desk" || !got[0].Verified || got[0].Device.Name != "desk" {
		t.Fatalf("bob read %+v", got)
	}
	if len(got[0].DeviceNotices) != 0 {
		t.Errorf("bob's notices %q on a message after his send told him", got[0].DeviceNotices)
	}
	got = receive(t, a1)
	if len(got) != 1 || got[0].SentCopy == nil || got[0].SentCopy.To != "bob@"+domain || string(got[0].SentCopy.Body) != "from the desk" {
		t.Fatalf("alice's first device read %+v; want the desk's sent copy to bob", got)
	}

	// Removing: not the last device, not this one without force, and not
	// from a device without the account key.
	if _, err := a2.RemoveDevice(ctx, "desk", true); !errors.Is(err, session.ErrNoAccountKey) {
		t.Errorf("remove on the desk: %v, want ErrNoAccountKey", err)
	}
	first := a1.State().DeviceName
	if _, err := a1.RemoveDevice(ctx, first, false); !errors.Is(err, session.ErrThisDevice) {
		t.Errorf("remove this device: %v, want ErrThisDevice", err)
	}
	if _, err := a1.RemoveDevice(ctx, "desk", false); err != nil {
		t.Fatal(err)
	}
	if _, err := a1.RemoveDevice(ctx, first, true); !errors.Is(err, session.ErrLastDevice) {
		t.Errorf("remove the last device: %v, want ErrLastDevice", err)
	}
	// The removed device reads nothing more: the node refuses its queue.
	if _, err := a2.Client().Fetch(ctx, 0, 10); !errors.Is(err, protocol.ErrDeviceRevoked) {
		t.Errorf("fetch on the removed device: %v, want ErrDeviceRevoked", err)
	}
	_, err = desk.login()
	var rev *session.RevokedError
	if !errors.As(err, &rev) || !errors.Is(err, protocol.ErrDeviceRevoked) {
		t.Errorf("login on the removed device: %v, want a RevokedError", err)
	}
	sent, err = b.SendText(ctx, "alice", "after the removal", session.SendOptions{})
	if err != nil || sent.Envelopes != 1 {
		t.Errorf("bob's send after the removal: %+v, %v; want one envelope", sent, err)
	}

	// The removed machine may be linked again, as a new device; a current
	// one may not.
	if _, err := session.StartLink(ctx, alice.config(), alice.current()); !errors.Is(err, session.ErrAlreadyDevice) {
		t.Errorf("link on a current device: %v, want ErrAlreadyDevice", err)
	}
	again, _ := link(t, desk, "desk again", a1)
	if got := receive(t, again); len(got) != 1 || got[0].Synced == nil {
		t.Errorf("the desk linked again read %+v; want the sync bundle", got)
	}
}

func TestRecoveryWithTheCodeKeepsTheAccountKeyAndAResetMakesANewOne(t *testing.T) {
	n := startNode(t)
	alice, bob := newPerson(t, n, "alice"), newPerson(t, n, "bob")
	a1, b := alice.register(), bob.register()
	ctx := ctxT(t)
	code := a1.RecoveryCode()
	if code == "" {
		t.Fatal("no recovery code after register")
	}
	accountKey := a1.Account().List.AccountKey
	if _, err := a1.SendText(ctx, "bob", "hi", session.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	receive(t, b)

	// A code of another account is refused, typed.
	otherKey, _ := identity.GenerateAccountKey()
	lost := newPerson(t, n, "alice")
	if _, err := session.Recover(ctx, lost.config(), lost.current(), identity.RecoveryCode(otherKey)); !errors.Is(err, session.ErrNotAccountKey) {
		t.Errorf("recover with another account's code: %v, want ErrNotAccountKey", err)
	}
	if _, err := session.Recover(ctx, lost.config(), lost.current(), code[:len(code)-1]); !errors.Is(err, identity.ErrBadRecoveryCode) {
		t.Errorf("recover with a cut code: %v, want ErrBadRecoveryCode", err)
	}
	cfg := lost.config()
	cfg.DeviceName = "recovered"
	r, err := session.Recover(ctx, cfg, lost.current(), code)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if !r.HoldsAccountKey() || !r.Account().List.AccountKey.Equal(accountKey) || len(r.Account().List.Current()) != 2 {
		t.Fatalf("recovered: holds %v, list %+v; want the same account key and two devices", r.HoldsAccountKey(), r.Account().List)
	}
	if _, err := r.SendText(ctx, "bob", "recovered", session.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	got := receive(t, b)
	if len(got) != 1 || !got[0].Verified || got[0].KeyChange != nil || len(got[0].DeviceNotices) != 1 {
		t.Fatalf("bob read %+v; want a verified message, a device notice and no key change", got)
	}

	// A reset makes a new account key: bob sees a key change, and alice's
	// old devices are no longer hers.
	fresh := newPerson(t, n, "alice")
	cfg = fresh.config()
	cfg.DeviceName = "reset"
	s, err := session.Reset(ctx, cfg, fresh.current())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if s.Account().List.AccountKey.Equal(accountKey) || s.RecoveryCode() == code || len(s.Account().List.Current()) != 1 {
		t.Fatalf("after the reset: list %+v; want a new account key and one device", s.Account().List)
	}
	if _, err := s.SendText(ctx, "bob", "reset", session.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	got = receive(t, b)
	if len(got) != 1 || got[0].KeyChange == nil || !got[0].KeyChange.OldKey.Equal(accountKey) {
		t.Fatalf("bob read %+v; want alice's key change", got)
	}
	a1.Close()
	_, err = alice.login()
	var rev *session.RevokedError
	if !errors.As(err, &rev) {
		t.Errorf("login on a device of before the reset: %v, want a RevokedError", err)
	}
}

// TestALinkCarriesAHundredContactsAndEachDeviceCostsOneEnvelope links a
// device to an account of 100 contacts and logs the time and the sync
// bundle's size, and the bytes one text message costs per extra device
// (the figures of issue 22's report).
func TestALinkCarriesAHundredContactsAndEachDeviceCostsOneEnvelope(t *testing.T) {
	n := startNode(t)
	alice, bob := newPerson(t, n, "alice"), newPerson(t, n, "bob")
	a1, b := alice.register(), bob.register()
	ctx := ctxT(t)
	var contacts []client.SyncContact
	for i := range 100 {
		k, err := identity.GenerateAccountKey()
		if err != nil {
			t.Fatal(err)
		}
		c := client.SyncContact{Address: "contact" + string(rune('a'+i/26)) + string(rune('a'+i%26)) + "@" + domain, AccountKey: k.Public()}
		if i%3 == 0 {
			c.Verified, c.VerifiedKey = true, k.Public()
		}
		contacts = append(contacts, c)
	}
	eng, err := a1.OpenChat(nil)
	if err != nil {
		t.Fatal(err)
	}
	if added, err := eng.ImportContacts(contacts); err != nil || added != 100 {
		t.Fatalf("import: %d, %v", added, err)
	}
	eng.Close()

	text := strings.Repeat("x", 100)
	one, err := b.SendText(ctx, "alice", text, session.SendOptions{})
	if err != nil || one.Envelopes != 1 {
		t.Fatalf("send to one device: %+v, %v", one, err)
	}
	start := time.Now()
	a2, approved := link(t, newPerson(t, n, "alice"), "desk", a1)
	got := receive(t, a2)
	took := time.Since(start)
	if approved.Contacts != 100 || len(got) != 1 || got[0].Synced == nil || got[0].Synced.Contacts != 100 {
		t.Fatalf("approved %+v; the new device read %+v; want 100 contacts", approved, got)
	}
	two, err := b.SendText(ctx, "alice", text, session.SendOptions{})
	if err != nil || two.Envelopes != 2 {
		t.Fatalf("send to two devices: %+v, %v", two, err)
	}
	// Alice's own send to bob: one for bob, one sent copy for her desk.
	own, err := a1.SendText(ctx, "bob", text, session.SendOptions{})
	if err != nil || own.Envelopes != 2 {
		t.Fatalf("alice's send: %+v, %v", own, err)
	}
	t.Logf("link with 100 contacts: %s, sync bundle %d bytes", took.Round(time.Millisecond), approved.BundleSize)
	t.Logf("a %d-byte text: %d bytes to one device, %d to two (+%d per extra device); alice's send with a sent copy %d bytes",
		len(text), one.Bytes, two.Bytes, two.Bytes-one.Bytes, own.Bytes)
}

func TestADeviceGivenTheAccountKeyApprovesTheNext(t *testing.T) {
	n := startNode(t)
	alice := newPerson(t, n, "alice")
	a1 := alice.register()
	a2, _ := linkWith(t, newPerson(t, n, "alice"), "desk", a1, session.ApproveOptions{WithAccountKey: true})
	if a2.HoldsAccountKey() {
		t.Fatal("the desk holds the account key before it read the sync bundle")
	}
	if got := receive(t, a2); len(got) != 1 || got[0].Synced == nil || !got[0].Synced.AccountKey {
		t.Fatalf("the desk read %+v; want the sync bundle with the account key", got)
	}
	if !a2.HoldsAccountKey() || a2.RecoveryCode() != a1.RecoveryCode() {
		t.Fatal("the desk does not hold the account's key after the sync")
	}
	a3, approved := linkWith(t, newPerson(t, n, "alice"), "lab", a2, session.ApproveOptions{WithAccountKey: true})
	if approved.Device.Name != "lab" || len(a3.Account().List.Current()) != 3 {
		t.Fatalf("approved by the desk: %+v; list %+v", approved, a3.Account().List)
	}
	if got := receive(t, a3); len(got) != 1 || !a3.HoldsAccountKey() {
		t.Fatalf("the lab read %+v; want the sync bundle with the account key", got)
	}

	// The lab, third in the list, removes the first device, the primary,
	// whose keys clients from before devices seal to: only the lab can
	// sign its own such keys, so it becomes the primary, not the desk.
	first, _ := a1.Account().List.Primary()
	if _, err := a3.RemoveDevice(context.Background(), first.Name, false); err != nil {
		t.Fatalf("the lab removes the primary %q: %v", first.Name, err)
	}
	bob := newPerson(t, n, "bob").register()
	p, err := bob.Account().ResolvePeer(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Devices) != 2 || !p.Devices[0].IdentityKey.Equal(a3.Account().Keys.IdentityPublic()) ||
		!p.Bundle.IdentityKey.Equal(a3.Account().Keys.IdentityPublic()) {
		t.Fatalf("after the primary's removal alice publishes %d devices, primary %x, legacy keys %x; want the lab %x first",
			len(p.Devices), p.Devices[0].IdentityKey, p.Bundle.IdentityKey, a3.Account().Keys.IdentityPublic())
	}
}

func TestAnAccountOfBeforeDevicesIsRecoveredWithTheCodeOfItsOneKey(t *testing.T) {
	n := startNode(t)
	alice := newPerson(t, n, "alice")
	oldKeys := writeV1State(t, alice)
	acct, err := identity.AccountKeyFromSeed(oldKeys.Identity.Seed())
	if err != nil {
		t.Fatal(err)
	}
	other := newPerson(t, n, "alice")
	cfg := other.config()
	cfg.DeviceName = "new"
	r, err := session.Recover(ctxT(t), cfg, other.current(), identity.RecoveryCode(acct))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cur := r.Account().List.Current()
	if len(cur) != 2 || !cur[0].IdentityKey.Equal(oldKeys.IdentityPublic()) || !r.Account().List.AccountKey.Equal(oldKeys.IdentityPublic()) {
		t.Fatalf("list after the recovery %+v; want the old key first and as account key, and the new device", r.Account().List)
	}
	// The old machine migrates onto the list the recovery published.
	old := alice.mustLogin()
	if !old.State().Migrated() || old.Account().List.Seq != r.Account().List.Seq {
		t.Errorf("the old machine after the recovery: migrated %v, list %+v", old.State().Migrated(), old.Account().List)
	}
}

func TestAMessageToOneselfFromTheOnlyDeviceArrivesThere(t *testing.T) {
	n := startNode(t)
	a := newPerson(t, n, "alice").register()
	if _, err := a.SendText(ctxT(t), "alice", "note to self", session.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, a); len(got) != 1 || string(got[0].Body) != "note to self" || !got[0].Verified {
		t.Fatalf("alice read %+v", got)
	}
}
