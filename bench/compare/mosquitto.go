package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/quicprochat/qpc/bench"
	"github.com/quicprochat/qpc/bench/relay"
)

// sysMosquitto is the Mosquitto leg's system name in the runs.
const sysMosquitto = "mosquitto QoS 1, no disk"

// notMeasuredMosquitto is what the report says, as text and in its JSON,
// when there is no mosquitto to run: no figure rather than a made-up one.
const notMeasuredMosquitto = "not measured: mosquitto not installed"

// ErrMQTTOptions is a Mosquitto run that cannot be made (the payload must
// hold the send time, as the relay's does).
var ErrMQTTOptions = errors.New("compare: mosquitto: pairs, messages and window must be at least 1, size at least 8")

// errMQTTLost is a run in which the broker did not deliver every message
// before the deadline.
var errMQTTLost = errors.New("compare: mosquitto did not deliver every message")

// mosquittoConfig is the broker's configuration: one TLS 1.3 listener on
// 127.0.0.1, no persistence (issue 26 quotes Mosquitto as the broker
// that does not even write to disk), and no bounds that would drop or hold
// back QoS 1 messages the qpc node would deliver: the default of 20
// messages in flight to a subscriber would throttle it below the window,
// and the default queue of 1000 could drop messages, since the broker
// acks a publisher on receipt, not on delivery. Run as root, mosquitto
// would switch to its own user, which cannot read the key in our private
// temporary directory; "user root" keeps it where it was started.
func mosquittoConfig(port int, certFile, keyFile string, asRoot bool) string {
	var b strings.Builder
	b.WriteString("persistence false\n")
	b.WriteString("log_dest stderr\nlog_type error\nlog_type warning\n")
	b.WriteString("allow_anonymous true\n")
	b.WriteString("max_inflight_messages 0\nmax_queued_messages 0\n")
	if asRoot {
		b.WriteString("user root\n")
	}
	fmt.Fprintf(&b, "listener %d 127.0.0.1\n", port)
	fmt.Fprintf(&b, "certfile %s\nkeyfile %s\n", certFile, keyFile)
	b.WriteString("tls_version tlsv1.3\n")
	b.WriteString("set_tcp_nodelay true\n")
	return b.String()
}

// selfSigned writes a fresh P-256 certificate for 127.0.0.1 and its key
// as PEM into dir, and returns the pool that trusts it.
func selfSigned(dir string) (certFile, keyFile string, pool *x509.CertPool, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "compare mosquitto"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true,

		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", nil, err
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return "", "", nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return "", "", nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", "", nil, err
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool, nil
}

// freePort asks the kernel for a free port on 127.0.0.1. Mosquitto cannot
// listen on port 0 and tell us the port, so we pick one; another process
// may take it in between, which start then reports.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// broker is a running mosquitto of ours.
type broker struct {
	cmd  *exec.Cmd
	addr string
	tls  *tls.Config
	dir  string
	done chan struct{}
}

// startMosquitto starts the mosquitto at path with its own configuration
// and certificate in a temporary directory and waits, polling with a
// deadline, until its listener completes a TLS 1.3 handshake.
func startMosquitto(ctx context.Context, path string) (*broker, error) {
	dir, err := os.MkdirTemp("", "qpc-mosquitto-")
	if err != nil {
		return nil, err
	}
	b := &broker{dir: dir, done: make(chan struct{})}
	fail := func(err error) (*broker, error) {
		b.stop()
		return nil, err
	}
	certFile, keyFile, pool, err := selfSigned(dir)
	if err != nil {
		return fail(err)
	}
	port, err := freePort()
	if err != nil {
		return fail(err)
	}
	conf := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(mosquittoConfig(port, certFile, keyFile, os.Geteuid() == 0)), 0o600); err != nil {
		return fail(err)
	}
	b.addr = fmt.Sprintf("127.0.0.1:%d", port)
	b.tls = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13, ServerName: "127.0.0.1"}
	var stderr tailBuf
	b.cmd = exec.Command(path, "-c", conf)
	b.cmd.Stderr = &stderr
	if err := b.cmd.Start(); err != nil {
		return fail(err)
	}
	go func() { b.cmd.Wait(); close(b.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d := tls.Dialer{Config: b.tls}
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := d.DialContext(dctx, "tcp", b.addr)
		cancel()
		if err == nil {
			c.Close()
			return b, nil
		}
		select {
		case <-b.done:
			return fail(fmt.Errorf("mosquitto exited: %s", strings.TrimSpace(stderr.String())))
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("mosquitto on %s did not answer a TLS handshake within 10 s: %w", b.addr, err))
		}
	}
}

