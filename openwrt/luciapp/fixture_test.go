package luciapp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/crypto/opaque"
)

// The two nodes every test of this package shares: node is the one the
// plugin and the pages talk to, with the account alice and a federation
// link to peer. Starting them costs a few seconds, once per test binary.
const (
	nodeDomain = "luci.example.mesh"
	peerDomain = "peer.example.mesh"
	account    = "alice"
)

// pluginPath is the rpcd plugin under test.
const pluginPath = "../luci-app-qpc/root/usr/libexec/rpcd/qpc"

// fixture is what the tests share: the qpc binary, the nodes, and the
// directory of the uci stand-in.
type fixture struct {
	dir      string // removed by TestMain
	qpc      string
	node     *nodeProc
	peer     *nodeProc
	standins string // holds uci, first in the plugin's PATH
}

var shared struct {
	once sync.Once
	f    *fixture
	err  error
}

// nodeProc is a running `qpc node`.
type nodeProc struct {
	cmd      *exec.Cmd
	dataDir  string
	addr, fp string
	mu       sync.Mutex
	logs     bytes.Buffer
}

func (n *nodeProc) Logs() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.logs.String()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if f := shared.f; f != nil {
		for _, n := range []*nodeProc{f.node, f.peer} {
			if n != nil {
				n.stop()
			}
		}
		os.RemoveAll(f.dir)
	}
	os.Exit(code)
}

// needTool returns the path of a tool, skipping outside CI when it is
// missing and failing in CI (.ci/run installs it).
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found: .ci/run must install the Debian package %s", name, pkg)
	}
	t.Skipf("%s not found (apt-get install %s); skipping outside CI", name, pkg)
	return ""
}

// nodes returns the shared fixture, starting it on first use.
func nodes(t *testing.T) *fixture {
	t.Helper()
	needTool(t, "busybox", "busybox")
	shared.once.Do(func() { shared.f, shared.err = startFixture() })
	if shared.err != nil {
		t.Fatalf("starting the nodes: %v", shared.err)
	}
	return shared.f
}

