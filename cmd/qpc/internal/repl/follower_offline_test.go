package repl

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Started without a connection (an account opened offline), the follower
// is offline until it connects, which a node that answers makes quiet (no
// status line); a call the node left unanswered (Unanswered) drops the
// connection, says offline once and connects again.
func TestTheFollowerStartsOfflineAndReconnectsAfterAnUnansweredCall(t *testing.T) {
	addr, fp, _ := runNode(t)
	b := register(t, addr, fp, "bob")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	eb := openEngine(t, b)
	status := make(chan string, 16)
	online := make(chan bool, 16)
	f := NewFollower(FollowerConfig{
		Session: b, Engine: eb,
		Status: func(line string) { status <- line },
		Online: func(on bool) { online <- on },
	})
	f.Start(ctx, addr, nil)
	defer f.Stop()
	if on := <-online; on {
		t.Fatal("the first state of a follower started without a connection is online")
	}
	waitFor(t, "online", online, func(on bool) bool { return on })
	select {
	case line := <-status:
		t.Fatalf("a start whose node answered said %q", line)
	default:
	}

	f.Unanswered()
	waitFor(t, "offline", online, func(on bool) bool { return !on })
	waitFor(t, "offline status", status, func(s string) bool { return strings.HasPrefix(s, "offline: ") })
	waitFor(t, "online again", online, func(on bool) bool { return on })
	waitFor(t, "online status again", status, func(s string) bool { return s == "online" })
	if !eb.Online() {
		t.Error("the engine is offline after the follower reconnected")
	}
}
