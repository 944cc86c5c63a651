package runbooks

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultRTO is the plan's recovery time objective, used when LintOptions.RTO is zero.
const DefaultRTO = 4 * time.Hour

// LintOptions tune Lint.
type LintOptions struct {
	// RTO bounds the sum of a procedure's phase budgets (zero: DefaultRTO;
	// negative: not checked).
	RTO time.Duration
	// Now is compared with next_review (zero: time.Now()).
	Now time.Time
	// Strict turns an overdue review into an error.
	Strict bool
}

// Runbook kinds.
const (
	KindProcedure = "procedure"
	KindCadence   = "cadence"
)

// KnownScenarios lists the drill scenarios a runbook may name.
func KnownScenarios() []string {
	return []string{"data-center-failure", "database-corruption", "application-failure", "network-failure", "complete-outage"}
}

// ConfigKeys lists the config keys a variable may take its default from
// (the keys of config.Config.Values()).
func ConfigKeys() []string {
	return []string{
		"namespace", "app_label", "deployment", "database", "db_deployment",
		"primary_context", "failover_context", "backup_dir", "latest_backup",
		"failover_manifests", "network_policy", "drill_manifests",
		"health_url", "failover_health_url",
	}
}

// BuiltinVariables are the placeholders drnav fills itself: the resolved
// kube context names (a declared variable of the same name wins).
func BuiltinVariables() []string {
	return []string{"context", "primary_context", "failover_context"}
}

// Sources lists the variable sources.
func Sources() []string {
	return []string{SourceText, SourcePods, SourceUnreadyPods, SourceDeployments,
		SourceNetworkPolicies, SourceContexts, SourceBackups, SourceConfig}
}

// K8sVerbs lists the Kubernetes action verbs.
func K8sVerbs() []string {
	return []string{K8sScale, K8sRestart, K8sUndo, K8sRolloutStatus, K8sDeletePod,
		K8sListPods, K8sApply, K8sNetworkPolicies, K8sDeleteNetPolicy}
}

// SQLVerbs lists the SQL action verbs.
func SQLVerbs() []string {
	return []string{SQLPing, SQLQuery, SQLExec, SQLAmcheck, SQLReindex, SQLRestore}
}

// ReviewOverdue reports whether the runbook's next_review date has come:
// since is that date (midnight in now's location). A runbook without a valid
// next_review is never overdue (lint reports the invalid date).
func (r *Runbook) ReviewOverdue(now time.Time) (since time.Time, overdue bool) {
	d, err := time.Parse(time.DateOnly, r.NextReview)
	if err != nil {
		return time.Time{}, false
	}
	since = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, now.Location())
	return since, !now.Before(since)
}

// Lint checks runbooks and returns every finding, sorted by file and line:
// the problems found while loading them, the checks of each runbook, review
// dates, phase budgets against the RTO and duplicate ids across files.
func Lint(rbs []*Runbook, opts LintOptions) []Finding {
	var out []Finding
	for _, rb := range rbs {
		out = append(out, rb.loadFindings...)
		out = append(out, rb.reviewNotes...)
		out = append(out, check(rb, opts)...)
		out = append(out, review(rb, opts)...)
	}
	out = append(out, duplicateIDs(rbs)...)
	sortFindings(out)
	return out
}

