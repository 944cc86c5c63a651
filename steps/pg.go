package steps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DatabaseOption tunes NewDatabase.
type DatabaseOption func(*pgDatabase)

// WithPsql sets the psql binary restore runs (default: psql from PATH).
// pg_restore is looked for beside it.
func WithPsql(path string) DatabaseOption {
	return func(d *pgDatabase) {
		d.psql = path
		if dir := filepath.Dir(path); dir != "." || strings.ContainsRune(path, filepath.Separator) {
			d.pgRestore = filepath.Join(dir, "pg_restore")
		}
	}
}

// DefaultConnectTimeout bounds connecting to PostgreSQL when the DSN sets
// no connect_timeout: a hung server fails the step instead of hanging it.
const DefaultConnectTimeout = 10 * time.Second

// pgDatabase is the real Database: pgx for queries, psql for restore.
type pgDatabase struct {
	dsn       string
	cfg       *pgx.ConnConfig
	password  string
	sslmode   string
	psql      string
	pgRestore string
	red       *Redactor
}

var sslmodeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?:^|[\s?&])sslmode=([A-Za-z-]+)`) })

// NewDatabase parses a libpq DSN (URL or keyword/value) with the same rules
// as psql: an empty dsn uses PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD,
// PGPASSFILE… It does not connect.
func NewDatabase(dsn string, opts ...DatabaseOption) (Database, error) {
	red, _ := NewRedactor([]string{dsnPassword(dsn)}, nil)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database DSN: %s", red.String(err.Error()))
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	d := &pgDatabase{dsn: dsn, cfg: cfg, password: cfg.Password, psql: "psql", pgRestore: "pg_restore"}
	if m := sslmodeRE().FindStringSubmatch(dsn); m != nil {
		d.sslmode = m[1]
	} else if v := os.Getenv("PGSSLMODE"); v != "" {
		d.sslmode = v
	}
	for _, o := range opts {
		o(d)
	}
	d.red, _ = NewRedactor([]string{d.password, dsnPassword(dsn)}, nil)
	return d, nil
}

func (d *pgDatabase) Real() bool { return true }

// Secrets lets the runner redact the password from every event.
func (d *pgDatabase) Secrets() []string {
	if d.password == "" {
		return nil
	}
	return []string{d.password}
}

// scrub turns an error into one whose text holds no password.
func (d *pgDatabase) scrub(what string, err error) error {
	if err == nil {
		return nil
	}
	return errors.New(what + ": " + d.red.String(err.Error()))
}

func (d *pgDatabase) dbName(database string) string {
	if database != "" {
		return database
	}
	return d.cfg.Database
}

// Name is the database's name as the server knows it: libpq's default for
// a DSN naming none is the user's name.
func (d *pgDatabase) Name(database string) string {
	if n := d.dbName(database); n != "" {
		return n
	}
	return d.cfg.User
}

// connect opens a connection bounded by the connect timeout; when ctx has
// a deadline (the step's timeout) the server's statement_timeout is set to
// what is left of it, so a statement never outlives its step.
func (d *pgDatabase) connect(ctx context.Context, database string) (*pgx.Conn, error) {
	cfg := d.cfg.Copy()
	if database != "" {
		cfg.Database = database
	}
	if ms := statementTimeoutMS(ctx); ms > 0 {
		cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(ms, 10)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		if ctx.Err() == nil && (pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded)) {
			return nil, fmt.Errorf("connect to database %s at %s: no answer within %s (connect timeout): the server is hung, overloaded or unreachable", cfg.Database, d.addr(), cfg.ConnectTimeout)
		}
		return nil, d.scrub("connect to database "+cfg.Database, err)
	}
	return conn, nil
}

func (d *pgDatabase) addr() string {
	if strings.HasPrefix(d.cfg.Host, "/") {
		return d.cfg.Host
	}
	return fmt.Sprintf("%s:%d", d.cfg.Host, d.cfg.Port)
}

// statementTimeoutMS is the time left before ctx's deadline in
// milliseconds (0: no deadline).
func statementTimeoutMS(ctx context.Context) int64 {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return max(1, time.Until(dl).Milliseconds())
}

func (d *pgDatabase) Describe(database string) string {
	parts := []string{"psql"}
	if d.cfg.Host != "" {
		parts = append(parts, "-h", shq(d.cfg.Host))
	}
	if d.cfg.Port != 0 {
		parts = append(parts, "-p", strconv.Itoa(int(d.cfg.Port)))
	}
	if d.cfg.User != "" {
		parts = append(parts, "-U", shq(d.cfg.User))
	}
	parts = append(parts, "-d", shq(d.dbName(database)))
	return strings.Join(parts, " ")
}

func (d *pgDatabase) Ping(ctx context.Context, database string) (DBInfo, error) {
	start := time.Now()
	conn, err := d.connect(ctx, database)
	if err != nil {
		return DBInfo{}, err
	}
	defer conn.Close(context.Background())
	var info DBInfo
	qstart := time.Now()
	err = conn.QueryRow(ctx, "SELECT current_setting('server_version'), pg_is_in_recovery(), current_database(), current_user").
		Scan(&info.Version, &info.InRecover, &info.Database, &info.User)
	if err != nil {
		return DBInfo{}, d.scrub("ping", err)
	}
	info.Latency = time.Since(qstart)
	_ = start
	return info, nil
}

// Query runs SQL with the simple protocol and returns the last result that
// has columns, with values as PostgreSQL prints them (NULL as "").
func (d *pgDatabase) Query(ctx context.Context, database, sql string) (Table, error) {
	conn, err := d.connect(ctx, database)
	if err != nil {
		return Table{}, err
	}
	defer conn.Close(context.Background())
	results, err := conn.PgConn().Exec(ctx, sql).ReadAll()
	if err != nil {
		return Table{}, d.scrub("query", err)
	}
	var t Table
	for _, res := range results {
		if len(res.FieldDescriptions) == 0 {
			continue
		}
		t = Table{}
		for _, f := range res.FieldDescriptions {
			t.Columns = append(t.Columns, f.Name)
		}
		for _, row := range res.Rows {
			out := make([]string, len(row))
			for i, v := range row {
				out[i] = string(v)
			}
			t.Rows = append(t.Rows, out)
		}
	}
	return t, nil
}

var txControlRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)\b(commit|rollback|begin|start\s+transaction|end\s*;|end\s*$|savepoint|release|prepare\s+transaction|vacuum|create\s+database|drop\s+database|reindex\s+(database|system)|create\s+index\s+concurrently)\b`)
})

