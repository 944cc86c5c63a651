package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/incident/mirror"
)

// verifiedCopy is one copy of an incident's journal under report --verify.
type verifiedCopy struct {
	name  string // "local" or the context
	check incident.ChainCheck
	// missing says the copy lost events it claims to hold (a chunk gone,
	// a cut event, annotations ahead of the data); "" when whole.
	missing string
	none    bool // no copy there at all
}

// cmdVerify is report --verify: it checks the chain of the local journal
// and of each mirrored copy (every [mirror] context, or --context's) and
// says where they diverge. A broken chain or a differing copy exits with
// exitVerify; a context that cannot be read with exitFailed.
func (a *app) cmdVerify(o *cmdOpts, args []string) error {
	if len(args) > 1 {
		return usageError{"at most one incident ID"}
	}
	if o.output != "" {
		return usageError{"report --verify prints text only (no -o)"}
	}
	cfg, err := a.loadConfig(o)
	if err != nil {
		return err
	}
	var id string
	if len(args) == 1 {
		id = args[0]
	} else if o.mirrorContext != "" {
		return usageError{"report --verify --context needs the incident ID (see 'drnav incidents --context " + o.mirrorContext + "')"}
	} else if id, err = pickIncident(cfg.JournalDir, nil, false); err != nil {
		return err
	}
	if err := incident.ValidID(id); err != nil {
		return err
	}
	var copies []verifiedCopy
	var notes []string
	data, err := incident.JournalBytes(cfg.JournalDir, id)
	switch {
	case err == nil:
		copies = append(copies, verifiedCopy{name: "local", check: incident.CheckChain(data, id)})
	case errors.Is(err, fs.ErrNotExist) && (o.mirrorContext != "" || cfg.Mirror.Enabled()):
		notes = append(notes, "local: no copy on this machine")
	default:
		return err
	}
	contexts := cfg.Mirror.Contexts
	if o.mirrorContext != "" {
		contexts = []string{o.mirrorContext}
	}
	unreadable := 0
	for _, name := range contexts {
		t, err := a.mirrorTarget(o, cfg, name)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		c := mirror.ReadCopy(withQuietLogs(ctx), t, "", id)
		cancel()
		if c.Err != nil {
			notes = append(notes, fmt.Sprintf("%s: cannot be read: %v", name, c.Err))
			unreadable++
			continue
		}
		vc := verifiedCopy{name: name, check: incident.CheckChain(c.All, id), none: c.Chunks == 0}
		switch {
		case c.Problem != "":
			vc.missing = c.Problem
		case c.Claimed > vc.check.Last():
			vc.missing = fmt.Sprintf("its chunks claim %d events, %d are there", c.Claimed, vc.check.Last())
		}
		copies = append(copies, vc)
	}
	if len(copies) == 0 {
		return fmt.Errorf("verify %s: no copy could be read", id)
	}
	bad := a.printVerify(cfg, id, copies, notes)
	switch {
	case bad:
		fmt.Fprintf(a.stderr, "drnav: verify %s: the journal was tampered with or its copies diverge (see above)\n", id)
		return exitError{exitVerify}
	case unreadable > 0:
		fmt.Fprintf(a.stderr, "drnav: verify %s: %d context(s) could not be read\n", id, unreadable)
		return exitError{exitFailed}
	}
	return nil
}

// printVerify prints each copy's chain and how it stands to the
// reference (the local copy, else the longest chain that holds); bad says
// some chain is broken or some copy differs or lost its tail.
func (a *app) printVerify(cfg config.Config, id string, copies []verifiedCopy, notes []string) (bad bool) {
	ref := -1
	for i, c := range copies {
		if c.name == "local" {
			ref = i
			break
		}
		if c.check.OK() && (ref < 0 || c.check.Events() > copies[ref].check.Events()) {
			ref = i
		}
	}
	if ref < 0 {
		ref = 0
	}
	p := incident.Printable
	fmt.Fprintf(a.stdout, "Verify %s (compared with the %s copy)\n", p(id), copies[ref].name)
	for _, n := range notes {
		fmt.Fprintf(a.stdout, "  %s\n", p(n))
	}
	for i, c := range copies {
		ch := c.check
		var parts []string
		switch {
		case c.none:
			parts = append(parts, "no copy")
		case ch.Events() == 0:
			parts = append(parts, "no events")
		case ch.Unchained == ch.Events()-1 && ch.Events() > 1:
			parts = append(parts, fmt.Sprintf("%d events, unchained (written before drnav chained its journal)", ch.Events()))
		case ch.Unchained > 0:
			parts = append(parts, fmt.Sprintf("%d events, unchained up to event %d, chained from event %d on", ch.Events(), ch.Seqs[ch.Unchained], ch.Seqs[ch.Unchained+1]))
		default:
			parts = append(parts, fmt.Sprintf("%d events, chained", ch.Events()))
		}
		if ch.OK() {
			parts = append(parts, "links intact")
		} else {
			bad = true
			parts = append(parts, fmt.Sprintf("BROKEN LINK at event %d", ch.Breaks[0].Seq))
		}
		if c.missing != "" {
			bad = true
			parts = append(parts, "MISSING TAIL: "+c.missing)
		}
		var diff *incident.Relation
		if i != ref {
			r := incident.Compare(copies[ref].check, ch)
			switch r.Kind {
			case incident.RelSame:
				parts = append(parts, "same as "+copies[ref].name)
			case incident.RelBehind:
				if c.missing != "" {
					parts = append(parts, fmt.Sprintf("the rest matches the start of %s (%d events short)", copies[ref].name, r.N))
				} else {
					parts = append(parts, fmt.Sprintf("behind %s by %d (not yet mirrored: a prefix, not tampering)", copies[ref].name, r.N))
				}
			case incident.RelAhead:
				parts = append(parts, fmt.Sprintf("ahead of %s by %d (%s is behind: another machine drove on)", copies[ref].name, r.N, copies[ref].name))
			case incident.RelDiffers:
				bad = true
				parts = append(parts, fmt.Sprintf("DIFFERS from %s at event %d", copies[ref].name, r.Seq))
				diff = &r
			}
		}
		fmt.Fprintf(a.stdout, "  %-10s %s\n", p(c.name)+":", strings.Join(parts, "; "))
		for _, b := range ch.Breaks {
			fmt.Fprintf(a.stdout, "      %s\n", p(b.String()))
		}
		for _, w := range ch.Skipped {
			fmt.Fprintf(a.stdout, "      line %d: %s\n", w.Line, p(w.Msg))
		}
		if diff != nil {
			fmt.Fprintf(a.stdout, "      %s: %s\n", p(copies[ref].name), p(excerpt(diff.Theirs)))
			fmt.Fprintf(a.stdout, "      %s: %s\n", p(c.name), p(excerpt(diff.Mine)))
		}
	}
	if len(copies) == 1 && copies[0].name == "local" && cfg.Mirror.Enabled() {
		fmt.Fprintln(a.stdout, "  (no mirrored copy was read)")
	}
	if !bad {
		fmt.Fprintln(a.stdout, "OK: every chain holds and no copy differs.")
	}
	return bad
}

// excerpt is the start of a journal line for the screen.
func excerpt(line []byte) string {
	s := strings.TrimSuffix(string(line), "\n")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}
