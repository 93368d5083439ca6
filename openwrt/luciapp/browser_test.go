package luciapp

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The views of luci-app-qpc in headless Chromium, against the shared
// nodes through the real plugin (server_test.go). Each test reads the DOM
// Chromium dumps once the page is rendered; with -update they also write
// the page's screenshot into docs/.

var update = flag.Bool("update", false, "write the screenshots of the pages into docs/")

// browser returns Chromium's path: Debian's chromium.
func browser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return needTool(t, "chromium", "chromium")
}

// chromium runs headless Chromium on rawURL with a fresh profile and
// returns its stdout. Virtual time stands still while requests are open,
// so the budget is waited out only after every ubus call answered.
func chromium(t *testing.T, rawURL string, action ...string) []byte {
	t.Helper()
	bin := browser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=" + t.TempDir(),
		"--virtual-time-budget=10000", "--window-size=1100,1300"}, action...)
	cmd := exec.CommandContext(ctx, bin, append(args, rawURL)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(action, " "), err, stderr.Bytes())
	}
	return stdout.Bytes()
}

// page renders one page of the menu and returns its DOM, failing unless
// the page rendered without error.
func page(t *testing.T, base, name string, steps ...string) string {
	t.Helper()
	u := base + "/cgi-bin/luci/admin/services/qpc/" + name
	if len(steps) > 0 {
		q := url.Values{"do": steps}
		u += "?" + q.Encode()
	}
	dom := string(chromium(t, u, "--dump-dom"))
	if !strings.Contains(dom, `data-rendered="done"`) {
		t.Fatalf("page %s did not finish rendering:\n%s", name, dom)
	}
	return dom
}

// screenshot writes the page's picture to docs/luci-NAME.png with -update.
func screenshot(t *testing.T, base, name string, steps ...string) {
	t.Helper()
	if !*update {
		return
	}
	u := base + "/cgi-bin/luci/admin/services/qpc/" + name
	if len(steps) > 0 {
		u += "?" + url.Values{"do": steps}.Encode()
	}
	out, err := filepath.Abs("../../docs/luci-" + name + ".png")
	if err != nil {
		t.Fatal(err)
	}
	chromium(t, u, "--screenshot="+out)
	b, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("no PNG at %s: %v", out, err)
	}
	t.Logf("wrote %s (%d bytes)", out, len(b))
}

// text is the DOM with its tags dropped, for assertions on what shows.
func text(dom string) string {
	return strings.Join(strings.Fields(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(dom, " ")), " ")
}

func TestStatusPageShowsTheNode(t *testing.T) {
	t.Parallel()
	f := nodes(t)
	s, srv := newLuciServer(t, f)
	dom := page(t, srv.URL, "status")
	txt := text(dom)
	for _, want := range []string{
		`id="qpc-domain">` + nodeDomain + `<`, // the node's domain, in its place
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the status page lacks %q:\n%s", want, dom)
		}
	}
	// The link to peer, with its state, in the links table.
	link := regexp.MustCompile(`<td class="td">` + regexp.QuoteMeta(peerDomain) + `</td>.*?<span class="qpc-link-state">up</span>`)
	if !link.MatchString(dom) {
		t.Errorf("the status page shows no link to %s in state up:\n%s", peerDomain, txt)
	}
	for _, want := range []string{"Accounts", "Mailboxes", "Store-and-forward", "Messages enqueued", "Nearby nodes"} {
		if !strings.Contains(txt, want) {
			t.Errorf("the status page lacks %q: %s", want, txt)
		}
	}
	if got := s.calls(); len(got) == 0 || got[0] != "qpc.status" {
		t.Errorf("ubus calls %v; want the page to call qpc.status", got)
	}
	screenshot(t, srv.URL, "status")
}