// Exec runs statements; with dryRun inside BEGIN … ROLLBACK.
func (d *pgDatabase) Exec(ctx context.Context, database, sql string, dryRun bool) (int64, error) {
	if dryRun && txControlRE().MatchString(sql) {
		return 0, errors.New("dry run refused: the SQL controls transactions or cannot run in one (COMMIT/BEGIN/VACUUM/…), so it cannot be rolled back")
	}
	conn, err := d.connect(ctx, database)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	pc := conn.PgConn()
	if dryRun {
		if _, err := pc.Exec(ctx, "BEGIN").ReadAll(); err != nil {
			return 0, d.scrub("begin", err)
		}
		defer func() {
			_, _ = pc.Exec(context.Background(), "ROLLBACK").ReadAll()
		}()
	}
	results, err := pc.Exec(ctx, sql).ReadAll()
	if err != nil {
		return 0, d.scrub("exec", err)
	}
	if dryRun && pc.TxStatus() != 'T' {
		return 0, errors.New("dry run: the SQL ended the transaction itself; its changes may have been applied")
	}
	var n int64
	for _, r := range results {
		n += r.CommandTag.RowsAffected()
	}
	return n, nil
}

// Amcheck checks every btree index (bt_index_check) and every table
// (verify_heapam, PostgreSQL 14+) of the database.
func (d *pgDatabase) Amcheck(ctx context.Context, database string) ([]Corruption, error) {
	conn, err := d.connect(ctx, database)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS amcheck"); err != nil {
		var have bool
		if qerr := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'amcheck')").Scan(&have); qerr != nil || !have {
			return nil, d.scrub("amcheck: the amcheck extension is not installed and could not be created", err)
		}
	}
	var schema string
	if err := conn.QueryRow(ctx, "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'").Scan(&schema); err != nil {
		return nil, d.scrub("amcheck: find extension schema", err)
	}
	fn := func(name string) string { return pgx.Identifier{schema, name}.Sanitize() }

	idx, err := relNames(ctx, conn, `SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE am.amname = 'btree' AND c.relpersistence <> 't' AND i.indisready AND i.indisvalid
		ORDER BY 2`)
	if err != nil {
		return nil, d.scrub("amcheck: list indexes", err)
	}
	var found []Corruption
	for _, rel := range idx {
		if _, err := conn.Exec(ctx, "SELECT "+fn("bt_index_check")+"($1::oid::regclass, false)", rel.oid); err != nil {
			if ctx.Err() != nil {
				return found, d.scrub("amcheck", ctx.Err())
			}
			found = append(found, Corruption{Relation: rel.name, Detail: d.red.String(pgErrText(err))})
		}
	}
	var hasHeap bool
	_ = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = 'verify_heapam' AND n.nspname = $1)", schema).Scan(&hasHeap)
	if !hasHeap {
		return found, nil
	}
	tabs, err := relNames(ctx, conn, `SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'm', 't') AND c.relpersistence <> 't' ORDER BY 2`)
	if err != nil {
		return found, d.scrub("amcheck: list tables", err)
	}
	for _, rel := range tabs {
		rows, err := conn.Query(ctx, "SELECT blkno, offnum, attnum, msg FROM "+fn("verify_heapam")+"($1::oid::regclass)", rel.oid)
		if err != nil {
			found = append(found, Corruption{Relation: rel.name, Detail: d.red.String(pgErrText(err))})
			continue
		}
		for rows.Next() {
			var blk int64
			var off, att *int32
			var msg string
			if err := rows.Scan(&blk, &off, &att, &msg); err != nil {
				break
			}
			detail := fmt.Sprintf("block %d", blk)
			if off != nil {
				detail += fmt.Sprintf(" offset %d", *off)
			}
			if att != nil {
				detail += fmt.Sprintf(" attribute %d", *att)
			}
			found = append(found, Corruption{Relation: rel.name, Detail: detail + ": " + msg})
		}
		if err := rows.Err(); err != nil {
			if ctx.Err() != nil {
				return found, d.scrub("amcheck", ctx.Err())
			}
			found = append(found, Corruption{Relation: rel.name, Detail: d.red.String(pgErrText(err))})
		}
		rows.Close()
	}
	return found, nil
}

