package chat

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/mls"
	"github.com/quicprochat/qpc/protocol"
)

func TestACredentialNamesADeviceOrALegacyAccount(t *testing.T) {
	for _, tc := range []struct {
		name, id        string
		account, device string
		ok              bool
	}{
		{"a device of an account", "alice#0123456789abcdef@a.example", "alice@a.example", "0123456789abcdef", true},
		{"an account from before devices", "alice@a.example", "alice@a.example", "", true},
		{"upper case is folded", "Alice#0123456789ABCDEF@A.example", "alice@a.example", "0123456789abcdef", true},
		{"a bare user is not an address", "alice", "alice", "", false},
		{"a short device id", "alice#0123@a.example", "alice#0123@a.example", "", false},
		{"a device id that is not hex", "alice#0123456789abcdeg@a.example", "alice#0123456789abcdeg@a.example", "", false},
		{"an empty user", "#0123456789abcdef@a.example", "#0123456789abcdef@a.example", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acct, dev := parseMember(tc.id)
			if acct != tc.account || dev != tc.device {
				t.Errorf("parseMember(%q) = %q, %q; want %q, %q", tc.id, acct, dev, tc.account, tc.device)
			}
			err := credentialPolicy(&mls.Credential{Type: mls.CredentialBasic, Identity: []byte(tc.id)}, nil)
			if tc.ok != (err == nil) {
				t.Errorf("credentialPolicy(%q) = %v, want ok %v", tc.id, err, tc.ok)
			}
			if err != nil && !errors.Is(err, mls.ErrCredential) {
				t.Errorf("credentialPolicy(%q) = %v, want mls.ErrCredential", tc.id, err)
			}
		})
	}
}

// listedPeer is an account with devices named names, the last revoked
// when revokeLast; it returns the peer as ResolvePeer would and the keys.
func listedPeer(t *testing.T, revokeLast bool, names ...string) (client.Peer, []*identity.UserKeys) {
	t.Helper()
	acct, err := identity.GenerateAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	l := &identity.DeviceList{Address: "alice@a.example"}
	var keys []*identity.UserKeys
	for _, n := range names {
		k, err := identity.GenerateUserKeys()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Add(acct, n, k, time.Now()); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if revokeLast {
		if err := l.Revoke(identity.DeviceIDOf(keys[len(keys)-1].IdentityPublic()), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return client.Peer{Address: l.Address, AccountKey: acct.Public(), List: l, Devices: l.Current()}, keys
}

func memberOf(k *identity.UserKeys, legacy bool) member {
	m := member{account: "alice@a.example", key: k.IdentityPublic()}
	if !legacy {
		m.device = identity.DeviceIDOf(k.IdentityPublic()).String()
	}
	return m
}

func TestAMemberIsAcceptedOnlyAsACurrentDeviceWithItsListedKey(t *testing.T) {
	p, keys := listedPeer(t, true, "laptop", "phone")
	stranger, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	swapped := memberOf(keys[0], false)
	swapped.device = identity.DeviceIDOf(keys[1].IdentityPublic()).String()
	for _, tc := range []struct {
		name string
		m    member
		want string // "" accepted, else a part of the marked line
	}{
		{"a current device", memberOf(keys[0], false), ""},
		{"a legacy credential with a current device's key", memberOf(keys[0], true), ""},
		{"a revoked device", memberOf(keys[1], false), `removed their device "phone"`},
		{"a device the list never had", memberOf(stranger, false), "does not list"},
		{"a current key under another device's id", swapped, "does not list"},
		{"a legacy credential with an unknown key", memberOf(stranger, true), "is not the identity key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := memberProblem(p, tc.m)
			switch {
			case tc.want == "" && got != "":
				t.Errorf("marked: %q", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("got %q, want a line with %q", got, tc.want)
			case tc.want != "" && !strings.HasPrefix(got, "!! "):
				t.Errorf("the line is not marked: %q", got)
			}
		})
	}
}

func TestAMissingDeviceIsAddedOnlyBesideOneStillVouchedFor(t *testing.T) {
	p, keys := listedPeer(t, false, "laptop", "phone")
	other, _ := listedPeer(t, false, "new-laptop")
	for _, tc := range []struct {
		name string
		ms   []member
		want bool
	}{
		{"all devices in", []member{memberOf(keys[0], false), memberOf(keys[1], false)}, false},
		{"one device missing", []member{memberOf(keys[0], false)}, true},
		{"the account is not in the group", nil, false},
		// After a reset (a new account key), none of the old leaves is
		// vouched for: the new devices wait for a person's invitation.
		{"no leaf is a current device", []member{memberOf(keys[0], false)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			peer := p
			if strings.HasPrefix(tc.name, "no leaf") {
				peer = other
			}
			if got := missingDevice(peer, tc.ms); got != tc.want {
				t.Errorf("missingDevice = %v, want %v", got, tc.want)
			}
		})
	}
}

func FuzzParseMember(f *testing.F) {
	for _, s := range []string{"alice@a.example", "alice#0123456789abcdef@a.example", "alice", "#@", "a#b@c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		acct, dev := parseMember(id)
		a, err := memberAddress(id)
		if err != nil {
			if !errors.Is(err, protocol.ErrBadAddress) {
				t.Fatalf("memberAddress(%q) = %v, not ErrBadAddress", id, err)
			}
			if dev != "" {
				t.Fatalf("parseMember(%q) found device %q in what is not an address", id, dev)
			}
			return
		}
		if acct != a.Account().String() || dev != a.Device {
			t.Fatalf("parseMember(%q) = %q, %q; memberAddress says %v", id, acct, dev, a)
		}
		if err := protocol.ValidAddress(acct); err != nil {
			t.Fatalf("parseMember(%q) gave account %q: %v", id, acct, err)
		}
	})
}