// LintPaths loads and lints files and folders (a folder: its *.toml files);
// no paths lints the shipped runbooks. A file that fails to load is a
// finding; the others are still linted. It returns every runbook that
// parsed, even one with findings.
func LintPaths(paths []string, opts LintOptions) ([]*Runbook, []Finding) {
	type source struct {
		name string
		data []byte
	}
	var (
		srcs     []source
		findings []Finding
	)
	readDir := func(fsys fs.FS, prefix, osDir string) error {
		entries, err := fs.ReadDir(fsys, ".")
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".toml") {
				continue
			}
			data, err := readEntry(fsys, ".", e.Name(), osDir)
			if err != nil {
				findings = append(findings, Finding{File: prefix + e.Name(), Message: fmt.Sprintf("read: %v", err)})
				continue
			}
			srcs = append(srcs, source{prefix + e.Name(), data})
		}
		return nil
	}
	if len(paths) == 0 {
		if err := readDir(shipped, EmbeddedPrefix, ""); err != nil {
			findings = append(findings, Finding{File: EmbeddedPrefix, Message: fmt.Sprintf("read: %v", err)})
		}
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		switch {
		case err != nil:
			findings = append(findings, Finding{File: p, Message: errMessage(err)})
		case st.IsDir():
			if err := readDir(os.DirFS(p), filepath.Clean(p)+string(filepath.Separator), p); err != nil {
				findings = append(findings, Finding{File: p, Message: errMessage(err)})
			}
		default:
			data, err := ReadFile(p)
			if err != nil {
				findings = append(findings, Finding{File: p, Message: errMessage(err)})
				continue
			}
			srcs = append(srcs, source{p, data})
		}
	}
	var rbs []*Runbook
	for _, s := range srcs {
		rb, fnd := parse(s.name, s.data)
		if rb == nil {
			findings = append(findings, fnd...)
			continue
		}
		rbs = append(rbs, rb)
	}
	findings = append(findings, Lint(rbs, opts)...)
	sortFindings(findings)
	return rbs, findings
}

// LintData loads and lints one runbook held in memory, as LintPaths does a
// file; name is the file its findings name. The runbook is nil when the
// text is not TOML.
func LintData(name string, data []byte, opts LintOptions) (*Runbook, []Finding) {
	rb, findings := parse(name, data)
	if rb == nil {
		return nil, findings
	}
	return rb, Lint([]*Runbook{rb}, opts)
}

