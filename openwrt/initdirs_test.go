package openwrt

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// tmpUnderSlashTmp is a fresh directory under /tmp, one of the places the
// init script lets the node own a directory in (t.TempDir may be elsewhere
// when TMPDIR is set).
func tmpUnderSlashTmp(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "qpc-initdirs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// withDirs is the shipped config with data_dir and store_dir set.
func withDirs(t *testing.T, dataDir, storeDir string) string {
	t.Helper()
	cfg := strings.Replace(shippedConfig(t), "option data_dir '/etc/qpc'", "option data_dir '"+dataDir+"'", 1)
	if storeDir != "" {
		cfg = strings.Replace(cfg, "#option store_dir '/mnt/usb/qpc'", "option store_dir '"+storeDir+"'", 1)
		if !strings.Contains(cfg, "option store_dir '"+storeDir+"'") {
			t.Fatal("the shipped config has no commented store_dir line to set")
		}
	}
	return cfg
}

// TestInitScriptRefusesDangerousDirectories runs the init script with
// data_dir and store_dir values that would hand system files to the node's
// user under a chown -R (issue 25: store_dir=/etc/config made every UCI
// file the node's): each start is refused with the reason on stderr and in
// logd, and nothing is created, chmodded or chowned.
func TestInitScriptRefusesDangerousDirectories(t *testing.T) {
	base := tmpUnderSlashTmp(t)
	full := filepath.Join(base, "full") // someone else's files
	if err := os.Mkdir(full, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, full, "network", "config interface 'lan'\n")
	if err := os.Symlink("/etc", filepath.Join(base, "to-etc")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(full, filepath.Join(base, "to-full")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, base, "afile", "x")

	for _, sh := range shells(t) {
		t.Run(sh.name, func(t *testing.T) {
			for _, tc := range []struct {
				data, store, why string
			}{
				{"/etc/config", "", "is not /etc/qpc or below"},
				{"/etc/qpc", "/etc/config", "is not /etc/qpc or below"},
				{"/etc/qpc", "/etc", "is not /etc/qpc or below"},
				{"/", "", "is not /etc/qpc or below"},
				{"/tmp", "", "is not /etc/qpc or below"},
				{"/tmp/", "", "is not /etc/qpc or below"},
				{"/var", "", "is not /etc/qpc or below"},
				{"/mnt", "", "is not /etc/qpc or below"},
				{"/overlay", "", "is not /etc/qpc or below"},
				{"/usr/lib/qpc", "", "is not /etc/qpc or below"},
				{"/etc/qpc-keys", "", "is not /etc/qpc or below"},
				{"/root", "", "is not /etc/qpc or below"},
				{"relative/dir", "", "is not an absolute path"},
				{"/etc/qpc/../config", "", "is not a plain path"},
				{"/tmp/./x", "", "is not a plain path"},
				{"/tmp//x", "", "is not a plain path"},
				{"/etc/qpc", filepath.Join(base, "to-etc", "config"), "which is not /etc/qpc or below"},
				{"/etc/qpc", filepath.Join(base, "to-etc"), "which is not /etc/qpc or below"},
				{"/etc/qpc", full, "holds files and is not the user qpc's"},
				{"/etc/qpc", filepath.Join(base, "to-full"), "is not a directory"},
				{"/etc/qpc", filepath.Join(base, "afile"), "is not a directory"},
			} {
				name := fmt.Sprintf("data_dir %s store_dir %s", tc.data, tc.store)
				t.Run(name, func(t *testing.T) {
					s, stderr := runInitStderr(t, sh, map[string]string{"qpc": withDirs(t, tc.data, tc.store), "network": networkConfig})
					bad := tc.data
					if tc.store != "" {
						bad = tc.store
					}
					if s.instance {
						t.Error("a node was started")
					}
					// /etc/qpc, prepared before store_dir is looked at, is
					// the only directory that may be touched.
					for _, c := range s.fsCalls {
						if c[len(c)-1] != "/etc/qpc" {
							t.Errorf("the script ran %q", c)
						}
					}
					if len(s.logs) != 1 || !strings.Contains(s.logs[0], "'"+bad+"'") || !strings.Contains(s.logs[0], tc.why) {
						t.Errorf("logs = %q, want one naming '%s' and saying %q", s.logs, bad, tc.why)
					}
					if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 || !strings.Contains(stderr, tc.why) {
						t.Errorf("stderr = %q, want the reason in one line", stderr)
					}
				})
			}
		})
	}
	// Nothing under base changed hands or mode (the stand-ins only record,
	// but a script that ran the real chown would show here).
	fi, err := os.Stat(full)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("%s: %v %v", full, fi.Mode(), err)
	}
}

// TestInitScriptTakesNewEmptyAndOwnDirectories checks what the init script
// does accept: a new directory below an allowed place (created, given to
// the user, not recursively), an empty one (given to the user), one the
// user owns already (used as it is, even with files in it), and /var on
// OpenWrt, where symlinks lead from one allowed place to another.
func TestInitScriptTakesNewEmptyAndOwnDirectories(t *testing.T) {
	base := tmpUnderSlashTmp(t)
	empty := filepath.Join(base, "empty")
	own := filepath.Join(base, "own")
	for _, d := range []string{empty, own} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, own, "qpc.db", "x")
	if err := os.Symlink(base, filepath.Join(base, "link")); err != nil {
		t.Fatal(err)
	}
	uid := fmt.Sprint(os.Getuid()) // the test's user plays qpc
	for _, sh := range shells(t) {
		t.Run(sh.name, func(t *testing.T) {
			for _, tc := range []struct {
				name, store string
				env         []string
				want        [][]string
			}{
				// No /overlay here (and no /srv on OpenWrt): nothing
				// of the path exists but /.
				{"below a missing top directory", "/overlay/qpc-test-missing/qpc", nil, [][]string{
					{"mkdir", "-p", "/overlay/qpc-test-missing/qpc"},
					{"chmod", "0700", "/overlay/qpc-test-missing/qpc"},
					{"chown", "qpc:qpc", "/overlay/qpc-test-missing/qpc"}}},
				{"new", filepath.Join(base, "new", "qpc"), nil, [][]string{
					{"mkdir", "-p", filepath.Join(base, "new", "qpc")},
					{"chmod", "0700", filepath.Join(base, "new", "qpc")},
					{"chown", "qpc:qpc", filepath.Join(base, "new", "qpc")}}},
				{"empty", empty + "/", nil, [][]string{{"chmod", "0700", empty}, {"chown", "qpc:qpc", empty}}},
				{"the user's own", own, []string{"QPC_TEST_QPC_UID=" + uid}, nil},
				{"through a symlink within /tmp", filepath.Join(base, "link", "empty"), nil, [][]string{
					{"chmod", "0700", filepath.Join(base, "link", "empty")}, {"chown", "qpc:qpc", filepath.Join(base, "link", "empty")}}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					s := runInit(t, sh, map[string]string{"qpc": withDirs(t, "/etc/qpc", tc.store), "network": networkConfig}, tc.env...)
					if !s.instance {
						t.Fatalf("no node started; logs %q", s.logs)
					}
					want := append([][]string{{"mkdir", "-p", "/etc/qpc"}, {"chmod", "0700", "/etc/qpc"}, {"chown", "qpc:qpc", "/etc/qpc"}}, tc.want...)
					if !reflect.DeepEqual(s.fsCalls, want) {
						t.Errorf("directory preparation\n got %q\nwant %q", s.fsCalls, want)
					}
				})
			}
		})
	}
}

