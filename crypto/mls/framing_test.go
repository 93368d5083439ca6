package mls

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

type messageProtectionVector struct {
	CipherSuite             CipherSuiteID `json:"cipher_suite"`
	GroupID                 hexBytes      `json:"group_id"`
	Epoch                   uint64        `json:"epoch"`
	TreeHash                hexBytes      `json:"tree_hash"`
	ConfirmedTranscriptHash hexBytes      `json:"confirmed_transcript_hash"`
	SignaturePriv           hexBytes      `json:"signature_priv"`
	SignaturePub            hexBytes      `json:"signature_pub"`
	EncryptionSecret        hexBytes      `json:"encryption_secret"`
	SenderDataSecret        hexBytes      `json:"sender_data_secret"`
	MembershipKey           hexBytes      `json:"membership_key"`
	Proposal                hexBytes      `json:"proposal"`
	ProposalPriv            hexBytes      `json:"proposal_priv"`
	ProposalPub             hexBytes      `json:"proposal_pub"`
	Commit                  hexBytes      `json:"commit"`
	CommitPriv              hexBytes      `json:"commit_priv"`
	CommitPub               hexBytes      `json:"commit_pub"`
	Application             hexBytes      `json:"application"`
	ApplicationPriv         hexBytes      `json:"application_priv"`
}

// protectionLeaves is the group size behind message-protection.json: two
// members, the sender at leaf 1.
const protectionLeaves = 2

// protectionFixture is the state a test member holds for one vector.
type protectionFixture struct {
	cs CipherSuite
	v  *messageProtectionVector
	gc *GroupContext
}

func (f *protectionFixture) tree() *SecretTree {
	return NewSecretTree(f.cs, f.v.EncryptionSecret, protectionLeaves)
}

// unprotect opens an encoded MLSMessage and checks its signature.
func (f *protectionFixture) unprotect(data []byte, st *SecretTree) (*AuthenticatedContent, error) {
	var m MLSMessage
	if err := Unmarshal(data, &m); err != nil {
		return nil, err
	}
	var ac *AuthenticatedContent
	var err error
	switch m.WireFormat {
	case WireFormatPublicMessage:
		ac, err = UnprotectPublic(f.cs, m.PublicMessage, f.v.MembershipKey, f.gc)
	case WireFormatPrivateMessage:
		ac, err = UnprotectPrivate(f.cs, m.PrivateMessage, f.v.SenderDataSecret, st, f.gc)
	default:
		return nil, ErrWireFormat
	}
	if err != nil {
		return nil, err
	}
	if err := ac.VerifySignature(f.cs, f.v.SignaturePub, f.gc); err != nil {
		return nil, err
	}
	return ac, nil
}

// protect signs and frames content from leaf 1 with wire format wf.
func (f *protectionFixture) protect(wf WireFormat, fc FramedContent, st *SecretTree) ([]byte, error) {
	ac, err := SignContent(f.cs, wf, fc, f.v.SignaturePriv, f.gc)
	if err != nil {
		return nil, err
	}
	if fc.ContentType == ContentCommit {
		ac.Auth.ConfirmationTag = make([]byte, f.cs.HashLen())
		rand.Read(ac.Auth.ConfirmationTag)
	}
	m := MLSMessage{Version: ProtocolVersionMLS10, WireFormat: wf}
	if wf == WireFormatPublicMessage {
		m.PublicMessage, err = ProtectPublic(f.cs, ac, f.v.MembershipKey, f.gc)
	} else {
		m.PrivateMessage, err = ProtectPrivate(f.cs, ac, f.v.SenderDataSecret, st, 17)
	}
	if err != nil {
		return nil, err
	}
	return Marshal(&m)
}

// body returns the encoding of the content body (Proposal, Commit or application data).
func body(fc *FramedContent) []byte {
	if fc.ContentType == ContentApplication {
		return fc.ApplicationData
	}
	var w writer
	fc.encodeBody(&w)
	return w.b
}