// The drain button on the status page drains the node (a node of its
// own: a drained node refuses the registrations other tests make) and
// offers to undo it.
func TestStatusPageDrainsTheNode(t *testing.T) {
	t.Parallel()
	f := nodes(t)
	n, err := startNode(f.qpc, "drain.example.mesh", filepath.Join(t.TempDir(), "node"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.stop)
	env := []string{"QPC_TEST_DATA_DIR=" + n.dataDir}
	s, srv := newLuciServer(t, f)
	s.env = env
	dom := page(t, srv.URL, "status", "click:qpc-drain")
	if !strings.Contains(dom, "drain.example.mesh") || !strings.Contains(text(dom), "The node refuses new clients") ||
		!strings.Contains(text(dom), "Draining yes") || !strings.Contains(dom, "Accept clients again") {
		t.Errorf("after Drain the page shows: %s", text(dom))
	}
	status := func() string {
		out, err := f.pluginEnv(env, "call", "status", "{}")
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if st := status(); !regexp.MustCompile(`"draining":\s*true`).MatchString(st) {
		t.Fatalf("the node is not draining after the click: %s", st)
	}
	dom = page(t, srv.URL, "status", "click:qpc-drain")
	if !strings.Contains(text(dom), "The node accepts clients again") {
		t.Errorf("the second click did not undo the drain: %s", text(dom))
	}
	if st := status(); !regexp.MustCompile(`"draining":\s*false`).MatchString(st) {
		t.Errorf("the node still drains: %s", st)
	}
}

func TestUsersPageListsTheAccount(t *testing.T) {
	t.Parallel()
	f := nodes(t)
	_, srv := newLuciServer(t, f)
	dom := page(t, srv.URL, "users")
	if !strings.Contains(dom, `data-name="`+account+`"`) || !strings.Contains(dom, "<strong>"+account+"</strong>") {
		t.Errorf("the users page does not list %s:\n%s", account, text(dom))
	}
	screenshot(t, srv.URL, "users")
}

// Delete on the users page asks first, then deletes the account on the
// node and lists the users without it.
func TestUsersPageDeletesAnAccountAfterConfirmation(t *testing.T) {
	t.Parallel()
	f := nodes(t)
	const victim = "carol"
	if err := register(f.qpc, t.TempDir(), f.node, victim); err != nil {
		t.Fatal(err)
	}
	_, srv := newLuciServer(t, f)
	// Without the confirmation nothing is deleted.
	asked := page(t, srv.URL, "users", "click:qpc-delete-"+victim)
	if !strings.Contains(asked, `id="qpc-confirm"`) || !strings.Contains(asked, `data-name="`+victim+`"`) {
		t.Fatalf("delete did not ask first, or deleted at once:\n%s", text(asked))
	}
	after := page(t, srv.URL, "users", "click:qpc-delete-"+victim, "click:qpc-confirm")
	if strings.Contains(after, `data-name="`+victim+`"`) || !strings.Contains(after, `data-name="`+account+`"`) {
		t.Errorf("after the delete the page lists:\n%s", text(after))
	}
	out, err := f.plugin("call", "users", "{}")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), `"`+victim+`"`) {
		t.Errorf("the node still has %s: %s", victim, out)
	}
}

// The invite page makes an invite when its button is pressed, shows the
// code and its QR code, and lists it under the id the node keeps.
func TestInvitePageMakesAnInviteAndShowsItsCodeAndQR(t *testing.T) {
	t.Parallel()
	f := nodes(t)
	s, srv := newLuciServer(t, f)
	dom := page(t, srv.URL, "invites", "set:qpc-uses=2", "set:qpc-expires=3d", "click:qpc-invite-make")
	m := regexp.MustCompile(`id="qpc-invite-code"[^>]*>([^<]+)<`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the invite page shows no code after Make invite; calls %v:\n%s", s.calls(), text(dom))
	}
	code := m[1]
	if !regexp.MustCompile(`id="qpc-invite-qr"[^>]*src="data:image/svg\+xml;base64,`).MatchString(dom) &&
		!regexp.MustCompile(`src="data:image/svg\+xml;base64,[^"]*"[^>]*id="qpc-invite-qr"`).MatchString(dom) {
		t.Errorf("the invite page shows no QR image:\n%s", dom)
	}
	id := inviteID(code)
	if !strings.Contains(dom, `data-id="`+id+`"`) {
		t.Errorf("the list of invites lacks %s, the id of the code shown (%s):\n%s", id, code, text(dom))
	}
	// The node has the invite, with the uses typed into the page.
	out, err := f.plugin("call", "invites", "{}")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`"id":\s*"` + id + `",\s*"uses_left":\s*2\b`).Match(out) {
		t.Errorf("the node's invites %s lack %s with 2 uses left", out, id)
	}
	screenshot(t, srv.URL, "invites", "click:qpc-invite-make")
}

