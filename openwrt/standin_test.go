package openwrt

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// rcCommonStandIn replaces, for the tests, everything the init script gets
// from OpenWrt: /etc/rc.common (sourcing the script and calling
// start_service, service_triggers and service_started in the order procd
// does on `start`), /lib/functions.sh (config_load, config_get,
// config_get_bool, config_list_foreach, config_foreach, user_exists),
// /lib/functions/procd.sh (procd_*, the jail's included),
// /usr/share/libubox/jshn.sh (json_*),
// and the commands that would touch the machine (mkdir, chmod, chown,
// logger); id -u qpc answers $QPC_TEST_QPC_UID. None of it is OpenWrt's code: each stand-in only records its
// call in $QPC_TEST_RECORD, one "call NAME" line, an "arg VALUE" line per
// argument and an "end" line, for the test to read back.
//
// config_load NAME sources $QPC_TEST_UCI/NAME: UCI's file syntax (config,
// option and list lines with quoted values) is valid shell, and the
// stand-ins for config, option and list store what they read.
const rcCommonStandIn = `# STAND-IN for OpenWrt's /etc/rc.common, /lib/functions.sh, procd.sh and
# jshn.sh, written by the qpc tests. It records calls; it does nothing else.
initscript=$1
action=$2

record() {
	printf 'call %s\n' "$1" >>"$QPC_TEST_RECORD"
	shift
	for a in "$@"; do
		printf 'arg %s\n' "$a" >>"$QPC_TEST_RECORD"
	done
	printf 'end\n' >>"$QPC_TEST_RECORD"
}

# --- /lib/functions.sh stand-ins: an in-memory UCI store ---
QPCT_SECTIONS=
QPCT_SECTION=
QPCT_ANON=0
config() {
	local name="$2"
	if [ -z "$name" ]; then
		QPCT_ANON=$((QPCT_ANON + 1))
		name="cfg$QPCT_ANON"
	fi
	QPCT_SECTIONS="$QPCT_SECTIONS $name"
	QPCT_SECTION=$name
	eval "QPCT_${name}__TYPE=\$1"
}
option() {
	eval "QPCT_${QPCT_SECTION}_$1=\$2"
}
list() {
	local n
	eval "n=\${QPCT_${QPCT_SECTION}_$1__N:-0}"
	n=$((n + 1))
	eval "QPCT_${QPCT_SECTION}_$1__N=\$n"
	eval "QPCT_${QPCT_SECTION}_$1__$n=\$2"
}
config_load() {
	record config_load "$@"
	QPCT_SECTIONS=
	QPCT_SECTION=
	[ -f "$QPC_TEST_UCI/$1" ] || return 1
	. "$QPC_TEST_UCI/$1"
}
config_get() {
	if [ $# -lt 3 ]; then
		echo "stand-in config_get: only the 'config_get VAR SECTION OPTION [DEFAULT]' form is provided" >&2
		exit 97
	fi
	eval "$1=\${QPCT_$2_$3:-\$4}"
}
config_get_bool() {
	local v
	config_get v "$2" "$3" "$4"
	case "$v" in
	1 | on | true | yes | enabled) v=1 ;;
	0 | off | false | no | disabled) v=0 ;;
	*) v=$4 ;;
	esac
	eval "$1=\$v"
}
config_list_foreach() {
	local section="$1" opt="$2" fn="$3" n i=1 item
	shift 3
	eval "n=\${QPCT_${section}_${opt}__N:-0}"
	while [ "$i" -le "$n" ]; do
		eval "item=\$QPCT_${section}_${opt}__$i"
		"$fn" "$item" "$@"
		i=$((i + 1))
	done
}
config_foreach() {
	local fn="$1" type="$2" s t
	shift 2
	for s in $QPCT_SECTIONS; do
		eval "t=\$QPCT_${s}__TYPE"
		[ -z "$type" ] || [ "$t" = "$type" ] || continue
		"$fn" "$s" "$@"
	done
}
user_exists() {
	record user_exists "$@"
	[ -z "$QPC_TEST_NO_USER" ]
}

# --- procd.sh and jshn.sh stand-ins ---
procd_open_instance() { record procd_open_instance "$@"; }
procd_close_instance() { record procd_close_instance "$@"; }
procd_set_param() { record procd_set_param "$@"; }
procd_append_param() { record procd_append_param "$@"; }
procd_open_data() { record procd_open_data "$@"; }
procd_close_data() { record procd_close_data "$@"; }
procd_add_reload_trigger() { record procd_add_reload_trigger "$@"; }
procd_add_reload_interface_trigger() { record procd_add_reload_interface_trigger "$@"; }
procd_set_config_changed() { record procd_set_config_changed "$@"; }
# procd.sh's jail functions take their arguments as an unquoted $@ (split
# at white space, wildcards expanded): so do these, to record what procd
# would receive.
# shellcheck disable=SC2068
procd_add_jail() { record procd_add_jail $@; }
# shellcheck disable=SC2068
procd_add_jail_mount() { record procd_add_jail_mount $@; }
# shellcheck disable=SC2068
procd_add_jail_mount_rw() { record procd_add_jail_mount_rw $@; }
json_add_array() { record json_add_array "$@"; }
json_close_array() { record json_close_array "$@"; }
json_add_object() { record json_add_object "$@"; }
json_close_object() { record json_close_object "$@"; }
json_add_string() { record json_add_string "$@"; }

# --- commands that would change this machine ---
mkdir() { record mkdir "$@"; }
chmod() { record chmod "$@"; }
chown() { record chown "$@"; }
logger() { record logger "$@"; }

# The user qpc has uid $QPC_TEST_QPC_UID, when set; this machine has none.
id() {
	if [ "$1" = -u ] && [ "$2" = qpc ]; then
		[ -n "$QPC_TEST_QPC_UID" ] || return 1
		echo "$QPC_TEST_QPC_UID"
		return 0
	fi
	command id "$@"
}

# --- rc.common: defaults, the script, then the action as procd runs it ---
start_service() { return 0; }
stop_service() { return 0; }
service_triggers() { return 0; }

. "$initscript"

case "$action" in
start)
	record procd_open_service qpc "$initscript"
	start_service
	service_triggers
	record procd_close_service
	if type service_started >/dev/null 2>&1; then
		service_started
	fi
	;;
stop)
	stop_service
	;;
*)
	echo "stand-in rc.common: action $action is not provided" >&2
	exit 98
	;;
esac
`

