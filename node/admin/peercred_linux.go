package admin

import (
	"net"
	"syscall"
)

// peerUID returns the uid of the process that connected conn, as the
// kernel recorded it at connect (SO_PEERCRED).
func peerUID(conn *net.UnixConn) (uid uint32, ok bool, err error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, false, err
	}
	var cred *syscall.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return 0, false, err
	}
	if serr != nil {
		return 0, false, serr
	}
	return cred.Uid, true, nil
}
