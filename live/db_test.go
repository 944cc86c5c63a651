package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

type proberFunc func(ctx context.Context) (DBHealth, error)

func (f proberFunc) Probe(ctx context.Context) (DBHealth, error) { return f(ctx) }

func TestGradeRPO(t *testing.T) {
	t.Parallel()
	rpo := 15 * time.Minute
	tests := []struct {
		age  time.Duration
		want RPOState
	}{
		{0, RPOOK}, {12 * time.Minute, RPOOK}, {12*time.Minute + time.Second, RPOAmber},
		{15 * time.Minute, RPOAmber}, {15*time.Minute + time.Second, RPORed},
	}
	for _, tt := range tests {
		if got := GradeRPO(tt.age, rpo); got != tt.want {
			t.Errorf("GradeRPO(%v) = %v, want %v", tt.age, got, tt.want)
		}
	}
}

func TestDBFreshnessBackupFolder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		ages  []time.Duration
		want  RPOState
		known bool
	}{
		{"fresh", []time.Duration{40 * time.Minute, 5 * time.Minute}, RPOOK, true},
		{"amber", []time.Duration{13 * time.Minute, 50 * time.Hour}, RPOAmber, true},
		{"red", []time.Duration{20 * time.Minute}, RPORed, true},
		{"empty", nil, RPOUnknown, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			now := time.Now()
			for i, age := range tt.ages {
				sub := dir
				if i%2 == 1 {
					sub = filepath.Join(dir, "daily")
					if err := os.MkdirAll(sub, 0o755); err != nil {
						t.Fatal(err)
					}
				}
				f := filepath.Join(sub, fmt.Sprintf("backup-%d.sql", i))
				if err := os.WriteFile(f, []byte("--"), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(f, now.Add(-age), now.Add(-age)); err != nil {
					t.Fatal(err)
				}
			}
			src := NewDBSource(proberFunc(func(context.Context) (DBHealth, error) {
				return DBHealth{}, errors.New("connect: refused")
			}), DBOptions{RPO: 15 * time.Minute, BackupDir: dir})
			s := src.Step(context.Background())
			if s.RPOState != tt.want || s.FreshnessKnown != tt.known {
				t.Fatalf("state %v known %v, want %v %v (freshness %v)", s.RPOState, s.FreshnessKnown, tt.want, tt.known, s.Freshness)
			}
			if tt.known {
				if s.FreshnessSource != FreshnessFolder {
					t.Errorf("source = %q", s.FreshnessSource)
				}
				newest := tt.ages[0]
				for _, a := range tt.ages {
					newest = min(newest, a)
				}
				if d := s.Freshness - newest; d < 0 || d > time.Minute {
					t.Errorf("freshness %v, want ≈%v", s.Freshness, newest)
				}
			}
			if s.Up || s.Err == "" || s.NextRetry.Sub(s.Updated) != time.Second {
				t.Errorf("down snapshot = %+v", s)
			}
		})
	}
}

func TestDBFreshnessCommandAndWAL(t *testing.T) {
	t.Parallel()
	now := time.Now()
	archived := now.Add(-10 * time.Minute)
	cmdTime := now.Add(-3 * time.Minute).UTC().Format(time.RFC3339)
	src := NewDBSource(proberFunc(func(context.Context) (DBHealth, error) {
		return DBHealth{LastArchived: archived, Version: "16.2"}, nil
	}), DBOptions{FreshnessCommand: "echo noise; echo " + cmdTime})
	s := src.Step(context.Background())
	if !s.Up || s.FreshnessSource != FreshnessCommand || s.RPOState != RPOOK || s.RPO != 15*time.Minute {
		t.Fatalf("snapshot = %+v", s)
	}

	bad := NewDBSource(proberFunc(func(context.Context) (DBHealth, error) {
		return DBHealth{LastArchived: archived}, nil
	}), DBOptions{FreshnessCommand: "echo oops >&2; exit 3"})
	s = bad.Step(context.Background())
	if s.FreshnessSource != FreshnessWAL || s.RPOState != RPOOK || !strings.Contains(s.FreshnessErr, "oops") {
		t.Fatalf("snapshot = %+v", s)
	}
}

