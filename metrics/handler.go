package metrics

import (
	"net/http"
	"strconv"
)

// Handler returns an http.Handler that serves the Registry's metrics at
// /metrics in the text format (see ContentType), for GET and HEAD. Other
// paths get 404 and other methods 405, so the handler may be a metrics
// listener's whole handler or be mounted at /metrics on a ServeMux.
func (r *Registry) Handler() http.Handler {
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
		tw := getWriter()
		defer putWriter(tw)
		r.appendText(tw)
		h := w.Header()
		h.Set("Content-Type", ContentType)
		h.Set("Content-Length", strconv.Itoa(len(tw.buf)))
		h.Set("Cache-Control", "no-store")
		if req.Method == http.MethodHead {
			return
		}
		// A scraper that went away is no concern of the node.
		_, _ = w.Write(tw.buf)
	})
}
