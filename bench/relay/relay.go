package relay

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/transport"
)

// Frame types.
const (
	frameHello = 1
	frameSend  = 2
	frameAck   = 3
	framePush  = 4
)

// maxFrame bounds a frame's body: a payload of the node's default limit
// and change.
const maxFrame = 1 << 20

// alpn names the relay's protocol in TLS.
const alpn = "qpc-bench-relay"

// Errors of the relay's wire.
var (
	// ErrFrame is a frame that is too long, empty or of the wrong type.
	ErrFrame = errors.New("relay: malformed frame")
)

// maxBatch bounds a group commit, as the node's store bounds its batches.
const maxBatch = 4096

// Server is a running relay.
type Server struct {
	ln   *transport.Listener
	db   *bolt.DB // nil: memory only
	in   chan item
	seq  uint64
	mu   sync.Mutex
	rcv  map[uint32]*peer
	wg   sync.WaitGroup
	quit chan struct{}

	// Commits and Messages count group commits and the messages in them;
	// committing is the time the commits took, transaction and sync.
	statMu            sync.Mutex
	commits, messages uint64
	committing        time.Duration
}

type item struct {
	from    *peer
	pair    uint32
	payload []byte
}

// peer is one client connection: its writer goroutine takes whole
// batches of frames, so the committer never blocks on a slow reader.
type peer struct {
	out  chan []byte
	gone chan struct{} // closed when the client's stream ends
}

// Listen starts a relay on addr (port 0: any). With dbPath "" it keeps
// nothing; else it group-commits every message into the bbolt file at
// dbPath, with the options the node's store uses.
func Listen(addr, dbPath string) (*Server, error) {
	tlsConf, err := serverTLS()
	if err != nil {
		return nil, err
	}
	s := &Server{in: make(chan item, maxBatch), rcv: map[uint32]*peer{}, quit: make(chan struct{})}
	if dbPath != "" {
		s.db, err = bolt.Open(dbPath, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
		if err != nil {
			return nil, err
		}
		if err := s.db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists([]byte("m")); return err }); err != nil {
			s.db.Close()
			return nil, err
		}
	}
	if s.ln, err = transport.Listen(addr, tlsConf, 0, nil); err != nil {
		if s.db != nil {
			s.db.Close()
		}
		return nil, err
	}
	return s, nil
}

// Addr is where the relay listens.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Stats returns the group commits so far and the messages they held.
func (s *Server) Stats() (commits, messages uint64) {
	s.statMu.Lock()
	defer s.statMu.Unlock()
	return s.commits, s.messages
}

// CommitTime returns the time the group commits so far took, from the
// start of each transaction to the end of its sync, as a node's
// qpc_store_commit_duration_seconds counts it; 0 for a relay in memory.
func (s *Server) CommitTime() time.Duration {
	s.statMu.Lock()
	defer s.statMu.Unlock()
	return s.committing
}

// Run serves until ctx ends, then closes the listener and the database.
func (s *Server) Run(ctx context.Context) error {
	go s.commitLoop()
	defer func() {
		s.ln.Close()
		close(s.quit)
		s.wg.Wait()
		if s.db != nil {
			s.db.Close()
		}
	}()
	for {
		conn, err := s.ln.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(ctx, conn)
		}()
	}
}

// serve reads one client's frames.
func (s *Server) serve(ctx context.Context, conn *quic.Conn) {
	defer conn.CloseWithError(0, "")
	st, err := conn.AcceptStream(ctx)
	if err != nil {
		return
	}
	p := &peer{out: make(chan []byte, 64), gone: make(chan struct{})}
	go p.write(st)
	defer close(p.gone)
	r := bufio.NewReaderSize(st, 64<<10)
	hello, err := readFrame(r)
	if err != nil || len(hello) != 6 || hello[0] != frameHello {
		return
	}
	pair := binary.BigEndian.Uint32(hello[2:])
	if hello[1] == 'r' {
		s.mu.Lock()
		s.rcv[pair] = p
		s.mu.Unlock()
		// An ack of nothing tells the receiver that pushes reach it now.
		p.send(appendFrame(nil, frameAck, []byte{0, 0, 0, 0}))
		io.Copy(io.Discard, r) // until the client closes
		return
	}
	for {
		f, err := readFrame(r)
		if err != nil || f[0] != frameSend {
			return
		}
		select {
		case s.in <- item{from: p, pair: pair, payload: f[1:]}:
		case <-s.quit:
			return
		}
	}
}

// write writes what the committer hands the peer.
func (p *peer) write(w io.Writer) {
	for {
		select {
		case b := <-p.out:
			if _, err := w.Write(b); err != nil {
				return
			}
		case <-p.gone:
			return
		}
	}
}

// commitLoop takes what arrived together, commits it in one transaction,
// then acks and pushes it.
func (s *Server) commitLoop() {
	batch := make([]item, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case it := <-s.in:
			batch = append(batch, it)
		case <-s.quit:
			return
		}
	take:
		for len(batch) < maxBatch {
			select {
			case it := <-s.in:
				batch = append(batch, it)
			default:
				break take
			}
		}
		var took time.Duration
		if s.db != nil {
			start := time.Now()
			err := s.db.Update(func(tx *bolt.Tx) error {
				b := tx.Bucket([]byte("m"))
				var key [8]byte
				for _, it := range batch {
					s.seq++
					binary.BigEndian.PutUint64(key[:], s.seq)
					if err := b.Put(key[:], it.payload); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return // the clients notice by their deadline
			}
			took = time.Since(start)
		}
		s.statMu.Lock()
		s.committing += took
		s.commits++
		s.messages += uint64(len(batch))
		s.statMu.Unlock()
		s.answer(batch)
	}
}

// answer acks each sender once and pushes each receiver its messages in
// one write.
func (s *Server) answer(batch []item) {
	acks := map[*peer]uint32{}
	pushes := map[*peer][]byte{}
	s.mu.Lock()
	for _, it := range batch {
		acks[it.from]++
		if r := s.rcv[it.pair]; r != nil {
			pushes[r] = appendFrame(pushes[r], framePush, it.payload)
		}
	}
	s.mu.Unlock()
	for p, n := range acks {
		var c [4]byte
		binary.BigEndian.PutUint32(c[:], n)
		p.send(appendFrame(nil, frameAck, c[:]))
	}
	for p, b := range pushes {
		p.send(b)
	}
}

// send hands b to p's writer unless the peer is gone.
func (p *peer) send(b []byte) {
	select {
	case p.out <- b:
	case <-p.gone:
	}
}

// appendFrame appends a frame of type typ with body to dst.
func appendFrame(dst []byte, typ byte, body []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(1+len(body)))
	dst = append(dst, typ)
	return append(dst, body...)
}

// readFrame reads one frame's body.
func readFrame(r *bufio.Reader) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[:])
	if n == 0 || n > maxFrame {
		return nil, fmt.Errorf("%w: length %d", ErrFrame, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// serverTLS makes a throwaway self-signed certificate: the relay's
// clients skip verification, but TLS 1.3 runs as it does for a node.
func serverTLS() (*tls.Config, error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"relay"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS13, NextProtos: []string{alpn},
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, nil
}

// clientTLS trusts any certificate: the relay is a local yardstick.
func clientTLS() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS13, NextProtos: []string{alpn}, ServerName: "relay", InsecureSkipVerify: true}
}
