package node_test

import (
	"context"
	"errors"
	"testing"

	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/memstore"
	"github.com/quicprochat/qpc/protocol"
)

// fakeLog is a KeyLog that records what it was asked.
type fakeLog struct {
	count, maxBytes int
}

func (l *fakeLog) KTProof(string, uint64) (protocol.KeyProof, error) {
	return protocol.KeyProof{Entry: []byte("e")}, nil
}
func (l *fakeLog) KTConsistency(uint64, uint64) ([][]byte, []byte, error) {
	return nil, []byte("head"), nil
}
func (l *fakeLog) KTEntries(start uint64, count, maxBytes int) ([][]byte, error) {
	l.count, l.maxBytes = count, maxBytes
	return nil, nil
}
func (l *fakeLog) KTHead() ([]byte, error) { return []byte("head"), nil }

// fakeWatch is a KTWatch that counts heads and holds n pieces of evidence.
type fakeWatch struct {
	observed int
	n        int
}

func (w *fakeWatch) Observe(context.Context, []byte) error { w.observed++; return nil }
func (w *fakeWatch) Evidence(limit int) ([]protocol.KTEvidence, error) {
	return make([]protocol.KTEvidence, min(limit, w.n)), nil
}

func ktService(t *testing.T, lim node.Limits, log node.KeyLog, watch node.KTWatch) *node.Service {
	t.Helper()
	cfg := opaque.DefaultConfig()
	secrets, err := opaque.GenerateServerSecrets(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := opaque.NewServer(cfg, secrets)
	if err != nil {
		t.Fatal(err)
	}
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	svc, err := node.New(node.Config{Identity: protocol.Identity{Domain: domain}, Limits: lim, Store: st, OPAQUE: srv,
		KeyLog: log, KTWatch: watch})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestKTCallsNeedNoSessionAndAreBounded(t *testing.T) {
	log, watch := &fakeLog{}, &fakeWatch{n: 100}
	svc := ktService(t, node.Limits{KTRate: 1e-9, KTBurst: 4}, log, watch)
	c := svc.NewConn("192.0.2.1:1000")
	defer c.Close()
	if _, err := c.KTEntries(0, 5000); err != nil {
		t.Fatal(err)
	}
	if log.count != node.MaxKTEntries || log.maxBytes != node.MaxKTEntriesBytes {
		t.Errorf("the log was asked for %d entries, %d bytes", log.count, log.maxBytes)
	}
	if _, head, err := c.KTConsistency(0, 0); err != nil || string(head) != "head" {
		t.Errorf("KTConsistency: %q, %v", head, err)
	}
	if _, err := c.KTGossip(context.Background(), make([][]byte, protocol.MaxKTHeads+1)); !errors.Is(err, protocol.ErrBadRequest) {
		t.Errorf("65 heads: %v, want ErrBadRequest", err)
	}
	ev, err := c.KTGossip(context.Background(), make([][]byte, 3))
	if err != nil || watch.observed != 3 || len(ev) != protocol.MaxKTEvidence {
		t.Errorf("gossip: %d observed, %d evidence, %v", watch.observed, len(ev), err)
	}
	if _, err := c.KTEntries(0, 1); !errors.Is(err, protocol.ErrRateLimited) {
		t.Errorf("the fifth call: %v, want ErrRateLimited", err)
	}
	h, err := svc.Health(context.Background())
	if err != nil || string(h.KTHead) != "head" || len(h.KTEvidence) != 8 {
		t.Errorf("health: head %q, %d evidence, %v", h.KTHead, len(h.KTEvidence), err)
	}
}

func TestANodeWithoutALogRefusesTheKTCalls(t *testing.T) {
	svc := ktService(t, node.Limits{}, nil, nil)
	c := svc.NewConn("192.0.2.1:1000")
	defer c.Close()
	if _, err := c.KTEntries(0, 1); !errors.Is(err, protocol.ErrBadRequest) {
		t.Errorf("KTEntries: %v", err)
	}
	if _, _, err := c.KTConsistency(0, 0); !errors.Is(err, protocol.ErrBadRequest) {
		t.Errorf("KTConsistency: %v", err)
	}
	h, err := svc.Health(context.Background())
	if err != nil || h.KTHead != nil || h.KTEvidence != nil {
		t.Errorf("health: %+v, %v", h, err)
	}
}
