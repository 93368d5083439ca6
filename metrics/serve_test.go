package metrics

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// startServe runs Serve on a loopback port until the test ends, and checks
// in cleanup that it returned nil and left no goroutine behind.
func startServe(t *testing.T, r *Registry) (addr string, stop func()) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, ln) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve returned %v after cancel, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return within 10 s of cancel")
		}
		goleak.VerifyNone(t, ignore)
	}
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

// rawRequest sends req on a new connection and returns everything the
// server sends back before it closes the connection.
func rawRequest(t *testing.T, addr, req string) string {
	t.Helper()
	resp, err := tryRequest(addr, req)
	if err != nil {
		t.Fatalf("request %q: %v", req, err)
	}
	return resp
}

func tryRequest(addr, req string) (string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		return "", err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	resp, err := io.ReadAll(c)
	return string(resp), err
}

func TestServeAnswersScrapers(t *testing.T) {
	r := NewRegistry()
	r.MustCounter("qpc_x_total", "X.").Add(3)
	r.MustRegisterRuntime()
	addr, _ := startServe(t, r)

	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
	}{
		{"GET /metrics serves the text format", http.MethodGet, "/metrics", http.StatusOK},
		{"GET /metrics with a query serves it too", http.MethodGet, "/metrics?debug=1", http.StatusOK},
		{"HEAD /metrics sends the headers only", http.MethodHead, "/metrics", http.StatusOK},
		{"POST is not allowed", http.MethodPost, "/metrics", http.StatusMethodNotAllowed},
		{"DELETE is not allowed", http.MethodDelete, "/metrics", http.StatusMethodNotAllowed},
		{"the root is not found", http.MethodGet, "/", http.StatusNotFound},
		{"a path below /metrics is not found", http.MethodGet, "/metrics/x", http.StatusNotFound},
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, "http://"+addr+tt.path, strings.NewReader("ignored body"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, tt.wantStatus, body)
			}
			switch tt.wantStatus {
			case http.StatusOK:
				if ct := resp.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				if tt.method == http.MethodHead {
					if len(body) != 0 {
						t.Errorf("HEAD answered with a body of %d bytes", len(body))
					}
					if resp.ContentLength <= 0 {
						t.Errorf("HEAD Content-Length %d, want the length of a scrape", resp.ContentLength)
					}
					return
				}
				if resp.ContentLength != int64(len(body)) {
					t.Errorf("Content-Length %d, body %d bytes", resp.ContentLength, len(body))
				}
				s := samples(t, string(body))
				if s["qpc_x_total"] != 3 || s["go_goroutines"] <= 0 {
					t.Errorf("body lacks the registry's metrics:\n%s", body)
				}
			case http.StatusMethodNotAllowed:
				if allow := resp.Header.Get("Allow"); allow != "GET, HEAD" {
					t.Errorf("Allow %q, want %q", allow, "GET, HEAD")
				}
			}
			if tt.wantStatus != http.StatusOK && strings.Contains(string(body), "qpc_x_total") {
				t.Errorf("metrics served with status %d", tt.wantStatus)
			}
		})
	}
}

