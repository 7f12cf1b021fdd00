package storetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PGServer is a private PostgreSQL server that a test may stop and start
// (SECURITY-CASES F4: the database restarted under load). The shared
// server behind SSI_TEST_POSTGRES is never restarted: other packages' tests
// use it at the same time.
type PGServer struct {
	// DSN reaches the server as its superuser, database postgres.
	DSN string

	bin, dir string
	port     int
	runAs    []string // a command prefix that runs as the data directory's owner
}

// StartPGServer initialises and starts a PostgreSQL server in a temporary
// directory, on a free port of 127.0.0.1, with trust authentication, and
// stops and removes it in t.Cleanup. It needs PostgreSQL's server binaries
// (initdb, pg_ctl); without them the test is skipped, unless $CI is set,
// when it fails. As root it runs the server as the postgres OS user, which
// PostgreSQL requires.
func StartPGServer(t *testing.T) *PGServer {
	t.Helper()
	bin := pgBinDir()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("the PostgreSQL server binaries (initdb, pg_ctl) are missing, and CI must not skip this test")
		}
		t.Skip("the PostgreSQL server binaries (initdb, pg_ctl) are missing")
	}
	s := &PGServer{bin: bin}
	dir, err := os.MkdirTemp("", "ssi-pg-")
	if err != nil {
		t.Fatal(err)
	}
	s.dir = dir
	t.Cleanup(func() {
		_ = s.pgctl("stop", "-m", "immediate", "-w")
		_ = os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running PostgreSQL as root needs the postgres OS user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		s.runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	s.port = freePort(t)
	if out, err := s.run(filepath.Join(bin, "initdb"), "-D", dir, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	if err := s.pgctl("start", "-w", "-t", "60"); err != nil {
		t.Fatalf("starting PostgreSQL: %v", err)
	}
	s.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
	return s
}

// Restart stops the server as a crash would (immediate mode: no
// checkpoint, every connection cut, recovery from the WAL on start), waits
// down, and starts it again.
func (s *PGServer) Restart(t testing.TB, down time.Duration) {
	t.Helper()
	if err := s.pgctl("stop", "-m", "immediate", "-w"); err != nil {
		t.Errorf("stopping PostgreSQL: %v", err)
		return
	}
	time.Sleep(down)
	if err := s.pgctl("start", "-w", "-t", "60"); err != nil {
		t.Errorf("starting PostgreSQL: %v", err)
	}
}

func (s *PGServer) pgctl(args ...string) error {
	args = append(args, "-D", s.dir, "-l", filepath.Join(s.dir, "server.log"),
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", s.port, s.dir))
	out, err := s.run(filepath.Join(s.bin, "pg_ctl"), args...)
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
		return fmt.Errorf("%w\n%s\n%s", err, out, log)
	}
	return nil
}

func (s *PGServer) run(name string, args ...string) ([]byte, error) {
	argv := append(append(append([]string{}, s.runAs...), name), args...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = s.dir
	return cmd.CombinedOutput()
}

// pgBinDir finds the newest installed PostgreSQL server binaries.
func pgBinDir() string {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(dir, "initdb")); dir != "" && err == nil {
			return dir
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
