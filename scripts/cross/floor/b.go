//go:build floor_b || floor_c || floor_d || floor_e

package main

import (
	"context"

	"capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/rpc"
	"capnproto.org/go/capnp/v3/server"
	"github.com/quic-go/quic-go"
)

// rs is transport's rpcStream: Close also cancels reading.
type rs struct{ *quic.Stream }

func (s rs) Close() error { s.CancelRead(0); return s.Stream.Close() }

func init() {
	m := capnp.Method{InterfaceID: 0xabcdef0123456789, MethodID: 0, InterfaceName: "T", MethodName: "ping"}
	serveStream = func(s *quic.Stream) {
		srv := server.New([]server.Method{{Method: m, Impl: func(ctx context.Context, c *server.Call) error {
			_, err := c.AllocResults(capnp.ObjectSize{DataSize: 8})
			return err
		}}}, nil, nil)
		conn := rpc.NewConn(rpc.NewStreamTransport(rs{s}), &rpc.Options{BootstrapClient: capnp.NewClient(srv)})
		<-conn.Done()
	}
	dialed = func(s *quic.Stream) {
		conn := rpc.NewConn(rpc.NewStreamTransport(rs{s}), nil)
		boot := conn.Bootstrap(context.Background())
		f, rel := boot.SendCall(context.Background(), capnp.Send{Method: m, PlaceArgs: nil, ArgsSize: capnp.ObjectSize{}})
		f.Struct()
		rel()
		conn.Close()
	}
}
