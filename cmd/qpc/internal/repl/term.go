package repl

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/term"
)

// LineIO is where the REPL reads its lines and writes everything else:
// a terminal in raw mode with line editing, or plain streams for scripts.
// Write is safe to call while ReadLine waits; on a terminal it prints
// above the prompt and the line being typed, and redraws them.
type LineIO interface {
	io.Writer
	// ReadLine returns the next line, io.EOF at the end (Ctrl-D).
	ReadLine() (string, error)
	// SetPrompt sets the prompt that the next ReadLine shows.
	SetPrompt(prompt string)
	// Dim returns s as it is shown less prominently.
	Dim(s string) string
	// Close restores the terminal.
	Close() error
}

// NewLineIO returns a terminal LineIO when in is a terminal, else a plain
// one, which shows no prompt and writes no escape codes.
func NewLineIO(in *os.File, out io.Writer) (LineIO, error) {
	fd := int(in.Fd())
	if !term.IsTerminal(fd) {
		return &plainIO{sc: bufio.NewScanner(in), w: out}, nil
	}
	old, err := term.MakeRaw(fd)
	if err != nil {
		return nil, err
	}
	t := &termIO{fd: fd, old: old, winch: make(chan os.Signal, 1)}
	t.t = term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{ctrlCClears{in}, out}, "> ")
	t.resize()
	signal.Notify(t.winch, syscall.SIGWINCH)
	go func() {
		for range t.winch {
			t.resize()
		}
	}()
	return t, nil
}

// termIO is a terminal in raw mode, edited with x/term: arrows, history,
// Ctrl-A/E/K/U/W as in a shell.
type termIO struct {
	fd    int
	old   *term.State
	t     *term.Terminal
	winch chan os.Signal
	once  sync.Once
}

func (t *termIO) resize() {
	if w, h, err := term.GetSize(t.fd); err == nil {
		t.t.SetSize(w, h)
	}
}

func (t *termIO) Write(p []byte) (int, error) { return t.t.Write(p) }
func (t *termIO) SetPrompt(prompt string) {
	t.t.SetPrompt(prompt)
	// Writing nothing redraws the prompt (and the line being typed) in
	// place: the online state changes it while a line is read.
	t.t.Write(nil)
}

func (t *termIO) Dim(s string) string { return "\x1b[2m" + s + "\x1b[0m" }

func (t *termIO) ReadLine() (string, error) {
	line, err := t.t.ReadLine()
	if errors.Is(err, term.ErrPasteIndicator) {
		err = nil // a pasted line is a line
	}
	return line, err
}

// Close restores the terminal as it was; it may be called more than once
// (on exit and on a panic).
func (t *termIO) Close() error {
	var err error
	t.once.Do(func() {
		signal.Stop(t.winch)
		close(t.winch)
		err = term.Restore(t.fd, t.old)
	})
	return err
}

// ctrlCClears turns Ctrl-C, which x/term's ReadLine treats as the end of
// input, into Ctrl-E Ctrl-U: go to the end of the line and erase it, as a
// shell does. Ctrl-D on an empty line still ends the REPL.
type ctrlCClears struct{ r io.Reader }

func (c ctrlCClears) Read(p []byte) (int, error) {
	if len(p) < 2 {
		return c.r.Read(p)
	}
	// Each Ctrl-C grows by one byte: read at most half of p.
	n, err := c.r.Read(p[:len(p)/2])
	if k := bytes.Count(p[:n], []byte{3}); k > 0 {
		out := bytes.ReplaceAll(p[:n], []byte{3}, []byte{5, 21})
		n = copy(p, out)
	}
	return n, err
}

// plainIO reads lines from a pipe or file and writes them unadorned.
type plainIO struct {
	sc *bufio.Scanner
	mu sync.Mutex
	w  io.Writer
}

func (p *plainIO) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.w.Write(b)
}

func (p *plainIO) ReadLine() (string, error) {
	if p.sc.Scan() {
		return p.sc.Text(), nil
	}
	if err := p.sc.Err(); err != nil {
		return "", err
	}
	return "", io.EOF
}

func (p *plainIO) SetPrompt(string)    {}
func (p *plainIO) Dim(s string) string { return s }
func (p *plainIO) Close() error        { return nil }
