package repl

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/crypto/identity"
)

// Devices is the account's devices for /device, as qpc device manages
// them (client/session): the list as the node publishes it, approving a
// machine that shows a link code, and revoking a device. Each change is
// published before it returns; the REPL then has the engine carry it into
// the groups (DeviceAdded, DeviceRemoved).
type Devices interface {
	// List returns the account's verified device list and this device's
	// id.
	List(ctx context.Context) (*identity.DeviceList, identity.DeviceID, error)
	// Approve adds the machine that shows code (qpc device link), seals
	// it the contacts, and returns the device as the list has it.
	Approve(ctx context.Context, code string) (identity.Device, error)
	// Remove revokes the current device called name; this device only
	// when force.
	Remove(ctx context.Context, name string, force bool) (identity.Device, error)
}

// errNoDevices is what /device says in a REPL without device management.
var errNoDevices = errors.New("/device is not available here: use qpc device list|approve|remove in a shell")

const deviceUsage = "usage: /device list | /device approve <CODE> | /device remove <NAME> [force]"

func (r *REPL) cmdDevice(ctx context.Context, args []string) error {
	if r.devices == nil {
		return errNoDevices
	}
	switch {
	case args[0] == "list" && len(args) == 1:
		return r.deviceList(ctx)
	case args[0] == "approve" && len(args) >= 2:
		// "7KQ4 M2XD 9RTA", as the new machine shows it, is one code.
		return r.deviceApprove(ctx, strings.Join(args[1:], ""))
	case args[0] == "remove" && (len(args) == 2 || len(args) == 3 && args[2] == "force"):
		return r.deviceRemove(ctx, args[1], len(args) == 3)
	}
	return errors.New(deviceUsage)
}

func (r *REPL) deviceList(ctx context.Context) error {
	l, this, err := r.devices.List(ctx)
	if err != nil {
		return err
	}
	rows := [][]string{{"NAME", "ID", "ADDED", "STATE", ""}}
	for _, d := range l.Devices {
		state := "current"
		if !d.Current() {
			state = "removed " + d.Revoked.Local().Format("2006-01-02 15:04")
		}
		note := ""
		if d.ID == this {
			note = "this device"
		}
		rows = append(rows, []string{termtext.Safe(d.Name), d.ID.String(), d.Added.Local().Format("2006-01-02 15:04"), state, note})
	}
	var b strings.Builder
	termtext.Table(&b, rows)
	r.Printf("%s", strings.TrimRight(b.String(), "\n"))
	return nil
}

func (r *REPL) deviceApprove(ctx context.Context, code string) error {
	if _, err := identity.ParseLinkCode(code); err != nil {
		return err
	}
	d, err := r.devices.Approve(ctx, code)
	if err != nil {
		return err
	}
	r.Printf("added the device %q (id %s, key %s); it gets your contacts now", termtext.Safe(d.Name), d.ID, identity.Fingerprint(d.IdentityKey))
	r.Printf("adding it to your groups and DMs as soon as it is online (qpc device link there ends when it is)...")
	// The device is on the list: what is left is the groups. A group that
	// fails is said by the engine; the device is added there by the next
	// member who notices it is missing.
	if err := r.eng.DeviceAdded(ctx, d); err != nil {
		return fmt.Errorf("the device %q is added, but not to every group yet: %w", termtext.Safe(d.Name), err)
	}
	r.Printf("the device %q is in every group and DM of yours", termtext.Safe(d.Name))
	return nil
}

func (r *REPL) deviceRemove(ctx context.Context, name string, force bool) error {
	d, err := r.devices.Remove(ctx, name, force)
	if err != nil {
		return err
	}
	r.Printf("removed the device %q (id %s): the node refuses it from now on", termtext.Safe(d.Name), d.ID)
	if err := r.eng.DeviceRemoved(ctx, d.ID); err != nil {
		return fmt.Errorf("the device %q is removed, but some groups still have it (their next change takes it out): %w", termtext.Safe(d.Name), err)
	}
	r.Printf("the device %q is out of every group: it reads nothing more", termtext.Safe(d.Name))
	return nil
}
