package app

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestMetricsEndpointServesValidPrometheusText(t *testing.T) {
	checkLeaks(t)
	cfg := testConfig(t)
	cfg.MetricsListen = "127.0.0.1:0"
	n := start(t, cfg)
	alice := newAccount(t, n, "alice")
	newAccount(t, n, "bob")
	if _, err := alice.SendText(ctxT(t), "bob", "hi"); err != nil {
		t.Fatal(err)
	}

	resp, err := http.Get("http://" + n.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	text := string(body)
	for _, want := range []string{
		`qpc_build_info{`,
		`qpc_rpc_calls_total{method="enqueue",result="none"} 1`,
		`qpc_rpc_calls_total{method="loginStart",result="none"} 2`,
		`qpc_rpc_duration_seconds_bucket{method="enqueue",le="+Inf"} 1`,
		`qpc_messages_stored_total 1`,
		`qpc_mailbox_messages 1`,
		`qpc_accounts 2`,
		`qpc_connections_open 2`,
		`qpc_store_commit_duration_seconds_count`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", text)
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool not found: .ci/run must install prometheus")
		}
		t.Skip("promtool not found (apt-get install prometheus); skipping its check outside CI")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
