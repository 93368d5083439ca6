package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/rpc"

	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// peerChildEnv makes the test binary a client of the admin socket named by
// its value: it calls status and exits with peerExit*.
const peerChildEnv = "QPC_ADMIN_TEST_PEER"

const (
	peerAnswered = 10 // the node answered status
	peerDenied   = 11 // connect: permission denied (the file's mode)
	peerCutOff   = 12 // connected, but the call failed (the peer check)
	peerOther    = 13
)

func TestMain(m *testing.M) {
	if path := os.Getenv(peerChildEnv); path != "" {
		os.Exit(peerChild(path))
	}
	os.Exit(m.Run())
}

func peerChild(path string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := call(ctx, path, func(ctx context.Context, s schemas.AdminService) (string, error) {
		return result(s.Status(ctx, nil))
	})
	switch {
	case err == nil:
		return peerAnswered
	case errors.Is(err, os.ErrPermission):
		return peerDenied
	case strings.Contains(err.Error(), "call"):
		return peerCutOff
	}
	fmt.Fprintln(os.Stderr, err)
	return peerOther
}

// call dials the admin socket at path and runs fn on its bootstrap
// capability; a failed dial is "dial: ...", a failed call "call: ...".
func call(ctx context.Context, path string, fn func(context.Context, schemas.AdminService) (string, error)) (string, error) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return "", fmt.Errorf("dial: %w", err)
	}
	rc := rpc.NewConn(rpc.NewStreamTransport(conn), nil)
	defer rc.Close()
	s := schemas.AdminService(rc.Bootstrap(ctx))
	defer s.Release()
	out, err := fn(ctx, s)
	if err != nil {
		return "", fmt.Errorf("call: %w", err)
	}
	return out, nil
}

type resultOf interface{ Result() (string, error) }

func result[S resultOf](f interface{ Struct() (S, error) }, release capnp.ReleaseFunc) (string, error) {
	defer release()
	s, err := f.Struct()
	if err != nil {
		return "", err
	}
	return s.Result()
}

func TestListenMakesTheSocketPrivateWhateverTheUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	ln.Close()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("closing left the socket file: %v", err)
	}
}

func TestListenReplacesAStaleSocketButNothingElse(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "admin.sock")
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false) // as a node that crashed leaves it
	old.Close()
	ln, err := Listen(stale)
	if err != nil {
		t.Fatalf("over a stale socket: %v", err)
	}
	ln.Close()

	file := filepath.Join(dir, "not-a-socket")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(file); !errors.Is(err, ErrNotSocket) {
		t.Fatalf("over a plain file: %v, want ErrNotSocket", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Fatal("the plain file was changed")
	}
}

// fakeBackend records what the server asked of it.
type fakeBackend struct {
	mu      sync.Mutex
	audit   []protocol.AuditEntry
	drained bool
	deleted []string
}

func (b *fakeBackend) Status(context.Context) (protocol.AdminStatus, error) {
	return protocol.AdminStatus{Domain: "a.mesh", Registration: protocol.RegistrationInvite}, nil
}
func (b *fakeBackend) Users(context.Context) (protocol.AdminUsers, error) {
	return protocol.AdminUsers{Users: []protocol.AdminUser{{Name: "ann", Devices: 2}}}, nil
}
func (b *fakeBackend) DeleteUser(_ context.Context, name string) error {
	if name != "ann" {
		return fmt.Errorf("delete %s: %w", name, protocol.ErrUnknownUser)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.deleted = append(b.deleted, name)
	return nil
}
func (b *fakeBackend) ResetUser(_ context.Context, name string) (protocol.AdminReset, error) {
	return protocol.AdminReset{Reset: name, Code: "c", Expires: 5}, nil
}
func (b *fakeBackend) CreateInvite(uses int, ttl time.Duration) (protocol.AdminInvite, error) {
	return protocol.AdminInvite{Code: "code", ID: "id", Uses: uses, Expires: int64(ttl / time.Second)}, nil
}
func (b *fakeBackend) Invites() (protocol.AdminInvites, error) { return protocol.AdminInvites{}, nil }
func (b *fakeBackend) RevokeInvite(string) error               { return nil }
func (b *fakeBackend) Quota(context.Context) (protocol.AdminQuota, error) {
	return protocol.AdminQuota{}, nil
}
func (b *fakeBackend) Links() (protocol.AdminLinks, error) { return protocol.AdminLinks{}, nil }
func (b *fakeBackend) Mesh() (protocol.AdminMesh, error)   { return protocol.AdminMesh{}, nil }
func (b *fakeBackend) Drain(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.drained = on
}
func (b *fakeBackend) Audit(e protocol.AuditEntry) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.audit = append(b.audit, e)
	return nil
}
func (b *fakeBackend) AuditLog(limit int) ([]protocol.AuditEntry, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.audit[:min(limit, len(b.audit))], nil
}

