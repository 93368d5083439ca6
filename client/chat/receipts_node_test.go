package chat_test

import (
	"testing"

	"github.com/quicprochat/qpc/app/apptest"
	"github.com/quicprochat/qpc/client/chatdb"
)

func TestADeliveryReceiptMovesASentLineToDeliveredOnEveryDeviceOfTheWriter(t *testing.T) {
	n := apptest.Run(t, testDomain)
	ctx := ctxT(t)
	alice := newPerson(t, n, "alice", "laptop", "phone")
	bob := newPerson(t, n, "bob", "bob-laptop", "bob-phone")
	a1, a2, b1, b2 := alice.devices[0], alice.devices[1], bob.devices[0], bob.devices[1]
	dm, err := a1.e.DM(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	settle(t, a1, a2, b1, b2)
	m, err := a1.e.Send(ctx, dm.ID, "did it arrive?")
	if err != nil {
		t.Fatal(err)
	}
	// As if the nodes had said only "sent" (the recipient's node in the
	// mesh): only a receipt from a device of bob's can move it on.
	if err := a1.e.SetStatusForTest(dm.ID, m.ID, chatdb.StatusSent); err != nil {
		t.Fatal(err)
	}
	state := func(d *device) chatdb.Status {
		t.Helper()
		c := d.find("@bob@" + testDomain)
		st, err := d.e.State(c.ID, m.ID)
		if err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		return st
	}
	a2.sync() // the phone has the line as alice's own, with no state yet
	if st := state(a2); st != chatdb.StatusNone {
		t.Fatalf("alice's phone has her line as %q before any receipt", st)
	}
	b1.sync() // bob's laptop takes it and sends a delivery receipt
	a1.sync()
	a2.sync()
	for _, d := range []*device{a1, a2} {
		if st := state(d); st != chatdb.StatusDelivered {
			t.Errorf("%s: the line is %s after bob's receipt, want delivered", d.name, st)
		}
	}
	// bob's second device's receipt arrives too, and changes nothing.
	b2.sync()
	if !a1.sync() {
		t.Error("no receipt from bob's second device reached alice's laptop")
	}
	if st := state(a1); st != chatdb.StatusDelivered {
		t.Errorf("after a second receipt: %s", st)
	}
	settle(t, a1, a2, b1, b2)
}
