package openwrt

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/quicprochat/qpc/config"
)

// started is what the init script told procd (through the stand-ins of
// standin_test.go) on `/etc/init.d/qpc start`.
type started struct {
	instance      bool
	command       []string
	params        map[string][]string // every procd_set_param/procd_append_param but command
	firewall      []map[string]string // rules in the instance's procd data
	triggers      [][]string          // {"config", "qpc"}, {"interface", "lan"}
	configChanged []string
	fsCalls       [][]string // mkdir, chmod and chown, with their arguments
	logs          []string
	jail          []string // procd_add_jail's arguments: the name, then flags; nil: no jail
	jailRO        []string // procd_add_jail_mount, in order
	jailRW        []string // procd_add_jail_mount_rw, in order
}

func interpret(t *testing.T, calls []call) started {
	t.Helper()
	s := started{params: map[string][]string{}}
	inFirewall := false
	var rule map[string]string
	for _, c := range calls {
		switch c.name {
		case "procd_open_instance":
			s.instance = true
		case "procd_set_param", "procd_append_param":
			if len(c.args) == 0 {
				t.Fatalf("%s without a parameter name", c.name)
			}
			name, vals := c.args[0], c.args[1:]
			if name == "command" {
				if c.name == "procd_set_param" {
					s.command = nil
				}
				s.command = append(s.command, vals...)
				continue
			}
			if c.name == "procd_set_param" || s.params[name] == nil {
				s.params[name] = []string{}
			}
			s.params[name] = append(s.params[name], vals...)
		case "json_add_array":
			inFirewall = len(c.args) == 1 && c.args[0] == "firewall"
		case "json_close_array":
			inFirewall = false
		case "json_add_object":
			if !inFirewall {
				t.Fatalf("json object outside the firewall array")
			}
			rule = map[string]string{}
		case "json_add_string":
			if rule == nil || len(c.args) != 2 {
				t.Fatalf("json_add_string %q outside a firewall rule", c.args)
			}
			rule[c.args[0]] = c.args[1]
		case "json_close_object":
			s.firewall = append(s.firewall, rule)
			rule = nil
		case "procd_add_reload_trigger":
			for _, a := range c.args {
				s.triggers = append(s.triggers, []string{"config", a})
			}
		case "procd_add_reload_interface_trigger":
			s.triggers = append(s.triggers, append([]string{"interface"}, c.args...))
		case "procd_set_config_changed":
			s.configChanged = append(s.configChanged, c.args...)
		case "mkdir", "chmod", "chown":
			s.fsCalls = append(s.fsCalls, append([]string{c.name}, c.args...))
		case "logger":
			s.logs = append(s.logs, strings.Join(c.args, " "))
		case "procd_add_jail":
			if s.jail != nil || !s.instance {
				t.Fatalf("procd_add_jail %q: a second jail, or one outside the instance", c.args)
			}
			s.jail = append([]string{}, c.args...)
		case "procd_add_jail_mount", "procd_add_jail_mount_rw":
			// procd.sh adds mounts to the jail opened before.
			if s.jail == nil {
				t.Fatalf("%s %q before procd_add_jail", c.name, c.args)
			}
			if c.name == "procd_add_jail_mount" {
				s.jailRO = append(s.jailRO, c.args...)
			} else {
				s.jailRW = append(s.jailRW, c.args...)
			}
		}
	}
	return s
}

// runInit runs init.d/qpc start under sh with the stand-ins, the UCI files
// given (name → content) and extra environment; stderr must stay empty.
func runInit(t *testing.T, sh shell, uci map[string]string, env ...string) started {
	t.Helper()
	s, stderr := runInitStderr(t, sh, uci, env...)
	if stderr != "" {
		t.Fatalf("%s rc.common init.d/qpc start: stderr: %s", sh.name, stderr)
	}
	return s
}