func errMessage(err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return "no such file or folder"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func review(rb *Runbook, opts LintOptions) []Finding {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	since, overdue := rb.ReviewOverdue(now)
	if !overdue {
		return nil
	}
	sev := Warning
	if opts.Strict {
		sev = Error
	}
	return []Finding{{
		File:     rb.File,
		Line:     rb.lineOf("next_review"),
		Field:    "next_review",
		Message:  "review overdue since " + since.Format(time.DateOnly),
		Severity: sev,
	}}
}

// duplicateIDs reports runbook ids used by more than one runbook, at the
// second and later ones.
func duplicateIDs(rbs []*Runbook) []Finding {
	var out []Finding
	first := map[string]*Runbook{}
	for _, rb := range rbs {
		if rb.ID == "" {
			continue
		}
		if f, ok := first[rb.ID]; ok {
			out = append(out, Finding{
				File:    rb.File,
				Line:    rb.lineOf("id"),
				Field:   "id",
				Message: fmt.Sprintf("duplicate runbook id %q (also in %s:%d)", rb.ID, f.File, f.lineOf("id")),
			})
			continue
		}
		first[rb.ID] = rb
	}
	return out
}

var (
	idRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`) })
	nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })
)

// checker collects the findings of one runbook.
type checker struct {
	rb  *Runbook
	out []Finding
}

func (c *checker) err(path, format string, args ...any) {
	c.at(Error, path, format, args...)
}

func (c *checker) warn(path, format string, args ...any) {
	c.at(Warning, path, format, args...)
}

func (c *checker) at(sev Severity, path, format string, args ...any) {
	c.out = append(c.out, Finding{
		File:     c.rb.File,
		Line:     c.rb.lineOf(path),
		Field:    path,
		Message:  fmt.Sprintf(format, args...),
		Severity: sev,
	})
}

// check runs the checks of one runbook that need no other runbook. A
// negative opts.RTO skips the budget check (the loader does not know the
// configured RTO); review dates are checked by review.
func check(rb *Runbook, opts LintOptions) []Finding {
	c := &checker{rb: rb}
	c.header(opts)
	vars := c.variables()
	for _, n := range BuiltinVariables() {
		vars[n] = true
	}
	phases := c.phases(opts)
	c.steps(vars, phases)
	// A field that failed to decode is reported once, by the decoder.
	failed := map[string]bool{}
	for _, f := range rb.loadFindings {
		failed[f.Field] = true
	}
	return slices.DeleteFunc(c.out, func(f Finding) bool { return failed[f.Field] })
}

func (c *checker) header(opts LintOptions) {
	rb := c.rb
	switch {
	case rb.ID == "":
		c.err("id", "missing")
	case !idRE().MatchString(rb.ID):
		c.err("id", "invalid id %q (want lowercase letters, digits, - and _)", rb.ID)
	}
	if strings.TrimSpace(rb.Title) == "" {
		c.err("title", "missing")
	}
	switch rb.Kind {
	case "", KindProcedure, KindCadence:
	default:
		c.err("kind", "unknown kind %q (want procedure or cadence)", rb.Kind)
	}
	for _, f := range []struct{ name, value string }{{"last_updated", rb.LastUpdated}, {"next_review", rb.NextReview}} {
		if f.value == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, f.value); err != nil {
			c.err(f.name, "invalid date %q (want YYYY-MM-DD)", f.value)
		}
	}
	if lu, err1 := time.Parse(time.DateOnly, rb.LastUpdated); err1 == nil {
		if nr, err2 := time.Parse(time.DateOnly, rb.NextReview); err2 == nil && nr.Before(lu) {
			c.err("next_review", "%s is before last_updated %s", rb.NextReview, rb.LastUpdated)
		}
	}
	for i, d := range rb.Related {
		if strings.TrimSpace(d) == "" {
			c.err(fmt.Sprintf("related[%d]", i+1), "empty document")
		}
	}
	if rb.Scenario != "" && !slices.Contains(KnownScenarios(), rb.Scenario) {
		c.err("scenario", "unknown scenario %q (want one of %s)", rb.Scenario, strings.Join(KnownScenarios(), ", "))
	}
	if len(rb.Steps) == 0 {
		c.err("steps", "runbook has no steps")
	}
}

func (c *checker) variables() map[string]bool {
	declared := map[string]bool{}
	firstLine := map[string]int{}
	for i, v := range c.rb.Variables {
		p := fmt.Sprintf("variables[%d]", i+1)
		switch {
		case v.Name == "":
			c.err(p+".name", "missing")
		case !nameRE().MatchString(v.Name):
			c.err(p+".name", "invalid name %q (want letters, digits and _)", v.Name)
		case declared[v.Name]:
			c.err(p+".name", "duplicate variable %q (first at line %d)", v.Name, firstLine[v.Name])
		default:
			declared[v.Name] = true
			firstLine[v.Name] = v.Line
		}
		if !slices.Contains(Sources(), v.Source) {
			c.err(p+".source", "unknown source %q (want one of pods, pods:unready, deployments, networkpolicies, contexts, backups, config)", v.Source)
		}
		if v.Source == SourceConfig && v.Config == "" {
			c.err(p+".config", `missing (source "config" needs a config key)`)
		}
		if v.Config != "" && !slices.Contains(ConfigKeys(), v.Config) {
			c.err(p+".config", "unknown config key %q (want one of %s)", v.Config, strings.Join(ConfigKeys(), ", "))
		}
		if v.Pattern != "" {
			var err error
			if v.re == nil {
				_, err = compilePattern(v.Pattern)
			}
			switch {
			case err != nil:
				c.err(p+".pattern", "%v", err)
			case v.Default != "" && v.Validate(v.Default) != nil:
				c.err(p+".default", "%q does not match pattern %s", v.Default, v.Pattern)
			}
		}
		if v.Secret && v.Default != "" {
			c.err(p+".default", "a secret variable cannot have a default written in the runbook")
		}
	}
	// Unused variables.
	used := map[string]bool{}
	for i := range c.rb.Steps {
		s := &c.rb.Steps[i]
		s.walkAction(func(_, text string) {
			for _, n := range Placeholders(text) {
				used[n] = true
			}
		})
		s.walkText(func(_, text string) {
			for _, n := range Placeholders(text) {
				used[n] = true
			}
		})
	}
	for i, v := range c.rb.Variables {
		if v.Name != "" && declared[v.Name] && !used[v.Name] {
			c.warn(fmt.Sprintf("variables[%d].name", i+1), "variable %q is never used", v.Name)
		}
	}
	return declared
}

func (c *checker) phases(opts LintOptions) map[string]bool {
	rb := c.rb
	declared := map[string]bool{}
	firstLine := map[string]int{}
	cadence := rb.Kind == KindCadence
	for i, ph := range rb.Phases {
		p := fmt.Sprintf("phases[%d]", i+1)
		switch {
		case ph.ID == "":
			c.err(p+".id", "missing")
		case !idRE().MatchString(ph.ID):
			c.err(p+".id", "invalid id %q (want lowercase letters, digits, - and _)", ph.ID)
		case declared[ph.ID]:
			c.err(p+".id", "duplicate phase %q (first at line %d)", ph.ID, firstLine[ph.ID])
		default:
			declared[ph.ID] = true
			firstLine[ph.ID] = ph.Line
		}
		if strings.TrimSpace(ph.Title) == "" {
			c.err(p+".title", "missing")
		}
		switch {
		case ph.Every.Duration > 0 && !cadence:
			c.err(p+".every", `only a kind = "cadence" runbook has repeating phases`)
		case ph.Budget.Duration == 0 && ph.Every.Duration == 0 && cadence:
			c.err(p+".budget", "missing (a cadence phase needs budget or every)")
		case ph.Budget.Duration == 0 && !cadence:
			c.err(p+".budget", "missing")
		}
	}
	if !cadence && len(rb.Phases) > 0 && opts.RTO >= 0 {
		rto := opts.RTO
		if rto == 0 {
			rto = DefaultRTO
		}
		if total := rb.TotalBudget(); total > rto {
			c.err("phases", "phase budgets sum to %s, past the RTO of %s", FormatDuration(total), FormatDuration(rto))
		}
	}
	return declared
}

// FormatDuration writes a duration as a runbook does: 4h30m0s as 4h30m,
// 2h0m0s as 2h.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func (c *checker) steps(vars, phases map[string]bool) {
	rb := c.rb
	seen := map[string]int{}
	inPhase := map[string]bool{}
	for i := range rb.Steps {
		s := &rb.Steps[i]
		p := fmt.Sprintf("steps[%d]", i+1)
		switch {
		case s.ID == "":
			c.err(p+".id", "missing")
		case !idRE().MatchString(s.ID):
			c.err(p+".id", "invalid id %q (want lowercase letters, digits, - and _)", s.ID)
		case seen[s.ID] > 0:
			c.err(p+".id", "duplicate step %q (first at line %d)", s.ID, seen[s.ID])
		default:
			seen[s.ID] = s.Line
		}
		if strings.TrimSpace(s.Title) == "" {
			c.err(p+".title", "missing")
		}
		switch {
		case s.Phase == "" && len(rb.Phases) > 0:
			c.err(p+".phase", "missing (the runbook has phases)")
		case s.Phase != "" && !phases[s.Phase]:
			c.err(p+".phase", "undeclared phase %q", s.Phase)
		case s.Phase != "":
			inPhase[s.Phase] = true
		}
		kinds := s.Kinds()
		switch len(kinds) {
		case 0:
			c.err(p, "no action (set one of run, manual, k8s, sql, http, wait)")
		case 1:
		default:
			names := make([]string, len(kinds))
			for j, k := range kinds {
				names[j] = kindKey(k)
			}
			c.err(p, "several actions (%s); set exactly one", strings.Join(names, ", "))
		}
		if s.Destructive && strings.TrimSpace(s.Why) == "" {
			c.err(p+".why", "a destructive step needs a why")
		}
		if s.Critical && !s.Destructive {
			c.err(p+".critical", "a critical step must be destructive = true")
		}
		k := s.Kind()
		if s.Interactive && k != ActionShell {
			c.err(p+".interactive", "only a shell step (run) can be interactive")
		}
		if s.DrillRun && k != ActionShell {
			c.err(p+".drill_run", "only a shell step (run) can be drill_run")
		}
		if knownVerb(s) && s.Mutates() && !s.Destructive {
			c.err(p+".destructive", "%s changes state; set destructive = true", describeAction(s))
		}
		switch k {
		case ActionK8s:
			c.k8s(p+".k8s", s.K8s)
		case ActionSQL:
			c.sql(p+".sql", s.SQL)
		case ActionHTTP:
			c.http(p+".http", s.HTTP)
		case ActionWait:
			c.verify(p+".wait", s.Wait, s, true)
		}
		if s.Verify != nil {
			c.verify(p+".verify", s.Verify, s, false)
		}
		for j, h := range s.Hints {
			hp := fmt.Sprintf("%s.hints[%d]", p, j+1)
			if strings.TrimSpace(h.Text) == "" && !c.rb.loadFailed(hp) {
				c.err(hp+".text", "missing: a hint needs its text")
			}
			if h.When != "" && !slices.Contains(HintConditions(), h.When) {
				if sg := suggest(h.When, HintConditions()); sg != "" {
					c.err(hp+".when", "unknown condition %q (did you mean %q?)", h.When, sg)
				} else {
					c.err(hp+".when", "unknown condition %q (want one of %s)", h.When, strings.Join(HintConditions(), ", "))
				}
			}
		}
		c.falseSuccess(p, s)
		check := func(field, text string) {
			for _, n := range Placeholders(text) {
				if !vars[n] {
					c.err(p+"."+field, "undeclared variable %q", n)
				}
			}
		}
		s.walkText(check)
		s.walkAction(check)
	}
	for i, ph := range rb.Phases {
		if ph.ID != "" && !inPhase[ph.ID] && len(rb.Steps) > 0 {
			c.warn(fmt.Sprintf("phases[%d]", i+1), "phase %q has no steps", ph.ID)
		}
	}
}

// loadFailed reports whether decoding already found a problem at path.
func (r *Runbook) loadFailed(path string) bool {
	for _, f := range r.loadFindings {
		if f.Field == path {
			return true
		}
	}
	return false
}

// falseSuccess warns where a step could report success although what it
// ran failed: a shell pipeline whose failure `|| echo` or `|| true` hides,
// a variable spliced into SQL text without a pattern, a SQL check that
// accepts any answer, a restore that needs no typed confirmation.
func (c *checker) falseSuccess(p string, s *Step) {
	if s.Run != "" {
		if _, err := ShellRefs(s.Run); err != nil {
			c.err(p+".run", "%v", err)
		}
		for _, h := range HiddenFailures(s.Run) {
			c.warn(p+".run", "%s hides the failure of %q: the step succeeds even when it fails; capture its output first (out=$(cmd) || exit) and let only grep's \"no match\" through (see FORMAT.md)", h.Fallback, h.Command)
		}
	}
	sqlVars := func(field, text string) {
		for _, n := range Placeholders(text) {
			if v, ok := c.rb.VariableByName(n); ok && v.Pattern == "" {
				c.warn(p+"."+field, "variable %q is spliced into SQL text without a pattern: give it one (e.g. pattern = \"[a-z_][a-z0-9_]*\") so no value can change the statement", n)
			}
		}
	}
	if s.SQL != nil {
		sqlVars("sql.query", s.SQL.Query)
		if s.SQL.Action == SQLRestore && s.SQL.Method != RestoreScratch && !s.Critical {
			c.warn(p+".critical", "a restore replaces a database: set critical = true so the operator types its name")
		}
	}
	for _, v := range []struct {
		field string
		v     *Verify
	}{{"verify", s.Verify}, {"wait", s.Wait}} {
		if v.v == nil || v.v.SQL == "" {
			continue
		}
		sqlVars(v.field+".sql", v.v.SQL)
		if v.v.Equals == "" {
			c.warn(p+"."+v.field+".equals", "a SQL check without equals holds for any answer: set the expected value")
		}
	}
}

// knownVerb reports whether the step has one typed action with a known verb.
func knownVerb(s *Step) bool {
	switch s.Kind() {
	case ActionK8s:
		return slices.Contains(K8sVerbs(), s.K8s.Action)
	case ActionSQL:
		return slices.Contains(SQLVerbs(), s.SQL.Action)
	case ActionHTTP, ActionWait, ActionManual:
		return true
	}
	return false
}

func kindKey(k ActionKind) string {
	if k == ActionShell {
		return "run"
	}
	return k.String()
}

func describeAction(s *Step) string {
	switch s.Kind() {
	case ActionK8s:
		return "k8s " + s.K8s.Action
	case ActionSQL:
		return "sql " + s.SQL.Action
	}
	return s.Kind().String()
}

// k8sFields says which fields each verb needs and accepts.
func k8sFields(verb string) (required, allowed []string) {
	switch verb {
	case K8sScale:
		return []string{"deployment", "replicas"}, nil
	case K8sRestart, K8sUndo, K8sRolloutStatus:
		return []string{"deployment"}, nil
	case K8sDeletePod:
		return []string{"pod"}, nil
	case K8sListPods:
		return nil, []string{"selector"}
	case K8sApply:
		return []string{"path"}, nil
	case K8sNetworkPolicies:
		return nil, nil
	case K8sDeleteNetPolicy:
		return []string{"policy"}, nil
	}
	return nil, nil
}

func (c *checker) k8s(p string, a *K8sAction) {
	if a.Action == "" {
		c.err(p+".action", "missing (want one of %s)", strings.Join(K8sVerbs(), ", "))
		return
	}
	if !slices.Contains(K8sVerbs(), a.Action) {
		c.err(p+".action", "unknown action %q (want one of %s)", a.Action, strings.Join(K8sVerbs(), ", "))
		return
	}
	required, allowed := k8sFields(a.Action)
	set := map[string]bool{
		"deployment": a.Deployment != "",
		"replicas":   a.Replicas != nil,
		"pod":        a.Pod != "",
		"selector":   a.Selector != "",
		"path":       a.Path != "",
		"policy":     a.Policy != "",
	}
	for _, f := range []string{"deployment", "replicas", "pod", "selector", "path", "policy"} {
		need := slices.Contains(required, f)
		switch {
		case need && !set[f]:
			c.err(p+"."+f, "missing (%s needs %s)", a.Action, strings.Join(required, " and "))
		case set[f] && !need && !slices.Contains(allowed, f):
			c.err(p+"."+f, "not used by %s", a.Action)
		}
	}
	if a.Replicas != nil && *a.Replicas < 0 {
		c.err(p+".replicas", "must not be negative")
	}
}

func (c *checker) sql(p string, a *SQLAction) {
	if a.Action == "" {
		c.err(p+".action", "missing (want one of %s)", strings.Join(SQLVerbs(), ", "))
		return
	}
	if !slices.Contains(SQLVerbs(), a.Action) {
		c.err(p+".action", "unknown action %q (want one of %s)", a.Action, strings.Join(SQLVerbs(), ", "))
		return
	}
	needQuery := a.Action == SQLQuery || a.Action == SQLExec
	switch {
	case needQuery && strings.TrimSpace(a.Query) == "":
		c.err(p+".query", "missing (%s needs query)", a.Action)
	case !needQuery && a.Query != "":
		c.err(p+".query", "not used by %s", a.Action)
	}
	switch {
	case a.Action == SQLRestore && a.File == "":
		c.err(p+".file", "missing (restore needs file)")
	case a.Action != SQLRestore && a.File != "":
		c.err(p+".file", "not used by %s", a.Action)
	}
	if a.Index != "" && a.Action != SQLReindex {
		c.err(p+".index", "not used by %s", a.Action)
	}
	if a.ReportOnly && a.Action != SQLAmcheck {
		c.err(p+".report_only", "not used by %s", a.Action)
	}
	if a.Action != SQLRestore {
		if a.Method != "" {
			c.err(p+".method", "not used by %s", a.Action)
		}
		if len(a.Tables) > 0 {
			c.err(p+".tables", "not used by %s", a.Action)
		}
		return
	}
	if a.Method != "" && !slices.Contains(RestoreMethods(), a.Method) {
		c.err(p+".method", "unknown method %q (want one of %s)", a.Method, strings.Join(RestoreMethods(), ", "))
	}
	if len(a.Tables) > 0 && (a.Method == "" || a.Method == RestoreLoad) {
		c.err(p+".tables", "checked only by method swap or scratch")
	}
	for i, tb := range a.Tables {
		if !tableRE().MatchString(tb) && !strings.Contains(tb, "{{") {
			c.err(fmt.Sprintf("%s.tables[%d]", p, i+1), "invalid table %q (want name or schema.name: letters, digits, _)", tb)
		}
	}
}

// tableRE is a plain table name, optionally schema-qualified.
var tableRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$`)
})

