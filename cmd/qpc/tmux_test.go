package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tmuxSession is a program running in a terminal of its own: a tmux
// server on a private socket, 200×50, that the test types into and reads
// the screen of.
type tmuxSession struct {
	t      *testing.T
	socket string
	name   string
}

var tmuxSockets atomic.Int64

// needTmux skips the test when tmux is missing, except in CI, which must
// have it.
func needTmux(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("tmux not found: CI must install it (apt-get install tmux) for the terminal tests")
	}
	t.Skip("tmux not found (apt-get install tmux); skipping the terminal test outside CI")
}

// startTmux runs cmd in a new terminal with env added to the environment.
// When cmd ends, the terminal shows "[exited N]" and the terminal's mode
// ("[tty icanon echo]" when it was restored), and stays open for capture.
func startTmux(t *testing.T, name string, cmd []string, env ...string) *tmuxSession {
	t.Helper()
	needTmux(t)
	s := &tmuxSession{t: t, socket: fmt.Sprintf("qpct-%d-%d", os.Getpid(), tmuxSockets.Add(1)), name: name}
	// The shell around cmd reports how it ended and keeps the pane.
	script := `"$@"; code=$?; printf '\n[exited %d]\n[tty' "$code"; ` +
		`for f in $(stty -a); do case "$f" in icanon|-icanon|echo|-echo) printf ' %s' "$f";; esac; done; printf ']\n'; sleep 3600`
	args := append([]string{"-L", s.socket, "-f", "/dev/null", "new-session", "-d", "-s", name, "-x", "200", "-y", "50",
		"sh", "-c", script, "sh"}, cmd...)
	c := exec.Command("tmux", args...)
	c.Env = append(os.Environ(), env...)
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
	return s
}

func (s *tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// send types line and Enter.
func (s *tmuxSession) send(line string) {
	s.t.Helper()
	s.tmux("send-keys", "-t", s.name, "-l", line)
	s.tmux("send-keys", "-t", s.name, "Enter")
}

// expect types line and Enter, then waits for want.
func (s *tmuxSession) expect(line, want string, timeout time.Duration) {
	s.t.Helper()
	s.send(line)
	s.waitFor(want, timeout)
}

// keys presses keys as tmux names them: "C-c", "Up", "Enter".
func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	s.tmux(append([]string{"send-keys", "-t", s.name}, keys...)...)
}

// typeText types text without Enter.
func (s *tmuxSession) typeText(text string) {
	s.t.Helper()
	s.tmux("send-keys", "-t", s.name, "-l", text)
}

// capture returns the screen and its scrollback, wrapped lines joined.
func (s *tmuxSession) capture() string {
	s.t.Helper()
	return s.tmux("capture-pane", "-p", "-J", "-S", "-1000", "-t", s.name)
}

// tmuxEnded matches the last line startTmux's shell prints.
var tmuxEnded = regexp.MustCompile(`\[tty[ a-z-]*\]`)

// waitFor polls the screen until it shows substr, and fails the test
// showing the screen when it does not within timeout or the program ended
// without showing it.
func (s *tmuxSession) waitFor(substr string, timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		screen := s.capture()
		if strings.Contains(screen, substr) {
			return
		}
		// A program that ended shows nothing more.
		if ended := tmuxEnded.MatchString(screen); ended || time.Now().After(deadline) {
			why := fmt.Sprintf("within %s", timeout)
			if ended {
				why = "before the program ended"
			}
			s.t.Fatalf("%s: %q did not appear %s; the screen:\n%s", s.name, substr, why, screen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// count returns how often substr is on the screen.
func (s *tmuxSession) count(substr string) int {
	s.t.Helper()
	return strings.Count(s.capture(), substr)
}

// lastLine returns the last line of the screen that is not empty.
func (s *tmuxSession) lastLine() string {
	s.t.Helper()
	lines := strings.Split(strings.TrimRight(s.capture(), "\n "), "\n")
	return lines[len(lines)-1]
}