// runInitStderr is runInit for a start that may refuse: it returns what
// the script printed on stderr.
func runInitStderr(t *testing.T, sh shell, uci map[string]string, env ...string) (started, string) {
	t.Helper()
	dir := t.TempDir()
	rc := writeFile(t, dir, "rc.common", rcCommonStandIn)
	uciDir := filepath.Join(dir, "config")
	if err := os.Mkdir(uciDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range uci {
		writeFile(t, uciDir, name, content)
	}
	// A copy, read here so that go test's cache knows the test depends on it.
	initScript, err := os.ReadFile("../init.d/qpc")
	if err != nil {
		t.Fatal(err)
	}
	// The script checks the node's flags with the real binary before it
	// starts anything: this copy runs the router build, and the command
	// read back names /usr/bin/qpc again.
	bin := routerQPC(t)
	const prog = "PROG=/usr/bin/qpc\n"
	if !bytes.Contains(initScript, []byte(prog)) {
		t.Fatalf("init.d/qpc does not set %q", prog)
	}
	script := writeFile(t, dir, "qpc.init", strings.Replace(string(initScript), prog, "PROG="+bin+"\n", 1))
	record := filepath.Join(dir, "record")
	cmd := exec.Command(sh.argv[0], append(sh.argv[1:], rc, script, "start")...)
	cmd.Env = append(os.Environ(), "QPC_TEST_RECORD="+record, "QPC_TEST_UCI="+uciDir)
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if out, err := cmd.Output(); err != nil || len(out) > 0 {
		t.Fatalf("%s rc.common init.d/qpc start: %v\nstdout: %s\nstderr: %s", sh.name, err, out, stderr.Bytes())
	}
	st := interpret(t, readRecord(t, record))
	if len(st.command) > 0 && st.command[0] == bin {
		st.command[0] = "/usr/bin/qpc"
	}
	return st, stderr.String()
}

var routerBuild struct {
	once sync.Once
	dir  string
	err  error
	out  []byte
}

// routerQPC builds the router build of qpc once per test binary (TestMain
// removes it).
func routerQPC(t *testing.T) string {
	t.Helper()
	routerBuild.once.Do(func() {
		routerBuild.dir, routerBuild.err = os.MkdirTemp("", "qpc-openwrt-test-")
		if routerBuild.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-tags", "router", "-o", filepath.Join(routerBuild.dir, "qpc"), "../cmd/qpc")
		routerBuild.out, routerBuild.err = cmd.CombinedOutput()
	})
	if routerBuild.err != nil {
		t.Fatalf("go build -tags router ../cmd/qpc: %v\n%s", routerBuild.err, routerBuild.out)
	}
	return filepath.Join(routerBuild.dir, "qpc")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if routerBuild.dir != "" {
		os.RemoveAll(routerBuild.dir)
	}
	os.Exit(code)
}

func shippedConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../uci/qpc")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// networkConfig is /etc/config/network as OpenWrt 21.02 and later write it:
// the bridge is a device section, the interface names it.
const networkConfig = `
config device
	option name 'br-lan'
	option type 'bridge'
	list ports 'lan1'

config interface 'lan'
	option device 'br-lan'
	option proto 'static'

config interface 'wan'
	option device 'eth1'
	option proto 'dhcp'

config interface 'mesh'
	option device 'bat0'
	option proto 'batadv'
`

// everyOption sets every option of the section, values with a space and
// lists of two included.
const everyOption = `
config node 'node'
	option enabled '1'
	option listen '0.0.0.0:7443'
	option domain 'node1.example.mesh'
	option data_dir '/etc/qpc/keys/'
	option store_dir '/mnt/usb stick/qpc'
	option tls_cert '/etc/qpc/keys/my cert.pem'
	option tls_key '/etc/qpc/keys/my key.pem'
	option production '1'
	option metrics_listen '127.0.0.1:9470'
	option metrics_public '1'
	option message_ttl '168h'
	option max_message_ttl '336h'
	option max_payload '32768'
	option mailbox_max_messages '5000'
	option mailbox_max_bytes '33554432'
	option enqueue_rate '500'
	option max_connections '256'
	option max_connections_per_source '32'
	option max_unauthenticated '64'
	option login_timeout '5s'
	option rpc_timeout '20s'
	option idle_timeout '90s'
	option session_ttl '240h'
	option max_accounts '200'
	option store_max_bytes '33554432'
	option register_rate '10'
	option register_rate_node '30'
	option login_rate '120'
	option store_wal '0'
	option name_hold '72h'
	option registration 'closed'
	option admin_socket '/etc/qpc/admin.sock'
	option mdns 'yes'
	list mdns_iface 'br-lan'
	list mdns_iface 'bat0'
	option federation_cert '/etc/qpc/keys/federation.crt'
	option federation_key '/etc/qpc/keys/federation.key'
	option federation_ca '/etc/qpc/keys/community-ca.crt'
	list peer 'node2.example.mesh:7000'
	list peer '[fd00::2]:7000'
	list federation_deny '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'
	option federation_rate '300'
	option kt_gossip_interval '30s'
	option mesh_ttl '72h'
	option mesh_max_hops '12'
	option mesh_store_size '32'
	option mesh_domain_quota '16'
	option mesh_origin_quota '4'
	option mesh_neighbour_quota '6'
	option mesh_seen_max '20000'
	option channel_retain '50'
	option channel_retention '72h'
	option channel_max '128'
	option channel_store_size '2'
	option channel_seen_max '10000'
	option channel_origin_rate '120'
	option channel_user_rate '10'
	option channel_neighbour_rate '240'
	option channel_relay_retention '24h'
	option file_max_size '4'
	option file_user_quota '16'
	option file_store_size '32'
	option file_ttl '48h'
	option file_max_ttl '96h'
	option log_level 'debug'
	option log_format 'json'
	list firewall_zone 'lan'
	list firewall_zone 'mesh'
`

func TestInitScriptTurnsUCIIntoFlags(t *testing.T) {
	for _, sh := range shells(t) {
		t.Run(sh.name, func(t *testing.T) {
			t.Run("the shipped config starts a node with mDNS on br-lan and connections bounded for 128 MB", func(t *testing.T) {
				s := runInit(t, sh, map[string]string{"qpc": shippedConfig(t), "network": networkConfig})
				want := []string{"/usr/bin/qpc", "node",
					"--listen=[::]:7000",
					"--data-dir=/etc/qpc",
					"--max-connections=64",
					"--max-connections-per-source=8",
					"--max-unauthenticated=16",
					"--registration=invite",
					"--mdns",
					"--mdns-iface=br-lan",
					"--log-level=info",
					"--log-format=text",
				}
				if !reflect.DeepEqual(s.command, want) {
					t.Errorf("command line\n got %q\nwant %q", s.command, want)
				}
				t.Logf("default command line: %s", strings.Join(s.command, " "))
				checkParams(t, s, map[string][]string{
					"user":         {"qpc"},
					"group":        {"qpc"},
					"respawn":      {},
					"term_timeout": {"10"},
					"no_new_privs": {"1"},
					"limits":       {"core=0", "nofile=1024 1024"},
					"stdout":       {"1"},
					"stderr":       {"1"},
					"file":         {"/etc/config/qpc"},
					"netdev":       {"br-lan"},
				})
				wantFW := []map[string]string{{"type": "rule", "name": "Allow-qpc-lan", "src": "lan", "proto": "udp", "dest_port": "7000", "target": "ACCEPT"}}
				if !reflect.DeepEqual(s.firewall, wantFW) {
					t.Errorf("firewall rules\n got %v\nwant %v", s.firewall, wantFW)
				}
				wantTriggers := [][]string{{"config", "qpc"}, {"interface", "lan"}}
				if !reflect.DeepEqual(s.triggers, wantTriggers) {
					t.Errorf("triggers = %q, want %q", s.triggers, wantTriggers)
				}
				if !reflect.DeepEqual(s.configChanged, []string{"firewall"}) {
					t.Errorf("config changed after start = %q, want the firewall reloaded", s.configChanged)
				}
				wantFS := [][]string{{"mkdir", "-p", "/etc/qpc"}, {"chmod", "0700", "/etc/qpc"}, {"chown", "qpc:qpc", "/etc/qpc"}}
				if !reflect.DeepEqual(s.fsCalls, wantFS) {
					t.Errorf("directory preparation\n got %q\nwant %q", s.fsCalls, wantFS)
				}
				checkFlagsKnown(t, s.command)
			})

			t.Run("after the uci-defaults script set the domain, it comes second", func(t *testing.T) {
				cfg := strings.Replace(shippedConfig(t), "\t#option domain 'node1.example.mesh'\n", "\toption domain 'openwrt'\n", 1)
				s := runInit(t, sh, map[string]string{"qpc": cfg, "network": networkConfig})
				// docs/openwrt.md shows this line.
				want := "/usr/bin/qpc node --listen=[::]:7000 --domain=openwrt --data-dir=/etc/qpc " +
					"--max-connections=64 --max-connections-per-source=8 --max-unauthenticated=16 --registration=invite --mdns --mdns-iface=br-lan --log-level=info --log-format=text"
				if got := strings.Join(s.command, " "); got != want {
					t.Errorf("command line\n got %s\nwant %s", got, want)
				}
			})

			t.Run("every option set becomes its flag, in order, each value one argument", func(t *testing.T) {
				s := runInit(t, sh, map[string]string{"qpc": everyOption, "network": networkConfig})
				want := []string{"/usr/bin/qpc", "node",
					"--listen=0.0.0.0:7443",
					"--domain=node1.example.mesh",
					"--data-dir=/etc/qpc/keys/",
					"--store-dir=/mnt/usb stick/qpc",
					"--tls-cert=/etc/qpc/keys/my cert.pem",
					"--tls-key=/etc/qpc/keys/my key.pem",
					"--production",
					"--metrics-listen=127.0.0.1:9470",
					"--metrics-public",
					"--message-ttl=168h",
					"--max-message-ttl=336h",
					"--max-payload=32768",
					"--mailbox-max-messages=5000",
					"--mailbox-max-bytes=33554432",
					"--enqueue-rate=500",
					"--max-connections=256",
					"--max-connections-per-source=32",
					"--max-unauthenticated=64",
					"--login-timeout=5s",
					"--rpc-timeout=20s",
					"--idle-timeout=90s",
					"--session-ttl=240h",
					"--max-accounts=200",
					"--store-max-bytes=33554432",
					"--store-wal=false",
					"--register-rate=10",
					"--register-rate-node=30",
					"--login-rate=120",
					"--name-hold=72h",
					"--registration=closed",
					"--admin-socket=/etc/qpc/admin.sock",
					"--mdns",
					"--mdns-iface=br-lan",
					"--mdns-iface=bat0",
					"--federation-cert=/etc/qpc/keys/federation.crt",
					"--federation-key=/etc/qpc/keys/federation.key",
					"--federation-ca=/etc/qpc/keys/community-ca.crt",
					"--peer=node2.example.mesh:7000",
					"--peer=[fd00::2]:7000",
					"--federation-deny=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
					"--federation-rate=300",
					"--kt-gossip-interval=30s",
					"--mesh-ttl=72h",
					"--mesh-max-hops=12",
					"--mesh-store-size=32",
					"--mesh-domain-quota=16",
					"--mesh-origin-quota=4",
					"--mesh-neighbour-quota=6",
					"--mesh-seen-max=20000",
					"--channel-retain=50",
					"--channel-retention=72h",
					"--channel-max=128",
					"--channel-store-size=2",
					"--channel-seen-max=10000",
					"--channel-origin-rate=120",
					"--channel-user-rate=10",
					"--channel-neighbour-rate=240",
					"--channel-relay-retention=24h",
					"--file-max-size=4",
					"--file-user-quota=16",
					"--file-store-size=32",
					"--file-ttl=48h",
					"--file-max-ttl=96h",
					"--log-level=debug",
					"--log-format=json",
				}
				if !reflect.DeepEqual(s.command, want) {
					t.Errorf("command line\n got %q\nwant %q", s.command, want)
				}
				checkParams(t, s, map[string][]string{
					"user":         {"qpc"},
					"group":        {"qpc"},
					"respawn":      {},
					"term_timeout": {"10"},
					"no_new_privs": {"1"},
					"limits":       {"core=0", "nofile=1024 1024"},
					"stdout":       {"1"},
					"stderr":       {"1"},
					"file": {"/etc/config/qpc",
						"/etc/qpc/keys/my cert.pem", "/etc/qpc/keys/my key.pem",
						"/etc/qpc/keys/federation.crt", "/etc/qpc/keys/federation.key", "/etc/qpc/keys/community-ca.crt"},
					"netdev": {"br-lan", "bat0"},
				})
				wantFW := []map[string]string{
					{"type": "rule", "name": "Allow-qpc-lan", "src": "lan", "proto": "udp", "dest_port": "7443", "target": "ACCEPT"},
					{"type": "rule", "name": "Allow-qpc-mesh", "src": "mesh", "proto": "udp", "dest_port": "7443", "target": "ACCEPT"},
				}
				if !reflect.DeepEqual(s.firewall, wantFW) {
					t.Errorf("firewall rules\n got %v\nwant %v", s.firewall, wantFW)
				}
				wantTriggers := [][]string{{"config", "qpc"}, {"interface", "lan"}, {"interface", "mesh"}}
				if !reflect.DeepEqual(s.triggers, wantTriggers) {
					t.Errorf("triggers = %q, want %q", s.triggers, wantTriggers)
				}
				wantFS := [][]string{
					{"mkdir", "-p", "/etc/qpc/keys"}, {"chmod", "0700", "/etc/qpc/keys"}, {"chown", "qpc:qpc", "/etc/qpc/keys"},
					{"mkdir", "-p", "/mnt/usb stick/qpc"}, {"chmod", "0700", "/mnt/usb stick/qpc"}, {"chown", "qpc:qpc", "/mnt/usb stick/qpc"},
				}
				if !reflect.DeepEqual(s.fsCalls, wantFS) {
					t.Errorf("directory preparation\n got %q\nwant %q", s.fsCalls, wantFS)
				}
				checkFlagsKnown(t, s.command)
			})

			t.Run("a minimal section passes no flags and still prepares /etc/qpc", func(t *testing.T) {
				s := runInit(t, sh, map[string]string{"qpc": "config node 'node'\n"})
				if want := []string{"/usr/bin/qpc", "node"}; !reflect.DeepEqual(s.command, want) {
					t.Errorf("command line = %q, want %q", s.command, want)
				}
				if len(s.firewall) != 0 || len(s.params["netdev"]) != 0 {
					t.Errorf("firewall %v, netdev %v: want none without firewall_zone and mdns", s.firewall, s.params["netdev"])
				}
				if len(s.fsCalls) == 0 || s.fsCalls[0][2] != "/etc/qpc" {
					t.Errorf("directory preparation = %q, want /etc/qpc", s.fsCalls)
				}
				if !reflect.DeepEqual(s.triggers, [][]string{{"config", "qpc"}}) {
					t.Errorf("triggers = %q, want only the config trigger", s.triggers)
				}
			})

			t.Run("lists set as plain options (uci set, not add_list) still count", func(t *testing.T) {
				cfg := "config node 'node'\n\toption mdns '1'\n\toption mdns_iface 'br-lan'\n\toption peer 'node2.example.mesh:7000'\n\toption firewall_zone 'wan'\n"
				s := runInit(t, sh, map[string]string{"qpc": cfg, "network": networkConfig})
				want := []string{"/usr/bin/qpc", "node", "--mdns", "--mdns-iface=br-lan", "--peer=node2.example.mesh:7000"}
				if !reflect.DeepEqual(s.command, want) {
					t.Errorf("command line\n got %q\nwant %q", s.command, want)
				}
				if !reflect.DeepEqual(s.params["netdev"], []string{"br-lan"}) {
					t.Errorf("netdev = %q, want br-lan", s.params["netdev"])
				}
				if len(s.firewall) != 1 || s.firewall[0]["src"] != "wan" || s.firewall[0]["dest_port"] != "7000" {
					t.Errorf("firewall = %v, want one rule for wan, port 7000", s.firewall)
				}
				if want := [][]string{{"config", "qpc"}, {"interface", "lan"}}; !reflect.DeepEqual(s.triggers, want) {
					t.Errorf("triggers = %q, want %q", s.triggers, want)
				}
			})

			t.Run("enabled 0 starts nothing", func(t *testing.T) {
				cfg := strings.Replace(shippedConfig(t), "option enabled '1'", "option enabled '0'", 1)
				s := runInit(t, sh, map[string]string{"qpc": cfg, "network": networkConfig})
				if s.instance || s.command != nil || len(s.fsCalls) != 0 {
					t.Errorf("instance %v, command %q, fs %q: want nothing started", s.instance, s.command, s.fsCalls)
				}
			})

			t.Run("mdns 0 drops the interfaces, their netdev and their trigger", func(t *testing.T) {
				cfg := strings.Replace(shippedConfig(t), "option mdns '1'", "option mdns '0'", 1)
				s := runInit(t, sh, map[string]string{"qpc": cfg, "network": networkConfig})
				for _, a := range s.command {
					if strings.HasPrefix(a, "--mdns") {
						t.Errorf("command line %q has %s with mdns off", s.command, a)
					}
				}
				if len(s.params["netdev"]) != 0 {
					t.Errorf("netdev = %q with mdns off", s.params["netdev"])
				}
				if !reflect.DeepEqual(s.triggers, [][]string{{"config", "qpc"}}) {
					t.Errorf("triggers = %q, want only the config trigger", s.triggers)
				}
			})

			t.Run("a bridge as OpenWrt 19.07 wrote it gets its interface trigger", func(t *testing.T) {
				legacy := "config interface 'lan'\n\toption type 'bridge'\n\toption ifname 'eth0.1'\n"
				s := runInit(t, sh, map[string]string{"qpc": shippedConfig(t), "network": legacy})
				if want := [][]string{{"config", "qpc"}, {"interface", "lan"}}; !reflect.DeepEqual(s.triggers, want) {
					t.Errorf("triggers = %q, want %q", s.triggers, want)
				}
			})

			t.Run("a missing user qpc is logged and nothing starts", func(t *testing.T) {
				s, stderr := runInitStderr(t, sh, map[string]string{"qpc": shippedConfig(t)}, "QPC_TEST_NO_USER=1")
				if !strings.Contains(stderr, "user qpc is missing") {
					t.Errorf("stderr = %q, want the reason", stderr)
				}
				if s.instance || len(s.fsCalls) != 0 {
					t.Errorf("instance %v, fs %q: want nothing done", s.instance, s.fsCalls)
				}
				if len(s.logs) != 1 || !strings.Contains(s.logs[0], "user qpc") {
					t.Errorf("logs = %q, want one error about the user", s.logs)
				}
			})
		})
	}
}

func checkParams(t *testing.T, s started, want map[string][]string) {
	t.Helper()
	if !s.instance {
		t.Fatal("no procd instance opened")
	}
	for name, w := range want {
		got, ok := s.params[name]
		if !ok {
			t.Errorf("procd param %s not set, want %q", name, w)
			continue
		}
		if len(got) != len(w) || (len(w) > 0 && !reflect.DeepEqual(got, w)) {
			t.Errorf("procd param %s = %q, want %q", name, got, w)
		}
	}
	for name := range s.params {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected procd param %s = %q", name, s.params[name])
		}
	}
}

