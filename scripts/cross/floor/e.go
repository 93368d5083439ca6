//go:build floor_e

package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
)

func init() {
	extras = append(extras, func() {
		fs := flag.NewFlagSet("node", flag.ContinueOnError)
		listen := fs.String("listen", ":7000", "addr")
		fs.Parse(os.Args[1:])
		// Encoding only: log/slog's JSON handler links the encoder, and
		// the node links no JSON decoder (internal/jsontree).
		b, _ := json.Marshal(struct{ A []string }{[]string{*listen}})
		fmt.Fprintf(os.Stderr, "%s %s %v\n", *listen, b, 1.5)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err == nil {
			ln.Close()
		}
		c := make(chan os.Signal, 1)
		signal.Notify(c, os.Interrupt)
	})
}
