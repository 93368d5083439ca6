package luciapp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/node"
)

// The rpcd plugin as rpcd runs it: busybox ash, JSON on stdin and stdout,
// against a real node's admin socket.

// aclMethods reads the plugin's ACL file: the ubus methods of object qpc
// that LuCI may call, read and write together.
func aclMethods(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../luci-app-qpc/root/usr/share/rpcd/acl.d/luci-app-qpc.json")
	if err != nil {
		t.Fatal(err)
	}
	type grant struct {
		Ubus map[string][]string `json:"ubus"`
		UCI  []string            `json:"uci"`
	}
	var acl map[string]struct {
		Description string `json:"description"`
		Read        grant  `json:"read"`
		Write       grant  `json:"write"`
	}
	if err := json.Unmarshal(b, &acl); err != nil {
		t.Fatalf("the ACL file is not what rpcd reads: %v", err)
	}
	out := map[string]string{}
	for _, m := range acl["luci-app-qpc"].Read.Ubus["qpc"] {
		out[m] = "read"
	}
	for _, m := range acl["luci-app-qpc"].Write.Ubus["qpc"] {
		if out[m] != "" {
			t.Errorf("the ACL grants %s at read and at write", m)
		}
		out[m] = "write"
	}
	return out
}

func TestPluginListsEveryMethodTheACLGrantsAndNoOther(t *testing.T) {
	t.Parallel()
	f := nodes(t)
	out, err := f.plugin("list")
	if err != nil {
		t.Fatal(err)
	}
	var list map[string]map[string]any
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatal(err)
	}
	var listed, granted []string
	for m := range list {
		listed = append(listed, m)
	}
	acl := aclMethods(t)
	for m := range acl {
		granted = append(granted, m)
	}
	sort.Strings(listed)
	sort.Strings(granted)
	if strings.Join(listed, " ") != strings.Join(granted, " ") {
		t.Errorf("the plugin lists %v, the ACL grants %v", listed, granted)
	}
	// Actions that change the node need write access; reading, read.
	for _, m := range []string{"invite", "revoke_invite", "user_delete", "user_reset", "drain"} {
		if acl[m] != "write" {
			t.Errorf("method %s is granted at %q, want write", m, acl[m])
		}
	}
	for _, m := range []string{"status", "users", "links", "mesh", "invites", "log"} {
		if acl[m] != "read" {
			t.Errorf("method %s is granted at %q, want read", m, acl[m])
		}
	}
	// rpcd takes each argument's type from the value listed.
	if _, ok := list["invite"]["uses"].(float64); !ok {
		t.Errorf("invite's uses is listed as %v, want a number", list["invite"]["uses"])
	}
	if _, ok := list["user_delete"]["name"].(string); !ok {
		t.Errorf("user_delete's name is listed as %v, want a string", list["user_delete"]["name"])
	}
}

// call runs one plugin method and decodes its object.
func call(t *testing.T, f *fixture, method, args string, into any) {
	t.Helper()
	out, err := f.plugin("call", method, args)
	if err != nil {
		t.Fatal(err)
	}
	var e struct{ Error string }
	if json.Unmarshal(out, &e) == nil && e.Error != "" {
		t.Fatalf("call %s %s: the plugin said error %q", method, args, e.Error)
	}
	if err := json.Unmarshal(out, into); err != nil {
		t.Fatalf("call %s: %v: %s", method, err, out)
	}
}

func TestPluginStatusIsTheNodesOwn(t *testing.T) {
	t.Parallel()
	f := nodes(t)
	var st struct {
		Domain       string
		NodeID       string `json:"node_id"`
		UptimeS      *int64 `json:"uptime_s"`
		Registration string
		Accounts     int
		Links        []struct{ Domain, Address, State string }
		Queues       map[string]int64
		Metrics      map[string]int64
	}
	call(t, f, "status", "{}", &st)
	if st.Domain != nodeDomain {
		t.Errorf("status domain %q, want %q", st.Domain, nodeDomain)
	}
	if st.NodeID == "" || st.UptimeS == nil {
		t.Errorf("status lacks node_id or uptime_s: %+v", st)
	}
	if st.Accounts < 1 {
		t.Errorf("status counts %d accounts; alice registered", st.Accounts)
	}
	up := false
	for _, l := range st.Links {
		up = up || l.Domain == peerDomain && l.State == "up"
	}
	if !up {
		t.Errorf("status links %+v; want %s up", st.Links, peerDomain)
	}
	if _, ok := st.Queues["mailbox_messages"]; !ok {
		t.Errorf("status queues %v lack mailbox_messages", st.Queues)
	}
	if _, ok := st.Metrics["registrations_refused"]; !ok {
		t.Errorf("status metrics %v lack registrations_refused", st.Metrics)
	}
}

