package steps

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/drnav/drnav/runbooks"
)

// maxIdentLen is PostgreSQL's limit on a database name (NAMEDATALEN-1).
const maxIdentLen = 63

// RestoreNames are the databases a swap or scratch restore uses.
type RestoreNames struct {
	Database string // the database restored (renamed away on swap)
	Restored string // the new database the dump loads into
	Kept     string // the name the old database keeps after a swap
}

// NamesFor returns the databases a restore of database at now uses:
// <db>_restore_<yyyymmddhhmm> (swap), <db>_scratch_<…> (scratch or dry run)
// and <db>_damaged_<…>. Names are cut to PostgreSQL's 63 bytes keeping the
// suffix.
func NamesFor(database string, now time.Time, scratch bool) RestoreNames {
	ts := now.UTC().Format("200601021504")
	kind := "_restore_"
	if scratch {
		kind = "_scratch_"
	}
	return RestoreNames{
		Database: database,
		Restored: cutName(database, kind+ts),
		Kept:     cutName(database, "_damaged_"+ts),
	}
}

func cutName(base, suffix string) string {
	if len(base)+len(suffix) > maxIdentLen {
		base = base[:maxIdentLen-len(suffix)]
	}
	return base + suffix
}

// RestorePlan describes, for a confirmation, what a restore step touches:
// the backup, the database replaced and the names it will have. database
// is the resolved database name.
func RestorePlan(a *runbooks.SQLAction, database string, now time.Time) []string {
	if a == nil || a.Action != runbooks.SQLRestore {
		return nil
	}
	lines := []string{"Backup:    " + a.File}
	switch a.Method {
	case runbooks.RestoreSwap:
		n := NamesFor(database, now, false)
		lines = append(lines,
			"Restores into new database "+n.Restored+", checks it (amcheck"+tablesNote(a.Tables)+"),",
			"then ends every connection to "+n.Database+", renames "+n.Database+" → "+n.Kept+" (kept, never dropped)",
			"and "+n.Restored+" → "+n.Database+".")
	case runbooks.RestoreScratch:
		n := NamesFor(database, now, true)
		lines = append(lines, "Restores into scratch database "+n.Restored+", checks it, drops it; "+database+" is not touched.")
	default:
		lines = append(lines, "Loads the dump into "+database+" itself, in one transaction (it must be empty).")
	}
	return lines
}

func tablesNote(tables []string) string {
	if len(tables) == 0 {
		return ""
	}
	return ", rows in " + strings.Join(tables, ", ")
}