func (c *checker) http(p string, a *HTTPAction) {
	if a.URL == "" {
		c.err(p+".url", "missing")
	}
	if a.Count < 0 {
		c.err(p+".count", "must not be negative")
	}
	if a.Status != 0 && (a.Status < 100 || a.Status > 599) {
		c.err(p+".status", "invalid HTTP status %d", a.Status)
	}
	if a.Count > 1 && a.Interval.Duration == 0 {
		c.err(p+".interval", "missing (count > 1 needs an interval)")
	}
}

func (c *checker) verify(p string, v *Verify, s *Step, isWait bool) {
	conds := v.Replicas != nil || v.Ready != nil || v.Available != nil || v.PodsReady != "" ||
		v.NoCrashLoop != "" || v.SQL != "" || v.URL != "" || v.BackupMaxAge.Duration > 0 ||
		v.BackupRetention.Duration > 0 || v.BackupRegions
	if !conds {
		c.err(p, "no condition (set replicas, ready, available, pods_ready, no_crashloop, sql, url or a backup check)")
	}
	for _, n := range []struct {
		name string
		v    *int
	}{{"replicas", v.Replicas}, {"ready", v.Ready}, {"available", v.Available}} {
		if n.v == nil {
			continue
		}
		if *n.v < 0 {
			c.err(p+"."+n.name, "must not be negative")
		}
		if v.Deployment == "" && (isWait || s.K8s == nil || s.K8s.Deployment == "") {
			c.err(p+"."+n.name, "needs a deployment (set deployment here or use a k8s action that names one)")
		}
	}
	if v.Equals != "" && v.SQL == "" {
		c.err(p+".equals", "needs sql")
	}
	if v.Status != 0 && v.URL == "" {
		c.err(p+".status", "needs url")
	}
	if v.Status != 0 && (v.Status < 100 || v.Status > 599) {
		c.err(p+".status", "invalid HTTP status %d", v.Status)
	}
	if v.Interval.Duration > 0 && v.Within.Duration > 0 && v.Interval.Duration > v.Within.Duration {
		c.err(p+".interval", "longer than within")
	}
}