// stop ends the broker and removes its files.
func (b *broker) stop() {
	if b.cmd != nil && b.cmd.Process != nil {
		b.cmd.Process.Kill()
		<-b.done
	}
	os.RemoveAll(b.dir)
}

// tailBuf keeps what mosquitto wrote on stderr, for the error that says
// why it did not start; exec copies into it from one goroutine while we
// read it from another.
type tailBuf struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuf) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

func (t *tailBuf) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// summarize is the result math the relay's load generator does too: the
// throughput from the first send to the last delivery, and the latency
// percentiles over every message of every pair.
func summarize(lat [][]time.Duration, start, last time.Time) relay.Result {
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return relay.Result{}
	}
	slices.Sort(all)
	res := relay.Result{Delivered: len(all), Elapsed: last.Sub(start)}
	if res.Elapsed > 0 {
		res.Throughput = float64(res.Delivered) / res.Elapsed.Seconds()
	}
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	res.P50, res.P90, res.P99, res.Max = pct(0.50), pct(0.90), pct(0.99), all[len(all)-1]
	return res
}

// loadMQTT runs o.Pairs publisher→subscriber pairs against the broker,
// one topic and two connections per pair, as qpc bench and the relay do:
// each publisher keeps o.Window QoS 1 publishes unacked (it waits for the
// PUBACK of its oldest before the next), and a message's latency runs from
// its publish to its delivery at the subscriber, read from the send time
// in its first 8 bytes.
func loadMQTT(ctx context.Context, addr string, tlsConf *tls.Config, o relay.Options) (relay.Result, error) {
	if o.Pairs < 1 || o.Messages < 1 || o.Size < 8 || o.Window < 1 {
		return relay.Result{}, ErrMQTTOptions
	}
	var clients []mqtt.Client
	defer func() {
		for _, c := range clients {
			c.Disconnect(0)
		}
	}()
	// lost is the first connection a client lost, for the error of a run
	// that then misses messages.
	var lost atomic.Pointer[error]
	connect := func(id string) (mqtt.Client, error) {
		opts := mqtt.NewClientOptions().
			AddBroker("tls://" + addr).
			SetClientID(id).
			SetTLSConfig(tlsConf).
			SetProtocolVersion(4).
			SetCleanSession(true).
			SetAutoReconnect(false).
			SetConnectRetry(false).
			// Subscribers see their messages in the order they came, as a
			// qpc receiver does, in one goroutine.
			SetOrderMatters(true).
			SetKeepAlive(60 * time.Second).
			SetConnectionLostHandler(func(_ mqtt.Client, err error) {
				e := fmt.Errorf("%s: connection lost: %w", id, err)
				lost.CompareAndSwap(nil, &e)
			})
		c := mqtt.NewClient(opts)
		if err := wait(ctx, c.Connect()); err != nil {
			return nil, fmt.Errorf("mosquitto: connect %s: %w", id, err)
		}
		clients = append(clients, c)
		return c, nil
	}
	tag := make([]byte, 4)
	rand.Read(tag)
	topic := func(i int) string { return fmt.Sprintf("compare/%x/%d", tag, i) }
	total := o.Pairs * o.Messages
	lat := make([][]time.Duration, o.Pairs)
	var delivered, last atomic.Int64
	allDone := make(chan struct{})
	for i := range o.Pairs {
		c, err := connect(fmt.Sprintf("r%x-%d", tag, i))
		if err != nil {
			return relay.Result{}, err
		}
		h := func(_ mqtt.Client, m mqtt.Message) {
			now := time.Now()
			p := m.Payload()
			if len(p) < 8 {
				return
			}
			lat[i] = append(lat[i], now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(p)))))
			last.Store(now.UnixNano())
			if delivered.Add(1) == int64(total) {
				close(allDone)
			}
		}
		if err := wait(ctx, c.Subscribe(topic(i), 1, h)); err != nil {
			return relay.Result{}, fmt.Errorf("mosquitto: subscribe %d: %w", i, err)
		}
	}
	senders := make([]mqtt.Client, o.Pairs)
	for i := range o.Pairs {
		c, err := connect(fmt.Sprintf("s%x-%d", tag, i))
		if err != nil {
			return relay.Result{}, err
		}
		senders[i] = c
	}
	errc := make(chan error, o.Pairs)
	start := time.Now()
	for i, c := range senders {
		go func() { errc <- publish(ctx, c, topic(i), o) }()
	}
	for range o.Pairs {
		if err := <-errc; err != nil {
			return relay.Result{}, err
		}
	}
	// Every publish is acked; the broker may still be delivering.
	select {
	case <-allDone:
	case <-ctx.Done():
		return relay.Result{}, fmt.Errorf("%w: %d of %d: %w", errMQTTLost, delivered.Load(), total, ctx.Err())
	case <-time.After(30 * time.Second):
		if err := lost.Load(); err != nil {
			return relay.Result{}, fmt.Errorf("%w: %d of %d: %w", errMQTTLost, delivered.Load(), total, *err)
		}
		return relay.Result{}, fmt.Errorf("%w: %d of %d within 30 s of the last PUBACK", errMQTTLost, delivered.Load(), total)
	}
	// Disconnect before reading the latencies: the handlers write them.
	for _, c := range clients {
		c.Disconnect(0)
	}
	clients = nil
	return summarize(lat, start, time.Unix(0, last.Load())), nil
}

