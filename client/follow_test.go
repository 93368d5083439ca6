package client

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A connection that ended after it worked is reported with
// ErrConnectionEnded, so that whoever shows the reason never prints
// "<nil>"; one that failed is reported with its own error.
func TestFollowSaysWhyEachConnectionEnded(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	refused := errors.New("dial refused")
	results := []error{nil, refused}
	var told []error
	o := &FollowOptions{
		MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
		Disconnected: func(err error, _ time.Duration) {
			told = append(told, err)
			if len(told) == len(results) {
				cancel()
			}
		},
	}
	runs := 0
	err := keepFollowing(ctx, o, func(context.Context) error {
		r := results[runs%len(results)]
		runs++
		return r
	})
	if err != nil {
		t.Fatalf("keepFollowing ended with %v, want nil when ctx ends", err)
	}
	if len(told) != 2 || !errors.Is(told[0], ErrConnectionEnded) || !errors.Is(told[1], refused) {
		t.Errorf("Disconnected was told %v, want [ErrConnectionEnded, dial refused]", told)
	}
}
