package noderpc

import (
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/schemas"
)

func healthToWire(h node.Health, w schemas.Health) error {
	for _, set := range []struct {
		fn  func(string) error
		val string
	}{
		{w.SetVersion, h.Version},
		{w.SetCommit, h.Commit},
		{w.SetPlatform, h.Platform},
		{w.SetNodeId, h.NodeID},
		{w.SetDomain, h.Domain},
	} {
		if err := set.fn(set.val); err != nil {
			return err
		}
	}
	w.SetUptimeMillis(uint64(h.Uptime.Milliseconds()))
	return nil
}

// KeysToWire writes k into w; the client publishes keys with it too.
func KeysToWire(k node.PublishedKeys, w schemas.PublishedKeys) error {
	if err := w.SetIdentityKey(k.IdentityKey); err != nil {
		return err
	}
	if err := w.SetHpkeKey(k.HPKEKey); err != nil {
		return err
	}
	if !k.Published.IsZero() {
		w.SetPublishedMillis(k.Published.UnixMilli())
	}
	return w.SetSignature(k.Signature)
}

// KeysFromWire reads published keys, copying every byte slice out of the
// message.
func KeysFromWire(w schemas.PublishedKeys) (node.PublishedKeys, error) {
	var k node.PublishedKeys
	id, err := w.IdentityKey()
	if err != nil {
		return k, err
	}
	hk, err := w.HpkeKey()
	if err != nil {
		return k, err
	}
	sig, err := w.Signature()
	if err != nil {
		return k, err
	}
	k.IdentityKey, k.HPKEKey, k.Signature = clone(id), clone(hk), clone(sig)
	if ms := w.PublishedMillis(); ms != 0 {
		k.Published = time.UnixMilli(ms)
	}
	return k, nil
}

func envelopeFromWire(w schemas.Envelope) (node.Outgoing, error) {
	rcpt, err := w.Recipient()
	if err != nil {
		return node.Outgoing{}, err
	}
	payload, err := w.Payload()
	if err != nil {
		return node.Outgoing{}, err
	}
	return node.Outgoing{
		Recipient: rcpt,
		Payload:   clone(payload),
		TTL:       time.Duration(w.TtlSeconds()) * time.Second,
	}, nil
}

func receiptToWire(r node.Receipt, now time.Time, w schemas.Receipt) {
	w.SetSeq(r.Seq)
	w.SetServerTimeMillis(now.UnixMilli())
	w.SetError(CodeOf(r.Err))
}

func messagesToWire(msgs []node.Message, out schemas.Message_List) error {
	for i, m := range msgs {
		w := out.At(i)
		w.SetSeq(m.Seq)
		w.SetEnqueuedMillis(m.Enqueued.UnixMilli())
		w.SetExpiresMillis(m.Expires.UnixMilli())
		if err := w.SetPayload(m.Payload); err != nil {
			return err
		}
	}
	return nil
}

// MessagesFromWire reads a list of messages, copying payloads out of the
// message.
func MessagesFromWire(list schemas.Message_List) ([]node.Message, error) {
	out := make([]node.Message, list.Len())
	for i := range out {
		w := list.At(i)
		p, err := w.Payload()
		if err != nil {
			return nil, err
		}
		out[i] = node.Message{
			Seq:      w.Seq(),
			Payload:  clone(p),
			Enqueued: time.UnixMilli(w.EnqueuedMillis()),
			Expires:  time.UnixMilli(w.ExpiresMillis()),
		}
	}
	return out, nil
}