// publish sends o.Messages QoS 1 messages to topic with at most o.Window
// of them unacked: paho itself does not bound a client's publishes in
// flight, so the window is the ring of tokens, and the oldest's PUBACK
// frees the next slot.
func publish(ctx context.Context, c mqtt.Client, topic string, o relay.Options) error {
	window := make([]mqtt.Token, 0, o.Window)
	payload := make([]byte, o.Size)
	rand.Read(payload[8:])
	for range o.Messages {
		if len(window) == o.Window {
			if err := wait(ctx, window[0]); err != nil {
				return fmt.Errorf("mosquitto: publish: %w", err)
			}
			window = window[1:]
		}
		// paho keeps the slice it is given until it writes it: each
		// publish gets its own copy.
		p := slices.Clone(payload)
		binary.BigEndian.PutUint64(p, uint64(time.Now().UnixNano()))
		window = append(window, c.Publish(topic, 1, false, p))
	}
	for _, t := range window {
		if err := wait(ctx, t); err != nil {
			return fmt.Errorf("mosquitto: publish: %w", err)
		}
	}
	return nil
}

// wait waits for a paho token or the context.
func wait(ctx context.Context, t mqtt.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runMosquitto is one run of the Mosquitto leg: a fresh broker, loaded
// from here, its CPU and memory read from /proc as the relay's are.
func (c *comparison) runMosquitto(ctx context.Context, window, perPair int) (run, error) {
	b, err := startMosquitto(ctx, c.mosquitto)
	if err != nil {
		return run{}, err
	}
	defer b.stop()
	pid := b.cmd.Process.Pid
	idle, err := bench.ReadProc(pid)
	if err != nil {
		return run{}, err
	}
	peak := idle.RSSAnon
	quit := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				if s, err := bench.ReadProc(pid); err == nil {
					peak = max(peak, s.RSSAnon)
				}
			}
		}
	}()
	res, err := loadMQTT(ctx, b.addr, b.tls, relay.Options{Pairs: c.clients, Messages: perPair, Size: c.size, Window: window})
	close(quit)
	<-sampled
	if err != nil {
		return run{}, err
	}
	end, err := bench.ReadProc(pid)
	if err != nil {
		return run{}, err
	}
	return run{MsgsPerS: res.Throughput, P50ms: ms(res.P50), P99ms: ms(res.P99),
		CPUus:   float64((end.CPU - idle.CPU).Nanoseconds()) / 1000 / float64(res.Delivered),
		RSSIdle: mib(idle.RSS), AnonPeak: mib(peak)}, nil
}
