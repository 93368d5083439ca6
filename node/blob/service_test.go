package blob

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// heldRemote is a federation whose gets wait until released, so a test
// can hold the service's slots.
type heldRemote struct {
	entered chan struct{}
	release chan struct{}
}

func (r *heldRemote) BlobGet(ctx context.Context, home string, id [protocol.BlobIDSize]byte, index int) ([]byte, error) {
	r.entered <- struct{}{}
	<-r.release
	return []byte("chunk"), nil
}

func (r *heldRemote) BlobStat(ctx context.Context, home string, id [protocol.BlobIDSize]byte) (protocol.BlobStat, error) {
	return protocol.BlobStat{}, protocol.ErrNoSuchBlob
}

func TestTheServiceHoldsAtMostItsBoundOfChunksAtOnce(t *testing.T) {
	st, err := Open(t.TempDir(), Limits{InFlight: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &heldRemote{entered: make(chan struct{}, 4), release: make(chan struct{})}
	v := NewService(st, "here.example", func() Remote { return r })
	var id [protocol.BlobIDSize]byte
	done := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := v.Get(context.Background(), "there.example", id, 0)
			done <- err
		}()
	}
	for range 2 {
		select {
		case <-r.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the first two gets did not start")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := v.GetTo(ctx, "", id, 0, nil); !errors.Is(err, protocol.ErrRateLimited) {
		t.Errorf("a third get while two run: %v, want ErrRateLimited after waiting", err)
	}
	close(r.release)
	for range 2 {
		if err := <-done; err != nil {
			t.Errorf("a held get: %v", err)
		}
	}
	// With the slots free, a get runs again (and finds no such blob here).
	if err := v.GetTo(context.Background(), "", id, 0, nil); !errors.Is(err, protocol.ErrNoSuchBlob) {
		t.Errorf("a get after: %v, want ErrNoSuchBlob", err)
	}
}

func TestAGetForAnotherHomeWithoutFederationSaysNoRoute(t *testing.T) {
	st, err := Open(t.TempDir(), Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := NewService(st, "here.example", nil)
	var id [protocol.BlobIDSize]byte
	if _, err := v.Get(context.Background(), "there.example", id, 0); !errors.Is(err, protocol.ErrUnknownDomain) {
		t.Errorf("get: %v, want ErrUnknownDomain", err)
	}
	if _, err := v.Stat(context.Background(), "HERE.example", id); !errors.Is(err, protocol.ErrNoSuchBlob) {
		t.Errorf("stat of this node's domain in capitals: %v, want a local ErrNoSuchBlob", err)
	}
}
