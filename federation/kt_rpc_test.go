package federation

import (
	"errors"
	"testing"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

func TestAPeersKTCallsAreBoundedPerMinute(t *testing.T) {
	var a ktAllowance
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	for i := range MaxKTCallsPerMinute {
		if err := a.take(now.Add(time.Duration(i) * time.Millisecond)); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if err := a.take(now.Add(59 * time.Second)); !errors.Is(err, protocol.ErrRateLimited) {
		t.Errorf("one call too many: %v, want ErrRateLimited", err)
	}
	if err := a.take(now.Add(61 * time.Second)); err != nil {
		t.Errorf("the next minute: %v", err)
	}
}
