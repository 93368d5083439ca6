package flood

import (
	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/internal/capnpmsg"
	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/schemas"
)

// FromWire copies a post out of w, so that the result outlives w's
// message. It fails with signed.ErrMalformed when a field cannot be read
// (a bad pointer, or the message's traversal limit is spent), when the
// channel id is not 32 bytes, or when a field is longer than in any valid
// post; otherwise it does not verify: call Verify.
func FromWire(w schemas.ChannelPost) (*Post, error) {
	var c capnpmsg.Copier
	p := &Post{
		Header: signed.FromWire(w, &c),
		Body:   c.Data("body", w.Body, MaxBody),
	}
	c.Fixed("channel", w.Channel, p.Channel[:])
	if err := c.Err(); err != nil {
		return nil, rules.Malformed(err)
	}
	return p, nil
}

// ToWire writes p into w, hop count included. It does not verify p (a node
// that relays has done so); it fails with signed.ErrMalformed only for
// values the wire cannot carry: a negative TTL or one of more than 2^32-1
// seconds or not whole seconds, or a creation time finer than a
// millisecond.
func ToWire(p *Post, w schemas.ChannelPost) error {
	return signed.ToWire(&rules, &p.Header, w,
		signed.Set("channel", w.SetChannel, p.Channel[:]),
		signed.Set("body", w.SetBody, p.Body))
}

// Unmarshal decodes what Marshal wrote. It never panics, takes at most
// MaxEncoded bytes and fails with signed.ErrMalformed for anything that is
// not exactly one well-formed message (see capnpmsg.Unmarshal) holding a
// post. The post does not share memory with b. It does not verify: call
// Verify.
func Unmarshal(b []byte) (*Post, error) {
	return signed.Unmarshal(&rules, b, MaxEncoded, schemas.ReadRootChannelPost, FromWire)
}

// Marshal encodes p as a standalone Cap'n Proto message holding one
// schemas.ChannelPost, the form posts are stored in. Like ToWire it does
// not verify p.
func Marshal(p *Post) ([]byte, error) {
	size := capnpmsg.Size(capnp.ObjectSize{DataSize: 16, PointerCount: 5},
		len(p.Channel), len(p.OriginKey), len(p.OriginDomain)+1, len(p.Body), len(p.Signature))
	return signed.Marshal(&rules, size, schemas.NewRootChannelPost, func(w schemas.ChannelPost) error { return ToWire(p, w) })
}
