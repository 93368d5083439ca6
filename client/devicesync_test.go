package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
)

func testBundle(t testing.TB) *SyncBundle {
	acct, err := identity.GenerateAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	k := acct.Public()
	return &SyncBundle{
		AccountKeySeed: acct.Seed(),
		Contacts:       []SyncContact{{Address: "bob@n.mesh", AccountKey: k, Verified: true, VerifiedKey: k}, {Address: "carol@n.mesh", AccountKey: k}},
		Channels:       []ChannelEntry{{Topic: "kiez-news", Secret: testSecret(4), Joined: time.UnixMilli(1000).UTC()}},
	}
}

func TestASyncBundleRoundTrips(t *testing.T) {
	b := testBundle(t)
	raw, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseSyncBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != SyncBundleVersion || !bytes.Equal(got.AccountKeySeed, b.AccountKeySeed) || len(got.Contacts) != 2 ||
		!got.Contacts[0].Verified || got.Channels[0].Secret != b.Channels[0].Secret {
		t.Errorf("round trip: %+v", got)
	}
}

func TestBadSyncBundlesAreRefusedTyped(t *testing.T) {
	good := testBundle(t)
	for _, tt := range []struct {
		name  string
		edit  func(b *SyncBundle)
		raw   string
		wants string
	}{
		{name: "a contact without an account key", edit: func(b *SyncBundle) { b.Contacts[0].AccountKey = nil }, wants: "account key"},
		{name: "a contact twice", edit: func(b *SyncBundle) { b.Contacts[1].Address = "bob@n.mesh" }, wants: "twice"},
		{name: "a bad address", edit: func(b *SyncBundle) { b.Contacts[0].Address = "bob smith" }, wants: "contact 0"},
		{name: "verified without a key", edit: func(b *SyncBundle) { b.Contacts[0].VerifiedKey = nil }, wants: "verified key"},
		{name: "a short seed", edit: func(b *SyncBundle) { b.AccountKeySeed = b.AccountKeySeed[:31] }, wants: "seed"},
		{name: "too many contacts", edit: func(b *SyncBundle) {
			for len(b.Contacts) <= MaxSyncContacts {
				c := b.Contacts[1]
				c.Address = strings.Repeat("x", len(b.Contacts)%50+1) + "@" + strings.Repeat("d", len(b.Contacts)/50+1)
				b.Contacts = append(b.Contacts, c)
			}
		}, wants: "at most"},
		{name: "a topic not normalized", edit: func(b *SyncBundle) { b.Channels[0].Topic = "Kiez News" }, wants: "topic"},
		{name: "another version", raw: `{"v":2}`, wants: "version 2"},
		{name: "no version", raw: `{}`, wants: "version 0"},
		{name: "an unknown field", raw: `{"v":1,"x":1}`, wants: "unknown field"},
		{name: "not JSON", raw: `{"v":1`, wants: "malformed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.raw)
			if tt.edit != nil {
				b := testBundle(t)
				b.Contacts = append([]SyncContact(nil), good.Contacts...)
				tt.edit(b)
				if _, err := b.MarshalBinary(); !errors.Is(err, ErrBadSyncBundle) {
					t.Errorf("MarshalBinary: %v, want ErrBadSyncBundle", err)
				}
				var err error
				// Written past the checks, as a foreign device might.
				b.Version = SyncBundleVersion
				if raw, err = jsonOf(b); err != nil {
					t.Fatal(err)
				}
			}
			_, err := ParseSyncBundle(raw)
			if !errors.Is(err, ErrBadSyncBundle) || !strings.Contains(err.Error(), tt.wants) {
				t.Errorf("ParseSyncBundle: %v, want ErrBadSyncBundle saying %q", err, tt.wants)
			}
		})
	}
}

func FuzzParseSyncBundle(f *testing.F) {
	raw, err := testBundle(f).MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`{"v":1,"contacts":[{"address":"a@b","account_key":""}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := ParseSyncBundle(raw)
		if err != nil {
			if !errors.Is(err, ErrBadSyncBundle) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		again, err := b.MarshalBinary()
		if err != nil {
			t.Fatalf("a parsed bundle does not encode: %v", err)
		}
		if _, err := ParseSyncBundle(again); err != nil {
			t.Fatalf("a re-encoded bundle does not parse: %v", err)
		}
	})
}

// jsonOf encodes b without its checks.
func jsonOf(b *SyncBundle) ([]byte, error) { return json.Marshal(b) }