type relName struct {
	oid  uint32
	name string
}

func relNames(ctx context.Context, conn *pgx.Conn, sql string) ([]relName, error) {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (relName, error) {
		var r relName
		err := row.Scan(&r.oid, &r.name)
		return r, err
	})
}

func pgErrText(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		s := pe.Message
		if pe.Detail != "" {
			s += " (" + pe.Detail + ")"
		}
		return s
	}
	return err.Error()
}

// Reindex rebuilds one index (schema.name allowed) or the whole database.
func (d *pgDatabase) Reindex(ctx context.Context, database, index string) error {
	conn, err := d.connect(ctx, database)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var sql string
	if index != "" {
		sql = "REINDEX INDEX " + pgx.Identifier(strings.Split(index, ".")).Sanitize()
	} else {
		sql = "REINDEX DATABASE " + pgx.Identifier{d.dbName(database)}.Sanitize()
	}
	if _, err := conn.Exec(ctx, sql); err != nil {
		return d.scrub(strings.ToLower(sql), err)
	}
	return nil
}

// conninfo is a libpq keyword/value string without the password.
func (d *pgDatabase) conninfo(database string) string {
	kv := func(k, v string) string {
		return k + "='" + strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), `'`, `\'`) + "'"
	}
	var parts []string
	if d.cfg.Host != "" {
		parts = append(parts, kv("host", d.cfg.Host))
	}
	if d.cfg.Port != 0 {
		parts = append(parts, kv("port", strconv.Itoa(int(d.cfg.Port))))
	}
	if d.cfg.User != "" {
		parts = append(parts, kv("user", d.cfg.User))
	}
	parts = append(parts, kv("dbname", d.dbName(database)))
	if d.sslmode != "" {
		parts = append(parts, kv("sslmode", d.sslmode))
	}
	return strings.Join(parts, " ")
}

