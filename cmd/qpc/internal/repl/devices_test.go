package repl

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
)

// listDevices is an in-memory Devices over a real signed device list: the
// session's part (publishing) is not what these tests are about.
type listDevices struct {
	acct    identity.AccountKey
	l       *identity.DeviceList
	this    identity.DeviceID
	pending map[string]*identity.UserKeys // by link code text
}

func newListDevices(t *testing.T, names ...string) *listDevices {
	t.Helper()
	acct, err := identity.GenerateAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	f := &listDevices{acct: acct, l: &identity.DeviceList{Address: "alice@a.example"}, pending: map[string]*identity.UserKeys{}}
	for i, n := range names {
		d, err := f.l.Add(acct, n, mustKeys(t), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			f.this = d.ID
		}
	}
	return f
}

func mustKeys(t *testing.T) *identity.UserKeys {
	t.Helper()
	k, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (f *listDevices) List(context.Context) (*identity.DeviceList, identity.DeviceID, error) {
	return f.l, f.this, nil
}

func (f *listDevices) Approve(_ context.Context, code string) (identity.Device, error) {
	lc, err := identity.ParseLinkCode(code)
	if err != nil {
		return identity.Device{}, err
	}
	k, ok := f.pending[lc.String()]
	if !ok {
		return identity.Device{}, errors.New("no pending link request has this code")
	}
	return f.l.Add(f.acct, "desk", k, time.Now())
}

func (f *listDevices) Remove(_ context.Context, name string, force bool) (identity.Device, error) {
	d, ok := f.l.FindName(name)
	if !ok {
		return identity.Device{}, fmt.Errorf("%w: no current device is called %q", identity.ErrNoDevice, name)
	}
	if d.ID == f.this && !force {
		return identity.Device{}, errors.New("this device: add force")
	}
	return d, f.l.Revoke(d.ID, time.Now())
}

func TestReplDeviceCommandsChangeTheListAndTheGroups(t *testing.T) {
	tr := newTestRepl(t)
	devs := newListDevices(t, "laptop", "phone")
	tr.r.devices = devs

	out := tr.do("/device list")
	mustContain(t, out, "NAME", "laptop", "phone", devs.this.String(), "this device", "current")

	code, err := identity.NewLinkCode()
	if err != nil {
		t.Fatal(err)
	}
	devs.pending[code.String()] = mustKeys(t)
	// The code as the new machine shows it, in groups and in lower case.
	out = tr.do("/device approve " + toLowerSpaced(code.String()))
	mustContain(t, out, `added the device "desk"`, `"desk" is in every group`)
	if len(tr.eng.DevicesAdded) != 1 || tr.eng.DevicesAdded[0].Name != "desk" {
		t.Fatalf("the engine was told of %v, want the desk", tr.eng.DevicesAdded)
	}

	out = tr.do("/device remove phone")
	mustContain(t, out, `removed the device "phone"`, "reads nothing more")
	phone, _ := devs.l.Find(tr.eng.DevicesRemoved[0])
	if len(tr.eng.DevicesRemoved) != 1 || phone.Name != "phone" || phone.Current() {
		t.Fatalf("removed %v (%+v), want the phone, revoked", tr.eng.DevicesRemoved, phone)
	}
	mustContain(t, tr.do("/device list"), "removed ")
}

// toLowerSpaced writes a link code as a person might type it.
func toLowerSpaced(code string) string {
	b := []byte(code)
	for i, c := range b {
		if c == '-' {
			b[i] = ' '
		} else if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func TestReplDeviceCommandsRefuseBadInputAndSayWhatFailed(t *testing.T) {
	tr := newTestRepl(t)
	mustContain(t, tr.do("/device list"), "qpc device")
	tr.r.devices = newListDevices(t, "laptop", "phone")
	for _, tc := range []struct{ line, want string }{
		{"/device", "usage: /device"},
		{"/device dance", "usage: /device"},
		{"/device remove", "usage: /device"},
		{"/device approve ILOU-ILOU-ILOU", "link code"},
		{"/device remove nosuch", "no current device"},
		{"/device remove laptop", "force"},
	} {
		mustContain(t, tr.do(tc.line), tc.want)
	}
	if len(tr.eng.DevicesAdded)+len(tr.eng.DevicesRemoved) != 0 {
		t.Errorf("a refused command reached the engine: %v %v", tr.eng.DevicesAdded, tr.eng.DevicesRemoved)
	}
	// A group the engine could not change is said, with the device kept.
	code, _ := identity.NewLinkCode()
	tr.r.devices.(*listDevices).pending[code.String()] = mustKeys(t)
	tr.eng.DeviceErr = errors.New("#friends: the group cannot change from this client now")
	mustContain(t, tr.do("/device approve "+code.String()), `"desk" is added, but not to every group yet`, "#friends")
}
