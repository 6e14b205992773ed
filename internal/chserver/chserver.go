// Package chserver starts a throwaway ClickHouse server from the
// clickhouse-server binary on PATH (Debian's package), with its own config
// and data folder on free loopback ports. Tests and `journeys dev` use it;
// it never touches the system service.
package chserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/journeys/journeys/internal/process"
)

// Config of a throwaway server.
type Config struct {
	// Dir holds config, data and logs; required. Reused if it exists, so
	// data survives a restart with the same Dir.
	Dir string
	// TCPPort for the native protocol; 0 picks a free port.
	TCPPort int
	// HTTPPort; 0 picks a free port.
	HTTPPort int
	// Binary to run; default "clickhouse-server" from PATH, then
	// /usr/sbin/clickhouse-server, then "clickhouse server".
	Binary string
	// StartTimeout bounds the wait until the native port answers; default 60s.
	StartTimeout time.Duration
}

// Server is a running throwaway ClickHouse.
type Server struct {
	cfg  Config
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// ErrNotInstalled says no clickhouse-server binary was found.
var ErrNotInstalled = errors.New("clickhouse-server not found on PATH (Debian: apt-get install clickhouse-server)")

// Start writes the config into cfg.Dir and starts the server, returning once
// its native port accepts connections.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("chserver: Dir is required")
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	argv, err := binary(cfg.Binary)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("chserver dir: %w", err)
	}
	cfg.Dir = dir
	for _, p := range []*int{&cfg.TCPPort, &cfg.HTTPPort} {
		if *p == 0 {
			if *p, err = freePort(); err != nil {
				return nil, err
			}
		}
	}
	for _, sub := range []string{"data", "tmp", "user_files", "format_schemas", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("chserver mkdir: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(configXML(cfg)), 0o644); err != nil {
		return nil, fmt.Errorf("write clickhouse config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(usersXML), 0o644); err != nil {
		return nil, fmt.Errorf("write clickhouse users: %w", err)
	}
	args := append(argv[1:], "--config-file="+filepath.Join(dir, "config.xml"))
	cmd := exec.Command(argv[0], args...)
	cmd.Dir = dir
	out, err := os.Create(filepath.Join(dir, "log", "stdout.log"))
	if err != nil {
		return nil, fmt.Errorf("clickhouse stdout log: %w", err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	// Own process group, so that a signal to `journeys dev` does not reach
	// the server before we stop it in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	s := &Server{cfg: cfg, cmd: cmd, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		out.Close()
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Addr is the host:port of the native protocol.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.cfg.TCPPort)) }

// HTTPAddr is the host:port of the HTTP interface.
func (s *Server) HTTPAddr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.cfg.HTTPPort))
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Config is the server's configuration with its ports filled in: Start
// with it starts the server again on the same folder and ports.
func (s *Server) Config() Config { return s.cfg }

// Dir is the server's folder.
func (s *Server) Dir() string { return s.cfg.Dir }

// Stop terminates the server and waits for it to exit.
func (s *Server) Stop() error {
	process.Terminate(s.cmd.Process, s.done, 20*time.Second)
	return nil
}

// Kill stops the server with SIGKILL, as a crash would.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.StartTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		conn, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("clickhouse-server exited during start (%v); see %s", s.err, filepath.Join(s.cfg.Dir, "log"))
		case <-ctx.Done():
			return fmt.Errorf("clickhouse-server did not listen on %s: %w", s.Addr(), ctx.Err())
		case <-tick.C:
		}
	}
}

func binary(explicit string) ([]string, error) {
	if explicit != "" {
		return []string{explicit}, nil
	}
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return []string{p}, nil
	}
	if _, err := os.Stat("/usr/sbin/clickhouse-server"); err == nil {
		return []string{"/usr/sbin/clickhouse-server"}, nil
	}
	if p, err := exec.LookPath("clickhouse"); err == nil {
		return []string{p, "server"}, nil
	}
	return nil, ErrNotInstalled
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// configXML is a minimal server config. The <yandex> root is what 18.16
// reads; current releases still accept it.
func configXML(cfg Config) string {
	return fmt.Sprintf(`<yandex>
  <logger>
    <level>warning</level>
    <log>%[1]s/log/server.log</log>
    <errorlog>%[1]s/log/error.log</errorlog>
    <size>100M</size>
    <count>2</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>%[2]d</tcp_port>
  <http_port>%[3]d</http_port>
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <format_schema_path>%[1]s/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>200</max_concurrent_queries>
  <!-- Only queries run with log_queries = 1 are logged (the default is 0):
       internal/modernch reads the SQL the store sent, its arguments bound. -->
  <query_log>
    <database>system</database>
    <table>query_log</table>
    <flush_interval_milliseconds>1000</flush_interval_milliseconds>
  </query_log>
</yandex>
`, cfg.Dir, cfg.TCPPort, cfg.HTTPPort)
}

const usersXML = `<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default></default></quotas>
</yandex>
`