// countingReader reports bytes read.
type countingReader struct {
	r     io.Reader
	done  int64
	total int64
	fn    func(done, total int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.done += int64(n)
	if c.fn != nil && (n > 0 || err == io.EOF) {
		c.fn(c.done, c.total)
	}
	return n, err
}

// Dump formats DumpFormat tells apart.
const (
	FormatPlain     = "plain"     // SQL text: psql
	FormatCustom    = "custom"    // pg_dump -Fc: pg_restore
	FormatDirectory = "directory" // pg_dump -Fd: pg_restore
	FormatTar       = "tar"       // pg_dump -Ft: pg_restore
)

// DumpFormat tells a pg_dump archive's format from its content: a folder
// holding toc.dat is the directory format, a file starting with PGDMP the
// custom format, a tar archive the tar format, anything else plain SQL.
func DumpFormat(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.IsDir() {
		if _, err := os.Stat(filepath.Join(path, "toc.dat")); err != nil {
			return "", fmt.Errorf("%s is a folder without toc.dat: not a directory-format dump", path)
		}
		return FormatDirectory, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("PGDMP")):
		return FormatCustom, nil
	case n >= 262 && bytes.Equal(head[257:262], []byte("ustar")):
		return FormatTar, nil
	}
	return FormatPlain, nil
}

// RestoreCommand is the command a person would type to load file (of the
// given format) into database in one transaction, stopping at the first
// error. It names no password.
func RestoreCommand(psqlLine, format, file string) string {
	conn := psqlConnArgs(psqlLine)
	if format == FormatPlain {
		return "psql -X -1 -v ON_ERROR_STOP=1 " + conn + " -f " + shq(file)
	}
	return "pg_restore --single-transaction --exit-on-error " + conn + " " + shq(file)
}

// Restore loads a dump into database in one transaction that the first
// error aborts: plain SQL through psql -1 -v ON_ERROR_STOP=1 (streamed on
// stdin, so progress counts bytes), custom, directory and tar archives
// through pg_restore --single-transaction --exit-on-error. The password
// goes through PGPASSWORD only, never argv.
func (d *pgDatabase) Restore(ctx context.Context, database, file string, progress func(done, total int64), out func(Line)) error {
	format, err := DumpFormat(file)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	var cmd *exec.Cmd
	var tool string
	if format == FormatPlain {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		tool = "psql"
		cmd = exec.Command(d.psql, "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", d.conninfo(database), "-f", "-")
		cmd.Stdin = &countingReader{r: f, total: fi.Size(), fn: progress}
	} else {
		tool = "pg_restore"
		cmd = exec.Command(d.pgRestore, "--single-transaction", "--exit-on-error", "--verbose", "-d", d.conninfo(database), file)
	}
	cmd.Env = d.libpqEnv(ctx)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var lastErr []string
	collect := func(l Line) {
		if l.Stream == Stderr && !strings.HasPrefix(l.Text, "pg_restore: creating") && !strings.HasPrefix(l.Text, "pg_restore: processing") {
			lastErr = append(lastErr, l.Text)
			if len(lastErr) > 3 {
				lastErr = lastErr[1:]
			}
		}
		if out != nil {
			out(l)
		}
	}
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	errR, errW := io.Pipe()
	cmd.Stderr = errW
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("restore: start %s: %w", cmd.Path, err)
	}
	readDone := make(chan struct{}, 2)
	pump := func(rd io.Reader, s Stream) {
		lr := &lineCollector{out: collect, s: s}
		_, _ = io.Copy(lr, rd)
		lr.flush()
		readDone <- struct{}{}
	}
	var mu sync.Mutex
	collect = lockedLine(&mu, collect)
	go pump(pr, Stdout)
	go pump(errR, Stderr)
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-waited:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case werr = <-waited:
		case <-time.After(KillGrace):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			werr = <-waited
		}
	}
	pw.Close()
	errW.Close()
	<-readDone
	<-readDone
	if ctx.Err() != nil {
		return fmt.Errorf("restore %s: %w", file, ctx.Err())
	}
	if werr != nil {
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			mu.Lock()
			last := strings.Join(lastErr, " / ")
			mu.Unlock()
			msg := fmt.Sprintf("restore %s: %s exited with code %d; the transaction was rolled back, %s is unchanged", file, tool, ee.ExitCode(), d.dbName(database))
			if last != "" {
				msg += ": " + d.red.String(last)
			}
			if strings.Contains(last, "already exists") {
				msg += " (a dump without --clean loads only into an empty database: use method = \"swap\" to restore into a new database and swap it into place)"
			}
			return errors.New(msg)
		}
		return d.scrub("restore "+file, werr)
	}
	return nil
}