func TestDBBackoffAndRecovery(t *testing.T) {
	t.Parallel()
	var calls int
	src := NewDBSource(proberFunc(func(context.Context) (DBHealth, error) {
		calls++
		if calls <= 6 {
			return DBHealth{}, errors.New("connect: refused")
		}
		return DBHealth{Version: "16"}, nil
	}), DBOptions{})
	want := []time.Duration{1, 2, 4, 8, 16, 30}
	for i, w := range want {
		s := src.Step(context.Background())
		if s.Up || s.NextRetry.Sub(s.Updated) != w*time.Second {
			t.Fatalf("failure %d: up %v retry in %v, want %v", i+1, s.Up, s.NextRetry.Sub(s.Updated), w*time.Second)
		}
	}
	if s := src.Step(context.Background()); !s.Up || s.Err != "" || !s.NextRetry.IsZero() {
		t.Fatalf("recovered = %+v", s)
	}
	if s := src.Latest(); !s.Up {
		t.Fatalf("Latest = %+v", s)
	}
}

func TestScrubSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"cannot parse `postgres://u:s3cret@h/db`: bad", "cannot parse `postgres://u:xxxxx@h/db`: bad"},
		{"host=h password=s3cret user=u", "host=h password=xxxxx user=u"},
		{"host=h password='s 3' user=u", "host=h password=xxxxx user=u"},
		{"auth failed with s3cret", "auth failed with xxxxx"},
	}
	for _, tt := range tests {
		if got := ScrubSecrets(tt.in, "s3cret"); got != tt.want {
			t.Errorf("ScrubSecrets(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	_, err := NewPGProber("postgres://u:s3cret@h:notaport/db", "")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad DSN error = %v", err)
	}
}

// --- real PostgreSQL ---------------------------------------------------

func pgEnv(t *testing.T) (dsn, bin, user string) {
	t.Helper()
	dsn = os.Getenv("DRNAV_TEST_PG_DSN")
	bin, user = os.Getenv("DRNAV_TEST_PG_BIN"), os.Getenv("DRNAV_TEST_PG_USER")
	if dsn == "" {
		if os.Getenv("DRNAV_REQUIRE_PG") == "1" {
			t.Fatal("DRNAV_TEST_PG_DSN unset and DRNAV_REQUIRE_PG=1")
		}
		t.Skip("DRNAV_TEST_PG_DSN unset")
	}
	return dsn, bin, user
}

func TestPGProberSharedServer(t *testing.T) {
	t.Parallel()
	dsn, _, _ := pgEnv(t)
	p, err := NewPGProber(dsn, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	h, err := p.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if h.Latency <= 0 || h.Version == "" || h.Standby || h.Connections < 1 || h.MaxConnections < h.Connections || h.SizeBytes <= 0 {
		t.Errorf("health = %+v", h)
	}
}

// throwaway is a PostgreSQL server of the test's own, so it may be stopped.
type throwaway struct {
	t         *testing.T
	bin, user string
	dir       string
	port      int
	password  string
}

func (s *throwaway) run(args ...string) {
	s.t.Helper()
	if os.Getuid() == 0 && s.user != "" && s.user != "root" {
		args = append([]string{"runuser", "-u", s.user, "--"}, args...)
	}
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (s *throwaway) dsn() string {
	return fmt.Sprintf("postgres://drnav:%s@127.0.0.1:%d/postgres?sslmode=disable", s.password, s.port)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startThrowaway(t *testing.T) *throwaway {
	t.Helper()
	_, bin, user := pgEnv(t)
	if bin == "" {
		if os.Getenv("DRNAV_REQUIRE_PG") == "1" {
			t.Fatal("DRNAV_TEST_PG_BIN unset and DRNAV_REQUIRE_PG=1")
		}
		t.Skip("DRNAV_TEST_PG_BIN unset")
	}
	dir, err := os.MkdirTemp("", "drnav-live-pg-")
	if err != nil {
		t.Fatal(err)
	}
	s := &throwaway{t: t, bin: bin, user: user, dir: dir, port: freePort(t), password: "live-test-pw-7f3a"}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Getuid() == 0 && user != "" && user != "root" {
		if out, err := exec.Command("chown", user, dir).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, out)
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s.run("sh", "-c", fmt.Sprintf("printf '%%s\\n' %s > %s/pw && mkdir %s/archive", s.password, dir, dir))
	s.run(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "drnav", "--pwfile="+filepath.Join(dir, "pw"),
		"-A", "scram-sha-256", "--auth-local=trust", "--no-sync")
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
fsync = off
archive_mode = on
archive_command = 'test ! -f %s/archive/%%f && cp %%p %s/archive/%%f'
max_connections = 20
`, s.port, dir, dir, dir)
	f, err := os.OpenFile(filepath.Join(dir, "data", "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(conf); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s.start("data")
	t.Cleanup(func() {
		for _, d := range []string{"standby", "data"} {
			if _, err := os.Stat(filepath.Join(dir, d, "postmaster.pid")); err == nil {
				s.stop(d)
			}
		}
	})
	return s
}

func (s *throwaway) start(data string) {
	s.run(filepath.Join(s.bin, "pg_ctl"), "-D", filepath.Join(s.dir, data), "-l", filepath.Join(s.dir, data+".log"), "-w", "-t", "60", "start")
}

func (s *throwaway) stop(data string) {
	s.run(filepath.Join(s.bin, "pg_ctl"), "-D", filepath.Join(s.dir, data), "-m", "fast", "-w", "stop")
}

func TestPGSourceStopRestartArchiveStandby(t *testing.T) {
	t.Parallel()
	srv := startThrowaway(t)
	ctx := context.Background()

	p, err := NewPGProber(srv.dsn(), "postgres")
	if err != nil {
		t.Fatal(err)
	}
	h, err := p.Probe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.Latency <= 0 || h.Version == "" || h.Version[0] < '1' || h.Version[0] > '9' || h.Standby ||
		h.MaxConnections != 20 || h.Connections < 1 || h.SizeBytes <= 0 || !h.LastArchived.IsZero() {
		t.Fatalf("fresh server health = %+v", h)
	}

	// Write, switch WAL, and wait for the archiver.
	conn, err := pgx.Connect(ctx, srv.dsn())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t AS SELECT generate_series(1, 1000) AS n"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_switch_wal()"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	src := NewDBSource(p, DBOptions{Interval: 200 * time.Millisecond, RPO: 15 * time.Minute})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { src.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()
	wait := func(what string, ok func(DBSnapshot) bool) DBSnapshot {
		t.Helper()
		deadline := time.After(30 * time.Second)
		var last DBSnapshot
		for {
			select {
			case s := <-src.Snapshots():
				last = s
				if ok(s) {
					return s
				}
			case <-deadline:
				t.Fatalf("%s: not seen; last %+v", what, last)
			}
		}
	}
	s := wait("archived", func(s DBSnapshot) bool { return s.Up && !s.Health.LastArchived.IsZero() })
	if s.FreshnessSource != FreshnessWAL || !s.FreshnessKnown || s.RPOState != RPOOK || s.Freshness > time.Minute {
		t.Errorf("freshness = %+v", s)
	}

	srv.stop("data")
	s = wait("down", func(s DBSnapshot) bool { return !s.Up })
	if s.Err == "" || strings.Contains(s.Err, srv.password) || s.NextRetry.Sub(s.Updated) != time.Second {
		t.Errorf("down = %+v", s)
	}
	if s.Health.Version == "" || s.FreshnessSource != FreshnessWAL {
		t.Errorf("down snapshot forgot the last figures: %+v", s)
	}
	wait("second failure", func(s DBSnapshot) bool { return !s.Up && s.NextRetry.Sub(s.Updated) == 2*time.Second })
	srv.start("data")
	wait("recovered", func(s DBSnapshot) bool { return s.Up && s.Err == "" && s.NextRetry.IsZero() })

	// Wrong password: the error names no password.
	bad, err := NewPGProber(strings.Replace(srv.dsn(), srv.password, "wrong-pw-secret", 1), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Probe(ctx); err == nil || strings.Contains(err.Error(), "wrong-pw-secret") {
		t.Errorf("wrong password error = %v", err)
	}

	// Standby: base backup with -R, started on another port.
	port2 := freePort(t)
	srv.run(filepath.Join(srv.bin, "pg_basebackup"), "-d", srv.dsn(), "-D", filepath.Join(srv.dir, "standby"), "-R", "-X", "stream", "--no-sync")
	f, err := os.OpenFile(filepath.Join(srv.dir, "standby", "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "\nport = %d\narchive_mode = off\n", port2)
	f.Close()
	srv.start("standby")
	sp, err := NewPGProber(strings.Replace(srv.dsn(), fmt.Sprint(srv.port), fmt.Sprint(port2), 1), "postgres")
	if err != nil {
		t.Fatal(err)
	}
	sh, err := sp.Probe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !sh.Standby {
		t.Errorf("standby health = %+v", sh)
	}
	// The primary sees its standby: a replication lag figure appears once
	// the standby replayed something.
	conn, err = pgx.Connect(ctx, srv.dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := conn.Exec(ctx, "INSERT INTO t VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		ph, err := p.Probe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ph.HasReplication && !ph.Standby {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("primary never reported replication lag: %+v", ph)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
