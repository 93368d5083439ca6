package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/bench/relay"
)

// TestTheBrokerConfigIsATLS13ListenerWithoutDiskOrBounds checks the lines
// the measurement depends on, and that root is kept only when root.
func TestTheBrokerConfigIsATLS13ListenerWithoutDiskOrBounds(t *testing.T) {
	conf := mosquittoConfig(18883, "/d/cert.pem", "/d/key.pem", false)
	for _, line := range []string{
		"persistence false", "listener 18883 127.0.0.1", "certfile /d/cert.pem", "keyfile /d/key.pem",
		"tls_version tlsv1.3", "max_inflight_messages 0", "max_queued_messages 0", "allow_anonymous true",
	} {
		if !strings.Contains("\n"+conf, "\n"+line+"\n") {
			t.Errorf("config lacks %q:\n%s", line, conf)
		}
	}
	if strings.Contains(conf, "user ") {
		t.Errorf("config names a user when not root:\n%s", conf)
	}
	if !strings.Contains(mosquittoConfig(1, "c", "k", true), "\nuser root\n") {
		t.Error("as root, the config does not keep root")
	}
}

// TestSummarizeIsThroughputAndPercentilesOverAllPairs gives known
// latencies: 100 messages over 2 s, 1..100 ms spread over two pairs.
func TestSummarizeIsThroughputAndPercentilesOverAllPairs(t *testing.T) {
	var lat [2][]time.Duration
	for i := 100; i >= 1; i-- {
		lat[i%2] = append(lat[i%2], time.Duration(i)*time.Millisecond)
	}
	start := time.Unix(100, 0)
	res := summarize(lat[:], start, start.Add(2*time.Second))
	if res.Delivered != 100 || res.Throughput != 50 || res.P50 != 51*time.Millisecond ||
		res.P99 != 100*time.Millisecond || res.Max != 100*time.Millisecond || res.P90 != 91*time.Millisecond {
		t.Errorf("summary %+v", res)
	}
	if res := summarize(nil, start, start); res.Delivered != 0 || res.Throughput != 0 {
		t.Errorf("empty summary %+v", res)
	}
}

func TestBadMQTTOptionsAreRefused(t *testing.T) {
	_, err := loadMQTT(context.Background(), "127.0.0.1:1", nil, relay.Options{Pairs: 1, Messages: 1, Size: 4, Window: 1})
	if !errors.Is(err, ErrMQTTOptions) {
		t.Errorf("size 4: %v, want ErrMQTTOptions", err)
	}
}

// TestTheMosquittoLegDeliversEveryMessage runs the leg against a real
// mosquitto. It is a measurement tool, not a behaviour of qpc, so CI does
// not install mosquitto and this test skips there.
func TestTheMosquittoLegDeliversEveryMessage(t *testing.T) {
	path, err := exec.LookPath("mosquitto")
	if err != nil {
		t.Skip("mosquitto not installed: the Mosquitto leg of bench/compare is a measurement, not a behaviour, and is not run in CI")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := &comparison{clients: 3, size: 64, mosquitto: path}
	got, err := c.runMosquitto(ctx, 4, 200)
	if err != nil {
		t.Fatal(err)
	}
	if got.MsgsPerS <= 0 || got.P50ms <= 0 || got.P99ms < got.P50ms || got.RSSIdle <= 0 {
		t.Errorf("run %+v", got)
	}
	// The broker and its directory are gone.
	b, err := startMosquitto(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	dir := b.dir
	b.stop()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("broker directory %s left behind: %v", dir, err)
	}
	select {
	case <-b.done: // the process has been waited for
	default:
		t.Error("the broker process was not reaped")
	}
}
