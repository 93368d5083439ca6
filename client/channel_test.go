package client

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/channel"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// fakeChannelNode answers the channel calls of NodeService as a test sets
// it up. Other calls are not made: the nil NodeService_Server it embeds
// would panic.
type fakeChannelNode struct {
	schemas.NodeService_Server

	mu sync.Mutex
	// err fails every channel call when set.
	err error
	// postID answers channelPost; post records its arguments.
	postID []byte
	post   struct {
		channel, body []byte
		ttl           uint32
		hops          uint8
	}
	// fetched answers channelFetch.
	fetched []protocol.ChannelMessage
	// listener is the listener of the last channelSubscribe, cursors its
	// cursors; cancelled is closed when its subscription is cancelled.
	listener  schemas.ChannelListener
	cursors   []protocol.ChannelCursor
	calls     int
	cancelled chan struct{}
	report    protocol.ChannelReport
	// published answers resolveUser by user name; resolves counts the
	// calls.
	published map[string]protocol.PublishedKeys
	resolves  int
	// log proves the answers of resolveUser.
	log *testLog
}

func (f *fakeChannelNode) ResolveUser(ctx context.Context, call schemas.NodeService_resolveUser) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resolves++
	user, err := call.Args().User()
	if err != nil {
		return err
	}
	k, ok := f.published[user]
	if !ok {
		return protocol.Exception(protocol.ErrUnknownUser)
	}
	k.Transparency = f.log.answer(user+"@"+f.log.domain, call.Args().KnownSize()).Transparency
	return protocol.SetKeys(call.AllocResults, k)
}

// KtGossip takes the heads and holds no evidence.
func (f *fakeChannelNode) KtGossip(ctx context.Context, call schemas.NodeService_ktGossip) error {
	_, err := call.AllocResults()
	return err
}

func (f *fakeChannelNode) ChannelPost(ctx context.Context, call schemas.NodeService_channelPost) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return protocol.Exception(f.err)
	}
	a := call.Args()
	ch, _ := a.Channel()
	body, _ := a.Body()
	f.post.channel, f.post.body = append([]byte(nil), ch...), append([]byte(nil), body...)
	f.post.ttl, f.post.hops = a.TtlSeconds(), a.MaxHops()
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	return res.SetId(f.postID)
}

func (f *fakeChannelNode) ChannelFetch(ctx context.Context, call schemas.NodeService_channelFetch) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return protocol.Exception(f.err)
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	list, err := res.NewPosts(int32(len(f.fetched)))
	if err != nil {
		return err
	}
	return protocol.ChannelMessagesToWire(f.fetched, list)
}

func (f *fakeChannelNode) ChannelSubscribe(ctx context.Context, call schemas.NodeService_channelSubscribe) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return protocol.Exception(f.err)
	}
	list, err := call.Args().Channels()
	if err != nil {
		return err
	}
	if f.cursors, err = protocol.ChannelCursorsFromWire(list); err != nil {
		return protocol.Exception(err)
	}
	f.listener = call.Args().Listener().AddRef()
	f.cancelled = make(chan struct{})
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	return res.SetSubscription(schemas.Subscription_ServerToClient(fakeSubscription{f.cancelled}))
}

func (f *fakeChannelNode) ChannelState(ctx context.Context, call schemas.NodeService_channelState) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return protocol.Exception(f.err)
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	w, err := res.NewState()
	if err != nil {
		return err
	}
	return protocol.ChannelReportToWire(f.report, w)
}

type fakeSubscription struct{ cancelled chan struct{} }

func (s fakeSubscription) Cancel(context.Context, schemas.Subscription_cancel) error {
	close(s.cancelled)
	return nil
}

