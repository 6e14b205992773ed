// Package procstat reads what a process has cost, from Linux's /proc: CPU
// time and peak resident memory, of this process or of another one such
// as the ClickHouse server a benchmark writes to. Benchmarks on a machine
// whose cores are shared report CPU time per event beside events/s: it
// varies less, and it adds up across the processes that share the box.
package procstat

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat: USER_HZ,
// 100 on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// Usage is what a process has used so far.
type Usage struct {
	CPU time.Duration // user + system
	// PeakRSS is the resident set's high-water mark (VmHWM).
	PeakRSS int64
}

// Self is this process's usage.
func Self() (Usage, error) { return Of(os.Getpid()) }

// Of reads the usage of process pid.
func Of(pid int) (Usage, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Usage{}, fmt.Errorf("procstat: %w", err)
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from after its closing parenthesis (state is field 3, utime 14).
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return Usage{}, fmt.Errorf("procstat: /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(stat[end+1:]))
	if len(f) < 13 {
		return Usage{}, fmt.Errorf("procstat: /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return Usage{}, fmt.Errorf("procstat: /proc/%d/stat: %w", pid, err)
	}
	u := Usage{CPU: time.Duration(utime+stime) * clockTick}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Usage{}, fmt.Errorf("procstat: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return Usage{}, fmt.Errorf("procstat: /proc/%d/status VmHWM %q: %w", pid, v, err)
			}
			u.PeakRSS = kb << 10
		}
	}
	return u, nil
}

// ListeningPID finds the process listening on TCP port of the loopback or
// any address, IPv4 or IPv6: the socket's inode from /proc/net/tcp*, then
// the process holding it among /proc/*/fd. It needs the right to read the
// other process's fds (same user or root).
func ListeningPID(port int) (int, error) {
	inode, err := listeningInode(port)
	if err != nil {
		return 0, err
	}
	want := "socket:[" + inode + "]"
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		if link, err := os.Readlink(fd); err == nil && link == want {
			return strconv.Atoi(strings.Split(fd, "/")[2])
		}
	}
	return 0, fmt.Errorf("procstat: no process of ours holds the socket listening on port %d", port)
}

func listeningInode(port int) (string, error) {
	hexPort := fmt.Sprintf(":%04X", port)
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			// local_address is field 1, st field 3 (0A = LISTEN), inode 9.
			if len(f) > 9 && strings.HasSuffix(f[1], hexPort) && f[3] == "0A" {
				return f[9], nil
			}
		}
	}
	return "", fmt.Errorf("procstat: nothing listens on TCP port %d", port)
}
