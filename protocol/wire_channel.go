package protocol

import (
	"bytes"
	"fmt"
	"math"
	"slices"

	"github.com/quicprochat/qpc/schemas"
)

// This file converts the broadcast channel parts of NodeService
// (channelPost, channelFetch, channelSubscribe, channelState) between the
// node's types and the wire. Client and node use the same functions; what
// the node reads from a client is a bad request when it breaks the
// schema's rules, what the client reads from a node a malformed answer.

// MaxChannelBody is the most bytes of an encrypted channel post body
// (schemas/mesh.capnp). The most channels of one channelSubscribe is
// MaxChannelCursors.
const MaxChannelBody = 8192

// ChannelIDFromWire reads a channel id, which must be exactly 32 bytes;
// anything else is a bad request.
func ChannelIDFromWire(data []byte) (ChannelID, error) {
	var id ChannelID
	if len(data) != len(id) {
		return id, BadRequest(fmt.Errorf("channel id of %d bytes, want %d", len(data), len(id)))
	}
	copy(id[:], data)
	return id, nil
}

// fixed32 reads a 32-byte field of an answer; any other length is
// malformed.
func fixed32(b []byte, err error) ([32]byte, error) {
	var out [32]byte
	if err != nil {
		return out, err
	}
	if len(b) != len(out) {
		return out, fmt.Errorf("%w: %d bytes, want %d", ErrMalformedAnswer, len(b), len(out))
	}
	copy(out[:], b)
	return out, nil
}

// ChannelMessagesToWire writes msgs into list, which has room for exactly
// len(msgs) (a Results' or Params' NewPosts).
func ChannelMessagesToWire(msgs []ChannelMessage, list schemas.ChannelMessage_List) error {
	if list.Len() != len(msgs) {
		return fmt.Errorf("channel messages: a list of %d for %d posts", list.Len(), len(msgs))
	}
	for i, m := range msgs {
		w := list.At(i)
		if err := w.SetChannel(m.Channel[:]); err != nil {
			return err
		}
		w.SetSeq(m.Seq)
		if err := w.SetId(m.ID[:]); err != nil {
			return err
		}
		if err := w.SetBody(m.Body); err != nil {
			return err
		}
		w.SetCreatedMillis(millisToWire(m.Created))
		if err := w.SetOriginDomain(m.OriginDomain); err != nil {
			return err
		}
	}
	return nil
}

// ChannelMessagesFromWire reads the posts of a channelFetch answer or a
// ChannelListener delivery, copying each body out of the message. A
// channel or post id that is not 32 bytes, or a body over MaxChannelBody,
// fails with an error wrapping ErrMalformedAnswer.
func ChannelMessagesFromWire(list schemas.ChannelMessage_List) ([]ChannelMessage, error) {
	out := make([]ChannelMessage, list.Len())
	for i := range out {
		w := list.At(i)
		m := &out[i]
		ch, err := fixed32(w.Channel())
		if err != nil {
			return nil, fmt.Errorf("post %d: channel: %w", i, err)
		}
		id, err := fixed32(w.Id())
		if err != nil {
			return nil, fmt.Errorf("post %d: id: %w", i, err)
		}
		body, err := w.Body()
		if err != nil {
			return nil, fmt.Errorf("post %d: body: %w", i, err)
		}
		if len(body) > MaxChannelBody {
			return nil, fmt.Errorf("%w: post %d: body of %d bytes, more than %d", ErrMalformedAnswer, i, len(body), MaxChannelBody)
		}
		origin, err := w.OriginDomain()
		if err != nil {
			return nil, fmt.Errorf("post %d: origin domain: %w", i, err)
		}
		m.Channel, m.ID, m.Body, m.OriginDomain = ch, id, bytes.Clone(body), origin
		m.Seq = w.Seq()
		m.Created = millisFromWire(w.CreatedMillis())
	}
	return out, nil
}

