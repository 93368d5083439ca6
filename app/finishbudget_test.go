package app

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/rpc"
	rpctransport "capnproto.org/go/capnp/v3/rpc/transport"
	rpccp "capnproto.org/go/capnp/v3/std/capnp/rpc"

	"github.com/quicprochat/qpc/client/files"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
	"github.com/quicprochat/qpc/transport"
)

// neverFinish is a capnp transport that never sends the Finish of a
// blobGet: a hostile client. capnp-go reuses a question id once it has
// sent its Finish, so the calls go out under ids of the transport's own
// (from 1<<31, above the library's), mapped back on their Returns.
type neverFinish struct {
	rpctransport.Transport
	mu   sync.Mutex
	next uint32
	wire map[uint32]uint32 // wire id -> the library's
	lib  map[uint32]bool   // library ids whose Finish is dropped
}

func (t *neverFinish) NewMessage() (rpctransport.OutgoingMessage, error) {
	out, err := t.Transport.NewMessage()
	if err != nil {
		return nil, err
	}
	return neverFinishOut{out, t}, nil
}

func (t *neverFinish) RecvMessage() (rpctransport.IncomingMessage, error) {
	in, err := t.Transport.RecvMessage()
	if err != nil || in.Message().Which() != rpccp.Message_Which_return {
		return in, err
	}
	ret, err := in.Message().Return()
	if err != nil {
		return in, nil
	}
	t.mu.Lock()
	if id, ok := t.wire[ret.AnswerId()]; ok {
		delete(t.wire, ret.AnswerId())
		ret.SetAnswerId(id)
	}
	t.mu.Unlock()
	return in, nil
}

type neverFinishOut struct {
	rpctransport.OutgoingMessage
	t *neverFinish
}

func (o neverFinishOut) Send() error {
	m := o.Message()
	o.t.mu.Lock()
	switch m.Which() {
	case rpccp.Message_Which_call:
		if c, err := m.Call(); err == nil && c.MethodId() == 33 {
			o.t.next++
			w := 1<<31 + o.t.next
			o.t.wire[w] = c.QuestionId()
			o.t.lib[c.QuestionId()] = true
			c.SetQuestionId(w)
		}
	case rpccp.Message_Which_finish:
		if f, err := m.Finish(); err == nil && o.t.lib[f.QuestionId()] {
			delete(o.t.lib, f.QuestionId())
			o.t.mu.Unlock()
			return nil
		}
	}
	o.t.mu.Unlock()
	return o.OutgoingMessage.Send()
}

