package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrNodeStart is returned when a spawned node does not come up.
var ErrNodeStart = errors.New("bench: spawned node did not start")

// SpawnedNode is a `qpc node` process that the bench started on
// 127.0.0.1, with its data in a directory of its own, so that what it
// spends can be read from /proc and its metrics.
type SpawnedNode struct {
	// Addr is the node's QUIC address, Fingerprint its certificate's,
	// Domain its domain and Metrics its Prometheus URL.
	Addr, Fingerprint, Domain, Metrics string
	// PID is the node process's.
	PID int
	// Idle is the node's /proc sample once it serves, before anyone
	// connected: what a router's node costs when nobody uses it.
	Idle ProcSample

	cmd  *exec.Cmd
	logs *tailBuffer
	done chan struct{}
}

// SpawnNode starts `qpc node` from the binary qpc, with its data under dir,
// registration bounds raised for throwaway bench accounts, and extra
// flags appended, and waits until it serves. The node runs until Stop.
func SpawnNode(ctx context.Context, qpc, dir string, extra ...string) (*SpawnedNode, error) {
	const domain = "localhost"
	args := append([]string{"node", "--listen", "127.0.0.1:0", "--domain", domain, "--data-dir", dir,
		"--metrics-listen", "127.0.0.1:0", "--log-format", "json",
		"--register-rate", "1000000", "--register-rate-node", "1000000"}, extra...)
	cmd := exec.Command(qpc, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNodeStart, err)
	}
	n := &SpawnedNode{Domain: domain, PID: cmd.Process.Pid, cmd: cmd, logs: &tailBuffer{}, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		// The node logs one JSON object a line; the two that say where
		// it serves make it ready. Reading on keeps its stderr from
		// filling up and blocking it.
		var once sync.Once
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			n.logs.add(sc.Text())
			var rec struct{ Msg, Addr, Fingerprint string }
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				continue
			}
			n.logs.mu.Lock()
			switch rec.Msg {
			case "node serving":
				n.Addr, n.Fingerprint = rec.Addr, rec.Fingerprint
			case "serving metrics":
				n.Metrics = rec.Addr
			}
			if n.Addr != "" && n.Metrics != "" {
				once.Do(func() { close(ready) })
			}
			n.logs.mu.Unlock()
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() { cmd.Wait(); close(n.done) }()
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	select {
	case <-ready:
		if n.Idle, err = ReadProc(n.PID); err != nil {
			n.Stop()
			return nil, err
		}
		return n, nil
	case <-n.done:
		return nil, fmt.Errorf("%w: it exited: %s", ErrNodeStart, n.logs.String())
	case <-wait.Done():
		n.Stop()
		return nil, fmt.Errorf("%w: %v; its log: %s", ErrNodeStart, wait.Err(), n.logs.String())
	}
}

// Stop ends the node with SIGTERM, and SIGKILL if it has not stopped
// within ten seconds, and waits for it.
func (n *SpawnedNode) Stop() {
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		n.cmd.Process.Kill()
		<-n.done
	}
}

// tailBuffer keeps the last lines of a log, for an error message.
type tailBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (t *tailBuffer) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > 20 {
		t.lines = t.lines[len(t.lines)-20:]
	}
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// ErrMetrics is returned when a node's metrics cannot be read.
var ErrMetrics = errors.New("bench: reading the node's metrics")

// CommitCounts are the node's group-commit counters since the node
// started: how many commits, how many messages they wrote, and the seconds
// they took (from the start of the transaction to the end of its sync).
type CommitCounts struct{ Commits, Messages, Seconds float64 }

// ScrapeCommits reads the node's commit counters from its Prometheus
// endpoint metricsURL (http://host:port/metrics).
func ScrapeCommits(ctx context.Context, metricsURL string) (CommitCounts, error) {
	body, err := scrape(ctx, metricsURL)
	if err != nil {
		return CommitCounts{}, err
	}
	return parseCommits(body)
}

// scrape GETs metricsURL with a bare HTTP/1.1 request over TCP. The
// node's metrics server (package metrics) is a minimal responder and
// so is this: it keeps net/http, which only this asked for besides
// client/files' content sniffing, out of the qpc binary, whose every
// linked package costs a `qpc node` resident pages (docs/bench.md,
// round 6). Only http:// and a 200 answer with the body up to the close.
func scrape(ctx context.Context, metricsURL string) (string, error) {
	u, err := url.Parse(metricsURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return "", fmt.Errorf("%w: %q is not an http:// URL", ErrMetrics, metricsURL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrMetrics, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	} else {
		conn.SetDeadline(time.Now().Add(10 * time.Second))
	}
	path := u.RequestURI()
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, u.Host); err != nil {
		return "", fmt.Errorf("%w: %v", ErrMetrics, err)
	}
	resp, err := io.ReadAll(io.LimitReader(conn, 4<<20))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrMetrics, err)
	}
	head, body, ok := strings.Cut(string(resp), "\r\n\r\n")
	if !ok {
		return "", fmt.Errorf("%w: an answer without a header end", ErrMetrics)
	}
	status, headers, _ := strings.Cut(head, "\r\n")
	if proto, code, _ := strings.Cut(status, " "); !strings.HasPrefix(proto, "HTTP/1.") || !strings.HasPrefix(code, "200") {
		return "", fmt.Errorf("%w: %q", ErrMetrics, status)
	}
	if strings.Contains(strings.ToLower(headers), "transfer-encoding: chunked") {
		return "", fmt.Errorf("%w: a chunked answer", ErrMetrics)
	}
	return body, nil
}

// parseCommits finds the commit counters in a Prometheus text exposition.
func parseCommits(text string) (CommitCounts, error) {
	var c CommitCounts
	found := 0
	for line := range strings.Lines(text) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		var dst *float64
		switch name {
		case "qpc_store_commit_duration_seconds_count":
			dst = &c.Commits
		case "qpc_store_commit_duration_seconds_sum":
			dst = &c.Seconds
		case "qpc_store_committed_messages_total":
			dst = &c.Messages
		default:
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return c, fmt.Errorf("%w: %s: %v", ErrMetrics, name, err)
		}
		*dst = v
		found++
	}
	if found != 3 {
		return c, fmt.Errorf("%w: no group-commit counters (is it a qpc node?)", ErrMetrics)
	}
	return c, nil
}
