package protocol

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/schemas"
)

func channelID(b byte) ChannelID {
	var id ChannelID
	for i := range id {
		id[i] = b ^ byte(i)
	}
	return id
}

func samplePosts() []ChannelMessage {
	return []ChannelMessage{
		{Channel: channelID(1), Seq: 1, ID: PostID(channelID(2)), Body: bytes.Repeat([]byte{7}, 256),
			Created: at(1_800_000_000_123), OriginDomain: "a.mesh"},
		{Channel: channelID(1), Seq: 9, ID: PostID(channelID(3)), Body: bytes.Repeat([]byte{8}, MaxChannelBody),
			Created: at(1_800_000_001_000), OriginDomain: "b.mesh"},
		{Channel: channelID(4), Seq: 2, ID: PostID(channelID(5))},
	}
}

// postsOnTheWire writes posts as a channelFetch answer, lets spoil (if
// not nil) change the list, and reads it back as a client would.
func postsOnTheWire(t testing.TB, posts []ChannelMessage, spoil func(schemas.ChannelMessage_List) error) schemas.ChannelMessage_List {
	t.Helper()
	res := newRoot(t, schemas.NewRootNodeService_channelFetch_Results)
	list, err := res.NewPosts(int32(len(posts)))
	if err != nil {
		t.Fatal(err)
	}
	if err := ChannelMessagesToWire(posts, list); err != nil {
		t.Fatal(err)
	}
	if spoil != nil {
		if err := spoil(list); err != nil {
			t.Fatal(err)
		}
	}
	back, err := reread(t, res, schemas.ReadRootNodeService_channelFetch_Results).Posts()
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func TestChannelMessagesCrossTheWireUnchanged(t *testing.T) {
	want := samplePosts()
	got, err := ChannelMessagesFromWire(postsOnTheWire(t, want, nil))
	if err != nil {
		t.Fatal(err)
	}
	// An empty body reads back as nil; the rest must be equal.
	want[2].Body = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, want)
	}
}

func TestChannelMessagesAreCopiedOutOfTheMessage(t *testing.T) {
	list := postsOnTheWire(t, samplePosts()[:1], nil)
	got, err := ChannelMessagesFromWire(list)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := list.At(0).Body()
	body[0] ^= 0xff
	if got[0].Body[0] != 7 {
		t.Error("the body read shares its bytes with the wire message")
	}
}

func TestChannelMessagesToWireWantsAListOfTheirLength(t *testing.T) {
	res := newRoot(t, schemas.NewRootNodeService_channelFetch_Results)
	list, _ := res.NewPosts(2)
	if err := ChannelMessagesToWire(samplePosts(), list); err == nil {
		t.Error("three posts went into a list of two")
	}
}

func TestAChannelMessageThatBreaksTheSchemaIsAMalformedAnswer(t *testing.T) {
	tests := []struct {
		name    string
		spoil   func(w schemas.ChannelMessage) error
		mention string
	}{
		{"a channel id of 31 bytes", func(w schemas.ChannelMessage) error { return w.SetChannel(make([]byte, 31)) }, "post 1: channel"},
		{"a channel id of 33 bytes", func(w schemas.ChannelMessage) error { return w.SetChannel(make([]byte, 33)) }, "post 1: channel"},
		{"no channel id", func(w schemas.ChannelMessage) error { return w.SetChannel(nil) }, "post 1: channel"},
		{"a post id of 16 bytes", func(w schemas.ChannelMessage) error { return w.SetId(make([]byte, 16)) }, "post 1: id"},
		{"a body one byte over the bound", func(w schemas.ChannelMessage) error { return w.SetBody(make([]byte, MaxChannelBody+1)) }, "post 1: body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list := postsOnTheWire(t, samplePosts(), func(l schemas.ChannelMessage_List) error { return tt.spoil(l.At(1)) })
			got, err := ChannelMessagesFromWire(list)
			if !errors.Is(err, ErrMalformedAnswer) || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("read with error %v; want one wrapping ErrMalformedAnswer that mentions %q", err, tt.mention)
			}
			if got != nil {
				t.Errorf("a malformed answer still gave %d posts", len(got))
			}
		})
	}
}

func TestChannelIDsMustBe32Bytes(t *testing.T) {
	want := channelID(6)
	if got, err := ChannelIDFromWire(want[:]); err != nil || got != want {
		t.Errorf("a 32-byte id read as %x, %v", got, err)
	}
	for _, n := range []int{0, 1, 31, 33, 64} {
		if _, err := ChannelIDFromWire(make([]byte, n)); !errors.Is(err, ErrBadRequest) {
			t.Errorf("an id of %d bytes: %v, want a bad request", n, err)
		}
	}
}