func startFixture() (*fixture, error) {
	// Short paths: the admin socket's path must fit a sockaddr_un.
	dir, err := os.MkdirTemp("", "luciapp-")
	if err != nil {
		return nil, err
	}
	f := &fixture{dir: dir, qpc: filepath.Join(dir, "qpc"), standins: filepath.Join(dir, "bin")}
	shared.f = f // TestMain cleans up whatever was started
	// Built as cmd/qpc's tests build it, so that the two share the build
	// cache: without cgo, and under make test (tag qpc_test_ksf) with
	// the cheap password stretch the test binary itself has.
	args := []string{"build", "-o", f.qpc}
	if opaque.CheapForTests {
		args = append(args, "-tags", "qpc_test_ksf")
	}
	build := exec.Command("go", append(args, "../../cmd/qpc")...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ../../cmd/qpc: %v\n%s", err, out)
	}
	flags, err := federationFlags(dir, nodeDomain, peerDomain)
	if err != nil {
		return nil, err
	}
	if f.peer, err = startNode(f.qpc, peerDomain, filepath.Join(dir, "peer"), flags[peerDomain]...); err != nil {
		return nil, err
	}
	if f.node, err = startNode(f.qpc, nodeDomain, filepath.Join(dir, "node"), append(flags[nodeDomain], "--peer", f.peer.addr)...); err != nil {
		return nil, err
	}
	if err := writeUCIStandin(f.standins, f.node.dataDir); err != nil {
		return nil, err
	}
	if err := register(f.qpc, dir, f.node, account); err != nil {
		return nil, err
	}
	// The link to peer comes up a moment after the node serves.
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := f.plugin("call", "links", "{}")
		var links struct {
			Links []struct{ Domain, State string }
		}
		if err == nil && json.Unmarshal(out, &links) == nil {
			for _, l := range links.Links {
				if l.Domain == peerDomain && l.State == "up" {
					return f, nil
				}
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no link up to %s after 20 s; the plugin said %s (%v); node logs:\n%s", peerDomain, out, err, f.node.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// federationFlags writes a community CA and a certificate per domain into
// dir and returns each domain's `qpc node` flags.
func federationFlags(dir string, domains ...string) (map[string][]string, error) {
	a, err := ca.New("luciapp test CA", 3*365*24*time.Hour, time.Now())
	if err != nil {
		return nil, err
	}
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, a.CertPEM, 0o644); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, d := range domains {
		certPEM, keyPEM, err := a.Issue(ca.IssueOptions{Domain: d})
		if err != nil {
			return nil, err
		}
		cert, key := filepath.Join(dir, d+".crt"), filepath.Join(dir, d+".key")
		if err := os.WriteFile(cert, certPEM, 0o644); err != nil {
			return nil, err
		}
		if err := os.WriteFile(key, keyPEM, 0o600); err != nil {
			return nil, err
		}
		out[d] = []string{"--federation-cert", cert, "--federation-key", key, "--federation-ca", caFile}
	}
	return out, nil
}

// startNode runs `qpc node` on a free loopback port and waits until it
// logs that it serves.
func startNode(qpc, domain, dataDir string, extra ...string) (*nodeProc, error) {
	n := &nodeProc{dataDir: dataDir}
	args := append([]string{"node", "--listen", "127.0.0.1:0", "--domain", domain, "--data-dir", dataDir,
		"--log-format", "json", "--registration", "open"}, extra...)
	n.cmd = exec.Command(qpc, args...)
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := n.cmd.Start(); err != nil {
		return nil, err
	}
	serving := make(chan map[string]any, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			n.mu.Lock()
			n.logs.Write(sc.Bytes())
			n.logs.WriteByte('\n')
			n.mu.Unlock()
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == "node serving" {
				select {
				case serving <- rec:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case rec := <-serving:
		n.addr, _ = rec["addr"].(string)
		n.fp, _ = rec["fingerprint"].(string)
		return n, nil
	case <-time.After(30 * time.Second):
		n.stop()
		return nil, fmt.Errorf("node %s did not serve within 30 s; logs:\n%s", domain, n.Logs())
	}
}

func (n *nodeProc) stop() {
	if n.cmd.Process != nil {
		n.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { n.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			n.cmd.Process.Kill()
			<-done
		}
	}
}

// register makes the account name on node with `qpc register`.
func register(qpc, dir string, node *nodeProc, name string) error {
	pw := filepath.Join(dir, name+".pw")
	if err := os.WriteFile(pw, []byte("password of "+name+"\n"), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(qpc, "register", "--password-file", pw, "--state-dir", filepath.Join(dir, "state-"+name),
		"--server", node.addr, "--pin", node.fp, "--username", name)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("qpc register %s: %v\n%s", name, err, out)
	}
	return nil
}

// writeUCIStandin puts a uci command into dir that answers the plugin's
// questions as a router's /etc/config/qpc with data_dir set would:
// data_dir is the node's, admin_socket is unset. A test changes the
// answers for one run with QPC_TEST_DATA_DIR and QPC_TEST_ADMIN_SOCKET
// ("-" for unset).
func writeUCIStandin(dir, dataDir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	script := `#!/bin/sh
# uci stand-in of the luciapp tests: /etc/config/qpc with data_dir set.
[ "$1" = -q ] && shift
answer() { [ -n "$1" ] && [ "$1" != - ] && echo "$1"; }
case "$1 $2" in
"get qpc.node.data_dir") answer "${QPC_TEST_DATA_DIR:-` + dataDir + `}" ;;
"get qpc.node.admin_socket") answer "${QPC_TEST_ADMIN_SOCKET:--}" ;;
*) exit 1 ;;
esac
`
	return os.WriteFile(filepath.Join(dir, "uci"), []byte(script), 0o755)
}

// errPluginOutput means the plugin printed something other than one JSON
// object.
var errPluginOutput = errors.New("the plugin did not print one JSON object")

// plugin runs the rpcd plugin under busybox ash as rpcd runs it, with
// input on stdin, and returns its stdout, checked to be one JSON object.
func (f *fixture) plugin(args ...string) ([]byte, error) {
	return f.pluginEnv(nil, args...)
}

// pluginEnv is plugin with more environment variables.
func (f *fixture) pluginEnv(env []string, args ...string) ([]byte, error) {
	var input string
	if len(args) == 3 {
		input = args[2]
		args = args[:2]
	}
	cmd := exec.Command("busybox", append([]string{"ash", pluginPath}, args...)...)
	cmd.Env = append(append(os.Environ(), "PATH="+f.standins+":"+os.Getenv("PATH"), "QPC_BIN="+f.qpc), env...)
	cmd.Stdin = strings.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("busybox ash %s %s: %v; stderr: %s", pluginPath, strings.Join(args, " "), err, stderr.Bytes())
	}
	var obj map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &obj); err != nil {
		return stdout.Bytes(), fmt.Errorf("%w: %v: %q", errPluginOutput, err, stdout.Bytes())
	}
	return stdout.Bytes(), nil
}
