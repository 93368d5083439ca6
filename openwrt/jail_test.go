package openwrt

import (
	"reflect"
	"strings"
	"testing"
)

// jailFlags are what the init script asks of ujail: its own /proc (the
// node reads /proc/net/igmp for mDNS and /proc/self/statm for metrics)
// and a read-only root.
var jailFlags = []string{"qpc", "procfs", "ronly"}

// pathFlags are the node's flags that name files it reads (false) or
// directories it writes (true).
var pathFlags = map[string]bool{
	"data-dir": true, "store-dir": true,
	"tls-cert": false, "tls-key": false, "federation-cert": false, "federation-key": false, "federation-ca": false,
}

// checkJailCovers checks that the jail holds every path of the node's
// command line (directories it writes, writable) and nothing of the
// router beyond them and /etc/openwrt_release.
func checkJailCovers(t *testing.T, s started) {
	t.Helper()
	if !reflect.DeepEqual(s.jail, jailFlags) {
		t.Fatalf("jail %q, want %q", s.jail, jailFlags)
	}
	under := func(p string, mounts []string) bool {
		for _, m := range mounts {
			if p == m || strings.HasPrefix(p, strings.TrimSuffix(m, "/")+"/") {
				return true
			}
		}
		return false
	}
	named := map[string]bool{"/etc/openwrt_release": true}
	for _, a := range s.command[2:] {
		name, value, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		writes, isPath := pathFlags[name]
		if !ok || !isPath {
			continue
		}
		value = strings.TrimRight(value, "/")
		named[value] = true
		switch {
		case writes && !under(value, s.jailRW):
			t.Errorf("--%s=%s: the node writes there, but the jail mounts it read-only or not at all (rw %q)", name, value, s.jailRW)
		case !writes && !under(value, append(append([]string{}, s.jailRO...), s.jailRW...)):
			t.Errorf("--%s=%s is not in the jail (ro %q, rw %q)", name, value, s.jailRO, s.jailRW)
		}
	}
	for _, m := range append(append([]string{}, s.jailRO...), s.jailRW...) {
		if !named[m] {
			t.Errorf("the jail mounts %s, which the node's command line does not name", m)
		}
	}
}

func TestInitScriptJailsTheNode(t *testing.T) {
	files := "config node 'node'\n" +
		"\toption data_dir '/etc/qpc/keys/'\n" +
		"\toption store_dir '/mnt/usb/qpc'\n" +
		"\toption tls_cert '/etc/qpc/keys/node.crt'\n" +
		"\toption tls_key '/etc/qpc/keys/node.key'\n" +
		"\toption federation_cert '/etc/qpc/fed/federation.crt'\n" +
		"\toption federation_key '/etc/qpc/fed/federation.key'\n" +
		"\toption federation_ca '/srv/community-ca.crt'\n"
	for _, sh := range shells(t) {
		t.Run(sh.name, func(t *testing.T) {
			t.Run("the shipped config: the data directory writable, nothing else of the router", func(t *testing.T) {
				s := runInit(t, sh, map[string]string{"qpc": shippedConfig(t), "network": networkConfig})
				checkJailCovers(t, s)
				if want := []string{"/etc/openwrt_release"}; !reflect.DeepEqual(s.jailRO, want) {
					t.Errorf("read-only mounts %q, want %q", s.jailRO, want)
				}
				if want := []string{"/etc/qpc"}; !reflect.DeepEqual(s.jailRW, want) {
					t.Errorf("writable mounts %q, want %q", s.jailRW, want)
				}
			})
			t.Run("every certificate and key read-only, the data and store directories writable", func(t *testing.T) {
				s := runInit(t, sh, map[string]string{"qpc": files})
				checkJailCovers(t, s)
				wantRO := []string{"/etc/openwrt_release", "/etc/qpc/keys/node.crt", "/etc/qpc/keys/node.key",
					"/etc/qpc/fed/federation.crt", "/etc/qpc/fed/federation.key", "/srv/community-ca.crt"}
				if !reflect.DeepEqual(s.jailRO, wantRO) {
					t.Errorf("read-only mounts\n got %q\nwant %q", s.jailRO, wantRO)
				}
				if want := []string{"/etc/qpc/keys", "/mnt/usb/qpc"}; !reflect.DeepEqual(s.jailRW, want) {
					t.Errorf("writable mounts %q, want %q", s.jailRW, want)
				}
				for _, m := range append(s.jailRO, s.jailRW...) {
					if strings.HasPrefix(m, "/etc/config") || m == "/etc" || m == "/" {
						t.Errorf("the jail mounts %s", m)
					}
				}
			})
			t.Run("no data_dir: the default /etc/qpc, which the node finds through /etc/openwrt_release", func(t *testing.T) {
				s := runInit(t, sh, map[string]string{"qpc": "config node 'node'\n"})
				if !reflect.DeepEqual(s.jail, jailFlags) || !reflect.DeepEqual(s.jailRO, []string{"/etc/openwrt_release"}) || !reflect.DeepEqual(s.jailRW, []string{"/etc/qpc"}) {
					t.Errorf("jail %q, ro %q, rw %q: want /etc/openwrt_release read-only and /etc/qpc writable", s.jail, s.jailRO, s.jailRW)
				}
			})
			// procd.sh's jail functions split their arguments at white
			// space and expand wildcards: such a path would be mounted as
			// pieces, and the node could not reach it. The node runs
			// unjailed (as it does where ujail is missing) and logd says why.
			for _, c := range []struct{ name, option, value string }{
				{"a store directory with a space", "store_dir", "/mnt/usb stick/qpc"},
				{"a data directory with a tab", "data_dir", "/etc/qpc/a\tb"},
				{"a certificate with a space", "tls_cert", "/etc/qpc/my cert.pem"},
				{"a key with a wildcard", "tls_key", "/etc/qpc/node*.key"},
				{"a CA with a bracket", "federation_ca", "/etc/qpc/ca[1].crt"},
				{"a relative certificate path", "federation_cert", "keys/federation.crt"},
			} {
				t.Run(c.name+" runs the node without the jail and says why", func(t *testing.T) {
					cfg := "config node 'node'\n\toption " + c.option + " '" + c.value + "'\n"
					s := runInit(t, sh, map[string]string{"qpc": cfg})
					if s.jail != nil || len(s.jailRO)+len(s.jailRW) != 0 {
						t.Errorf("jail %q, ro %q, rw %q: want none", s.jail, s.jailRO, s.jailRW)
					}
					if len(s.command) == 0 {
						t.Fatal("the node did not start")
					}
					found := false
					for _, l := range s.logs {
						found = found || strings.Contains(l, "without the jail") && strings.Contains(l, c.value)
					}
					if !found {
						t.Errorf("logs %q do not say why there is no jail", s.logs)
					}
				})
			}
		})
	}
}
