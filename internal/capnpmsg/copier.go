package capnpmsg

import "fmt"

// Copier copies the byte fields of a decoded struct into memory of their
// own, so that what is decoded outlives the message, checking each field's
// length before it copies: a message whose fields all point at one large
// field (as an RPC message under a generous traversal limit may) cannot
// make it copy that field once per pointer. It calls each getter once,
// since reads count against the message's traversal limit.
//
// After the first failure a Copier copies nothing more and Err returns
// that failure, so that a decoder can copy all fields and check once.
type Copier struct {
	err error
}

// Data returns a copy of the field get returns, or nil if it is empty or
// absent, or if the field cannot be read or is longer than max.
func (c *Copier) Data(name string, get func() ([]byte, error), max int) []byte {
	b := c.read(name, get, max)
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// Text is Data for a Text field read by its Bytes getter; "" if absent.
func (c *Copier) Text(name string, get func() ([]byte, error), max int) string {
	return string(c.read(name, get, max))
}

// Fixed copies the field get returns into dst, which it must fill exactly:
// a field of another length, absent ones included, is a failure.
func (c *Copier) Fixed(name string, get func() ([]byte, error), dst []byte) {
	b := c.read(name, get, len(dst))
	if c.err == nil && len(b) != len(dst) {
		c.err = fmt.Errorf("%s: %d bytes, want %d", name, len(b), len(dst))
	}
	if c.err == nil {
		copy(dst, b)
	}
}

// Err returns the first failure, naming the field, or nil.
func (c *Copier) Err() error { return c.err }

func (c *Copier) read(name string, get func() ([]byte, error), max int) []byte {
	if c.err != nil {
		return nil
	}
	b, err := get()
	if err == nil && len(b) > max {
		err = fmt.Errorf("%d bytes, at most %d", len(b), max)
	}
	if err != nil {
		c.err = fmt.Errorf("%s: %v", name, err)
		return nil
	}
	return b
}
