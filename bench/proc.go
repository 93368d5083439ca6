package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrNoProc is returned where a process's costs cannot be read: /proc is
// Linux's, and the node must run on this machine.
var ErrNoProc = errors.New("bench: no /proc entry for the node process")

// clockTick is the unit of /proc/PID/stat's CPU times. USER_HZ is 100 on
// every Linux architecture qpc is built for; reading it through sysconf
// would need cgo.
const clockTick = 10 * time.Millisecond

// ProcSample is what /proc says about a process at one moment.
type ProcSample struct {
	// CPU is user plus system time since the process started.
	CPU time.Duration
	// RSS is the resident set now, RSSAnon its anonymous part (heap and
	// stacks: what the process allocated, not the mapped binary), HWM the
	// peak resident set since start; all in bytes.
	RSS, RSSAnon, HWM int64
}

// ReadProc samples process pid from /proc.
func ReadProc(pid int) (ProcSample, error) {
	var s ProcSample
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("%w: %v", ErrNoProc, err)
	}
	if s.CPU, err = parseStatCPU(stat); err != nil {
		return s, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("%w: %v", ErrNoProc, err)
	}
	s.RSS, s.RSSAnon, s.HWM = parseStatusKB(status, "VmRSS:"), parseStatusKB(status, "RssAnon:"), parseStatusKB(status, "VmHWM:")
	return s, nil
}

// errBadStat is a /proc/PID/stat this parser does not understand.
var errBadStat = errors.New("bench: malformed /proc stat line")

// parseStatCPU reads utime and stime, fields 14 and 15 of a stat line. The
// command name (field 2) is in parentheses and may hold spaces, so the
// fields are counted from the last ')'.
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errBadStat
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, errBadStat
	}
	u, err1 := strconv.ParseUint(f[11], 10, 63)
	k, err2 := strconv.ParseUint(f[12], 10, 63)
	if err1 != nil || err2 != nil || u > math.MaxInt64/uint64(clockTick)-k {
		return 0, fmt.Errorf("%w: utime %q stime %q", errBadStat, f[11], f[12])
	}
	return time.Duration(u+k) * clockTick, nil
}

// parseStatusKB returns the value of a "Key:   123 kB" line in bytes, or 0
// if there is none.
func parseStatusKB(status []byte, key string) int64 {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, key) {
			continue
		}
		f := strings.Fields(line[len(key):])
		if len(f) == 0 {
			return 0
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}