// ChannelCursorsToWire writes cursors into list, which has room for
// exactly len(cursors) (a Params' NewChannels). More than
// MaxChannelCursors is a bad request, refused before it is sent.
func ChannelCursorsToWire(cursors []ChannelCursor, list schemas.ChannelCursor_List) error {
	if len(cursors) > MaxChannelCursors {
		return BadRequest(fmt.Errorf("%d channels, at most %d per subscription", len(cursors), MaxChannelCursors))
	}
	if list.Len() != len(cursors) {
		return fmt.Errorf("channel cursors: a list of %d for %d cursors", list.Len(), len(cursors))
	}
	for i, c := range cursors {
		w := list.At(i)
		if err := w.SetChannel(c.Channel[:]); err != nil {
			return err
		}
		w.SetAfterSeq(c.AfterSeq)
	}
	return nil
}

// ChannelCursorsFromWire reads the cursors of a channelSubscribe. More
// than MaxChannelCursors, or a channel id that is not 32 bytes, is a bad
// request.
func ChannelCursorsFromWire(list schemas.ChannelCursor_List) ([]ChannelCursor, error) {
	if list.Len() > MaxChannelCursors {
		return nil, BadRequest(fmt.Errorf("%d channels, at most %d per subscription", list.Len(), MaxChannelCursors))
	}
	out := make([]ChannelCursor, list.Len())
	for i := range out {
		w := list.At(i)
		b, err := w.Channel()
		if err != nil {
			return nil, BadRequest(fmt.Errorf("cursor %d: %w", i, err))
		}
		if out[i].Channel, err = ChannelIDFromWire(b); err != nil {
			return nil, fmt.Errorf("cursor %d: %w", i, err)
		}
		out[i].AfterSeq = w.AfterSeq()
	}
	return out, nil
}

// ChannelReportToWire writes r into w; the counters go sorted by name, so
// that equal reports are equal on the wire. Counts beyond the wire's 32
// bits are capped.
func ChannelReportToWire(r ChannelReport, w schemas.ChannelState) error {
	s := r.Store
	w.SetChannels(CountToWire(s.Channels))
	w.SetPosts(CountToWire(s.Posts))
	w.SetBytes(uint64(max(s.Bytes, 0)))
	w.SetMaxBytes(uint64(max(s.MaxBytes, 0)))
	w.SetSeen(CountToWire(s.Seen))
	names := make([]string, 0, len(r.Counters))
	for name := range r.Counters {
		names = append(names, name)
	}
	slices.Sort(names)
	counters, err := w.NewCounters(int32(len(names)))
	if err != nil {
		return err
	}
	for i, name := range names {
		c := counters.At(i)
		if err := c.SetName(name); err != nil {
			return err
		}
		c.SetValue(r.Counters[name])
	}
	return nil
}

// ChannelReportFromWire reads a channelState answer; a counter named twice
// keeps its last value, and a report without counters has nil Counters.
func ChannelReportFromWire(w schemas.ChannelState) (ChannelReport, error) {
	r := ChannelReport{Store: ChannelStoreStats{
		Channels: toInt(uint64(w.Channels())),
		Posts:    toInt(uint64(w.Posts())),
		Bytes:    toInt64(w.Bytes()),
		MaxBytes: toInt64(w.MaxBytes()),
		Seen:     toInt(uint64(w.Seen())),
	}}
	counters, err := w.Counters()
	if err != nil {
		return r, fmt.Errorf("counters: %w", err)
	}
	if counters.Len() > 0 {
		r.Counters = make(map[string]uint64, counters.Len())
	}
	for i := range counters.Len() {
		c := counters.At(i)
		name, err := c.Name()
		if err != nil {
			return r, fmt.Errorf("counter %d: %w", i, err)
		}
		r.Counters[name] = c.Value()
	}
	return r, nil
}

// CountToWire converts a count for a 32-bit wire field, clamped to its
// range, so that a count never wraps on the wire.
func CountToWire(v int) uint32 {
	if v < 0 {
		return 0
	}
	return uint32(min(uint64(v), math.MaxUint32))
}