// serve runs a Server of b on a socket in dir until the test ends.
func serve(t *testing.T, dir string, b Backend) string {
	t.Helper()
	path := filepath.Join(dir, "admin.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(b, nil).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return path
}

func TestServerAnswersJSONAndAuditsWhatChanges(t *testing.T) {
	b := &fakeBackend{}
	path := serve(t, t.TempDir(), b)
	ctx := context.Background()
	do := func(fn func(context.Context, schemas.AdminService) (string, error)) (string, error) {
		return call(ctx, path, fn)
	}

	out, err := do(func(ctx context.Context, s schemas.AdminService) (string, error) { return result(s.Status(ctx, nil)) })
	var st protocol.AdminStatus
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st.Domain != "a.mesh" || st.Registration != "invite" {
		t.Fatalf("status: %q, %v", out, err)
	}
	out, err = do(func(ctx context.Context, s schemas.AdminService) (string, error) {
		return result(s.DeleteUser(ctx, func(p schemas.AdminService_deleteUser_Params) error { return p.SetName("ann") }))
	})
	if err != nil || out != `{"deleted":"ann"}` {
		t.Fatalf("delete: %q, %v", out, err)
	}
	_, err = do(func(ctx context.Context, s schemas.AdminService) (string, error) {
		return result(s.DeleteUser(ctx, func(p schemas.AdminService_deleteUser_Params) error { return p.SetName("bob") }))
	})
	if !errors.Is(protocol.FromException(errors.Unwrap(err)), protocol.ErrUnknownUser) {
		t.Fatalf("delete of an unknown user: %v, want unknownUser", err)
	}
	_, err = do(func(ctx context.Context, s schemas.AdminService) (string, error) {
		return result(s.DeleteUser(ctx, func(p schemas.AdminService_deleteUser_Params) error { return p.SetName("no such/name") }))
	})
	if !errors.Is(protocol.FromException(errors.Unwrap(err)), protocol.ErrBadRequest) {
		t.Fatalf("delete of a name that is none: %v, want badRequest", err)
	}
	out, err = do(func(ctx context.Context, s schemas.AdminService) (string, error) {
		return result(s.CreateInvite(ctx, func(p schemas.AdminService_createInvite_Params) error { return nil }))
	})
	var inv protocol.AdminInvite
	if err != nil || json.Unmarshal([]byte(out), &inv) != nil || inv.Uses != 1 || inv.Expires != int64(DefaultInviteTTL/time.Second) {
		t.Fatalf("invite with the defaults: %q, %v", out, err)
	}
	_, err = do(func(ctx context.Context, s schemas.AdminService) (string, error) {
		return result(s.CreateInvite(ctx, func(p schemas.AdminService_createInvite_Params) error {
			p.SetExpiresSeconds(uint64(2 * MaxInviteTTL / time.Second))
			return nil
		}))
	})
	if !errors.Is(protocol.FromException(errors.Unwrap(err)), protocol.ErrBadRequest) {
		t.Fatalf("invite for two years: %v, want badRequest", err)
	}
	out, err = do(func(ctx context.Context, s schemas.AdminService) (string, error) {
		return result(s.Drain(ctx, func(p schemas.AdminService_drain_Params) error {
			p.SetOn(true)
			return nil
		}))
	})
	if err != nil || out != `{"draining":true}` || !b.drained {
		t.Fatalf("drain: %q, %v (backend draining %v)", out, err, b.drained)
	}
	_, err = do(func(ctx context.Context, s schemas.AdminService) (string, error) { return result(s.Reports(ctx, nil)) })
	if err == nil || !strings.Contains(err.Error(), ErrNotImplemented.Error()) {
		t.Fatalf("reports before its part: %v, want the node's own words", err)
	}

	b.mu.Lock()
	var actions []string
	for _, e := range b.audit {
		actions = append(actions, e.Action+" "+e.Target)
	}
	b.mu.Unlock()
	if got, want := strings.Join(actions, ", "), "user delete ann, invite id, drain "; got != want {
		t.Fatalf("audited %q, want %q (refusals and reads are not audited)", got, want)
	}
	out, err = do(func(ctx context.Context, s schemas.AdminService) (string, error) {
		return result(s.Log(ctx, func(p schemas.AdminService_log_Params) error {
			p.SetLimit(2)
			return nil
		}))
	})
	var l protocol.AdminLog
	if err != nil || json.Unmarshal([]byte(out), &l) != nil || len(l.Entries) != 2 {
		t.Fatalf("log --limit 2: %q, %v", out, err)
	}
}

// TestSocketRefusesOtherUsers runs a client as another user (nobody) in a
// child process: the socket file's mode keeps it out, and with the mode
// loosened by hand, the server's peer check does.
func TestSocketRefusesOtherUsers(t *testing.T) {
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs as root: this test must run there")
		}
		t.Skip("needs root to run a client as another user; CI runs it")
	}
	// A directory nobody can enter, with a copy of this test binary
	// nobody can run (go test's build directory is private).
	dir, err := os.MkdirTemp("", "qpcadmin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "admin.test")
	copyFile(t, self, bin)
	path := serve(t, dir, &fakeBackend{})

	run := func(uid uint32) int {
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Env = append(os.Environ(), peerChildEnv+"="+path)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("child: %v %s", err, out)
		}
		if exit.ExitCode() == peerOther {
			t.Logf("child: %s", out)
		}
		return exit.ExitCode()
	}
	if got := run(0); got != peerAnswered {
		t.Fatalf("root: exit %d, want %d (answered)", got, peerAnswered)
	}
	const nobody = 65534
	if got := run(nobody); got != peerDenied {
		t.Fatalf("another user: exit %d, want %d (permission denied by the file's mode)", got, peerDenied)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if got := run(nobody); got != peerCutOff {
		t.Fatalf("another user through a loosened mode: exit %d, want %d (cut off by the peer check)", got, peerCutOff)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