// runRestore runs a restore action: load (into the database itself), swap
// (into a new database, checked, then swapped into place) or scratch
// (into a scratch database, checked, dropped). A dry run of any method is
// a scratch restore: it proves the backup loads and checks clean.
func runRestore(ctx context.Context, r *Run, a *runbooks.SQLAction, db Database, dryRun bool, fail func(error) Event) Event {
	method := a.Method
	if method == "" {
		method = runbooks.RestoreLoad
	}
	psql := db.Describe(a.Database)
	if a.File == "" {
		if err := r.begin(Event{Command: "restore (no file)", DryRun: dryRun}); err != nil {
			return notStarted(err)
		}
		return Event{ExitCode: ExitFailed, Err: "sql restore: file is required"}
	}
	format, ferr := DumpFormat(a.File)
	if ferr != nil {
		format = FormatPlain
	}
	start := r.now()
	scratch := dryRun || method == runbooks.RestoreScratch
	// The database's real name (the DSN's when the step names none).
	name := db.Name(a.Database)
	if name == "" {
		name = "the configured database"
	}

	switch {
	case method == runbooks.RestoreLoad && !dryRun:
		if err := r.begin(Event{Command: "restore " + a.File + " (" + format + ") into " + name + " in one transaction, stopping at the first error",
			Equivalent: RestoreCommand(psql, format, a.File)}); err != nil {
			return notStarted(err)
		}
		if ferr != nil {
			return Event{ExitCode: ExitFailed, Err: "restore: " + ferr.Error()}
		}
		if err := db.Restore(ctx, a.Database, a.File, r.progress, func(l Line) { r.print(l.Stream, l.Text) }); err != nil {
			return fail(err)
		}
		r.print(Stdout, fmt.Sprintf("restore: %s loaded into %s in %s", a.File, name, fmtDur(r.now().Sub(start))))
		return Event{ExitCode: ExitOK}
	}

	// The names come from the configuration, without connecting: the
	// step's start is journalled before drnav sends the server anything.
	n := NamesFor(db.Name(a.Database), r.now(), scratch)
	restoreCmd := RestoreCommand(db.Describe(n.Restored), format, a.File)
	createCmd := psqlMaint(psql) + " -c " + shq("CREATE DATABASE "+pgx.Identifier{n.Restored}.Sanitize()+" TEMPLATE template0")
	var command, equiv string
	switch {
	case scratch:
		command = "restore " + a.File + " (" + format + ") into scratch database " + n.Restored + ", check it, drop it"
		if dryRun && method != runbooks.RestoreScratch {
			command = "dry run: " + command + "; " + n.Database + " is not touched"
		}
		equiv = createCmd + " && " + restoreCmd + " && pg_amcheck " + psqlConnArgs(db.Describe(n.Restored)) +
			" ; " + psqlMaint(psql) + " -c " + shq("DROP DATABASE "+pgx.Identifier{n.Restored}.Sanitize())
	default:
		command = "restore " + a.File + " (" + format + ") into new database " + n.Restored + ", check it, then swap: " +
			n.Database + " → " + n.Kept + " (kept), " + n.Restored + " → " + n.Database
		equiv = createCmd + " && " + restoreCmd + " && pg_amcheck " + psqlConnArgs(db.Describe(n.Restored)) +
			" && " + psqlMaint(psql) + " -c " + shq("BEGIN; ALTER DATABASE "+pgx.Identifier{n.Database}.Sanitize()+" RENAME TO "+
			pgx.Identifier{n.Kept}.Sanitize()+"; ALTER DATABASE "+pgx.Identifier{n.Restored}.Sanitize()+" RENAME TO "+
			pgx.Identifier{n.Database}.Sanitize()+"; COMMIT")
	}
	if err := r.begin(Event{Command: command, Equivalent: equiv, DryRun: dryRun}); err != nil {
		return notStarted(err)
	}
	if ferr != nil {
		return Event{ExitCode: ExitFailed, Err: "restore: " + ferr.Error()}
	}
	info, err := db.Ping(ctx, a.Database)
	if err != nil {
		return fail(err)
	}
	if info.Database != n.Database {
		return Event{ExitCode: ExitFailed, Err: fmt.Sprintf("restore: the server calls the database %q, the configuration %q (a connection pooler's alias?): point the DSN at the database's real name; nothing was changed", info.Database, n.Database)}
	}
	if method == runbooks.RestoreSwap {
		acc, err := db.SwapPrivileges(ctx, a.Database)
		if err != nil {
			return fail(err)
		}
		if len(acc.Missing) > 0 || (acc.Connections != "" && !dryRun) {
			lacks := acc.Missing
			if !dryRun && acc.Connections != "" {
				lacks = append(lacks, acc.Connections)
			}
			who := info.User
			if dryRun {
				return Event{ExitCode: ExitFailed, Err: "dry run: the swap would fail: role " + who + " lacks " + strings.Join(lacks, "; and ")}
			}
			return Event{ExitCode: ExitFailed, Err: "restore: the swap needs what role " + who + " lacks: " + strings.Join(lacks, "; and ") + "; nothing was changed"}
		}
		if acc.Connections != "" {
			r.print(Stderr, "dry run: the swap would need "+acc.Connections+" if they are still connected then")
		}
	}
	if method == runbooks.RestoreLoad {
		// A dry run of a load: the real one needs an empty database.
		if tab, err := db.Query(ctx, a.Database, emptyCheckSQL); err == nil && len(tab.Rows) == 1 && tab.Rows[0][0] != "0" && format == FormatPlain {
			r.print(Stderr, fmt.Sprintf("restore: %s already holds %s tables; a plain dump loads only into an empty database", n.Database, tab.Rows[0][0]))
			return Event{ExitCode: ExitFailed, Err: fmt.Sprintf("dry run: the restore would fail: %s is not empty (%s tables) and a plain dump loads only into an empty database; use method = \"swap\"", n.Database, tab.Rows[0][0])}
		}
	}

	// drop removes the copy drnav created; it runs even when ctx ended.
	drop := func(why string) {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := db.DropDatabase(dctx, n.Restored); err != nil {
			r.print(Stderr, fmt.Sprintf("restore: could not drop %s (%s): %v; drop it by hand", n.Restored, why, err))
			return
		}
		r.print(Stdout, fmt.Sprintf("restore: dropped %s (%s)", n.Restored, why))
	}

	r.print(Stdout, fmt.Sprintf("restore 1/4: create database %s", n.Restored))
	if err := db.CreateDatabase(ctx, n.Restored, n.Database); err != nil {
		return fail(err)
	}
	r.print(Stdout, fmt.Sprintf("restore 2/4: load %s (%s format) into %s in one transaction", a.File, format, n.Restored))
	if err := db.Restore(ctx, n.Restored, a.File, r.progress, func(l Line) { r.print(l.Stream, l.Text) }); err != nil {
		drop("the load failed")
		ev := fail(err)
		ev.Err += "; " + n.Database + " was not touched"
		return ev
	}
	r.print(Stdout, fmt.Sprintf("restore 3/4: check %s (amcheck%s)", n.Restored, tablesNote(a.Tables)))
	if problem := checkRestored(ctx, r, db, n.Restored, a.Tables); problem != "" {
		drop("its check failed")
		if ctx.Err() != nil {
			return fail(fmt.Errorf("%s", problem))
		}
		return Event{ExitCode: ExitFailed, Err: "restore: the restored copy failed its check: " + problem + "; " + n.Database + " was not touched"}
	}
	if scratch {
		drop("scratch copy")
		took := fmtDur(r.now().Sub(start))
		if method == runbooks.RestoreScratch {
			r.print(Stdout, fmt.Sprintf("restore 4/4: %s restores and checks clean (%s); scratch copy dropped, %s not touched", a.File, took, n.Database))
			return Event{ExitCode: ExitOK}
		}
		r.print(Stdout, fmt.Sprintf("dry run: %s restores and checks clean in a scratch database (%s, dropped); %s unchanged", a.File, took, n.Database))
		if method == runbooks.RestoreSwap {
			live := NamesFor(n.Database, r.now(), false)
			r.print(Stdout, fmt.Sprintf("dry run: the real run would rename %s → %s (kept) and %s → %s", n.Database, live.Kept, live.Restored, n.Database))
		}
		return Event{ExitCode: ExitOK}
	}
	r.print(Stdout, fmt.Sprintf("restore 4/4: end connections to %s and swap the databases", n.Database))
	ended, err := db.Swap(ctx, n.Database, n.Restored, n.Kept)
	if err != nil {
		ev := fail(err)
		ev.Err += "; the checked copy stays as " + n.Restored
		return ev
	}
	r.print(Stdout, fmt.Sprintf("restore: swapped: %s → %s (kept for forensics, never dropped by drnav); %s → %s; %d connection(s) ended; took %s",
		n.Database, n.Kept, n.Restored, n.Database, ended, fmtDur(r.now().Sub(start))))
	return Event{ExitCode: ExitOK}
}