func TestABadRequestIsNotSaidTwice(t *testing.T) {
	_, err := ChannelIDFromWire([]byte("short"))
	again := BadRequest(err)
	if again.Error() != err.Error() || !errors.Is(again, ErrBadRequest) {
		t.Errorf("wrapped again: %q, from %q", again, err)
	}
	if got := strings.Count(again.Error(), "malformed request"); got != 1 {
		t.Errorf("%q says malformed request %d times", again, got)
	}
}

func TestChannelCursorsCrossTheWire(t *testing.T) {
	want := []ChannelCursor{{Channel: channelID(1), AfterSeq: 0}, {Channel: channelID(2), AfterSeq: math.MaxUint64}}
	p := newRoot(t, schemas.NewRootNodeService_channelSubscribe_Params)
	list, err := p.NewChannels(int32(len(want)))
	if err != nil {
		t.Fatal(err)
	}
	if err := ChannelCursorsToWire(want, list); err != nil {
		t.Fatal(err)
	}
	back, err := reread(t, p, schemas.ReadRootNodeService_channelSubscribe_Params).Channels()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ChannelCursorsFromWire(back)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("read back %+v (%v), want %+v", got, err, want)
	}
}

func TestMoreCursorsThanOneSubscriptionFollowsAreABadRequest(t *testing.T) {
	many := make([]ChannelCursor, MaxChannelCursors+1)
	p := newRoot(t, schemas.NewRootNodeService_channelSubscribe_Params)
	list, _ := p.NewChannels(int32(len(many)))
	if err := ChannelCursorsToWire(many, list); !errors.Is(err, ErrBadRequest) {
		t.Errorf("writing %d cursors: %v, want a bad request", len(many), err)
	}
	for i := range list.Len() {
		list.At(i).SetChannel(make([]byte, 32))
	}
	if _, err := ChannelCursorsFromWire(list); !errors.Is(err, ErrBadRequest) {
		t.Errorf("reading %d cursors: %v, want a bad request", list.Len(), err)
	}
	if err := ChannelCursorsToWire(many[:MaxChannelCursors], list); err == nil {
		t.Error("cursors went into a list of another length")
	}
}

func TestACursorWithABadChannelIDIsABadRequest(t *testing.T) {
	p := newRoot(t, schemas.NewRootNodeService_channelSubscribe_Params)
	list, _ := p.NewChannels(2)
	if err := ChannelCursorsToWire([]ChannelCursor{{Channel: channelID(1)}, {Channel: channelID(2)}}, list); err != nil {
		t.Fatal(err)
	}
	list.At(1).SetChannel([]byte("too short"))
	_, err := ChannelCursorsFromWire(list)
	if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "cursor 1") {
		t.Errorf("read as %v, want a bad request naming cursor 1", err)
	}
}

func sampleChannelReport() ChannelReport {
	return ChannelReport{
		Store: ChannelStoreStats{Channels: 3, Posts: 120, Bytes: 120 * 512, MaxBytes: 8 << 20, Seen: 300},
		Counters: map[string]uint64{
			"relayed": 40, "duplicate": 12, "rejected:bad-signature": 1, "published": 7,
		},
	}
}

func TestChannelReportCrossesTheWireUnchanged(t *testing.T) {
	want := sampleChannelReport()
	w := newRoot(t, schemas.NewRootChannelState)
	if err := ChannelReportToWire(want, w); err != nil {
		t.Fatal(err)
	}
	back := reread(t, w, schemas.ReadRootChannelState)
	got, err := ChannelReportFromWire(back)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%+v (%v)\nwant\n%+v", got, err, want)
	}
	list, _ := back.Counters()
	var names []string
	for i := range list.Len() {
		n, _ := list.At(i).Name()
		names = append(names, n)
	}
	if want := []string{"duplicate", "published", "rejected:bad-signature", "relayed"}; !reflect.DeepEqual(names, want) {
		t.Errorf("counters on the wire in order %q, want sorted %q", names, want)
	}
}

func TestAnEmptyChannelReportReadsBackEmpty(t *testing.T) {
	w := newRoot(t, schemas.NewRootChannelState)
	if err := ChannelReportToWire(ChannelReport{}, w); err != nil {
		t.Fatal(err)
	}
	got, err := ChannelReportFromWire(reread(t, w, schemas.ReadRootChannelState))
	if err != nil || !reflect.DeepEqual(got, ChannelReport{}) {
		t.Errorf("an empty report read back as %+v (%v)", got, err)
	}
}

