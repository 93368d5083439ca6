package client

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/ca"
)

func TestTheCommunityCAIsTrustedOnFirstUseAndAChangeIsRefused(t *testing.T) {
	newCA := func() [][]byte {
		a, err := ca.New("community", time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return [][]byte{a.Cert.Raw}
	}
	first, other := newCA(), newCA()
	st := &State{User: "alice", Domain: "a.mesh", Server: "192.0.2.1:7000"}

	if recorded, err := st.TrustCommunityCA(nil); recorded || err != nil || st.CommunityCA != nil {
		t.Fatalf("a node without federation: recorded %v, %v, state %v", recorded, err, st.CommunityCA)
	}
	if recorded, err := st.TrustCommunityCA(first); !recorded || err != nil {
		t.Fatalf("first use: recorded %v, %v", recorded, err)
	}
	if recorded, err := st.TrustCommunityCA(first); recorded || err != nil {
		t.Fatalf("the same CA again: recorded %v, %v", recorded, err)
	}
	_, err := st.TrustCommunityCA(other)
	var changed *CommunityCAChangedError
	if !errors.As(err, &changed) || !errors.Is(err, ErrCommunityCAChanged) {
		t.Fatalf("another CA: %v, want CommunityCAChangedError", err)
	}
	for _, s := range []string{"alice@a.mesh", "192.0.2.1:7000", CAFingerprints(first), CAFingerprints(other)} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q does not name %s", err, s)
		}
	}
	if CAFingerprints(st.CommunityCA) != CAFingerprints(first) {
		t.Error("a refused CA replaced the recorded one")
	}
	if _, err := st.TrustCommunityCA([][]byte{[]byte("not a certificate")}); err == nil {
		t.Error("garbage from the node was taken as a CA")
	}
}
