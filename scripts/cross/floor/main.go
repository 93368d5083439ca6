package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"os"
	"time"

	"github.com/quic-go/quic-go"
)

// serveStream is what the server does with the client's first stream;
// step b replaces the echo with Cap'n Proto RPC.
var serveStream = func(s *quic.Stream) { io.Copy(s, s) }

// extras are what the later steps add: each must be reachable, or the
// linker leaves it out and the step measures nothing.
var extras []func()

func main() {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "n"}, DNSNames: []string{"n"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		os.Exit(1)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	tc := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}
	srv := &tls.Config{Certificates: []tls.Certificate{tc}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
		MinVersion: tls.VersionTLS13, NextProtos: []string{"p"}}
	cli := &tls.Config{Certificates: []tls.Certificate{tc}, RootCAs: pool, ServerName: "n", MinVersion: tls.VersionTLS13, NextProtos: []string{"p"}}
	ln, err := quic.ListenAddr("127.0.0.1:0", srv, &quic.Config{})
	if err != nil {
		os.Exit(1)
	}
	for _, f := range extras {
		f()
	}
	go func() {
		c, err := ln.Accept(context.Background())
		if err != nil {
			return
		}
		s, err := c.AcceptStream(context.Background())
		if err != nil {
			return
		}
		serveStream(s)
	}()
	c, err := quic.DialAddr(context.Background(), ln.Addr().String(), cli, &quic.Config{})
	if err != nil {
		os.Exit(2)
	}
	s, _ := c.OpenStreamSync(context.Background())
	dialed(s)
}

// dialed is what the client does with its first stream.
var dialed = func(s *quic.Stream) { s.Write([]byte("hi")); s.Close() }
