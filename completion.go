package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/runbooks"
)

// namespaceCompletionTimeout bounds asking the cluster for namespaces:
// completion must never hang the shell, so a slow or unreachable API server
// simply completes nothing.
const namespaceCompletionTimeout = 2 * time.Second

// Dynamic completion of drnav's values. Each function is handed to cobra,
// which calls it from the hidden __complete command with the flags already
// parsed into o (so --runbooks, --journal-dir, --config and --kubeconfig
// are honoured). Failures complete nothing: a shell prompt is no place for
// an error.

// completeRunbookIDs offers the runbook ids (a title as description) for
// the first argument; procedures only when procedures is set (run).
func (a *app) completeRunbookIDs(o *cmdOpts, procedures bool, more cobra.ShellCompDirective) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if procedures && len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var rbs []*runbooks.Runbook
		if procedures {
			rbs, _ = runbooks.Load(o.runbooksDir) // those that load can run
		} else {
			rbs = parsedRunbooks(o) // lint: broken ones too
		}
		var out []cobra.Completion
		for _, rb := range rbs {
			if procedures && rb.Kind == runbooks.KindCadence {
				continue
			}
			if strings.HasPrefix(rb.ID, toComplete) && !slices.Contains(args, rb.ID) {
				out = append(out, cobra.CompletionWithDesc(rb.ID, incident.Printable(rb.Title)))
			}
		}
		return out, more
	}
}

// completeIncidentIDs offers incident ids, newest first, described by
// runbook, mode and state; open ones only when openOnly (resume).
func (a *app) completeIncidentIDs(o *cmdOpts, openOnly bool) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return a.incidentIDs(o, "", openOnly, toComplete), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
	}
}

// incidentIDs lists the completions of incident ids (of one runbook when
// runbookID is set).
func (a *app) incidentIDs(o *cmdOpts, runbookID string, openOnly bool, prefix string) []cobra.Completion {
	cfg, err := a.loadConfig(o)
	if err != nil {
		return nil
	}
	list, err := incident.List(cfg.JournalDir)
	if err != nil {
		return nil
	}
	var out []cobra.Completion
	for _, s := range list {
		if s.Error != "" || incident.ValidID(s.ID) != nil || !strings.HasPrefix(s.ID, prefix) ||
			(openOnly && s.Resolved) || (runbookID != "" && s.RunbookID != runbookID) {
			continue
		}
		state := "open"
		if s.Resolved {
			state = "resolved"
		}
		desc := fmt.Sprintf("%s · %s · %s · %s", s.RunbookID, s.Mode, state, s.Detected.Local().Format("2006-01-02 15:04"))
		out = append(out, cobra.CompletionWithDesc(s.ID, incident.Printable(desc)))
	}
	return out
}

// completeContexts offers the kubeconfig's contexts, loaded as kubectl
// loads them (--kubeconfig, else the config's kubeconfig, else KUBECONFIG,
// else ~/.kube/config).
func (a *app) completeContexts(o *cmdOpts) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		cfg, err := a.loadConfig(o)
		if err != nil {
			cfg = config.Config{}
		}
		raw, err := clientConfigFor(o.kube, cfg)("").RawConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names := make([]string, 0, len(raw.Contexts))
		for name := range raw.Contexts {
			if strings.HasPrefix(name, toComplete) {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		out := make([]cobra.Completion, 0, len(names))
		for _, name := range names {
			desc := "cluster " + raw.Contexts[name].Cluster
			if ns := raw.Contexts[name].Namespace; ns != "" {
				desc += " · ns " + ns
			}
			if name == raw.CurrentContext {
				desc += " · current"
			}
			out = append(out, cobra.CompletionWithDesc(incident.Printable(name), incident.Printable(desc)))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeNamespaces asks the primary context's API server for its
// namespaces, giving up after namespaceCompletionTimeout even if a
// credential plugin or the connection hangs.
func (a *app) completeNamespaces(o *cmdOpts) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		cfg, err := a.loadConfig(o)
		if err != nil {
			cfg = config.Config{}
		}
		rc, err := clientConfigFor(o.kube, cfg)(cfg.PrimaryContext).ClientConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		rc.Timeout = namespaceCompletionTimeout
		cs, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), namespaceCompletionTimeout)
		defer cancel()
		got := make(chan []string, 1)
		go func() {
			list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
			if err != nil {
				got <- nil
				return
			}
			names := make([]string, 0, len(list.Items))
			for _, ns := range list.Items {
				names = append(names, ns.Name)
			}
			got <- names
		}()
		var names []string
		select {
		case names = <-got:
		case <-ctx.Done():
		}
		var out []cobra.Completion
		for _, n := range names {
			if strings.HasPrefix(n, toComplete) {
				out = append(out, incident.Printable(n))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeDestructiveSteps offers the destructive step ids of the runbook
// named by the first argument, and "all" (run --allow-destructive).
func (a *app) completeDestructiveSteps(o *cmdOpts) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		out := []cobra.Completion{cobra.CompletionWithDesc("all", "every destructive step")}
		if len(args) > 0 {
			rbs, _ := runbooks.Load(o.runbooksDir)
			for _, rb := range rbs {
				if rb.ID != args[0] {
					continue
				}
				for _, st := range rb.Steps {
					if st.Destructive && st.ID != "" {
						out = append(out, cobra.CompletionWithDesc(st.ID, incident.Printable(st.Title)))
					}
				}
			}
		}
		return filterPrefix(out, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeRunIncidents offers the incidents of the runbook named by the
// first argument (run --resume).
func (a *app) completeRunIncidents(o *cmdOpts) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		rb := ""
		if len(args) > 0 {
			rb = args[0]
		}
		return a.incidentIDs(o, rb, false, toComplete), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
	}
}

// completeWords offers fixed values (with descriptions after a tab).
func completeWords(words ...cobra.Completion) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return filterPrefix(words, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

func filterPrefix(cs []cobra.Completion, prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, c := range cs {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// registerFlagCompletions adds the value completions of the flags c has.
func (a *app) registerFlagCompletions(c *cobra.Command, o *cmdOpts) error {
	fns := map[string]cobra.CompletionFunc{
		"context":           a.completeContexts(o),
		"failover-context":  a.completeContexts(o),
		"namespace":         a.completeNamespaces(o),
		"output":            completeWords("json", "yaml"),
		"allow-destructive": a.completeDestructiveSteps(o),
		"resume":            a.completeRunIncidents(o),
	}
	switch c.Name() {
	case "report":
		fns["format"] = completeWords("md", "json")
	case "run":
		fns["report"] = completeWords("md", "json")
	}
	for name, fn := range fns {
		if c.Flags().Lookup(name) == nil {
			continue
		}
		if err := c.RegisterFlagCompletionFunc(name, fn); err != nil {
			return fmt.Errorf("completion of --%s: %w", name, err)
		}
	}
	return nil
}
