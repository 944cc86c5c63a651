package steps

import (
	"context"
	"fmt"

	"github.com/drnav/drnav/runbooks"
)

func runSQL(ctx context.Context, r *Run, st runbooks.Step, t Target) Event {
	a := st.SQL
	db := t.DB
	start := func(desc, equiv string, dry bool) error {
		return r.begin(Event{Command: desc, Equivalent: equiv, DryRun: dry})
	}
	if db == nil {
		if err := start("sql "+a.Action, "", t.DryRun); err != nil {
			return notStarted(err)
		}
		return Event{ExitCode: ExitFailed, Err: "no database configured (set dsn in the config, or the PG* environment)"}
	}
	psql := db.Describe(a.Database)
	name := a.Database
	if name == "" {
		name = "the configured database"
	}
	fail := func(err error) Event {
		if ctx.Err() != nil {
			code, msg := ctxExit(ctx, "sql "+a.Action)
			return Event{ExitCode: code, Err: msg + ": " + err.Error()}
		}
		return Event{ExitCode: ExitFailed, Err: err.Error()}
	}
	switch a.Action {
	case runbooks.SQLPing:
		if err := start("connect to "+name+" and measure latency", psql+" -c 'SELECT version(), pg_is_in_recovery()'", false); err != nil {
			return notStarted(err)
		}
		info, err := db.Ping(ctx, a.Database)
		if err != nil {
			return fail(err)
		}
		role := "primary"
		if info.InRecover {
			role = "standby (in recovery)"
		}
		r.print(Stdout, fmt.Sprintf("connected to %s as %s: PostgreSQL %s, %s, latency %s", info.Database, info.User, info.Version, role, info.Latency.Round(1000)))
		return Event{ExitCode: ExitOK}
	case runbooks.SQLQuery:
		if err := start("query "+name+": "+a.Query, psql+" -c "+shq(a.Query), false); err != nil {
			return notStarted(err)
		}
		if a.Query == "" {
			return Event{ExitCode: ExitFailed, Err: "sql query: query is required"}
		}
		tab, err := db.Query(ctx, a.Database, a.Query)
		if err != nil {
			return fail(err)
		}
		printResult(r, tab)
		return Event{ExitCode: ExitOK}
	case runbooks.SQLExec:
		if err := start("execute on "+name+": "+a.Query, psql+" -c "+shq(a.Query), t.DryRun); err != nil {
			return notStarted(err)
		}
		if a.Query == "" {
			return Event{ExitCode: ExitFailed, Err: "sql exec: query is required"}
		}
		n, err := db.Exec(ctx, a.Database, a.Query, t.DryRun)
		if err != nil {
			return fail(err)
		}
		if t.DryRun {
			r.print(Stdout, fmt.Sprintf("dry run: %d rows would be affected (ran in a transaction that was rolled back)", n))
		} else {
			r.print(Stdout, fmt.Sprintf("%d rows affected", n))
		}
		return Event{ExitCode: ExitOK}
	case runbooks.SQLAmcheck:
		if err := start("check every btree index and table of "+name+" for corruption (amcheck)", psql+" -c 'CREATE EXTENSION IF NOT EXISTS amcheck' && pg_amcheck "+psqlConnArgs(psql), false); err != nil {
			return notStarted(err)
		}
		found, err := db.Amcheck(ctx, a.Database)
		if err != nil {
			return fail(err)
		}
		for _, c := range found {
			r.print(Stderr, fmt.Sprintf("corrupt: %s: %s", c.Relation, c.Detail))
		}
		if len(found) == 0 {
			r.print(Stdout, "amcheck: no corruption found")
			return Event{ExitCode: ExitOK}
		}
		if a.ReportOnly {
			r.print(Stdout, fmt.Sprintf("amcheck: %d corruption(s) found (reported, not failing: report_only)", len(found)))
			return Event{ExitCode: ExitOK}
		}
		return Event{ExitCode: ExitFailed, Err: fmt.Sprintf("amcheck found %d corruption(s), first: %s: %s", len(found), found[0].Relation, found[0].Detail)}
	case runbooks.SQLReindex:
		what := "REINDEX DATABASE"
		if a.Index != "" {
			what = "REINDEX INDEX " + a.Index
		}
		if err := start(what+" on "+name, psql+" -c "+shq(what+" "+reindexTarget(a)), t.DryRun); err != nil {
			return notStarted(err)
		}
		if t.DryRun {
			r.print(Stdout, "dry run: REINDEX not run (it cannot be rolled back cheaply)")
			return Event{ExitCode: ExitOK}
		}
		if err := db.Reindex(ctx, a.Database, a.Index); err != nil {
			return fail(err)
		}
		r.print(Stdout, what+": done")
		return Event{ExitCode: ExitOK}
	case runbooks.SQLRestore:
		return runRestore(ctx, r, a, db, t.DryRun, fail)
	}
	if err := start("sql "+a.Action, psql, t.DryRun); err != nil {
		return notStarted(err)
	}
	return Event{ExitCode: ExitFailed, Err: fmt.Sprintf("unknown sql action %q", a.Action)}
}

func reindexTarget(a *runbooks.SQLAction) string {
	if a.Index != "" {
		return ""
	}
	if a.Database != "" {
		return a.Database
	}
	return "<database>"
}

func psqlConnArgs(psql string) string {
	if len(psql) > 5 && psql[:5] == "psql " {
		return psql[5:]
	}
	return psql
}

// printResult prints a table aligned as psql does, with a row count.
func printResult(r *Run, t Table) {
	if len(t.Columns) == 0 {
		r.print(Stdout, "(no result)")
		return
	}
	rows := [][]string{t.Columns}
	sep := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		w := len(c)
		for _, row := range t.Rows {
			if i < len(row) && len(row[i]) > w {
				w = len(row[i])
			}
		}
		sep[i] = dashes(w)
	}
	rows = append(rows, sep)
	rows = append(rows, t.Rows...)
	printTable(r, rows)
	n := len(t.Rows)
	if n == 1 {
		r.print(Stdout, "(1 row)")
	} else {
		r.print(Stdout, fmt.Sprintf("(%d rows)", n))
	}
}

func dashes(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '-'
	}
	return string(b)
}
