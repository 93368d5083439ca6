package session_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/client/session"
)

// TestAFollowerWhoseDeviceAResetRemovedRaisesTheAlarmBeforeItStops: a
// reset made elsewhere removes the device of alice's running session.
// Its follower's next connection is refused the device, and before that
// refusal ends the follower, the check of alice's own log entry says
// that none of her devices made the keys now published.
func TestAFollowerWhoseDeviceAResetRemovedRaisesTheAlarmBeforeItStops(t *testing.T) {
	n := startNode(t)
	alice := newPerson(t, n, "alice")
	a1 := alice.register()
	ctx := ctxT(t)

	other := newPerson(t, n, "alice")
	cfg := other.config()
	cfg.DeviceName = "reset"
	s, err := session.Reset(ctx, cfg, other.current())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	o := a1.FollowOptions(n.Addr, nil)
	c, err := o.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := o.Login(ctx, c); err != nil {
		t.Fatal(err)
	}
	err = o.Ready(ctx, c)
	var rev *session.RevokedError
	if !errors.As(err, &rev) {
		t.Fatalf("the follower's new connection: %v, want a RevokedError", err)
	}
	alice.mu.Lock()
	notices := append([]string(nil), alice.notices...)
	alice.mu.Unlock()
	for _, text := range notices {
		if strings.Contains(text, "ALARM") && strings.Contains(text, "none of your devices made") && strings.Contains(text, `"reset"`) {
			return
		}
	}
	t.Errorf("no alarm of the foreign keys before the follower stopped; notices: %q", notices)
}
