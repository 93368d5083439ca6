package node

import (
	"errors"
	"strings"

	"github.com/quicprochat/qpc/protocol"
)

// NameAvailable reports whether user, a local part in any case, could be
// registered on this node now, so that `qpc register` can say "name taken"
// before it asks for a password. It needs no session. A name that is not
// valid is not available (false, nil), since registration would refuse it
// too. It tells no more than registerStart would, and no faster than a
// key lookup: it draws on the connection's resolveUser budget and on one
// per source address (a new connection starts no new budget), and takes
// at least ResolveMinTime.
func (c *Conn) NameAvailable(user string) (bool, error) {
	start := c.svc.now()
	if !c.resolve.take(1, start) || !c.svc.nameSource.take(c.source, 1, start) {
		return false, protocol.ErrRateLimited
	}
	defer c.svc.resolveFloor(start)
	user = strings.ToLower(user)
	if protocol.ValidateUserName(user) != nil {
		return false, nil
	}
	err := c.svc.store.CheckName(user, start)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, protocol.ErrUserExists):
		return false, nil
	}
	return false, err
}
