package client

import (
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
)

func TestSelfAlarms(t *testing.T) {
	const addr = "alice@n1.mesh"
	now := time.Now()
	first, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	acct, known, err := identity.NewLegacyDeviceList(addr, "laptop", first, now)
	if err != nil {
		t.Fatal(err)
	}
	peerOf := func(l *identity.DeviceList) Peer {
		return Peer{Address: addr, AccountKey: l.AccountKey, List: l, Devices: l.Current()}
	}
	// The list as published, with one more device added under the
	// account key, which this device has not seen.
	_, grown, err := identity.NewLegacyDeviceList(addr, "laptop", first, now)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := grown.Add(acct, "stranger", stranger, now); err != nil {
		t.Fatal(err)
	}
	// A list under another account key: someone reset the account.
	_, otherList, err := identity.NewLegacyDeviceList(addr, "laptop", stranger, now)
	if err != nil || string(otherList.AccountKey) == string(known.AccountKey) {
		t.Fatal("setup", err)
	}
	for _, tc := range []struct {
		name  string
		known *identity.DeviceList
		p     Peer
		want  []AlarmKind
		text  string
	}{
		{"the list this device knows raises nothing", known, peerOf(known), nil, ""},
		{"a device this device has not seen is an alarm", known, peerOf(grown), []AlarmKind{AlarmForeignDevice}, "stranger"},
		{"another account key is an alarm", known, peerOf(otherList), []AlarmKind{AlarmForeignKey}, "none of your devices made"},
		{"keys without a device list for an account with one are an alarm", known,
			legacyPeer(addr, identity.PublicBundle{IdentityKey: stranger.IdentityPublic()}), []AlarmKind{AlarmForeignKey}, ""},
		{"an account without devices and its own key raises nothing", nil,
			legacyPeer(addr, identity.PublicBundle{IdentityKey: first.IdentityPublic()}), nil, ""},
		{"an account without devices and a foreign key is an alarm", nil,
			legacyPeer(addr, identity.PublicBundle{IdentityKey: stranger.IdentityPublic()}), []AlarmKind{AlarmForeignKey}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SelfAlarms(addr, first.IdentityPublic(), tc.known, tc.p)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d alarms %v, want %v", len(got), got, tc.want)
			}
			for i := range got {
				if got[i].Kind != tc.want[i] {
					t.Fatalf("alarm %d is kind %d, want %d", i, got[i].Kind, tc.want[i])
				}
				if !strings.Contains(got[i].Text(), tc.text) || !strings.Contains(got[i].Text(), addr) {
					t.Fatalf("alarm text %q lacks %q or the address", got[i].Text(), tc.text)
				}
			}
		})
	}
}
