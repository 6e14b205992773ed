package loadgen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat;
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// ProcCPU is the CPU time (user and system) process pid has used so far,
// from /proc/<pid>/stat; pid 0 means this process.
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(procFile(pid, "stat"))
	if err != nil {
		return 0, fmt.Errorf("cpu time of process %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces; fields count from the
	// last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("cpu time of process %d: unexpected stat %q", pid, b)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu time of process %d: stat has %d fields", pid, len(f)+2)
	}
	var ticks int64
	for _, s := range f[11:13] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("cpu time of process %d: %w", pid, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// PeakRSS is the peak resident memory (VmHWM) of process pid in bytes;
// pid 0 means this process.
func PeakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(procFile(pid, "status"))
	if err != nil {
		return 0, fmt.Errorf("peak memory of process %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("peak memory of process %d: %w", pid, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("peak memory of process %d: no VmHWM in status", pid)
}

// ResetPeakRSS starts VmHWM of process pid afresh from its current
// resident memory (Linux clear_refs 5), so that a phase's peak is its own.
func ResetPeakRSS(pid int) error {
	if err := os.WriteFile(procFile(pid, "clear_refs"), []byte("5"), 0); err != nil {
		return fmt.Errorf("reset peak memory of process %d: %w", pid, err)
	}
	return nil
}

func procFile(pid int, name string) string {
	if pid == 0 {
		return "/proc/self/" + name
	}
	return "/proc/" + strconv.Itoa(pid) + "/" + name
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
	return 0, fmt.Errorf("no process of ours holds the socket listening on port %d", port)
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
	return "", fmt.Errorf("nothing listens on TCP port %d", port)
}
