package client

import (
	"context"
	"errors"
	"testing"
)

func TestAnOfflineStandInFailsEveryCallAsOffline(t *testing.T) {
	c := Offline("127.0.0.1:7000", "ab")
	ctx := context.Background()
	if _, err := c.ResolveUser(ctx, "bob"); !errors.Is(err, ErrOffline) {
		t.Errorf("ResolveUser: %v, want ErrOffline", err)
	}
	if _, err := c.Fetch(ctx, 0, 10); !errors.Is(err, ErrOffline) {
		t.Errorf("Fetch: %v, want ErrOffline", err)
	}
	if _, err := c.LinkRequests(ctx); !errors.Is(err, ErrOffline) {
		t.Errorf("LinkRequests: %v, want ErrOffline", err)
	}
	if _, err := c.Enqueue(ctx, Outgoing{Recipient: "bob@x.mesh", Payload: []byte("hi")}); !errors.Is(err, ErrOffline) {
		t.Errorf("Enqueue: %v, want ErrOffline", err)
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done of a stand-in is not closed")
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if c.Addr() != "127.0.0.1:7000" {
		t.Errorf("Addr = %q", c.Addr())
	}
}