func TestPluginUsersNamesTheAccount(t *testing.T) {
	t.Parallel()
	f := nodes(t)
	var users struct {
		Users []struct {
			Name    string
			Devices int
		}
	}
	call(t, f, "users", "{}", &users)
	for _, u := range users.Users {
		if u.Name == account {
			return
		}
	}
	t.Errorf("users %+v lack %s", users.Users, account)
}

// inviteID is the id the node lists an invite under (the first 8 hex
// digits of the hash it keeps of the code), by the node's own rule.
func inviteID(code string) string {
	return node.HashInvite(code).InviteID()
}

func TestPluginMeshAndLinksAreTheNodesOwn(t *testing.T) {
	t.Parallel()
	f := nodes(t)
	var mesh map[string]json.RawMessage
	call(t, f, "mesh", "{}", &mesh)
	if _, ok := mesh["routes"]; !ok {
		t.Errorf("mesh answered %v; want routes", mesh)
	}
	var links struct {
		Links []struct{ Domain, State string }
	}
	call(t, f, "links", "{}", &links)
	if len(links.Links) != 1 || links.Links[0].Domain != peerDomain {
		t.Errorf("links answered %+v; want the one link to %s", links.Links, peerDomain)
	}
}

// An invite made through the plugin is listed under the id the contract
// gives it (inviteID), and gone
// once revoked; the audit log names both actions.
func TestPluginInviteListRevokeAndLog(t *testing.T) {
	t.Parallel()
	f := nodes(t)
	var inv struct {
		Code    string
		Uses    int
		Expires int64
		QRSVG   string `json:"qr_svg"`
	}
	call(t, f, "invite", `{"uses":3,"expires":"2d"}`, &inv)
	if inv.Code == "" || inv.Uses != 3 || inv.Expires == 0 || !strings.Contains(inv.QRSVG, "<svg") {
		t.Fatalf("invite answered %+v; want a code, 3 uses, an expiry and an SVG", inv)
	}
	id := inviteID(inv.Code)
	type list struct {
		Invites []struct {
			ID       string
			UsesLeft int `json:"uses_left"`
		}
	}
	var l list
	call(t, f, "invites", "{}", &l)
	found := false
	for _, i := range l.Invites {
		if i.ID == id {
			found = true
			if i.UsesLeft != 3 {
				t.Errorf("invite %s has %d uses left, want 3", id, i.UsesLeft)
			}
		}
	}
	if !found {
		t.Fatalf("invites %+v lack %s, the id of the code just made", l.Invites, id)
	}
	var rev struct{ Revoked string }
	call(t, f, "revoke_invite", `{"id":"`+id+`"}`, &rev)
	if rev.Revoked != id {
		t.Errorf("revoke_invite answered %+v, want %s", rev, id)
	}
	l = list{}
	call(t, f, "invites", "{}", &l)
	for _, i := range l.Invites {
		if i.ID == id {
			t.Errorf("invite %s is still listed after its revocation", id)
		}
	}
	var log struct {
		Entries []struct{ Action, Target string }
	}
	call(t, f, "log", `{"limit":1000}`, &log)
	var actions []string
	for _, e := range log.Entries {
		actions = append(actions, e.Action+" "+e.Target)
	}
	if !strings.Contains(strings.Join(actions, "\n"), id) {
		t.Errorf("the audit log %q does not name the invite %s", actions, id)
	}
}

