package client

import (
	"context"
	"errors"
	"testing"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/schemas"
)

// A node older than nameAvailable answers it "unimplemented"; the first
// nodes whose schema had it failed it "not implemented by this node yet".
// Both are ErrNoNameCheck, which register takes as "ask at registration".
func TestANodeWithoutNameAvailableIsToleratedAsUnableToTell(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"a node without the method", capnp.Unimplemented("method not implemented")},
		{"a node with the schema's stub", errors.New("not implemented by this node yet")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Client{node: schemas.NodeService(capnp.ErrorClient(tc.err))}
			if _, err := c.NameAvailable(context.Background(), "bob"); !errors.Is(err, ErrNoNameCheck) {
				t.Fatalf("NameAvailable: %v, want ErrNoNameCheck", err)
			}
		})
	}
}