func TestMessageProtectionVectors(t *testing.T) {
	var cases []messageProtectionVector
	loadVectors(t, "message-protection.json", &cases)
	checked := 0
	for i := range cases {
		v := &cases[i]
		cs, err := Suite(v.CipherSuite)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		f := &protectionFixture{cs: cs, v: v, gc: &GroupContext{
			Version: ProtocolVersionMLS10, CipherSuite: v.CipherSuite, GroupID: v.GroupID, Epoch: v.Epoch,
			TreeHash: v.TreeHash, ConfirmedTranscriptHash: v.ConfirmedTranscriptHash,
		}}
		var prop Proposal
		var commit Commit
		if err := Unmarshal(v.Proposal, &prop); err != nil {
			t.Fatalf("case %d: proposal: %v", i, err)
		}
		if err := Unmarshal(v.Commit, &commit); err != nil {
			t.Fatalf("case %d: commit: %v", i, err)
		}
		content := func(ct ContentType) FramedContent {
			fc := FramedContent{GroupID: v.GroupID, Epoch: v.Epoch, Sender: Sender{Type: SenderMember, Index: 1},
				AuthenticatedData: []byte{}, ContentType: ct}
			switch ct {
			case ContentProposal:
				fc.Proposal = &prop
			case ContentCommit:
				fc.Commit = &commit
			default:
				fc.ApplicationData = v.Application
			}
			return fc
		}
		ok := true
		for _, m := range []struct {
			name string
			ct   ContentType
			want []byte
			pub  []byte
			priv []byte
		}{
			{"proposal", ContentProposal, v.Proposal, v.ProposalPub, v.ProposalPriv},
			{"commit", ContentCommit, v.Commit, v.CommitPub, v.CommitPriv},
			{"application", ContentApplication, v.Application, nil, v.ApplicationPriv},
		} {
			check := func(what string, data []byte, st *SecretTree) {
				ac, err := f.unprotect(data, st)
				if err != nil {
					t.Errorf("case %d %s %s: %v", i, m.name, what, err)
					ok = false
					return
				}
				if !bytes.Equal(body(&ac.Content), m.want) {
					t.Errorf("case %d %s %s: content differs", i, m.name, what)
					ok = false
				}
			}
			if m.pub != nil {
				check("vector public message", m.pub, nil)
				own, err := f.protect(WireFormatPublicMessage, content(m.ct), nil)
				if err != nil {
					t.Fatalf("case %d %s: protect public: %v", i, m.name, err)
				}
				check("own public message", own, nil)
			}
			check("vector private message", m.priv, f.tree())
			own, err := f.protect(WireFormatPrivateMessage, content(m.ct), f.tree())
			if err != nil {
				t.Fatalf("case %d %s: protect private: %v", i, m.name, err)
			}
			check("own private message", own, f.tree())
		}
		if ok {
			checked++
		}
	}
	reportCases(t, "message-protection.json", checked)
}

// protectionRig is a two-member group epoch for rejection tests and benchmarks.
type protectionRig struct {
	cs         CipherSuite
	gc         *GroupContext
	priv, pub  []byte
	sds        []byte
	membership []byte
	encSecret  []byte
}

func newProtectionRig(tb testing.TB, cs CipherSuite) *protectionRig {
	tb.Helper()
	priv, pub, err := cs.GenerateSignatureKey()
	if err != nil {
		tb.Fatal(err)
	}
	return &protectionRig{
		cs: cs, priv: priv, pub: pub,
		gc:         &GroupContext{Version: ProtocolVersionMLS10, CipherSuite: cs.ID(), GroupID: []byte("group"), Epoch: 7, TreeHash: []byte{1}, ConfirmedTranscriptHash: []byte{2}},
		sds:        bytes.Repeat([]byte{3}, cs.HashLen()),
		membership: bytes.Repeat([]byte{4}, cs.HashLen()),
		encSecret:  bytes.Repeat([]byte{5}, cs.HashLen()),
	}
}

func (r *protectionRig) application(tb testing.TB, data []byte, wf WireFormat) *AuthenticatedContent {
	tb.Helper()
	ac, err := SignContent(r.cs, wf, FramedContent{
		GroupID: r.gc.GroupID, Epoch: r.gc.Epoch, Sender: Sender{Type: SenderMember, Index: 1},
		AuthenticatedData: []byte{}, ContentType: ContentApplication, ApplicationData: data,
	}, r.priv, r.gc)
	if err != nil {
		tb.Fatal(err)
	}
	return ac
}