// lockedLine serialises calls of fn (stdout and stderr pumps run at once).
func lockedLine(mu *sync.Mutex, fn func(Line)) func(Line) {
	return func(l Line) {
		mu.Lock()
		defer mu.Unlock()
		fn(l)
	}
}

// libpqEnv is the environment of psql and pg_restore: the password only
// through PGPASSWORD, the connect timeout, and a statement timeout of what
// is left of the step.
func (d *pgDatabase) libpqEnv(ctx context.Context) []string {
	env := os.Environ()
	if d.password != "" {
		env = append(env, "PGPASSWORD="+d.password)
	}
	env = append(env, "PGCONNECT_TIMEOUT="+strconv.Itoa(max(1, int(d.cfg.ConnectTimeout/time.Second))))
	if ms := statementTimeoutMS(ctx); ms > 0 {
		opts := os.Getenv("PGOPTIONS")
		if opts != "" {
			opts += " "
		}
		env = append(env, "PGOPTIONS="+opts+"-c statement_timeout="+strconv.FormatInt(ms, 10))
	}
	return env
}

// maintenance connects to a database other than name (postgres, else
// template1), for CREATE, DROP and ALTER DATABASE.
func (d *pgDatabase) maintenance(ctx context.Context, name string) (*pgx.Conn, error) {
	var firstErr error
	for _, db := range []string{"postgres", "template1"} {
		if db == name {
			continue
		}
		conn, err := d.connect(ctx, db)
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

// CreateDatabase creates an empty database from template0 with the
// encoding, locale and owner of like.
func (d *pgDatabase) CreateDatabase(ctx context.Context, name, like string) error {
	conn, err := d.maintenance(ctx, name)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var enc, collate, ctype, owner, me string
	err = conn.QueryRow(ctx, `SELECT pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, pg_get_userbyid(d.datdba), current_user
		FROM pg_database d WHERE d.datname = $1`, like).Scan(&enc, &collate, &ctype, &owner, &me)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("create database %s: database %s does not exist", name, like)
		}
		return d.scrub("create database "+name+": read "+like, err)
	}
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " TEMPLATE template0 ENCODING " + quoteLit(enc) +
		" LC_COLLATE " + quoteLit(collate) + " LC_CTYPE " + quoteLit(ctype)
	if owner != me {
		sql += " OWNER " + pgx.Identifier{owner}.Sanitize()
	}
	if _, err := conn.Exec(ctx, sql); err != nil {
		return d.scrub("create database "+name, err)
	}
	return nil
}

// DropDatabase drops a database drnav created (a scratch or failed copy),
// ending its connections first.
func (d *pgDatabase) DropDatabase(ctx context.Context, name string) error {
	conn, err := d.maintenance(ctx, name)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return d.scrub("drop database "+name, err)
	}
	return nil
}

// swapPrivilegesSQL reads what the current role may do to database $1: a
// superuser may everything; otherwise renaming needs CREATEDB and ownership
// (membership in the owning role), creating the copy CREATEDB, and ending
// another session either membership in that session's role or
// pg_signal_backend (never for a superuser's session).
const swapPrivilegesSQL = `SELECT current_user::text, r.rolsuper, r.rolcreatedb,
	pg_has_role(current_user, d.datdba, 'USAGE'), pg_get_userbyid(d.datdba)::text,
	(SELECT count(*) FROM pg_stat_activity a JOIN pg_roles ar ON ar.oid = a.usesysid
		WHERE a.datname = d.datname AND a.pid <> pg_backend_pid()
		AND NOT pg_has_role(current_user, a.usesysid, 'USAGE')
		AND (ar.rolsuper OR NOT pg_has_role(current_user, 'pg_signal_backend', 'USAGE')))
	FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = $1`