// A bad argument is refused by the plugin itself, with its own message,
// before anything runs: nothing in a value reaches a shell or becomes an
// option of qpc.
func TestPluginRefusesBadArguments(t *testing.T) {
	t.Parallel()
	f := nodes(t)
	for _, tc := range []struct{ name, method, args, want string }{
		{"a command substitution in a name", "user_delete", `{"name":"$(touch /tmp/luciapp-pwned)"}`, "name must be a user name"},
		{"a name with a semicolon", "user_reset", `{"name":"alice;reboot"}`, "name must be a user name"},
		{"a name that reads as an option", "user_delete", `{"name":"-h"}`, "name must be a user name"},
		{"a name in upper case", "user_delete", `{"name":"Alice"}`, "name must be a user name"},
		{"a name too long", "user_delete", `{"name":"` + strings.Repeat("a", 65) + `"}`, "name must be a user name"},
		{"no name at all", "user_delete", `{}`, "name must be a user name"},
		{"uses that are not digits", "invite", `{"uses":"3 --expires 1s"}`, "uses must be a number"},
		{"an expiry without a unit", "invite", `{"expires":"7"}`, "expires must be"},
		{"an expiry with a shell word", "invite", `{"expires":"7d;id"}`, "expires must be"},
		{"an invite id that is not hex", "revoke_invite", `{"id":"../../x"}`, "id must be an invite id"},
		{"a negative limit", "log", `{"limit":"-1"}`, "limit must be a number"},
		{"an unknown method", "reboot", `{}`, "unknown method"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := f.plugin("call", tc.method, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			var e struct{ Error string }
			if err := json.Unmarshal(out, &e); err != nil || !strings.Contains(e.Error, tc.want) {
				t.Errorf("call %s %s printed %s; want an error saying %q", tc.method, tc.args, out, tc.want)
			}
		})
	}
	if _, err := os.Stat("/tmp/luciapp-pwned"); err == nil {
		t.Errorf("a user name ran a command")
	}
}

// An admin action that the node refuses comes back as an error object
// with the node's reason, not as nothing.
func TestPluginPassesTheNodesRefusalOn(t *testing.T) {
	t.Parallel()
	f := nodes(t)
	out, err := f.plugin("call", "user_delete", `{"name":"nobody-here"}`)
	if err != nil {
		t.Fatal(err)
	}
	var e struct{ Error string }
	if err := json.Unmarshal(out, &e); err != nil || e.Error == "" {
		t.Errorf("deleting an unknown user printed %s; want an error object", out)
	}
	t.Logf("the node's refusal: %s", e.Error)
}

// The plugin finds the socket where /etc/config/qpc puts it: admin_socket
// when set, else admin.sock in data_dir; a node that is not there is an
// error object, not silence.
func TestPluginFindsTheAdminSocketFromUCI(t *testing.T) {
	t.Parallel()
	f := nodes(t)
	sock := filepath.Join(f.node.dataDir, "admin.sock")
	for _, tc := range []struct {
		name    string
		env     []string
		working bool
	}{
		{"admin_socket set, data_dir elsewhere", []string{"QPC_TEST_ADMIN_SOCKET=" + sock, "QPC_TEST_DATA_DIR=" + t.TempDir()}, true},
		{"admin_socket set, data_dir unset", []string{"QPC_TEST_ADMIN_SOCKET=" + sock, "QPC_TEST_DATA_DIR=-"}, true},
		{"data_dir without a node", []string{"QPC_TEST_DATA_DIR=" + t.TempDir()}, false},
		{"admin_socket without a node", []string{"QPC_TEST_ADMIN_SOCKET=" + filepath.Join(t.TempDir(), "admin.sock")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := f.pluginEnv(tc.env, "call", "status", "{}")
			if err != nil {
				t.Fatal(err)
			}
			var st struct{ Domain, Error string }
			if err := json.Unmarshal(out, &st); err != nil {
				t.Fatal(err)
			}
			if tc.working && st.Domain != nodeDomain {
				t.Errorf("status printed %s; want the node's", out)
			}
			if !tc.working && (st.Error == "" || st.Domain != "") {
				t.Errorf("status printed %s; want an error object", out)
			}
			t.Logf("%s", out[:min(len(out), 160)])
		})
	}
}

// Whatever qpc writes when it fails, the plugin's answer is one JSON
// object that carries the message: a stand-in for qpc prints quotes,
// backslashes, control characters and line breaks on stderr.
func TestPluginErrorIsJSONWhateverQpcPrints(t *testing.T) {
	t.Parallel()
	f := nodes(t)
	dir := t.TempDir()
	for _, tc := range []struct{ name, script, want string }{
		{"a failure with a nasty message", `printf 'bad "quote" \\ back\001slash\nline2\ttab' >&2; exit 3`, `bad "quote" \ backslash line2 tab`},
		{"a failure without a word", `exit 4`, "qpc admin status failed (exit status 4)"},
		{"text that is not JSON", `echo hello`, "qpc admin status printed no JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.WriteFile(bin, []byte("#!/bin/sh\n"+tc.script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := f.pluginEnv([]string{"QPC_BIN=" + bin}, "call", "status", "{}")
			if err != nil {
				t.Fatal(err)
			}
			var e struct{ Error string }
			if err := json.Unmarshal(out, &e); err != nil || e.Error != tc.want {
				t.Errorf("the plugin printed %s; want the error %q", out, tc.want)
			}
		})
	}
}
