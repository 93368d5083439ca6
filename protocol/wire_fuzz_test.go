package protocol

import (
	"bytes"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/schemas"
)

// The decoders of what a client sends a node (published keys, a batch of
// envelopes) and of what a node answers a client (mailbox messages), fed
// arbitrary messages: they must not panic, and what they return must not
// alias the message they read.

func FuzzKeysFromWire(f *testing.F) {
	p := newRoot(f, schemas.NewRootNodeService_publishKeys_Params)
	w, err := p.NewKeys()
	if err != nil {
		f.Fatal(err)
	}
	k := PublishedKeys{IdentityKey: bytes.Repeat([]byte{1}, 32), HPKEKey: bytes.Repeat([]byte{2}, 1216), Signature: bytes.Repeat([]byte{3}, 64), Published: time.UnixMilli(1000), Answer: []byte{4},
		AccountKey: bytes.Repeat([]byte{5}, 32), DeviceList: []byte("signed list")}
	if err := KeysToWire(k, w); err != nil {
		f.Fatal(err)
	}
	fuzzRoot(f, []capnp.Struct{capnp.Struct(p)}, func(t *testing.T, root capnp.Struct) {
		w, err := schemas.NodeService_publishKeys_Params(root).Keys()
		if err != nil {
			return
		}
		k, err := KeysFromWire(w)
		if err != nil {
			return
		}
		if id, _ := w.IdentityKey(); len(id) > 0 && &id[0] == &k.IdentityKey[0] {
			t.Error("the identity key aliases the message")
		}
		if l, _ := w.DeviceList(); len(l) > 0 && &l[0] == &k.DeviceList[0] {
			t.Error("the device list aliases the message")
		}
	})
}

func FuzzEnvelopesFromWire(f *testing.F) {
	p := newRoot(f, schemas.NewRootNodeService_batchEnqueue_Params)
	msgs := []Outgoing{{Recipient: "bob@a.mesh", Payload: []byte("sealed"), TTL: time.Hour, MaxHops: 4}, {Recipient: "carol", Payload: []byte{0}}}
	if err := EnvelopesToWire(msgs, p.NewEnvelopes); err != nil {
		f.Fatal(err)
	}
	fuzzRoot(f, []capnp.Struct{capnp.Struct(p)}, func(t *testing.T, root capnp.Struct) {
		out, err := EnvelopesFromWire(schemas.NodeService_batchEnqueue_Params(root).Envelopes())
		if err != nil {
			return
		}
		for _, m := range out {
			if m.TTL < 0 {
				t.Errorf("negative TTL %v", m.TTL)
			}
		}
	})
}

func FuzzMessagesFromWire(f *testing.F) {
	r := newRoot(f, schemas.NewRootNodeService_fetch_Results)
	msgs := []Message{{Seq: 1, Payload: []byte("a"), Enqueued: time.UnixMilli(1000), Expires: time.UnixMilli(2000)}, {Seq: 2}}
	list, err := r.NewMessages(int32(len(msgs)))
	if err != nil {
		f.Fatal(err)
	}
	if err := MessagesToWire(msgs, list); err != nil {
		f.Fatal(err)
	}
	fuzzRoot(f, []capnp.Struct{capnp.Struct(r)}, func(t *testing.T, root capnp.Struct) {
		list, err := schemas.NodeService_fetch_Results(root).Messages()
		if err != nil {
			return
		}
		out, err := MessagesFromWire(list)
		if err == nil && len(out) != list.Len() {
			t.Errorf("%d messages read from a list of %d", len(out), list.Len())
		}
	})
}

func FuzzLinkRequestsFromWire(f *testing.F) {
	r := newRoot(f, schemas.NewRootNodeService_linkRequests_Results)
	reqs := []LinkRequest{{ID: 1, Request: []byte("fields"), Tag: bytes.Repeat([]byte{7}, LinkTagLen), Created: time.UnixMilli(1000)}, {ID: 2, Request: []byte{1}, Tag: make([]byte, LinkTagLen)}}
	if err := LinkRequestsToWire(reqs, r.NewRequests); err != nil {
		f.Fatal(err)
	}
	fuzzRoot(f, []capnp.Struct{capnp.Struct(r)}, func(t *testing.T, root capnp.Struct) {
		list, err := schemas.NodeService_linkRequests_Results(root).Requests()
		if err != nil {
			return
		}
		out, err := LinkRequestsFromWire(list)
		if err != nil {
			return
		}
		for i, q := range out {
			if err := CheckLinkRequest(q.Request, q.Tag); err != nil {
				t.Errorf("request %d passed the decoder but not its check: %v", i, err)
			}
			if w, _ := list.At(i).Request(); &w[0] == &q.Request[0] {
				t.Errorf("request %d aliases the message", i)
			}
		}
	})
}

func FuzzParseRecipient(f *testing.F) {
	for _, s := range []string{"alice", "alice@a.mesh", "alice#0123456789abcdef", "Alice#0123456789ABCDEF@A.mesh", "@bob", "a#@b", "#0123456789abcdef"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseRecipient(s, "home.mesh")
		if err != nil {
			return
		}
		// What the parser returns parses back to itself: every hop passes
		// the recipient's text on, and the home node reads it again.
		b, err := ParseRecipient(a.String(), "other.mesh")
		if err != nil || b != a {
			t.Fatalf("ParseRecipient(%q) = %+v, but its text %q reads as %+v, %v", s, a, a.String(), b, err)
		}
		if err := ValidRecipient(a.String()); err != nil {
			t.Errorf("the text %q of a parsed recipient is not valid: %v", a, err)
		}
		if a.Device != "" {
			if _, err := ParseAddress(a.String()); err == nil {
				t.Errorf("ParseAddress took the device address %q", a)
			}
			if u, d, err := ParseQueue(QueueName(a.User, a.Device)); err != nil || u != a.User || d != a.Device {
				t.Errorf("queue of %+v reads back as %q %q, %v", a, u, d, err)
			}
		}
	})
}