// checkFlagsKnown checks that every flag of a command line is one that
// `qpc node` defines.
func checkFlagsKnown(t *testing.T, command []string) {
	t.Helper()
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	cfg := config.Default()
	cfg.BindFlags(fs)
	if len(command) < 2 {
		t.Fatalf("command line %q is too short", command)
	}
	for _, a := range command[2:] {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if fs.Lookup(name) != nil {
			continue
		}
		t.Errorf("the init script passes --%s, which qpc node does not define", name)
	}
}

// TestEveryNodeFlagHasAUCIOption checks DESIGN §1's contract from the
// binary's side: each flag of `qpc node` is an option (set or commented
// out) of the shipped config and of the every-option fixture.
func TestEveryNodeFlagHasAUCIOption(t *testing.T) {
	shipped := shippedConfig(t)
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	cfg := config.Default()
	cfg.BindFlags(fs)
	fs.VisitAll(func(f *flag.Flag) {
		opt := strings.ReplaceAll(f.Name, "-", "_")
		for _, kind := range []string{"option", "list"} {
			if strings.Contains(shipped, kind+" "+opt+" ") {
				goto fixture
			}
		}
		t.Errorf("--%s has no option %s in uci/qpc", f.Name, opt)
	fixture:
		if !strings.Contains(everyOption, " "+opt+" ") {
			t.Errorf("--%s is not in the every-option fixture", f.Name)
		}
	})
}