// call is one recorded stand-in call.
type call struct {
	name string
	args []string
}

// readRecord parses the calls the stand-ins recorded.
func readRecord(t *testing.T, path string) []call {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var calls []call
	var cur *call
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "call "):
			calls = append(calls, call{name: strings.TrimPrefix(line, "call ")})
			cur = &calls[len(calls)-1]
		case strings.HasPrefix(line, "arg ") && cur != nil:
			cur.args = append(cur.args, strings.TrimPrefix(line, "arg "))
		case line == "end":
			cur = nil
		default:
			t.Fatalf("record: unexpected line %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return calls
}

// shell is a POSIX shell the scripts are run with.
type shell struct {
	name string
	argv []string
}

// shells returns busybox ash, the shell of OpenWrt, and this machine's sh.
// busybox missing is a skip of its case outside CI and a failure in CI,
// whose .ci/run installs it.
func shells(t *testing.T) []shell {
	t.Helper()
	out := []shell{{name: "sh", argv: []string{"sh"}}}
	if bb, err := exec.LookPath("busybox"); err == nil {
		out = append([]shell{{name: "busybox ash", argv: []string{bb, "ash"}}}, out...)
	} else if os.Getenv("CI") == "true" {
		t.Fatalf("busybox not found: .ci/run must install it (the init script must run under ash)")
	} else {
		t.Logf("busybox not found (apt-get install busybox); running the scripts under sh only")
	}
	return out
}

// needTool returns the path of a tool, skipping outside CI when it is
// missing and failing in CI.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found: .ci/run must install %s", name, pkg)
	}
	t.Skipf("%s not found (apt-get install %s); skipping outside CI", name, pkg)
	return ""
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
