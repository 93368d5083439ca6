package node

// SessionUser returns the user logged in on this connection, or why there
// is none (ErrUnauthenticated, ErrSessionExpired, ErrInvalidToken): for
// services beside this one, such as the blob store (node/blob), that
// need the caller's identity.
func (c *Conn) SessionUser() (string, error) { return c.user() }
