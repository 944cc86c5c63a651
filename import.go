package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/drnav/drnav/runbooks/mdimport"
)

func importCommand() command {
	return command{
		name: "import", args: "FILE.md", short: "turn a Markdown recovery plan into runbooks to review",
		long: `Writes one TOML runbook per procedure of the plan: headings become runbooks
(and phases when they carry a time budget), list items and fenced bash/sh/console
blocks become steps. Commands that change state are marked destructive, placeholders
and hard-coded names become variables, and every guess is a "# REVIEW:" comment that
'drnav lint' lists until it is deleted. Exits non-zero only when no runbook came out.`,
		flags: func(fs *pflag.FlagSet, o *cmdOpts) {
			fs.StringVar(&o.importOut, "out", "runbooks", "folder to write the runbooks to")
			fs.StringVar(&o.idPrefix, "id-prefix", "", "put this before every runbook id (e.g. acme → acme-database-corruption)")
			fs.BoolVar(&o.force, "force", false, "overwrite files that already exist")
		},
		run: cmdImport,
		complete: func(*app, *cmdOpts) cobra.CompletionFunc {
			return cobra.FixedCompletions([]cobra.Completion{"md", "markdown"}, cobra.ShellCompDirectiveFilterFileExt)
		},
	}
}

func cmdImport(a *app, o *cmdOpts, args []string) error {
	if len(args) != 1 {
		return usageError{"import takes exactly one Markdown FILE"}
	}
	cfg, err := a.loadConfig(o)
	if err != nil {
		return err
	}
	src, err := mdimport.ReadPlan(args[0])
	if err != nil {
		return err
	}
	res, err := mdimport.Import(src, mdimport.Options{
		Source: filepath.Base(args[0]), Dir: o.importOut, IDPrefix: o.idPrefix,
		RTO: cfg.RTO.Duration, Now: time.Now(),
	})
	if errors.Is(err, mdimport.ErrNoRunbooks) {
		mdimport.WriteSummary(a.stderr, res, args[0])
		return fmt.Errorf("import %s: %w", args[0], err)
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", args[0], err)
	}
	written, err := mdimport.WriteFiles(o.importOut, res.Files, o.force)
	if err != nil {
		return err
	}
	mdimport.WriteSummary(a.stdout, res, args[0])
	fmt.Fprintf(a.stdout, "\nWrote %d files to %s. Review them, then: drnav lint %s; drnav --runbooks %s\n",
		len(written), o.importOut, o.importOut, o.importOut)
	return nil
}