// hoardingSession is a bare capnp connection to n, resumed into a session
// of user, without our early Finish: a caller that never releases its
// answers makes the stock client send no Finish for them (dropping the
// Finish in the transport instead would let the library reuse the ids).
func hoardingSession(t *testing.T, n *running, user string, never bool) schemas.NodeService {
	t.Helper()
	ctx := ctxT(t)
	c, err := dial(t, n.Addr().String(), transportTrust(n))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, _, err := c.Login(ctx, fastOPAQUE, n.cfg.Domain, user, pwOf(user))
	if err != nil {
		t.Fatal(err)
	}
	host, _, err := net.SplitHostPort(n.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conf, err := transport.ClientTLS(host, transportTrust(n))
	if err != nil {
		t.Fatal(err)
	}
	qc, err := transport.Dial(ctx, n.Addr().String(), conf)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := qc.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var tr rpctransport.Transport = rpc.NewStreamTransport(stream)
	if never {
		tr = &neverFinish{Transport: tr, wire: map[uint32]uint32{}, lib: map[uint32]bool{}}
	}
	rc := rpc.NewConn(tr, nil)
	node := schemas.NodeService(rc.Bootstrap(context.Background()))
	t.Cleanup(func() {
		node.Release()
		rc.Close()
		qc.CloseWithError(transport.CodeNormal, "")
	})
	fut, release := node.ResumeSession(ctx, func(p schemas.NodeService_resumeSession_Params) error {
		return p.SetToken(sess.Token)
	})
	defer release()
	if _, err := fut.Struct(); err != nil {
		t.Fatalf("resume: %v", err)
	}
	return node
}

// hoard calls blobGet for the chunks of ref one after the other until
// the node refuses one, and returns how many chunks and bytes it got and
// the refusal (nil if none). The answers are not released here.
func hoard(t *testing.T, node schemas.NodeService, ref files.Reference, keep *[]capnp.ReleaseFunc) (got, held int, refusal error) {
	t.Helper()
	ctx := ctxT(t)
	for i := 0; i < ref.Chunks() && refusal == nil; i++ {
		fut, release := node.BlobGet(ctx, func(p schemas.NodeService_blobGet_Params) error {
			p.SetIndex(uint32(i))
			return p.SetId(ref.ID[:])
		})
		*keep = append(*keep, release)
		res, err := fut.Struct()
		if err != nil {
			refusal = protocol.FromException(err)
			continue
		}
		d, err := res.Data()
		if err != nil {
			t.Fatal(err)
		}
		got++
		held += len(d)
	}
	return got, held, refusal
}

// blobGetErr makes one blobGet call of chunk 0 and returns its error.
func blobGetErr(t *testing.T, node schemas.NodeService, ref files.Reference, keep *[]capnp.ReleaseFunc) error {
	t.Helper()
	fut, release := node.BlobGet(ctxT(t), func(p schemas.NodeService_blobGet_Params) error {
		return p.SetId(ref.ID[:])
	})
	*keep = append(*keep, release)
	_, err := fut.Struct()
	return protocol.FromException(err)
}

// TestAClientThatLeavesChunkAnswersUnfinishedIsRefusedAtTheBudget
// downloads chunks one after the other over a connection that finishes
// no answer (a hostile client): the node answers until the connection
// holds transport.MaxUnfinishedChunkBytes of answers, then refuses with
// rateLimited, keeps refusing, and serves an honest client of ours in
// full meanwhile. The stock capnp-go client, finishing each answer 250 ms
// late, is held back at the budget and served every chunk.
func TestAClientThatLeavesChunkAnswersUnfinishedIsRefusedAtTheBudget(t *testing.T) {
	checkLeaks(t)
	n := start(t, roomyFiles(testConfig(t)))
	ctx := ctxT(t)
	a := newAccount(t, n, "alice")
	path, want := randomFile(t, 6<<20) // 48 chunks: more than the budget
	ref, err := files.Upload(ctx, a.Client, n.cfg.Domain, path, files.Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	for _, tt := range []struct {
		name  string
		never bool
	}{{"never finishing", true}, {"stock capnp-go, finishing late", false}} {
		t.Run(tt.name, func(t *testing.T) {
			user := "mallory"
			if !tt.never {
				user = "stock"
			}
			newAccount(t, n, user)
			node := hoardingSession(t, n, user, tt.never)
			var keep []capnp.ReleaseFunc
			defer func() {
				for _, r := range keep {
					r()
				}
			}()
			got, held, refusal := hoard(t, node, ref, &keep)
			if !tt.never {
				// Its calls past the budget wait for its late Finishes
				// (answerWait) and are served.
				if refusal != nil || got != ref.Chunks() {
					t.Fatalf("the stock client got %d of %d chunks, then %v", got, ref.Chunks(), refusal)
				}
				return
			}
			if refusal == nil {
				t.Fatalf("all %d chunks (%d bytes) served while none was finished", got, held)
			}
			if !errors.Is(refusal, protocol.ErrRateLimited) {
				t.Fatalf("refused with %v, want rateLimited", refusal)
			}
			// One call at a time: the node stops at the first chunk
			// past the budget.
			if held <= transport.MaxUnfinishedChunkBytes-files.ChunkSize || held > transport.MaxUnfinishedChunkBytes+2*files.ChunkSize {
				t.Fatalf("refused after %d chunks (%d bytes); the budget is %d bytes", got, held, transport.MaxUnfinishedChunkBytes)
			}
			t.Logf("refused after %d chunks (%d KiB): %v", got, held>>10, refusal)

			// The node keeps serving others in full.
			b := newAccount(t, n, "bob-"+user)
			dest := filepath.Join(t.TempDir(), "saved.bin")
			if err := files.Download(ctx, b.Client, ref, dest, files.Options{}); err != nil {
				t.Fatalf("an honest download next to the hoarder: %v", err)
			}
			if fileHash(t, dest) != want {
				t.Fatal("the downloaded file differs from the uploaded one")
			}
			os.Remove(dest)

			if err := blobGetErr(t, node, ref, &keep); !errors.Is(err, protocol.ErrRateLimited) {
				t.Fatalf("the hoarder's next call: %v, want rateLimited", err)
			}
		})
	}
}