func TestPrivateMessageRejections(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		r := newProtectionRig(t, cs)
		send := NewSecretTree(r.cs, r.encSecret, 2)
		recv := NewSecretTree(r.cs, r.encSecret, 2)
		pm, err := ProtectPrivate(r.cs, r.application(t, []byte("hello"), WireFormatPrivateMessage), r.sds, send, 0)
		if err != nil {
			t.Fatal(err)
		}
		first, err := ProtectPrivate(r.cs, r.application(t, []byte("first"), WireFormatPrivateMessage), r.sds, send, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := UnprotectPrivate(r.cs, first, r.sds, recv, r.gc); err != nil {
			t.Fatalf("first delivery: %v", err)
		}
		if _, err := UnprotectPrivate(r.cs, first, r.sds, recv, r.gc); !errors.Is(err, ErrGenerationConsumed) {
			t.Fatalf("replay: got %v, want ErrGenerationConsumed", err)
		}
		tests := []struct {
			name   string
			mutate func(*PrivateMessage, *GroupContext)
			want   error
		}{
			{"a message for another epoch is refused", func(_ *PrivateMessage, gc *GroupContext) { gc.Epoch++ }, ErrWrongEpoch},
			{"a message for another group is refused", func(_ *PrivateMessage, gc *GroupContext) { gc.GroupID = []byte("other") }, ErrWrongGroup},
			{"altered sender data does not decrypt", func(pm *PrivateMessage, _ *GroupContext) { pm.EncryptedSenderData[0] ^= 1 }, ErrDecryption},
			{"altered authenticated data does not decrypt", func(pm *PrivateMessage, _ *GroupContext) { pm.AuthenticatedData = []byte("x") }, ErrDecryption},
			{"a forged message does not burn the key of the genuine one", func(pm *PrivateMessage, _ *GroupContext) {}, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				m := *pm
				m.EncryptedSenderData = bytes.Clone(pm.EncryptedSenderData)
				gc := *r.gc
				tc.mutate(&m, &gc)
				if _, err := UnprotectPrivate(r.cs, &m, r.sds, recv, &gc); !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
			})
		}
	})
}

func TestPublicMessageRejections(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		r := newProtectionRig(t, cs)
		pm, err := ProtectPublic(r.cs, r.application(t, []byte("hi"), WireFormatPublicMessage), r.membership, r.gc)
		if err != nil {
			t.Fatal(err)
		}
		bad := *pm
		bad.MembershipTag = bytes.Clone(pm.MembershipTag)
		bad.MembershipTag[0] ^= 1
		if _, err := UnprotectPublic(r.cs, &bad, r.membership, r.gc); !errors.Is(err, ErrBadMembershipTag) {
			t.Fatalf("altered tag: got %v", err)
		}
		ac, err := UnprotectPublic(r.cs, pm, r.membership, r.gc)
		if err != nil {
			t.Fatal(err)
		}
		other, _, _ := r.cs.GenerateSignatureKey()
		otherPub, _ := r.cs.SignaturePublicKey(other)
		if err := ac.VerifySignature(r.cs, otherPub, r.gc); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("wrong key: got %v", err)
		}
	})
}

func BenchmarkProtectPrivate(b *testing.B) {
	r := newProtectionRig(b, suite1)
	ac := r.application(b, make([]byte, 1024), WireFormatPrivateMessage)
	st := NewSecretTree(r.cs, r.encSecret, 2)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ProtectPrivate(r.cs, ac, r.sds, st, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnprotectPrivate(b *testing.B) {
	r := newProtectionRig(b, suite1)
	ac := r.application(b, make([]byte, 1024), WireFormatPrivateMessage)
	send := NewSecretTree(r.cs, r.encSecret, 2)
	recv := NewSecretTree(r.cs, r.encSecret, 2)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		pm, err := ProtectPrivate(r.cs, ac, r.sds, send, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := UnprotectPrivate(r.cs, pm, r.sds, recv, r.gc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProtectPublic(b *testing.B) {
	r := newProtectionRig(b, suite1)
	b.ReportAllocs()
	for b.Loop() {
		ac, err := SignContent(r.cs, WireFormatPublicMessage, FramedContent{
			GroupID: r.gc.GroupID, Epoch: r.gc.Epoch, Sender: Sender{Type: SenderMember, Index: 1},
			ContentType: ContentProposal, Proposal: &Proposal{Type: ProposalRemove, Remove: 0},
		}, r.priv, r.gc)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ProtectPublic(r.cs, ac, r.membership, r.gc); err != nil {
			b.Fatal(err)
		}
	}
}
