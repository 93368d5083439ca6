package chat_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quicprochat/qpc/app/apptest"
	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/transport"
)

// These tests run accounts with several devices on a real node (QUIC on
// 127.0.0.1, bbolt in a temporary directory): each device has its own
// connection bound to its queue (UseDevice), its own keys and its own chat
// database, as separate machines would.

const testDomain = "devices.example"

var fastOPAQUE = opaque.Config{KSF: opaque.Identity{}}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func password(user string) []byte { return []byte("correct horse battery staple " + user) }

// device is one machine of an account with its chat engine, reading its
// queue by fetch so that the test decides when messages are handled.
type device struct {
	t     testing.TB
	name  string
	a     *client.Account
	e     *chat.Engine
	after uint64

	mu     sync.Mutex
	events []chat.Event
}

// person is an account and its devices; the first device holds the
// account key.
type person struct {
	t       testing.TB
	n       *apptest.Node
	user    string
	acct    identity.AccountKey
	list    *identity.DeviceList
	devices []*device
}

func dialLogin(t testing.TB, n *apptest.Node, user string, register bool) *client.Client {
	t.Helper()
	ctx := ctxT(t)
	c, err := client.Dial(ctx, n.Addr, transport.Trust{Pin: n.Fingerprint}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if register {
		if _, err := c.Register(ctx, fastOPAQUE, testDomain, user, password(user)); err != nil {
			t.Fatalf("register %s: %v", user, err)
		}
	}
	if _, _, err := c.Login(ctx, fastOPAQUE, testDomain, user, password(user)); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return c
}

// newPerson registers user with an account key and one device per name,
// publishes the list and opens every device's engine.
func newPerson(t testing.TB, n *apptest.Node, user string, names ...string) *person {
	t.Helper()
	acct, err := identity.GenerateAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	p := &person{t: t, n: n, user: user, acct: acct, list: &identity.DeviceList{Address: user + "@" + testDomain}}
	var keys []*identity.UserKeys
	for _, name := range names {
		k, err := identity.GenerateUserKeys()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.list.Add(acct, name, k, time.Now()); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	first := dialLogin(t, n, user, true)
	for i, name := range names {
		c := first
		if i > 0 {
			c = dialLogin(t, n, user, false)
		}
		a := &client.Account{Client: c, Domain: testDomain, User: user, Keys: keys[i], List: p.list}
		if i == 0 {
			a.AccountKey = &p.acct
			if err := a.Publish(ctxT(t)); err != nil {
				t.Fatalf("publish %s: %v", user, err)
			}
		}
		p.devices = append(p.devices, &device{t: t, name: name, a: a})
	}
	for _, d := range p.devices {
		d.open()
	}
	return p
}

// newLegacy registers user as an account from before devices: one key,
// published without a list, and a connection that names no device.
func newLegacy(t testing.TB, n *apptest.Node, user string) *device {
	t.Helper()
	c := dialLogin(t, n, user, true)
	k, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	a := &client.Account{Client: c, Domain: testDomain, User: user, Keys: k}
	if err := a.Publish(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	d := &device{t: t, name: user, a: a}
	d.open()
	return d
}

// open binds the device's connection to its queue (a legacy account's
// stays on the plain one) and opens its engine, which uploads its
// KeyPackages.
func (d *device) open() {
	t := d.t
	t.Helper()
	if d.a.List != nil {
		if err := d.a.Client.UseDevice(ctxT(t), d.a.DeviceID().String()); err != nil {
			t.Fatalf("%s use device: %v", d.name, err)
		}
	}
	key := sha256.Sum256([]byte("export key of " + d.a.Address()))
	e, err := chat.Open(chat.Options{Dir: t.TempDir(), Account: d.a, ExportKey: key[:]})
	if err != nil {
		t.Fatal(err)
	}
	d.e = e
	go func() {
		for ev := range e.Events() {
			d.mu.Lock()
			d.events = append(d.events, ev)
			d.mu.Unlock()
		}
	}()
	t.Cleanup(func() { e.Close() })
	if err := e.Connected(ctxT(t), d.a.Client); err != nil {
		t.Fatalf("%s connected: %v", d.name, err)
	}
}

// addDevice adds a device called name to p's list, publishes it from the
// first device and opens the new device's engine; it does not tell the
// engines (DeviceAdded).
func (p *person) addDevice(name string) (*device, identity.Device) {
	d, dev := p.addDeviceOffline(name)
	d.open()
	return d, dev
}

// addDeviceOffline is addDevice but for opening the engine: the device
// has uploaded no KeyPackages yet, as a machine that has not seen its
// approval.
func (p *person) addDeviceOffline(name string) (*device, identity.Device) {
	t := p.t
	t.Helper()
	k, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	dev, err := p.list.Add(p.acct, name, k, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p.publish()
	c := dialLogin(t, p.n, p.user, false)
	d := &device{t: t, name: name, a: &client.Account{Client: c, Domain: testDomain, User: p.user, Keys: k, List: p.list}}
	p.devices = append(p.devices, d)
	return d, dev
}

// revoke revokes d in p's list and publishes it from the first device; it
// does not tell the engines (DeviceRemoved).
func (p *person) revoke(d *device) {
	p.t.Helper()
	if err := p.list.Revoke(d.a.DeviceID(), time.Now()); err != nil {
		p.t.Fatal(err)
	}
	p.publish()
}

func (p *person) publish() {
	p.t.Helper()
	first := p.devices[0].a
	first.List = p.list
	if err := first.Publish(ctxT(p.t)); err != nil {
		p.t.Fatalf("publish %s: %v", p.user, err)
	}
}

// sync handles what is in the device's queue and reports whether there
// was anything.
func (d *device) sync() bool {
	t := d.t
	t.Helper()
	ctx := ctxT(t)
	any := false
	for {
		msgs, err := d.a.Client.Fetch(ctx, d.after, 100)
		if err != nil {
			t.Fatalf("%s fetch: %v", d.name, err)
		}
		if len(msgs) == 0 {
			return any
		}
		any = true
		h := d.e.Handle(ctx, msgs)
		if h != msgs[len(msgs)-1].Seq {
			t.Fatalf("%s handled up to %d of %d", d.name, h, msgs[len(msgs)-1].Seq)
		}
		if _, err := d.a.Client.Ack(ctx, h); err != nil {
			t.Fatal(err)
		}
		d.after = h
	}
}

// settle syncs the devices in turns until none has anything left: what
// one handles (a Welcome, a device to add) may make another commit.
func settle(t testing.TB, ds ...*device) {
	t.Helper()
	for range 20 {
		busy := false
		for _, d := range ds {
			if d.sync() {
				busy = true
			}
		}
		if !busy {
			return
		}
	}
	t.Fatal("the devices kept sending each other messages")
}

func (d *device) find(name string) chatdb.Conversation {
	d.t.Helper()
	c, err := d.e.Find(name)
	if err != nil {
		d.t.Fatalf("%s: %v", d.name, err)
	}
	return c
}

func (d *device) send(name, text string) {
	d.t.Helper()
	if _, err := d.e.Send(ctxT(d.t), d.find(name).ID, text); err != nil {
		d.t.Fatalf("%s send: %v", d.name, err)
	}
}

// texts returns the chat lines of the conversation name as "user: text",
// sorted (devices see them in different orders).
func (d *device) texts(name string) []string {
	d.t.Helper()
	ms, err := d.e.History(d.find(name).ID, 0)
	if err != nil {
		d.t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if !m.System {
			out = append(out, strings.SplitN(m.From, "@", 2)[0]+": "+m.Text)
		}
	}
	slices.Sort(out)
	return out
}

// lines returns the system lines of the conversation name.
func (d *device) lines(name string) []string {
	d.t.Helper()
	ms, err := d.e.History(d.find(name).ID, 0)
	if err != nil {
		d.t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if m.System {
			out = append(out, m.Text)
		}
	}
	return out
}

func (d *device) epoch(name string) uint64 {
	d.t.Helper()
	e, _, err := d.e.GroupEpoch(d.find(name).ID)
	if err != nil {
		d.t.Fatalf("%s: %v", d.name, err)
	}
	return e
}

func (d *device) join(name string) {
	d.t.Helper()
	if err := d.e.Join(ctxT(d.t), d.find(name).ID); err != nil {
		d.t.Fatalf("%s join %s: %v", d.name, name, err)
	}
}

func hasLine(lines []string, parts ...string) bool {
	return slices.ContainsFunc(lines, func(l string) bool {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				return false
			}
		}
		return true
	})
}

func addr(user string) string { return user + "@" + testDomain }

// everyone sends a line from each device, and every device must read all
// of them.
func checkEveryoneReadsEveryone(t *testing.T, conv func(*device) string, round string, ds ...*device) {
	t.Helper()
	var want []string
	for _, d := range ds {
		text := round + " from " + d.name
		d.send(conv(d), text)
		want = append(want, d.a.User+": "+text)
	}
	settle(t, ds...)
	slices.Sort(want)
	for _, d := range ds {
		got := slices.DeleteFunc(d.texts(conv(d)), func(s string) bool { return !strings.HasPrefix(strings.SplitN(s, ": ", 2)[1], round+" ") })
		if !slices.Equal(got, want) {
			t.Errorf("%s (%s) read in %s:\n%q\nwant\n%q", d.name, d.a.User, conv(d), got, want)
		}
	}
}

// group names a group the same on every device.
func group(name string) func(*device) string { return func(*device) string { return name } }

// dm names the DM of x and y on a device of either.
func dm(x, y string) func(*device) string {
	return func(d *device) string {
		if d.a.User == x {
			return "@" + addr(y)
		}
		return "@" + addr(x)
	}
}

func TestAGroupHasEveryDeviceOfEveryMemberAndShowsAccounts(t *testing.T) {
	n := apptest.Run(t, testDomain)
	ctx := ctxT(t)
	alice := newPerson(t, n, "alice", "laptop", "phone")
	bob := newPerson(t, n, "bob", "bob-laptop")
	carol := newPerson(t, n, "carol", "carol-laptop")
	a1, a2, b, c := alice.devices[0], alice.devices[1], bob.devices[0], carol.devices[0]
	all := []*device{a1, a2, b, c}

	g, err := a1.e.CreateGroup(ctx, "friends")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"bob", "carol"} {
		if err := a1.e.Invite(ctx, g.ID, u); err != nil {
			t.Fatalf("invite %s: %v", u, err)
		}
	}
	settle(t, all...)
	b.join("#friends")
	c.join("#friends")
	// alice's phone was added by her laptop with the first invitation: it
	// is in the group without accepting anything.
	if got := a2.find("#friends"); got.Invited {
		t.Fatalf("alice's phone must be in the group at once, got an invitation")
	}
	want := []string{addr("alice"), addr("bob"), addr("carol")}
	for _, d := range all {
		ms, err := d.e.Members(d.find("#friends").ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ms, want) {
			t.Errorf("%s shows members %q, want the accounts %q", d.name, ms, want)
		}
	}
	epoch := a1.epoch("#friends")
	for _, d := range all[1:] {
		if e := d.epoch("#friends"); e != epoch {
			t.Fatalf("%s is at epoch %d, alice's laptop at %d", d.name, e, epoch)
		}
	}
	checkEveryoneReadsEveryone(t, group("#friends"), "first", all...)

	// A DM of alice (two devices) and bob is a group of three devices:
	// both sides of it show on both of alice's.
	if _, err := a1.e.DM(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	settle(t, all...)
	if lines := a2.lines("@" + addr("bob")); !hasLine(lines, "your other device added this one") {
		t.Errorf("alice's phone's DM with bob: %q", lines)
	}
	checkEveryoneReadsEveryone(t, dm("alice", "bob"), "dm", a1, a2, b)

	// What alice sends with qpc send from her laptop (sealed to bob's
	// devices, with a sent copy to her phone) shows on all three, on
	// alice's phone as her own line.
	if _, err := a1.a.SendText(ctx, "bob", "sent with qpc send"); err != nil {
		t.Fatal(err)
	}
	settle(t, all...)
	for _, d := range []*device{a2, b} {
		if got := d.texts(dm("alice", "bob")(d)); !slices.Contains(got, "alice: sent with qpc send") {
			t.Errorf("%s's DM lacks alice's qpc send: %q", d.name, got)
		}
	}
}

func TestALinkedDeviceJoinsEveryGroupAndARemovedOneReadsNothingMore(t *testing.T) {
	n := apptest.Run(t, testDomain)
	ctx := ctxT(t)
	alice := newPerson(t, n, "alice", "laptop", "phone")
	bob := newPerson(t, n, "bob", "bob-laptop")
	carol := newPerson(t, n, "carol", "carol-laptop")
	a1, a2, b, c := alice.devices[0], alice.devices[1], bob.devices[0], carol.devices[0]
	g, err := a1.e.CreateGroup(ctx, "friends")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"bob", "carol"} {
		if err := a1.e.Invite(ctx, g.ID, u); err != nil {
			t.Fatalf("invite %s: %v", u, err)
		}
	}
	if _, err := b.e.DM(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	settle(t, a1, a2, b, c)
	c.join("#friends")
	b.join("#friends")

	// alice links a desk: her laptop, which approved it, adds it to the
	// group and to the DM with bob in one commit each.
	// It has not been online since: no KeyPackage of it to add yet.
	a3, desk := alice.addDeviceOffline("desk")
	before := a1.epoch("#friends")
	chat.DeviceAddedWait, chat.DeviceAddedPoll = 200*time.Millisecond, 20*time.Millisecond
	if err := a1.e.DeviceAdded(ctx, desk); !errors.Is(err, chat.ErrDeviceNotReady) {
		t.Fatalf("DeviceAdded of a device never online = %v, want %v", err, chat.ErrDeviceNotReady)
	}
	if after := a1.epoch("#friends"); after != before {
		t.Fatalf("the group moved from epoch %d to %d without the desk", before, after)
	}
	// The approving device waits for it: the desk comes online (it
	// uploads its KeyPackages) while DeviceAdded polls.
	chat.DeviceAddedWait = time.Minute
	t.Cleanup(func() { chat.DeviceAddedWait, chat.DeviceAddedPoll = 2*time.Minute, time.Second })
	added := make(chan error, 1)
	go func() { added <- a1.e.DeviceAdded(ctx, desk) }()
	a3.open()
	if err := <-added; err != nil {
		t.Fatalf("DeviceAdded: %v", err)
	}
	settle(t, a1, a2, a3, b, c)
	if after := a1.epoch("#friends"); after != before+1 {
		t.Errorf("adding the desk moved the group from epoch %d to %d, want one commit", before, after)
	}
	if lines := b.lines("#friends"); !hasLine(lines, addr("alice")+" added a device", `"desk"`) {
		t.Errorf("bob's #friends does not say alice added a device: %q", lines)
	}
	all := []*device{a1, a2, a3, b, c}
	checkEveryoneReadsEveryone(t, group("#friends"), "with desk", all...)
	checkEveryoneReadsEveryone(t, dm("alice", "bob"), "dm with desk", a1, a2, a3, b)

	// alice removes her phone: every group moves to a new epoch without it,
	// and it reads nothing more.
	phoneEpoch := a2.epoch("#friends")
	alice.revoke(a2)
	if err := a1.e.DeviceRemoved(ctx, a2.a.DeviceID()); err != nil {
		t.Fatalf("DeviceRemoved: %v", err)
	}
	rest := []*device{a1, a3, b, c}
	settle(t, rest...)
	if e := a1.epoch("#friends"); e <= phoneEpoch {
		t.Errorf("the group stayed at epoch %d after the phone was removed", e)
	}
	if lines := c.lines("#friends"); !hasLine(lines, addr("alice")+"'s device", `"phone"`, "removed from the group") {
		t.Errorf("carol's #friends does not say alice's phone was removed: %q", lines)
	}
	checkEveryoneReadsEveryone(t, group("#friends"), "without phone", rest...)
	if _, err := a2.a.Client.Fetch(ctx, a2.after, 100); !errors.Is(err, protocol.ErrDeviceRevoked) {
		t.Errorf("the removed phone fetched: %v, want %v", err, protocol.ErrDeviceRevoked)
	}
	if got := a2.texts("#friends"); slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "without phone") }) {
		t.Errorf("the removed phone read %q", got)
	}
	if e := a2.epoch("#friends"); e != phoneEpoch {
		t.Errorf("the removed phone moved from epoch %d to %d", phoneEpoch, e)
	}
}

