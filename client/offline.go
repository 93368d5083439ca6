package client

import "errors"

// ErrOffline means a call was made on the stand-in of a connection that
// does not exist yet (Offline): the node has not been reached.
var ErrOffline = errors.New("not connected to the node yet (offline)")

// Offline returns a stand-in Client for the node at addr, with the
// certificate fingerprint fp, that is not connected: every call fails
// with ErrOffline, Close does nothing. An account opened without its node
// (qpc repl starting offline) holds one until a real connection replaces
// it, so that what it is asked meanwhile fails as offline, not as a nil
// pointer.
func Offline(addr, fp string) *Client {
	return &Client{addr: addr, fingerprint: fp, offline: true}
}

// IsOffline reports whether c is a stand-in made by Offline.
func (c *Client) IsOffline() bool { return c.offline }
