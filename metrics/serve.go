package metrics

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Serve is deliberately not net/http: the node does not link net/http
// otherwise, and on mips it would add about 1.2 MiB to a binary with a
// 10 MiB budget. A scrape is one small request, so a minimal HTTP/1.x
// responder does: it reads the request line and headers (bounded), answers,
// and closes the connection. Handler in package metricshttp is the
// net/http version, for programs that link net/http anyway.

// serveTimeout bounds each connection from accept to close, so a client
// that stalls cannot hold one of the few connection slots; a variable so
// that tests can shorten it.
var serveTimeout = 10 * time.Second

const (
	// maxRequestBytes bounds the request line and headers: a scraper
	// sends a few hundred bytes.
	maxRequestBytes = 8 << 10
	// maxServeConns bounds the connections handled at once; one more is
	// closed at once. Prometheus scrapes one at a time.
	maxServeConns = 8
	// metricsPath is the only path served.
	metricsPath = "/metrics"
)

// errBadRequest reports a request Serve cannot parse.
var errBadRequest = errors.New("malformed HTTP request")

// Serve answers HTTP/1.x requests on ln until ctx is done, then closes ln,
// waits for the requests in progress and returns nil; it returns an error
// only when ln fails otherwise. It serves the Registry's text (see
// ContentType) for GET and HEAD of /metrics, 404 for other paths and 405
// for other methods, one request per connection, without importing
// net/http (see the package documentation).
func (r *Registry) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, maxServeConns)
	backoff := 5 * time.Millisecond
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("metrics: serve: %w", err)
			}
			// Such as too many open files: wait for some to close rather
			// than take the metrics listener down.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		select {
		case slots <- struct{}{}:
		default:
			c.Close()
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			r.serveConn(ctx, c)
		})
	}
}

// serveConn answers the one request of c and closes it.
func (r *Registry) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(serveTimeout))
	// On shutdown, fail any blocked read or write at once.
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	method, path, err := readRequest(bufio.NewReaderSize(io.LimitReader(c, maxRequestBytes), 1024))
	tw := getWriter()
	defer putWriter(tw)
	switch {
	case err != nil:
		tw.buf = appendResponse(tw.buf, "400 Bad Request", "", "bad request\n")
	case path != metricsPath:
		tw.buf = appendResponse(tw.buf, "404 Not Found", "", "404 page not found\n")
	case method != "GET" && method != "HEAD":
		tw.buf = appendResponse(tw.buf, "405 Method Not Allowed", "Allow: GET, HEAD\r\n", "method not allowed\n")
	default:
		r.appendText(tw)
		body := tw.buf
		head := appendHeader(make([]byte, 0, 256), "200 OK", "Cache-Control: no-store\r\n", ContentType, len(body))
		if _, err := c.Write(head); err != nil || method == "HEAD" {
			return
		}
		if _, err := c.Write(body); err != nil {
			return
		}
		closeGracefully(c)
		return
	}
	if _, err := c.Write(tw.buf); err == nil {
		closeGracefully(c)
	}
}

// closeGracefully half-closes c and reads what the client still sends until
// it closes too (bounded by the deadline), because closing a socket with
// unread input makes the kernel reset the connection, which can destroy the
// response before the client has read it.
func closeGracefully(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		_, _ = io.Copy(io.Discard, io.LimitReader(c, maxRequestBytes))
	}
}

// readRequest reads an HTTP/1.x request line and its headers, which are
// skipped, and returns the method and the path without its query.
func readRequest(br *bufio.Reader) (method, path string, err error) {
	line, err := readLine(br)
	if err != nil {
		return "", "", err
	}
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || method == "" || !strings.HasPrefix(proto, "HTTP/1.") || len(proto) != len("HTTP/1.1") {
		return "", "", errBadRequest
	}
	if !strings.HasPrefix(target, "/") {
		// Absolute and asterisk forms: not what a scraper sends.
		return "", "", errBadRequest
	}
	path, _, _ = strings.Cut(target, "?")
	for {
		h, err := readLine(br)
		if err != nil {
			return "", "", err
		}
		if h == "" {
			return method, path, nil
		}
	}
}

// readLine reads one line ending in CRLF or LF and returns it without the
// ending. The reader is bounded, so a line cannot grow without limit.
func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", errBadRequest
	}
	line = strings.TrimSuffix(line[:len(line)-1], "\r")
	if strings.ContainsAny(line, "\r\n\x00") {
		return "", errBadRequest
	}
	return line, nil
}

// appendResponse appends a whole plain-text response.
func appendResponse(b []byte, status, extraHeaders, body string) []byte {
	b = appendHeader(b, status, extraHeaders, "text/plain; charset=utf-8", len(body))
	return append(b, body...)
}

// appendHeader appends a response's status line and headers, ending with
// the blank line.
func appendHeader(b []byte, status, extraHeaders, contentType string, contentLength int) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = append(b, status...)
	b = append(b, "\r\nContent-Type: "...)
	b = append(b, contentType...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(contentLength), 10)
	b = append(b, "\r\nConnection: close\r\n"...)
	b = append(b, extraHeaders...)
	return append(b, "\r\n"...)
}