// emptyCheckSQL counts the user tables of a database.
const emptyCheckSQL = `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`

// checkRestored runs amcheck and the table row checks on the restored
// copy; it returns what is wrong ("" when it is sound).
func checkRestored(ctx context.Context, r *Run, db Database, database string, tables []string) string {
	found, err := db.Amcheck(ctx, database)
	if err != nil {
		return err.Error()
	}
	for _, c := range found {
		r.print(Stderr, fmt.Sprintf("corrupt: %s: %s", c.Relation, c.Detail))
	}
	if len(found) > 0 {
		return fmt.Sprintf("amcheck found %d corruption(s), first: %s: %s", len(found), found[0].Relation, found[0].Detail)
	}
	r.print(Stdout, "amcheck: no corruption found in "+database)
	// An empty dump restores without an error; it is no backup.
	tab, err := db.Query(ctx, database, emptyCheckSQL)
	if err != nil {
		return "count tables: " + err.Error()
	}
	if len(tab.Rows) != 1 || len(tab.Rows[0]) != 1 || tab.Rows[0][0] == "0" {
		return "the restored copy holds no tables: the backup is empty or not a dump of a database"
	}
	r.print(Stdout, fmt.Sprintf("restore: the restored copy holds %s tables", tab.Rows[0][0]))
	for _, t := range tables {
		tab, err := db.Query(ctx, database, "SELECT count(*) FROM "+pgx.Identifier(strings.Split(t, ".")).Sanitize())
		if err != nil {
			return "table " + t + ": " + err.Error()
		}
		if len(tab.Rows) != 1 || len(tab.Rows[0]) != 1 {
			return "table " + t + ": no row count"
		}
		cnt := tab.Rows[0][0]
		r.print(Stdout, fmt.Sprintf("table %s: %s rows", t, cnt))
		if cnt == "0" {
			return "table " + t + " is empty"
		}
	}
	return ""
}

// psqlMaint is the psql line pointed at the maintenance database.
func psqlMaint(psql string) string {
	if i := strings.LastIndex(psql, " -d "); i >= 0 {
		return psql[:i] + " -d postgres"
	}
	return psql + " -d postgres"
}