// TestCommentedOptionsShowTheBinarysDefaults checks that a commented-out
// option of the shipped config shows the value the node takes without it,
// as the config's comments promise, unless it is an example of a path or
// address that has no default.
func TestCommentedOptionsShowTheBinarysDefaults(t *testing.T) {
	examples := map[string]bool{
		"domain": true, "store_dir": true, "tls_cert": true, "tls_key": true, "metrics_listen": true,
		"federation_cert": true, "federation_key": true, "federation_ca": true, "peer": true, "federation_deny": true,
		"admin_socket": true,
	}
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	cfg := config.Default()
	cfg.BindFlags(fs)
	checked := 0
	for _, line := range strings.Split(shippedConfig(t), "\n") {
		var kind, opt, value string
		if n, _ := fmt.Sscanf(strings.TrimSpace(line), "#%s %s %s", &kind, &opt, &value); n != 3 || (kind != "option" && kind != "list") || examples[opt] {
			continue
		}
		f := fs.Lookup(strings.ReplaceAll(opt, "_", "-"))
		if f == nil {
			t.Errorf("commented option %s is no flag of qpc node", opt)
			continue
		}
		def := f.Value.String()
		if err := f.Value.Set(strings.Trim(value, "'")); err != nil || f.Value.String() != def {
			t.Errorf("option %s shows %s, but the default of --%s is %s", opt, value, f.Name, def)
		}
		checked++
	}
	if checked < 25 {
		t.Errorf("checked only %d commented options; did the config's format change?", checked)
	}
}