// fakeClient is a Client whose node is f, in this process.
func fakeClient(t *testing.T, f *fakeChannelNode) *Client {
	t.Helper()
	n := schemas.NodeService_ServerToClient(f)
	t.Cleanup(n.Release)
	return &Client{node: n}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func chanID(b byte) protocol.ChannelID {
	var id protocol.ChannelID
	for i := range id {
		id[i] = b + byte(i)
	}
	return id
}

func TestChannelPostSendsChannelBodyAndLimitsAndReturnsTheID(t *testing.T) {
	want := protocol.PostID(chanID(9))
	f := &fakeChannelNode{postID: want[:]}
	c := fakeClient(t, f)
	ch := chanID(1)
	got, err := c.ChannelPost(testCtx(t), ch, []byte("sealed"), 90*time.Second, 3)
	if err != nil || got != want {
		t.Fatalf("ChannelPost = %x, %v; want %x", got, err, want)
	}
	if string(f.post.channel) != string(ch[:]) || string(f.post.body) != "sealed" || f.post.ttl != 90 || f.post.hops != 3 {
		t.Errorf("the node got %+v", f.post)
	}
}

func TestTTLsGoOutInWholeSecondsAndNeverAsTheDefaultByAccident(t *testing.T) {
	for _, tt := range []struct {
		ttl  time.Duration
		want uint32
	}{
		{0, 0},
		{-time.Second, 0},
		{time.Millisecond, 1},
		{1500 * time.Millisecond, 2},
		{time.Hour, 3600},
		{1 << 62, 1<<32 - 1},
		{math.MaxInt64, 1<<32 - 1},
	} {
		if got := ttlSeconds(tt.ttl); got != tt.want {
			t.Errorf("ttl %s went out as %d s, want %d", tt.ttl, got, tt.want)
		}
	}
}

func TestAPostIDThatIsNot32BytesIsAMalformedAnswer(t *testing.T) {
	c := fakeClient(t, &fakeChannelNode{postID: []byte("short")})
	if _, err := c.ChannelPost(testCtx(t), chanID(1), []byte("x"), 0, 0); !errors.Is(err, protocol.ErrMalformedAnswer) {
		t.Errorf("ChannelPost = %v, want a malformed answer", err)
	}
}

func TestChannelCallsReturnTheNodesErrors(t *testing.T) {
	for _, want := range []error{protocol.ErrChannelFull, protocol.ErrRateLimited, protocol.ErrBadPost, protocol.ErrUnauthenticated} {
		c := fakeClient(t, &fakeChannelNode{err: want})
		ctx := testCtx(t)
		_, err := c.ChannelPost(ctx, chanID(1), []byte("x"), 0, 0)
		if !errors.Is(err, want) {
			t.Errorf("post: %v, want %v", err, want)
		}
		if _, err := c.ChannelFetch(ctx, chanID(1), 0, 10); !errors.Is(err, want) {
			t.Errorf("fetch: %v, want %v", err, want)
		}
		if _, err := c.ChannelSubscribe(ctx, []protocol.ChannelCursor{{Channel: chanID(1)}}, nil); !errors.Is(err, want) {
			t.Errorf("subscribe: %v, want %v", err, want)
		}
		if _, err := c.ChannelState(ctx); !errors.Is(err, want) {
			t.Errorf("state: %v, want %v", err, want)
		}
	}
}

func TestChannelFetchReturnsThePostsOfTheChannelInOrder(t *testing.T) {
	ch := chanID(1)
	want := []protocol.ChannelMessage{
		{Channel: ch, Seq: 4, ID: protocol.PostID(chanID(2)), Body: []byte("a"), Created: time.UnixMilli(1_800_000_000_000), OriginDomain: "a.mesh"},
		{Channel: ch, Seq: 7, ID: protocol.PostID(chanID(3)), Body: []byte("b"), Created: time.UnixMilli(1_800_000_000_001), OriginDomain: "b.mesh"},
	}
	c := fakeClient(t, &fakeChannelNode{fetched: want})
	got, err := c.ChannelFetch(testCtx(t), ch, 3, 10)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ChannelFetch = %+v, %v; want %+v", got, err, want)
	}
}

