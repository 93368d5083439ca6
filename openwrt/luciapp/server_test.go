package luciapp

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"strings"
	"sync"
	"testing"
)

// The LuCI stand-in's server: the view files of luci-app-qpc as uhttpd
// serves them, a page per menu entry of the package's menu.d file, and
// ubus JSON-RPC at /ubus/ as rpcd's uhttpd-mod-ubus answers it, which runs
// the real plugin for object qpc and reads uci get from the shipped
// /etc/config/qpc.

// ubus status codes, as libubus numbers them.
const (
	ubusOK               = 0
	ubusInvalidArgument  = 2
	ubusMethodNotFound   = 3
	ubusPermissionDenied = 6
)

const viewRoot = "../luci-app-qpc/htdocs/luci-static/resources"

// luciServer serves one test's pages.
type luciServer struct {
	f      *fixture
	acl    map[string]string         // qpc method -> read or write
	sig    map[string]map[string]any // the plugin's list
	uci    map[string]uciSection     // config qpc
	views  map[string]string         // menu page -> view path
	mu     sync.Mutex
	called []string
	env    []string // for the plugin: which node (QPC_TEST_DATA_DIR)
}

func shippedUCI(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../uci/qpc")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// newLuciServer starts a server for the shared nodes; /etc/config/qpc is
// the shipped one with the node's domain set, as the package's
// uci-defaults script sets it on a router.
func newLuciServer(t *testing.T, f *fixture) (*luciServer, *httptest.Server) {
	t.Helper()
	s := &luciServer{f: f, acl: aclMethods(t), views: map[string]string{}}
	out, err := f.plugin("list")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &s.sig); err != nil {
		t.Fatal(err)
	}
	if s.uci, err = parseUCI(shippedUCI(t)); err != nil {
		t.Fatal(err)
	}
	s.uci["node"]["domain"] = nodeDomain
	b, err := os.ReadFile("../luci-app-qpc/root/usr/share/luci/menu.d/luci-app-qpc.json")
	if err != nil {
		t.Fatal(err)
	}
	var menu map[string]struct {
		Action struct{ Type, Path string }
	}
	if err := json.Unmarshal(b, &menu); err != nil {
		t.Fatalf("menu.d: %v", err)
	}
	for p, e := range menu {
		if e.Action.Type == "view" {
			s.views[path.Base(p)] = e.Action.Path
		}
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *luciServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == "/ubus/" && r.Method == http.MethodPost:
		s.serveUbus(w, r)
	case strings.HasPrefix(p, "/luci-static/resources/view/qpc/") && strings.HasSuffix(p, ".js"):
		http.ServeFile(w, r, viewRoot+"/view/qpc/"+path.Base(p))
	case strings.HasPrefix(p, "/shim/"):
		http.ServeFile(w, r, "shim/"+path.Base(p))
	case strings.HasPrefix(p, "/cgi-bin/luci/admin/services/qpc/"):
		view, ok := s.views[path.Base(p)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		s.servePage(w, path.Base(p), view)
	default:
		http.NotFound(w, r)
	}
}

// servePage writes the page of one menu entry: LuCI's frame with the
// tabs of the package's menu, and the view.
func (s *luciServer) servePage(w http.ResponseWriter, page, view string) {
	var tabs strings.Builder
	for _, name := range []string{"status", "settings", "invites", "users"} {
		cls := ""
		if name == page {
			cls = ` class="active"`
		}
		fmt.Fprintf(&tabs, `<a href="/cgi-bin/luci/admin/services/qpc/%s"%s>%s</a>`, name, cls, strings.ToUpper(name[:1])+name[1:])
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>qpc - LuCI</title><link rel="stylesheet" href="/shim/luci.css"></head>
<body data-view="%s"><header>OpenWrt <small>Services &raquo; qpc</small></header>
<div id="tabmenu">%s</div>
<div id="maincontent"><div id="view"><p>Loading view…</p></div></div>
<script src="/shim/luci.js"></script><script src="/shim/harness.js"></script>
</body></html>`, html.EscapeString(view), tabs.String())
}

// rpcRequest is a JSON-RPC call of LuCI's rpc.js.
type rpcRequest struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

func (s *luciServer) serveUbus(w http.ResponseWriter, r *http.Request) {
	var req rpcRequest
	reply := func(result []any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": result})
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Method != "call" || len(req.Params) != 4 {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID,
			"error": map[string]any{"code": -32600, "message": "Invalid request"}})
		return
	}
	var object, method string
	var args map[string]any
	if json.Unmarshal(req.Params[1], &object) != nil || json.Unmarshal(req.Params[2], &method) != nil ||
		json.Unmarshal(req.Params[3], &args) != nil {
		reply([]any{ubusInvalidArgument})
		return
	}
	s.mu.Lock()
	s.called = append(s.called, object+"."+method)
	s.mu.Unlock()
	switch object {
	case "uci":
		if method != "get" || args["config"] != "qpc" {
			reply([]any{ubusPermissionDenied})
			return
		}
		reply([]any{ubusOK, map[string]any{"values": s.uci}})
	case "qpc":
		if _, ok := s.acl[method]; !ok {
			reply([]any{ubusPermissionDenied})
			return
		}
		if _, ok := s.sig[method]; !ok {
			reply([]any{ubusMethodNotFound})
			return
		}
		// rpcd hands the arguments to the plugin as they came
		// (blobmsg_format_json of the message), unchecked against
		// the types the plugin lists: the plugin checks them.
		b, _ := json.Marshal(args)
		out, err := s.f.pluginEnv(s.env, "call", method, string(b))
		if err != nil {
			reply([]any{ubusInvalidArgument})
			return
		}
		var obj map[string]any
		json.Unmarshal(out, &obj)
		reply([]any{ubusOK, obj})
	default:
		reply([]any{ubusMethodNotFound})
	}
}

// calls returns the ubus calls made so far.
func (s *luciServer) calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.called...)
}

func TestUbusEndpointRefusesWhatTheACLDoesNotGrant(t *testing.T) {
	t.Parallel()
	f := nodes(t)
	_, srv := newLuciServer(t, f)
	for _, tc := range []struct {
		name, body string
		want       float64
	}{
		{"a method the ACL lacks", `{"jsonrpc":"2.0","id":1,"method":"call","params":["x","qpc","reboot",{}]}`, ubusPermissionDenied},
		{"another config through uci", `{"jsonrpc":"2.0","id":2,"method":"call","params":["x","uci","get",{"config":"network"}]}`, ubusPermissionDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+"/ubus/", "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var reply struct{ Result []any }
			if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
				t.Fatal(err)
			}
			if len(reply.Result) == 0 || reply.Result[0] != tc.want {
				t.Errorf("result %v, want status %v", reply.Result, tc.want)
			}
		})
	}
}
