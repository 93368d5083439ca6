package admin

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
)

// ErrNotSocket means the admin socket's path holds a file that is not a
// socket: the node replaces a stale socket left by a crash, never anything
// else.
var ErrNotSocket = errors.New("exists and is not a socket; remove it or choose another --admin-socket")

// ErrPeerRefused means a process of another user connected to the admin
// socket (its mode was loosened, or a directory above it).
var ErrPeerRefused = errors.New("admin socket peer is neither the node's user nor root")

// Listen opens the admin socket at path, mode 0600 whatever the umask. A
// socket file left by a node that crashed is replaced; any other file at
// path is ErrNotSocket. Closing the listener removes the file.
func Listen(path string) (*net.UnixListener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("%s %w", path, ErrNotSocket)
		}
		// A live node on the same data dir would own its store's lock
		// already, so a socket here is a dead node's.
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("replace stale admin socket: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	// The umask decides the mode bind gives the file; chmod before the
	// first accept closes the window in which another user could connect
	// (and the peer check below closes it for good).
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket mode: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	return ln, nil
}

// checkPeer returns nil if the process at the other end of conn runs as
// the node's own user or as root.
func checkPeer(conn *net.UnixConn) error {
	uid, ok, err := peerUID(conn)
	if err != nil {
		return fmt.Errorf("admin socket peer credentials: %w", err)
	}
	if !ok { // no SO_PEERCRED on this system: the file mode is the check
		return nil
	}
	if uid != 0 && uid != uint32(os.Getuid()) {
		return fmt.Errorf("%w (uid %d)", ErrPeerRefused, uid)
	}
	return nil
}
