package relay

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestADurableRelayDeliversEveryMessageAndKeepsItOnDisk(t *testing.T) {
	for _, durable := range []bool{true, false} {
		name := "memory only"
		if durable {
			name = "group commit"
		}
		t.Run(name, func(t *testing.T) {
			path := ""
			if durable {
				path = filepath.Join(t.TempDir(), "relay.db")
			}
			s, err := Listen("127.0.0.1:0", path)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- s.Run(runCtx) }()
			res, err := Load(ctx, Options{Addr: s.Addr().String(), Pairs: 3, Messages: 200, Size: 64, Window: 8})
			if err != nil {
				t.Fatal(err)
			}
			if res.Delivered != 600 || res.Throughput <= 0 || res.P50 > res.P99 || res.P99 > res.Max {
				t.Errorf("result %+v", res)
			}
			commits, msgs := s.Stats()
			if took := s.CommitTime(); (took > 0) != (path != "") {
				t.Errorf("commit time %v with a database at %q", took, path)
			}
			if msgs != 600 || commits == 0 || commits > 600 {
				t.Errorf("%d commits of %d messages, want 600 messages", commits, msgs)
			}
			stop()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if !durable {
				return
			}
			db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			db.View(func(tx *bolt.Tx) error {
				if n := tx.Bucket([]byte("m")).Stats().KeyN; n != 600 {
					t.Errorf("%d messages on disk, want 600", n)
				}
				return nil
			})
		})
	}
}

func TestBadOptionsAreRefused(t *testing.T) {
	if _, err := Load(context.Background(), Options{Pairs: 1, Messages: 1, Size: 7, Window: 1}); !errors.Is(err, ErrBadOptions) {
		t.Errorf("size 7: %v, want ErrBadOptions", err)
	}
}

func TestFramesRoundTripAndBadLengthsAreRefused(t *testing.T) {
	b := appendFrame(nil, framePush, []byte("hello"))
	f, err := readFrame(bufio.NewReader(bytes.NewReader(b)))
	if err != nil || f[0] != framePush || string(f[1:]) != "hello" {
		t.Fatalf("round trip: %q, %v", f, err)
	}
	for name, in := range map[string][]byte{
		"empty":     {0, 0, 0, 0},
		"too long":  {0xff, 0xff, 0xff, 0xff},
		"truncated": {0, 0, 0, 9, 4, 'a'},
	} {
		if _, err := readFrame(bufio.NewReader(bytes.NewReader(in))); err == nil {
			t.Errorf("%s frame accepted", name)
		}
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add(appendFrame(nil, frameSend, []byte("payload")))
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := readFrame(bufio.NewReader(bytes.NewReader(in)))
		if err == nil && (len(b) == 0 || len(b) > maxFrame || !bytes.Equal(appendFrame(nil, b[0], b[1:]), in[:4+len(b)])) {
			t.Fatalf("frame %q from %q", b, in)
		}
	})
}
