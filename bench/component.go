package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/journeys/journeys/internal/loadgen"
	"github.com/journeys/journeys/internal/process"
)

// component is one measured process of the run.
type component struct {
	name string
	pid  int
	cmd  *exec.Cmd // nil for processes the bench does not own
	done chan struct{}
	err  error
	log  string
}

// startComponent runs argv as a process of its own, its output in
// WorkDir/<name>.log, with env added to this process's environment.
func startComponent(dir, name string, env []string, argv ...string) (*component, error) {
	logPath := filepath.Join(dir, name+".log")
	out, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, argv[0], err)
	}
	c := &component{name: name, pid: cmd.Process.Pid, cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() {
		c.err = cmd.Wait()
		out.Close()
		close(c.done)
	}()
	return c, nil
}

// exited is an error when the process has ended, nil while it runs.
func (c *component) exited() error {
	if c.cmd == nil {
		return nil
	}
	select {
	case <-c.done:
		return fmt.Errorf("%s exited (%v); see %s", c.name, c.err, c.log)
	default:
		return nil
	}
}

// stop ends the process with SIGTERM, then SIGKILL after 20 s.
func (c *component) stop() {
	if c.cmd != nil {
		process.Terminate(c.cmd.Process, c.done, 20*time.Second)
	}
}

// waitFor polls ready every 50 ms until it returns nil, the process exits,
// or the timeout passes.
func (c *component) waitFor(ctx context.Context, timeout time.Duration, ready func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if e := c.exited(); e != nil {
			return e
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w; see %s, which ends:\n%s", c.name, timeout, err, c.log, tail(c.log, 5))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// tail is the last n lines of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// httpOK is a readiness check: GET url answers 200.
func httpOK(url string) func() error {
	return func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
		}
		return nil
	}
}

// fileWritten is a readiness check: path exists and is not empty.
func fileWritten(path string) func() error {
	return func() error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if len(b) == 0 {
			return errors.New(path + " is empty")
		}
		return nil
	}
}

// usage is what a component used during a phase.
type usage struct {
	CPU      time.Duration
	PeakRSS  int64
	Measured bool
}

// meter takes the CPU time of each component at the start of a phase and
// resets their peak memory.
type meter struct {
	comps []*component
	cpu0  []time.Duration
}

func startMeter(comps []*component) (*meter, error) {
	m := &meter{comps: comps, cpu0: make([]time.Duration, len(comps))}
	for i, c := range comps {
		if c.pid < 0 {
			continue
		}
		cpu, err := loadgen.ProcCPU(c.pid)
		if err != nil {
			return nil, err
		}
		m.cpu0[i] = cpu
		// Not every kernel lets a process reset another's peak; the peak
		// is then the process's lifetime peak, which the report says.
		_ = loadgen.ResetPeakRSS(c.pid)
	}
	return m, nil
}

// read returns each component's use since startMeter, by name.
func (m *meter) read() (map[string]usage, error) {
	out := make(map[string]usage, len(m.comps))
	for i, c := range m.comps {
		if c.pid < 0 {
			out[c.name] = usage{}
			continue
		}
		cpu, err := loadgen.ProcCPU(c.pid)
		if err != nil {
			return nil, err
		}
		rss, err := loadgen.PeakRSS(c.pid)
		if err != nil {
			return nil, err
		}
		out[c.name] = usage{CPU: cpu - m.cpu0[i], PeakRSS: rss, Measured: true}
	}
	return out, nil
}

// freeAddr is a free loopback host:port.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}