// TestInitScriptRefusesBadValuesBeforeStarting sets options to values of
// the wrong type, one class each (issue 25: `service qpc start` printed
// nothing and the node then dumped its usage into logd on each respawn).
// The init script checks them with the node's own parser (qpc node
// --check): the start is refused with the node's one-line reason on
// stderr and in logd, no instance is started, no directory is touched.
func TestInitScriptRefusesBadValuesBeforeStarting(t *testing.T) {
	for _, sh := range shells(t) {
		t.Run(sh.name, func(t *testing.T) {
			for _, tc := range []struct{ option, value, why string }{
				{"max_payload", "lots", `invalid value "lots" for flag -max-payload`},
				{"message_ttl", "3 days", `invalid value "3 days" for flag -message-ttl`},
				{"max_connections", "1e9", `invalid value "1e9" for flag -max-connections`},
				{"mesh_max_hops", "300", `invalid value "300" for flag -mesh-max-hops`},
				{"enqueue_rate", "fast", `invalid value "fast" for flag -enqueue-rate`},
				{"channel_retention", "forever", `invalid value "forever" for flag -channel-retention`},
				{"log_level", "loud", `--log-level: "loud" is not`},
				{"max_payload", "it's $(reboot)", `for flag -max-payload`},
			} {
				t.Run(tc.option+"="+tc.value, func(t *testing.T) {
					cfg := "config node 'node'\n\toption " + tc.option + " '" + strings.ReplaceAll(tc.value, "'", `'\''`) + "'\n"
					s, stderr := runInitStderr(t, sh, map[string]string{"qpc": cfg})
					if s.instance || len(s.fsCalls) != 0 {
						t.Errorf("instance %v, fs %q: want nothing done", s.instance, s.fsCalls)
					}
					if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "qpc: not starting: qpc node: ") || !strings.Contains(stderr, tc.why) {
						t.Errorf("stderr = %q, want one line saying %q", stderr, tc.why)
					}
					if len(s.logs) != 1 || !strings.Contains(s.logs[0], tc.why) {
						t.Errorf("logs = %q, want the reason", s.logs)
					}
				})
			}
		})
	}
}