func TestServeRawRequests(t *testing.T) {
	r := NewRegistry()
	r.MustGauge("qpc_g", "G.").Set(7)
	addr, _ := startServe(t, r)
	body := "# HELP qpc_g G.\n# TYPE qpc_g gauge\nqpc_g 7\n"
	ok := "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n" + body
	bad := "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 12\r\nConnection: close\r\n\r\nbad request\n"

	tests := []struct {
		name string
		req  string
		want string
	}{
		{"an HTTP/1.0 request with no headers", "GET /metrics HTTP/1.0\r\n\r\n", ok},
		{"an HTTP/1.1 request with headers", "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", ok},
		{"lines ending in LF alone", "GET /metrics HTTP/1.1\nHost: x\n\n", ok},
		{"a garbage line", "GARBAGE\r\n\r\n", bad},
		{"a target that is not a path", "GET metrics HTTP/1.1\r\n\r\n", bad},
		{"an absolute target", "GET http://x/metrics HTTP/1.1\r\n\r\n", bad},
		{"HTTP/2 is not HTTP/1.x", "GET /metrics HTTP/2.0\r\n\r\n", bad},
		{"an empty method", " /metrics HTTP/1.1\r\n\r\n", bad},
		{"a stray carriage return in a header", "GET /metrics HTTP/1.1\r\nA: b\rc\r\n\r\n", bad},
		{"headers longer than 8 KiB", "GET /metrics HTTP/1.1\r\nX: " + strings.Repeat("a", maxRequestBytes) + "\r\n\r\n", bad},
		{"a request cut off before the blank line", "GET /metrics HTTP/1.1\r\nHost: x\r\n", bad},
		{"nothing at all", "", bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rawRequest(t, addr, tt.req); got != tt.want {
				t.Errorf("response:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

func TestServeClosesStalledConnections(t *testing.T) {
	old := serveTimeout
	serveTimeout = 100 * time.Millisecond
	t.Cleanup(func() { serveTimeout = old })
	addr, _ := startServe(t, NewRegistry())

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /metr"); err != nil {
		t.Fatal(err)
	}
	// The bound is the test's, far above serveTimeout: only a server that
	// never times out reaches it.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("the server kept a stalled connection open: %v", err)
	}
	if !strings.HasPrefix(string(resp), "HTTP/1.1 400 ") && len(resp) != 0 {
		t.Errorf("stalled connection answered %q", resp)
	}
}

func TestServeLimitsConnections(t *testing.T) {
	addr, _ := startServe(t, NewRegistry())
	var holders []net.Conn
	for range maxServeConns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		holders = append(holders, c)
	}
	// Each holder occupies a slot until it finishes its request; the
	// next connection is refused by being closed unanswered (a reset, as
	// its request is left unread, or an end of file).
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(c, "GET /metrics HTTP/1.1\r\n\r\n")
	got, err := io.ReadAll(c)
	var ne net.Error
	if len(got) != 0 || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection %d while %d were open: read %q, %v; want it closed unanswered", maxServeConns+1, maxServeConns, got, err)
	}
	holders[0].Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Until the server has seen the close, it may still refuse.
		if got, _ := tryRequest(addr, "GET /metrics HTTP/1.1\r\n\r\n"); strings.HasPrefix(got, "HTTP/1.1 200 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no connection was answered after a slot was freed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServeShutsDownWithConnectionsOpen(t *testing.T) {
	addr, stop := startServe(t, NewRegistry())
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /metrics HTTP/1.1\r\n"); err != nil {
		t.Fatal(err)
	}
	// The request is in progress (no blank line yet); stop must not wait
	// for serveTimeout. stop fails the test if Serve takes 10 s.
	stop()
}

func TestServeReturnsListenerErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if err := NewRegistry().Serve(context.Background(), ln); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve on a closed listener = %v, want net.ErrClosed", err)
	}
}

// FuzzReadRequest checks that no input makes the request parser panic, and
// that what it accepts is a method and a path without a query.
func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{
		"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD /metrics?x HTTP/1.0\n\n", "GET / HTTP/1.1\r\n",
		"\r\n\r\n", "GET /metrics HTTP/1.1\r\nA: \x00\r\n\r\n", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		method, path, err := readRequest(bufio.NewReader(io.LimitReader(strings.NewReader(string(in)), maxRequestBytes)))
		if err != nil {
			return
		}
		if method == "" || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "? \r\n") {
			t.Fatalf("accepted %q as method %q path %q", in, method, path)
		}
	})
}

// TestNoNetHTTP proves that the package stays free of net/http, which would
// add about 1.2 MiB to the mips node binary (see Serve).
func TestNoNetHTTP(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("go tool not found: %v", err)
		}
		t.Skipf("go tool not found: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed only %q", deps)
	}
	for _, d := range deps {
		if d == "net/http" || strings.HasPrefix(d, "net/http/") {
			t.Errorf("package metrics depends on %s", d)
		}
	}
}