// SwapPrivileges says what the connected role lacks to swap database.
func (d *pgDatabase) SwapPrivileges(ctx context.Context, database string) (SwapAccess, error) {
	name := d.Name(database)
	conn, err := d.maintenance(ctx, name)
	if err != nil {
		return SwapAccess{}, err
	}
	defer conn.Close(context.Background())
	var (
		role, owner           string
		super, createdb, owns bool
		unendable             int64
	)
	err = conn.QueryRow(ctx, swapPrivilegesSQL, name).Scan(&role, &super, &createdb, &owns, &owner, &unendable)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return SwapAccess{}, fmt.Errorf("swap privileges: database %s does not exist", name)
		}
		return SwapAccess{}, d.scrub("swap privileges of "+name, err)
	}
	var acc SwapAccess
	if super {
		return acc, nil
	}
	var missing []string
	if !createdb {
		missing = append(missing, "the CREATEDB attribute (to create the restored copy and rename databases): ALTER ROLE "+pgx.Identifier{role}.Sanitize()+" CREATEDB")
	}
	if !owns {
		missing = append(missing, "ownership of database "+name+" (owned by "+owner+"): GRANT "+pgx.Identifier{owner}.Sanitize()+" TO "+pgx.Identifier{role}.Sanitize())
	}
	// The restored copy is checked with amcheck, which is not a trusted
	// extension: only a superuser may create it in the new database.
	var trusted bool
	if err := conn.QueryRow(ctx, "SELECT coalesce(bool_or(trusted), false) FROM pg_available_extension_versions WHERE name = 'amcheck'").Scan(&trusted); err != nil {
		return SwapAccess{}, d.scrub("swap privileges: amcheck", err)
	}
	if !trusted {
		missing = append(missing, "superuser rights to create the amcheck extension in the restored copy (amcheck is not a trusted extension): run the restore as a superuser")
	}
	if unendable > 0 {
		acc.Connections = fmt.Sprintf("the right to end the %d other connection(s) to %s of roles it is no member of: GRANT pg_signal_backend TO %s (a superuser's sessions need a superuser), or stop those clients first",
			unendable, name, pgx.Identifier{role}.Sanitize())
	}
	acc.Missing = missing
	return acc, nil
}

// swapAttempts bounds how often Swap ends connections and retries when a
// client reconnects between the end and the rename.
const swapAttempts = 10

// Swap ends every other connection to database, then renames it to keep
// and restored to database in one transaction: either both renames happen
// or neither. It returns how many connections it ended.
func (d *pgDatabase) Swap(ctx context.Context, database, restored, keep string) (int, error) {
	conn, err := d.maintenance(ctx, database)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	var version int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		return 0, d.scrub("swap: server version", err)
	}
	terminate := "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()"
	if version >= 140000 {
		terminate = "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()"
	}
	ended := 0
	var lastErr error
	for attempt := 0; attempt < swapAttempts; attempt++ {
		var n int
		if err := conn.QueryRow(ctx, terminate, database).Scan(&n); err != nil {
			return ended, d.scrub("swap: end connections to "+database, err)
		}
		ended += n
		lastErr = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{database}.Sanitize()+" RENAME TO "+pgx.Identifier{keep}.Sanitize()); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{restored}.Sanitize()+" RENAME TO "+pgx.Identifier{database}.Sanitize())
			return err
		})
		if lastErr == nil {
			return ended, nil
		}
		var pe *pgconn.PgError
		if !errors.As(lastErr, &pe) || pe.Code != "55006" { // object_in_use: someone reconnected
			break
		}
		t := time.NewTimer(time.Duration(attempt+1) * 200 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ended, d.scrub("swap", ctx.Err())
		case <-t.C:
		}
	}
	return ended, d.scrub("swap: rename "+database+" to "+keep+" and "+restored+" to "+database+" (nothing renamed)", lastErr)
}

func quoteLit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// lineCollector splits written bytes into lines for out.
type lineCollector struct {
	out func(Line)
	s   Stream
	buf []byte
}

func (l *lineCollector) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := indexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		if l.out != nil {
			l.out(Line{Stream: l.s, Text: string(trimEOL(l.buf[:i+1]))})
		}
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > MaxLineBytes {
		l.flush()
	}
	return len(p), nil
}

func (l *lineCollector) flush() {
	if len(l.buf) > 0 && l.out != nil {
		l.out(Line{Stream: l.s, Text: string(l.buf)})
	}
	l.buf = nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
