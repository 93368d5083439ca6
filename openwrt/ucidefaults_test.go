package openwrt

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// uciStandIn replaces OpenWrt's uci command for the uci-defaults script: it
// answers get from QPCT_* environment variables and records set and commit
// in $QPC_TEST_RECORD. It is not OpenWrt's uci.
const uciStandIn = `# STAND-IN for OpenWrt's uci, written by the qpc tests.
uci() {
	[ "$1" = -q ] && shift
	case "$1 $2" in
	"get qpc.node.domain") [ -n "$QPCT_DOMAIN" ] && echo "$QPCT_DOMAIN" ;;
	"get qpc.node") [ -n "$QPCT_HAS_NODE" ] && echo node ;;
	"get system.@system[0].hostname") [ -n "$QPCT_HOSTNAME" ] && echo "$QPCT_HOSTNAME" ;;
	"set "* | "commit "*) printf '%s\n' "$*" >>"$QPC_TEST_RECORD" ;;
	*) echo "stand-in uci: $* is not provided" >&2; return 1 ;;
	esac
}
`

func TestUCIDefaultsSetsTheDomainFromTheHostName(t *testing.T) {
	script, err := os.ReadFile("files/qpc.uci-defaults")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  []string
		want []string // recorded uci set/commit calls
	}{
		{"OpenWrt's host name becomes the domain, lowercased",
			[]string{"QPCT_HAS_NODE=1", "QPCT_HOSTNAME=OpenWrt"},
			[]string{"set qpc.node.domain=openwrt", "commit qpc"}},
		{"a dotted host name is kept whole",
			[]string{"QPCT_HAS_NODE=1", "QPCT_HOSTNAME=Node-1.Mesh.example"},
			[]string{"set qpc.node.domain=node-1.mesh.example", "commit qpc"}},
		{"a domain the admin set is left alone",
			[]string{"QPCT_HAS_NODE=1", "QPCT_HOSTNAME=OpenWrt", "QPCT_DOMAIN=chat.example.mesh"},
			nil},
		{"a host name that is no DNS name sets nothing",
			[]string{"QPCT_HAS_NODE=1", "QPCT_HOSTNAME=my_router"},
			nil},
		{"a config without the node section is left alone",
			[]string{"QPCT_HOSTNAME=OpenWrt"},
			nil},
	}
	for _, sh := range shells(t) {
		for _, c := range cases {
			t.Run(sh.name+": "+c.name, func(t *testing.T) {
				dir := t.TempDir()
				standIn := writeFile(t, dir, "uci.sh", uciStandIn)
				defaults := writeFile(t, dir, "90-qpc", string(script))
				record := filepath.Join(dir, "record")
				// default_postinst sources the script in a subshell.
				cmd := exec.Command(sh.argv[0], append(sh.argv[1:], "-c", `. "$1"; ( . "$2" ) && echo removed`, "sh", standIn, defaults)...)
				cmd.Env = append(append(os.Environ(), "QPC_TEST_RECORD="+record), c.env...)
				out, err := cmd.CombinedOutput()
				if err != nil || string(out) != "removed\n" {
					t.Fatalf("uci-defaults: %v, output %q; want exit 0 so that it is removed", err, out)
				}
				var got []string
				if b, err := os.ReadFile(record); err == nil {
					got = strings.Split(strings.TrimSpace(string(b)), "\n")
				}
				if !reflect.DeepEqual(got, c.want) {
					t.Errorf("uci calls = %q, want %q", got, c.want)
				}
			})
		}
	}
}

// TestShellScriptsPassShellcheck lints the scripts that run on the router
// as the ash of busybox reads them (dash is shellcheck's closest dialect).
// make lint runs the same check.
func TestShellScriptsPassShellcheck(t *testing.T) {
	sc := needTool(t, "shellcheck", "shellcheck")
	for _, f := range []string{"../init.d/qpc", "files/qpc.uci-defaults"} {
		if _, err := os.ReadFile(f); err != nil { // also tells go test's cache
			t.Fatal(err)
		}
		if out, err := exec.Command(sc, "--shell=dash", f).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", f, err, out)
		}
	}
}

// TestUCIDefaultsKeepsTheShippedComments runs the uci-defaults script on
// the shipped /etc/config/qpc (under IPKG_INSTROOT): it sets the domain in
// the line the file has for it and leaves every other line as it was,
// rather than a uci commit that rewrites the file without its comments.
func TestUCIDefaultsKeepsTheShippedComments(t *testing.T) {
	script, err := os.ReadFile("files/qpc.uci-defaults")
	if err != nil {
		t.Fatal(err)
	}
	shipped := shippedConfig(t)
	const line = "\t#option domain 'node1.example.mesh'\n"
	if strings.Count(shipped, line) != 1 {
		t.Fatalf("the shipped config has no single %q line", line)
	}
	want := strings.Replace(shipped, line, "\toption domain 'openwrt'\n", 1)
	for _, sh := range shells(t) {
		t.Run(sh.name, func(t *testing.T) {
			dir := t.TempDir()
			root := filepath.Join(dir, "root")
			if err := os.MkdirAll(filepath.Join(root, "etc/config"), 0o755); err != nil {
				t.Fatal(err)
			}
			conf := filepath.Join(root, "etc/config/qpc")
			if err := os.WriteFile(conf, []byte(shipped), 0o600); err != nil {
				t.Fatal(err)
			}
			standIn := writeFile(t, dir, "uci.sh", uciStandIn)
			defaults := writeFile(t, dir, "90-qpc", string(script))
			record := filepath.Join(dir, "record")
			cmd := exec.Command(sh.argv[0], append(sh.argv[1:], "-c", `. "$1"; ( . "$2" ) && echo removed`, "sh", standIn, defaults)...)
			cmd.Env = append(os.Environ(), "QPC_TEST_RECORD="+record, "IPKG_INSTROOT="+root, "QPCT_HAS_NODE=1", "QPCT_HOSTNAME=OpenWrt")
			if out, err := cmd.CombinedOutput(); err != nil || string(out) != "removed\n" {
				t.Fatalf("uci-defaults: %v, output %q", err, out)
			}
			if b, err := os.ReadFile(record); err == nil {
				t.Errorf("uci was called: %q", b)
			}
			got, err := os.ReadFile(conf)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != want {
				t.Errorf("the config after uci-defaults:\n%s\nwant the shipped one with the domain line set", got)
			}
			if fi, err := os.Stat(conf); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v (%v), want the conffile's 0600 kept", fi.Mode(), err)
			}
			if entries, _ := os.ReadDir(filepath.Join(root, "etc/config")); len(entries) != 1 {
				t.Errorf("etc/config holds %d files, want qpc alone (no temporary file left)", len(entries))
			}
		})
	}
}
