package metricshttp

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/metrics"
)

func TestHandler(t *testing.T) {
	r := metrics.NewRegistry()
	r.MustCounter("qpc_x_total", "X.").Add(3)
	want := string(r.AppendText(nil))
	srv := httptest.NewServer(Handler(r))
	t.Cleanup(srv.Close)

	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantBody   string // checked for 200 only
	}{
		{"GET /metrics serves the text format", http.MethodGet, "/metrics", http.StatusOK, want},
		{"HEAD /metrics sends the headers only", http.MethodHead, "/metrics", http.StatusOK, ""},
		{"POST is not allowed", http.MethodPost, "/metrics", http.StatusMethodNotAllowed, ""},
		{"PUT is not allowed", http.MethodPut, "/metrics", http.StatusMethodNotAllowed, ""},
		{"another path is not found", http.MethodGet, "/", http.StatusNotFound, ""},
		{"a path below /metrics is not found", http.MethodGet, "/metrics/x", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			switch tt.wantStatus {
			case http.StatusOK:
				if ct := resp.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(want)) {
					t.Errorf("Content-Length %q, want %d", cl, len(want))
				}
				if string(body) != tt.wantBody {
					t.Errorf("body:\n%s\nwant:\n%s", body, tt.wantBody)
				}
			case http.StatusMethodNotAllowed:
				if allow := resp.Header.Get("Allow"); allow != "GET, HEAD" {
					t.Errorf("Allow %q, want %q", allow, "GET, HEAD")
				}
				if strings.Contains(string(body), "qpc_x_total") {
					t.Errorf("metrics served to %s", tt.method)
				}
			}
		})
	}
}
