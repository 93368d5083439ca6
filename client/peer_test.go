package client

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/protocol"
)

// published returns the keys a node would publish for addr's list l,
// signed by acct, with the primary's legacy fields.
func published(t *testing.T, addr string, acct identity.AccountKey, l *identity.DeviceList, primary *identity.UserKeys) protocol.PublishedKeys {
	t.Helper()
	signed, err := l.Sign(acct)
	if err != nil {
		t.Fatal(err)
	}
	b, err := primary.Bundle(addr)
	if err != nil {
		t.Fatal(err)
	}
	return protocol.PublishedKeys{IdentityKey: b.IdentityKey, HPKEKey: b.HPKEKey, Signature: b.Signature, AccountKey: acct.Public(), DeviceList: signed}
}

func newDeviceKeys(t *testing.T) *identity.UserKeys {
	t.Helper()
	k, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestPeerOfLegacyAccountIsItsOwnAccountKey(t *testing.T) {
	const addr = "alice@a.mesh"
	k := newDeviceKeys(t)
	b, err := k.Bundle(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := PeerOf(addr, protocol.PublishedKeys{IdentityKey: b.IdentityKey, HPKEKey: b.HPKEKey, Signature: b.Signature})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Legacy() || !p.AccountKey.Equal(k.IdentityPublic()) || len(p.Devices) != 1 || p.Recipient(p.Devices[0]) != addr {
		t.Fatalf("legacy peer: %+v", p)
	}
	if _, err := PeerOf("bob@a.mesh", protocol.PublishedKeys{IdentityKey: b.IdentityKey, HPKEKey: b.HPKEKey, Signature: b.Signature}); !errors.Is(err, identity.ErrBadSignature) {
		t.Fatalf("bundle of alice as bob's: %v, want ErrBadSignature", err)
	}
}

func TestPeerOfDeviceList(t *testing.T) {
	const addr = "alice@a.mesh"
	now := time.Now()
	first, second := newDeviceKeys(t), newDeviceKeys(t)
	acct, l, err := identity.NewLegacyDeviceList(addr, "laptop", first, now)
	if err != nil {
		t.Fatal(err)
	}
	desk, err := l.Add(acct, "desk", second, now)
	if err != nil {
		t.Fatal(err)
	}
	k := published(t, addr, acct, l, first)
	p, err := PeerOf(addr, k)
	if err != nil {
		t.Fatal(err)
	}
	if p.Legacy() || len(p.Devices) != 2 || !p.AccountKey.Equal(acct.Public()) || p.Seq() != l.Seq {
		t.Fatalf("peer: %+v", p)
	}
	if got, want := p.Recipient(desk), "alice#"+desk.ID.String()+"@a.mesh"; got != want {
		t.Fatalf("recipient %q, want %q", got, want)
	}
	if d, ok := p.DeviceByKey(second.IdentityPublic()); !ok || d.ID != desk.ID {
		t.Fatalf("DeviceByKey(desk) = %v, %v", d, ok)
	}

	// The node swaps the primary's legacy fields for the second device's.
	swapped := k
	sb, _ := second.Bundle(addr)
	swapped.IdentityKey, swapped.HPKEKey, swapped.Signature = sb.IdentityKey, sb.HPKEKey, sb.Signature
	if _, err := PeerOf(addr, swapped); !errors.Is(err, ErrPrimaryMismatch) {
		t.Fatalf("swapped primary: %v, want ErrPrimaryMismatch", err)
	}
	// A list under another account key than the one published beside it.
	other, err := identity.GenerateAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	wrong := k
	wrong.AccountKey = other.Public()
	if _, err := PeerOf(addr, wrong); !errors.Is(err, identity.ErrBadSignature) {
		t.Fatalf("other account key: %v, want ErrBadSignature", err)
	}
	// A forged list: a node signs a list with a device of its own under its
	// own key but publishes the account's key beside it.
	forged := k
	forged.DeviceList = bytes.Clone(k.DeviceList)
	forged.DeviceList[len(forged.DeviceList)-1] ^= 1
	if _, err := PeerOf(addr, forged); !errors.Is(err, identity.ErrBadSignature) {
		t.Fatalf("tampered list: %v, want ErrBadSignature", err)
	}
	if _, err := PeerOf("bob@a.mesh", k); err == nil {
		t.Fatal("alice's list accepted as bob's")
	}
}

func TestPeerNewerThanRefusesARolledBackList(t *testing.T) {
	const addr = "alice@a.mesh"
	now := time.Now()
	first := newDeviceKeys(t)
	acct, l, err := identity.NewLegacyDeviceList(addr, "laptop", first, now)
	if err != nil {
		t.Fatal(err)
	}
	old := published(t, addr, acct, l, first)
	if _, err := l.Add(acct, "desk", newDeviceKeys(t), now); err != nil {
		t.Fatal(err)
	}
	cur := published(t, addr, acct, l, first)
	pOld, err := PeerOf(addr, old)
	if err != nil {
		t.Fatal(err)
	}
	if err := pOld.newerThan(cur.DeviceList); !errors.Is(err, ErrListRollback) {
		t.Fatalf("old list after a newer one: %v, want ErrListRollback", err)
	}
	pCur, err := PeerOf(addr, cur)
	if err != nil {
		t.Fatal(err)
	}
	if err := pCur.newerThan(old.DeviceList); err != nil {
		t.Fatalf("newer list: %v", err)
	}
	// A list under a new account key (a reset) is a key change for the
	// caller to show, not a rollback.
	reset, l2, err := identity.NewLegacyDeviceList(addr, "new", newDeviceKeys(t), now)
	if err != nil {
		t.Fatal(err)
	}
	_ = reset
	pReset := Peer{Address: addr, AccountKey: l2.AccountKey, List: l2, Devices: l2.Current()}
	if err := pReset.newerThan(cur.DeviceList); err != nil {
		t.Fatalf("list under a new account key: %v", err)
	}
}

func TestSentCopyRoundTrip(t *testing.T) {
	c := SentCopy{To: "bob@b.mesh", ContentType: 0x0102, Body: []byte("hi")}
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseSentCopy(b)
	if err != nil || got.To != c.To || got.ContentType != c.ContentType || !bytes.Equal(got.Body, c.Body) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range [][]byte{nil, {1}, {2, 0}, {1, 10, 'a'}, append([]byte{1, 3}, "a b\x00\x01"...)} {
		if _, err := ParseSentCopy(bad); !errors.Is(err, ErrBadSentCopy) {
			t.Errorf("ParseSentCopy(%q) = %v, want ErrBadSentCopy", bad, err)
		}
	}
}

func FuzzParseSentCopy(f *testing.F) {
	b, _ := SentCopy{To: "bob@b.mesh", ContentType: 1, Body: []byte("hi")}.MarshalBinary()
	f.Add(b)
	f.Add([]byte{1, 0, 0, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ParseSentCopy(in)
		if err != nil {
			if !errors.Is(err, ErrBadSentCopy) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		again, err := c.MarshalBinary()
		if err != nil || !bytes.Equal(again, in) {
			t.Fatalf("re-encode %x != %x (%v)", again, in, err)
		}
	})
}