// The settings page shows the options of /etc/config/qpc and refuses
// what the init script refuses, under the field.
func TestSettingsPageShowsTheConfigAndRefusesBadValues(t *testing.T) {
	t.Parallel()
	f := nodes(t)
	_, srv := newLuciServer(t, f)
	// Two page loads (each costs a Chromium start), a field set at most
	// once in each. What a script sets is the field's value, not its
	// value attribute, so the dumped DOM still shows what the page read
	// from /etc/config/qpc; a row the script leaves alone shows whether
	// the shipped value passes its check.
	shown := []string{
		`id="widget.cbid.qpc.node.domain" value="` + nodeDomain + `"`,
		`id="widget.cbid.qpc.node.listen" value="[::]:7000"`,
		`value="br-lan"`,
		`<option value="invite" selected="">invite</option>`, // OpenWrt's default policy
	}
	for i, group := range [][]struct{ field, value, want string }{{
		{"data_dir", "/etc/config", "Must be /etc/qpc or a directory below"},
		{"store_dir", "/mnt/usb/../../etc", "Must be a plain path"},
		{"domain", "Node1.Mesh", "Must be a domain in lower case"},
		{"message_ttl", "7 days", "Must be a duration"},
		{"max_accounts", "0", "Must be a whole number of at least 1"},
	}, {
		{"store_dir", "mnt/usb", "Must be an absolute path"},
		{"domain", "10.0.0.1", "Must be a domain in lower case"},
		{"listen", "[::]:70000", "Must be HOST:PORT"},
		{"data_dir", "/tmp/qpc", ""}, // allowed: no refusal
	}} {
		var steps []string
		set := map[string]bool{}
		for _, tc := range group {
			steps = append(steps, fmt.Sprintf("set:widget.cbid.qpc.node.%s=%s", tc.field, tc.value))
			set[tc.field] = true
		}
		dom := page(t, srv.URL, "settings", steps...)
		for _, want := range shown {
			if !strings.Contains(dom, want) {
				t.Errorf("the settings page lacks %q:\n%s", want, dom)
			}
		}
		rows := regexp.MustCompile(`(?s)id="cbi-qpc-node-([a-z_]+)".*?</div></div>`).FindAllStringSubmatch(dom, -1)
		if len(rows) < 10 {
			t.Fatalf("load %d: %d option rows:\n%s", i, len(rows), dom)
		}
		for _, r := range rows {
			if !set[r[1]] && strings.Contains(r[0], "cbi-input-invalid") {
				t.Errorf("the shipped %s shows as invalid: %q", r[1], text(r[0]))
			}
		}
		for _, tc := range group {
			row := regexp.MustCompile(`(?s)id="cbi-qpc-node-` + tc.field + `".*?</div></div>`).FindString(dom)
			if row == "" {
				t.Fatalf("no row for %s:\n%s", tc.field, dom)
			}
			invalid := strings.Contains(row, "cbi-input-invalid")
			if tc.want == "" && invalid {
				t.Errorf("%s=%q is refused: %q", tc.field, tc.value, text(row))
			}
			if tc.want != "" && (!invalid || !strings.Contains(row, tc.want)) {
				t.Errorf("%s=%q: the row shows %q; want it refused with %q", tc.field, tc.value, text(row), tc.want)
			}
		}
	}
	screenshot(t, srv.URL, "settings")
}