func TestALegacyMemberStillWorksInAGroupOfDevices(t *testing.T) {
	n := apptest.Run(t, testDomain)
	ctx := ctxT(t)
	alice := newPerson(t, n, "alice", "laptop", "phone")
	dave := newLegacy(t, n, "dave")
	a1, a2 := alice.devices[0], alice.devices[1]
	g, err := a1.e.CreateGroup(ctx, "mixed")
	if err != nil {
		t.Fatal(err)
	}
	if err := a1.e.Invite(ctx, g.ID, "dave"); err != nil {
		t.Fatal(err)
	}
	settle(t, a1, a2, dave)
	dave.join("#mixed")
	ms, err := dave.e.Members(dave.find("#mixed").ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{addr("alice"), addr("dave")}; !slices.Equal(ms, want) {
		t.Errorf("dave shows members %q, want %q", ms, want)
	}
	checkEveryoneReadsEveryone(t, group("#mixed"), "mixed", a1, a2, dave)
	// dave is taken for who he says: no line marks him or alice.
	for _, d := range []*device{a1, a2, dave} {
		if lines := d.lines("#mixed"); hasLine(lines, "!!") {
			t.Errorf("%s marks a member: %q", d.name, lines)
		}
	}
	// A DM the legacy client starts reaches both of alice's devices.
	if _, err := dave.e.DM(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	settle(t, a1, a2, dave)
	checkEveryoneReadsEveryone(t, dm("alice", "dave"), "dm", a1, a2, dave)
}

func TestADeviceItsAccountNoLongerListsIsMarkedAndTakenOut(t *testing.T) {
	n := apptest.Run(t, testDomain)
	ctx := ctxT(t)
	alice := newPerson(t, n, "alice", "laptop", "phone")
	bob := newPerson(t, n, "bob", "bob-laptop")
	carol := newPerson(t, n, "carol", "carol-laptop")
	a1, a2, b, c := alice.devices[0], alice.devices[1], bob.devices[0], carol.devices[0]
	g, err := a1.e.CreateGroup(ctx, "friends")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"bob", "carol"} {
		if err := a1.e.Invite(ctx, g.ID, u); err != nil {
			t.Fatal(err)
		}
	}
	settle(t, a1, a2, b, c)
	b.join("#friends")
	c.join("#friends")

	// alice's list drops her phone, published by another client (the
	// hook DeviceRemoved is not called): the members see it at the next
	// commit, and the one with the lowest current leaf takes it out.
	alice.revoke(a2)
	b.a.Forget("alice") // as a new qpc process would: no lookup kept
	before := a1.epoch("#friends")
	if err := c.e.UpdateKey(ctx, c.find("#friends").ID); err != nil {
		t.Fatal(err)
	}
	b.sync()
	if lines := b.lines("#friends"); !hasLine(lines, "!!", addr("alice")+" removed their device", `"phone"`) {
		t.Errorf("bob's #friends does not mark alice's removed phone: %q", lines)
	}
	rest := []*device{a1, b, c}
	settle(t, rest...)
	if e := a1.epoch("#friends"); e < before+2 {
		t.Errorf("the group is at epoch %d; want carol's update and the removal after %d", e, before)
	}
	if lines := b.lines("#friends"); !hasLine(lines, addr("alice")+"'s device", `"phone"`, "removed from the group") {
		t.Errorf("bob's #friends does not say the phone was taken out: %q", lines)
	}
	checkEveryoneReadsEveryone(t, group("#friends"), "after", rest...)
	if e := a2.epoch("#friends"); e > before {
		t.Errorf("the phone followed the group to epoch %d", e)
	}
}

func TestLeavingOrBeingRemovedTakesEveryDeviceOfTheAccount(t *testing.T) {
	n := apptest.Run(t, testDomain)
	ctx := ctxT(t)
	alice := newPerson(t, n, "alice", "laptop", "phone")
	bob := newPerson(t, n, "bob", "bob-laptop", "bob-phone")
	carol := newPerson(t, n, "carol", "carol-laptop")
	a1, a2, b1, b2, c := alice.devices[0], alice.devices[1], bob.devices[0], bob.devices[1], carol.devices[0]
	all := []*device{a1, a2, b1, b2, c}
	for _, name := range []string{"first", "second"} {
		g, err := c.e.CreateGroup(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"alice", "bob"} {
			if err := c.e.Invite(ctx, g.ID, u); err != nil {
				t.Fatal(err)
			}
		}
	}
	settle(t, all...)
	for _, d := range all[:4] {
		d.join("#first")
		d.join("#second")
	}
	checkEveryoneReadsEveryone(t, group("#first"), "before", all...)

	// alice leaves #first on her laptop: her phone goes too.
	if err := a1.e.Leave(ctx, a1.find("#first").ID); err != nil {
		t.Fatal(err)
	}
	settle(t, all...)
	if got := a2.find("#first"); !got.Left {
		t.Errorf("alice's phone is still in #first after she left on her laptop")
	}
	if lines := a2.lines("#first"); !hasLine(lines, "you left #first on your other device") {
		t.Errorf("alice's phone's #first: %q", lines)
	}
	// carol removes bob from #second: both of his devices go.
	if err := c.e.Remove(ctx, c.find("#second").ID, "bob"); err != nil {
		t.Fatal(err)
	}
	settle(t, all...)
	for _, d := range []*device{b1, b2} {
		if got := d.find("#second"); !got.Left {
			t.Errorf("%s is still in #second after bob was removed", d.name)
		}
	}
	for _, tc := range []struct {
		conv  string
		want  []string
		still []*device
	}{
		{"#first", []string{addr("bob"), addr("carol")}, []*device{b1, b2, c}},
		{"#second", []string{addr("alice"), addr("carol")}, []*device{a1, a2, c}},
	} {
		ms, err := c.e.Members(c.find(tc.conv).ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ms, tc.want) {
			t.Errorf("%s members %q, want %q", tc.conv, ms, tc.want)
		}
		checkEveryoneReadsEveryone(t, group(tc.conv), "after", tc.still...)
	}
}

// Each extra device of a member costs one envelope per group message, the
// size of the others: the issue asks for the figure (t.Log).
func TestAnExtraDeviceCostsOneEnvelopePerMessage(t *testing.T) {
	n := apptest.Run(t, testDomain)
	ctx := ctxT(t)
	alice := newPerson(t, n, "alice", "laptop", "phone")
	bob := newPerson(t, n, "bob", "bob-laptop")
	a1, a2, b := alice.devices[0], alice.devices[1], bob.devices[0]
	g, err := a1.e.CreateGroup(ctx, "pair")
	if err != nil {
		t.Fatal(err)
	}
	if err := a1.e.Invite(ctx, g.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	settle(t, a1, a2, b)
	b.join("#pair")
	b.send("#pair", strings.Repeat("x", 100))
	var sizes []int
	for _, d := range []*device{a1, a2} {
		msgs, err := d.a.Client.Fetch(ctx, d.after, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 {
			t.Fatalf("%s got %d envelopes for one message, want 1", d.name, len(msgs))
		}
		sizes = append(sizes, len(msgs[0].Payload))
	}
	if sizes[0] != sizes[1] {
		t.Errorf("the envelopes to alice's devices are %v bytes, want one size", sizes)
	}
	t.Logf("a 100-byte group message costs %d bytes per member device (MLS ciphertext in a sealed envelope)", sizes[0])
	settle(t, a1, a2, b)
}

// When the approving device did not add a new device to a group (it was
// offline, say), the member with the lowest current leaf does, as soon as
// a commit shows it the group lacks a device its account lists.
func TestAMemberAddsAContactsNewDeviceTheGroupLacks(t *testing.T) {
	n := apptest.Run(t, testDomain)
	ctx := ctxT(t)
	alice := newPerson(t, n, "alice", "laptop")
	bob := newPerson(t, n, "bob", "bob-laptop")
	carol := newPerson(t, n, "carol", "carol-laptop")
	a1, b, c := alice.devices[0], bob.devices[0], carol.devices[0]
	g, err := b.e.CreateGroup(ctx, "bobs")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "carol"} {
		if err := b.e.Invite(ctx, g.ID, u); err != nil {
			t.Fatal(err)
		}
	}
	settle(t, a1, b, c)
	a1.join("#bobs")
	c.join("#bobs")

	a2, _ := alice.addDevice("phone") // no DeviceAdded
	b.a.Forget("alice")               // as a new qpc process would
	c.a.Forget("alice")
	if err := c.e.UpdateKey(ctx, c.find("#bobs").ID); err != nil {
		t.Fatal(err)
	}
	settle(t, a1, a2, b, c)
	if lines := a2.lines("#bobs"); !hasLine(lines, addr("bob")+" added this device to #bobs, which you are in") {
		t.Errorf("alice's phone's #bobs: %q", lines)
	}
	if lines := c.lines("#bobs"); !hasLine(lines, addr("alice")+" added a device", `"phone"`) {
		t.Errorf("carol's #bobs does not say alice's phone came in: %q", lines)
	}
	checkEveryoneReadsEveryone(t, group("#bobs"), "with the phone", a1, a2, b, c)
}