func TestAFetchAnswerThatBreaksItsPromiseIsMalformed(t *testing.T) {
	ch := chanID(1)
	post := func(c protocol.ChannelID, seq uint64) protocol.ChannelMessage {
		return protocol.ChannelMessage{Channel: c, Seq: seq, ID: protocol.PostID(chanID(byte(seq)))}
	}
	tests := []struct {
		name  string
		posts []protocol.ChannelMessage
		after uint64
		limit int
	}{
		{"a post of another channel", []protocol.ChannelMessage{post(ch, 1), post(chanID(2), 2)}, 0, 10},
		{"a post not after the cursor", []protocol.ChannelMessage{post(ch, 5)}, 5, 10},
		{"posts out of order", []protocol.ChannelMessage{post(ch, 3), post(ch, 2)}, 0, 10},
		{"the same post twice", []protocol.ChannelMessage{post(ch, 3), post(ch, 3)}, 0, 10},
		{"more posts than the limit", []protocol.ChannelMessage{post(ch, 1), post(ch, 2)}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeClient(t, &fakeChannelNode{fetched: tt.posts})
			got, err := c.ChannelFetch(testCtx(t), ch, tt.after, tt.limit)
			if !errors.Is(err, protocol.ErrMalformedAnswer) || got != nil {
				t.Errorf("ChannelFetch = %d posts, %v; want a malformed answer", len(got), err)
			}
		})
	}
}

func TestChannelSubscribeHandsPushedPostsToTheHandlerUntilCancelled(t *testing.T) {
	f := &fakeChannelNode{}
	c := fakeClient(t, f)
	ctx := testCtx(t)
	cursors := []protocol.ChannelCursor{{Channel: chanID(1), AfterSeq: 2}, {Channel: chanID(5)}}
	got := make(chan []protocol.ChannelMessage, 1)
	fail := errors.New("handler says no")
	sub, err := c.ChannelSubscribe(ctx, cursors, func(_ context.Context, posts []protocol.ChannelMessage) error {
		got <- posts
		if posts[0].Seq == 13 {
			return fail
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.cursors, cursors) {
		t.Errorf("the node got cursors %+v, want %+v", f.cursors, cursors)
	}
	want := []protocol.ChannelMessage{{Channel: chanID(1), Seq: 3, ID: protocol.PostID(chanID(7)), Body: []byte("sealed"), OriginDomain: "a.mesh"}}
	deliver := func(posts []protocol.ChannelMessage) error {
		fut, release := f.listener.Deliver(ctx, func(p schemas.ChannelListener_deliver_Params) error {
			list, err := p.NewPosts(int32(len(posts)))
			if err != nil {
				return err
			}
			return protocol.ChannelMessagesToWire(posts, list)
		})
		defer release()
		_, err := fut.Struct()
		return err
	}
	if err := deliver(want); err != nil {
		t.Fatal(err)
	}
	if posts := <-got; !reflect.DeepEqual(posts, want) {
		t.Errorf("the handler got %+v, want %+v", posts, want)
	}
	want[0].Seq = 13
	if err := deliver(want); err == nil || !strings.Contains(err.Error(), fail.Error()) {
		t.Errorf("a delivery the handler refused returned %v to the node", err)
	}
	<-got
	if err := sub.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-f.cancelled:
	case <-ctx.Done():
		t.Fatal("Cancel did not reach the node")
	}
	f.listener.Release()
}

func TestMoreCursorsThanTheNodeTakesAreRefusedBeforeTheyAreSent(t *testing.T) {
	f := &fakeChannelNode{}
	c := fakeClient(t, f)
	many := make([]protocol.ChannelCursor, protocol.MaxChannelCursors+1)
	_, err := c.ChannelSubscribe(testCtx(t), many, func(context.Context, []protocol.ChannelMessage) error { return nil })
	if !errors.Is(err, protocol.ErrBadRequest) || f.calls != 0 {
		t.Errorf("%d cursors: %v after %d calls; want a bad request and no call", len(many), err, f.calls)
	}
}

func TestChannelStateReadsTheNodesReport(t *testing.T) {
	want := protocol.ChannelReport{
		Store:    protocol.ChannelStoreStats{Channels: 2, Posts: 5, Bytes: 2560, MaxBytes: 1 << 20, Seen: 9},
		Counters: map[string]uint64{"published": 5, "rejected:bad-signature": 1},
	}
	c := fakeClient(t, &fakeChannelNode{report: want})
	got, err := c.ChannelState(testCtx(t))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ChannelState = %+v, %v; want %+v", got, err, want)
	}
}

func TestTheWireTakesTheLargestBodyTheFormatAllows(t *testing.T) {
	if protocol.MaxChannelBody != channel.MaxBody {
		t.Errorf("the wire bounds a body at %d bytes, crypto/channel at %d", protocol.MaxChannelBody, channel.MaxBody)
	}
}