func TestChannelCountsBeyondTheWireAreCappedNotWrapped(t *testing.T) {
	w := newRoot(t, schemas.NewRootChannelState)
	r := ChannelReport{Store: ChannelStoreStats{Channels: -1, Posts: math.MaxInt, Bytes: -5, Seen: math.MaxInt}}
	if err := ChannelReportToWire(r, w); err != nil {
		t.Fatal(err)
	}
	if w.Channels() != 0 || w.Bytes() != 0 {
		t.Errorf("negative counts went out as %d channels, %d bytes; want 0", w.Channels(), w.Bytes())
	}
	if math.MaxInt > math.MaxUint32 && (w.Posts() != math.MaxUint32 || w.Seen() != math.MaxUint32) {
		t.Errorf("counts past 32 bits went out as %d posts, %d seen; want %d", w.Posts(), w.Seen(), uint32(math.MaxUint32))
	}
	w.SetBytes(math.MaxUint64)
	got, err := ChannelReportFromWire(w)
	if err != nil || got.Store.Bytes != math.MaxInt64 {
		t.Errorf("2^64-1 bytes read as %d (%v), want %d", got.Store.Bytes, err, int64(math.MaxInt64))
	}
}

// FuzzChannelMessagesFromWire decodes arbitrary channelFetch answers, as a
// hostile node could send them to `qpc channel recv`.
func FuzzChannelMessagesFromWire(f *testing.F) {
	res := newRoot(f, schemas.NewRootNodeService_channelFetch_Results)
	posts := samplePosts()[:1]
	list, err := res.NewPosts(int32(len(posts)))
	if err != nil {
		f.Fatal(err)
	}
	if err := ChannelMessagesToWire(posts, list); err != nil {
		f.Fatal(err)
	}
	empty := newRoot(f, schemas.NewRootNodeService_channelFetch_Results)
	fuzzRoot(f, []capnp.Struct{capnp.Struct(res), capnp.Struct(empty)}, func(t *testing.T, root capnp.Struct) {
		list, err := schemas.NodeService_channelFetch_Results(root).Posts()
		if err != nil {
			return
		}
		got, err := ChannelMessagesFromWire(list)
		if err != nil {
			if got != nil {
				t.Errorf("failed with %v but gave %d posts", err, len(got))
			}
			return
		}
		for _, m := range got {
			if len(m.Body) > MaxChannelBody {
				t.Errorf("post %d: body of %d bytes passed", m.Seq, len(m.Body))
			}
		}
	})
}

// FuzzChannelCursorsFromWire decodes arbitrary channelSubscribe requests,
// as any client could send them to a node.
func FuzzChannelCursorsFromWire(f *testing.F) {
	p := newRoot(f, schemas.NewRootNodeService_channelSubscribe_Params)
	list, err := p.NewChannels(2)
	if err != nil {
		f.Fatal(err)
	}
	if err := ChannelCursorsToWire([]ChannelCursor{{Channel: channelID(1)}, {Channel: channelID(2), AfterSeq: 5}}, list); err != nil {
		f.Fatal(err)
	}
	fuzzRoot(f, []capnp.Struct{capnp.Struct(p)}, func(t *testing.T, root capnp.Struct) {
		list, err := schemas.NodeService_channelSubscribe_Params(root).Channels()
		if err != nil {
			return
		}
		got, err := ChannelCursorsFromWire(list)
		if err != nil && !errors.Is(err, ErrBadRequest) {
			t.Errorf("failed with %v, not a bad request", err)
		}
		if len(got) > MaxChannelCursors {
			t.Errorf("%d cursors passed", len(got))
		}
	})
}

// FuzzChannelReportFromWire decodes arbitrary channelState answers, as a
// hostile node could send them to `qpc channel stats`.
func FuzzChannelReportFromWire(f *testing.F) {
	full := newRoot(f, schemas.NewRootChannelState)
	if err := ChannelReportToWire(sampleChannelReport(), full); err != nil {
		f.Fatal(err)
	}
	empty := newRoot(f, schemas.NewRootChannelState)
	fuzzRoot(f, []capnp.Struct{capnp.Struct(full), capnp.Struct(empty)}, func(t *testing.T, root capnp.Struct) {
		r, err := ChannelReportFromWire(schemas.ChannelState(root))
		if err != nil {
			return
		}
		if s := r.Store; s.Channels < 0 || s.Posts < 0 || s.Bytes < 0 || s.MaxBytes < 0 || s.Seen < 0 {
			t.Errorf("negative counts: %+v", s)
		}
	})
}

// FuzzChannelIDFromWire reads arbitrary channel ids, as any client could
// send them with channelPost or channelFetch.
func FuzzChannelIDFromWire(f *testing.F) {
	id := channelID(1)
	f.Add(id[:])
	f.Add([]byte{})
	f.Add(make([]byte, 33))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ChannelIDFromWire(data)
		switch {
		case len(data) == len(got) && (err != nil || !bytes.Equal(got[:], data)):
			t.Errorf("a %d-byte id read as %x, %v", len(data), got, err)
		case len(data) != len(got) && !errors.Is(err, ErrBadRequest):
			t.Errorf("a %d-byte id: %v, want a bad request", len(data), err)
		}
	})
}
