package headless

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/drnav/drnav/runbooks"
)

// ChoicesFunc lists the values a live source offers (pods, backups, …),
// best candidate first.
type ChoicesFunc func(ctx context.Context, source string) ([]string, error)

// ParseVars turns --var name=value flags into a map.
func ParseVars(flags []string) (map[string]string, error) {
	m := make(map[string]string, len(flags))
	for _, f := range flags {
		name, value, ok := strings.Cut(f, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("--var %q: want name=value", f)
		}
		m[name] = value
	}
	return m, nil
}

// ResolveVars gives every variable of the runbook a value: the given one
// (--var), else the config value it names, else its default, else the first
// choice its live source offers. Unknown names in given are an error, as is a
// variable left without a value or failing its pattern.
func ResolveVars(ctx context.Context, rb *runbooks.Runbook, given, config map[string]string, choices ChoicesFunc) (map[string]string, error) {
	known := map[string]bool{}
	for _, v := range rb.Variables {
		known[v.Name] = true
	}
	var unknown []string
	for name := range given {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("runbook %s has no variable %s", rb.ID, strings.Join(unknown, ", "))
	}
	out := make(map[string]string, len(rb.Variables))
	for _, v := range rb.Variables {
		val, ok := given[v.Name]
		if !ok && v.Config != "" && config[v.Config] != "" {
			val, ok = config[v.Config], true
		}
		if !ok && v.Default != "" {
			val, ok = v.Default, true
		}
		if !ok && v.Source != runbooks.SourceText && choices != nil {
			list, err := choices(ctx, v.Source)
			if err != nil {
				return nil, fmt.Errorf("variable %s: list %s: %w", v.Name, v.Source, err)
			}
			if len(list) > 0 {
				val, ok = list[0], true
			}
		}
		if !ok {
			return nil, fmt.Errorf("variable %s (%s) has no value: pass --var %s=…", v.Name, v.Prompt, v.Name)
		}
		if err := v.Validate(val); err != nil {
			return nil, fmt.Errorf("variable %s: %w", v.Name, err)
		}
		out[v.Name] = val
	}
	return out, nil
}
