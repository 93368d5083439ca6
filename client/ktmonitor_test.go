package client

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/kt"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
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

// gossipNode answers ktGossip with the evidence it holds and records the
// heads it was handed.
type gossipNode struct {
	schemas.NodeService_Server
	evidence []protocol.KTEvidence
	heads    [][]byte
}

func (g *gossipNode) KtGossip(ctx context.Context, call schemas.NodeService_ktGossip) error {
	list, err := call.Args().Heads()
	if err != nil {
		return err
	}
	if g.heads, err = protocol.DataListFromWire("heads", list, protocol.MaxKTHeads, protocol.MaxKTHeadBytes); err != nil {
		return err
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	return protocol.KTEvidenceToWire(g.evidence, res.NewEvidence)
}

// fork returns evidence of a fork of l's log: its head, and one of the
// same size and another root signed by the same key.
func fork(t *testing.T, l *testLog) protocol.KTEvidence {
	t.Helper()
	a := l.head()
	b, err := kt.SignHead(kt.Head{Domain: l.domain, Size: a.Size, Root: kt.LeafHash([]byte("another root")), TimeMillis: a.TimeMillis}, l.key, l.cert)
	if err != nil {
		t.Fatal(err)
	}
	return protocol.KTEvidence{First: a.Marshal(), Second: b.Marshal(), Reason: kt.ReasonFork, Domain: l.domain, Found: time.Now(), ReportedBy: "n2.mesh"}
}

func TestCheckEvidenceBelievesOnlyAForkSignedByOneKey(t *testing.T) {
	l := newTestLog(t, "n1.mesh", nil, nil)
	l.fill(5)
	good := fork(t, l)
	if err := CheckEvidence(good); err != nil {
		t.Fatalf("a real fork: %v", err)
	}
	other := newTestLog(t, "n1.mesh", nil, nil)
	other.tree = l.tree
	for _, tc := range []struct {
		name string
		bend func(e *protocol.KTEvidence)
	}{
		{"a second head signed by another key", func(e *protocol.KTEvidence) {
			sh, _ := kt.ParseSignedHead(e.Second)
			sh2, _ := kt.SignHead(sh.Head, other.key, nil)
			e.Second = sh2.Marshal()
		}},
		{"a broken signature", func(e *protocol.KTEvidence) { e.Second[len(e.Second)-1] ^= 1 }},
		{"the same head twice", func(e *protocol.KTEvidence) { e.Second = e.First }},
		{"heads named for another domain", func(e *protocol.KTEvidence) { e.Domain = "n2.mesh" }},
		{"a head that does not parse", func(e *protocol.KTEvidence) { e.First = e.First[:10] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := good
			e.First, e.Second = bytes.Clone(good.First), bytes.Clone(good.Second)
			tc.bend(&e)
			if err := CheckEvidence(e); err == nil {
				t.Fatal("believed")
			}
		})
	}
}

func TestGossipHandsTheKeptHeadsAndAlarmsEachEvidenceOncePerRun(t *testing.T) {
	l := newTestLog(t, "n1.mesh", nil, nil)
	l.fill(4)
	g := &gossipNode{evidence: []protocol.KTEvidence{fork(t, l)}}
	n := schemas.NodeService_ServerToClient(g)
	t.Cleanup(n.Release)
	var alarms []Alarm
	a := &Account{Client: &Client{node: n}, Domain: "n1.mesh", User: "bob", Alarms: func(al Alarm) { alarms = append(alarms, al) }}
	if err := a.checkProof(testCtx(t), address(t, "user1@n1.mesh"), l.answer("user1@n1.mesh", 0)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		a.Gossip(testCtx(t))
	}
	if len(g.heads) != 1 {
		t.Fatalf("the node was handed %d heads, want the one kept", len(g.heads))
	}
	if kept, _ := a.KT.Get("n1.mesh"); !bytes.Equal(g.heads[0], kept.Head) {
		t.Fatal("the head handed over is not the kept one")
	}
	if len(alarms) != 1 || alarms[0].Kind != AlarmEvidence || !alarms[0].Verified || !strings.Contains(alarms[0].Text(), "proves") {
		t.Fatalf("alarms %+v; want the fork once, verified", alarms)
	}
}
