// Package metricshttp serves a metrics.Registry with net/http, for programs
// that link net/http anyway. The qpc node does not: it uses
// (*metrics.Registry).Serve, which needs only package net, because net/http
// adds about 1.2 MiB to the mips binary.
package metricshttp

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/quicprochat/qpc/metrics"
)

// buffers recycles scrape buffers between requests.
var buffers = sync.Pool{New: func() any { return new([]byte) }}

// Handler returns an http.Handler that serves r's metrics at /metrics in the
// text format (metrics.ContentType), for GET and HEAD. Other paths get 404
// and other methods 405, so the handler may be a metrics listener's whole
// handler or be mounted at /metrics on a ServeMux.
func Handler(r *metrics.Registry) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/metrics" {
			http.NotFound(w, req)
			return
		}
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		buf := buffers.Get().(*[]byte)
		defer buffers.Put(buf)
		*buf = r.AppendText((*buf)[:0])
		h := w.Header()
		h.Set("Content-Type", metrics.ContentType)
		h.Set("Content-Length", strconv.Itoa(len(*buf)))
		h.Set("Cache-Control", "no-store")
		if req.Method == http.MethodHead {
			return
		}
		// A scraper that went away is no concern of the node.
		_, _ = w.Write(*buf)
	})
}
