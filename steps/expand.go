package steps

import (
	"fmt"
	"sort"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/drnav/drnav/runbooks"
)

// UnknownPlaceholderError reports {{name}} placeholders with no variable.
type UnknownPlaceholderError struct {
	Names []string
}

func (e *UnknownPlaceholderError) Error() string {
	return fmt.Sprintf("unknown placeholder %s: no variable of that name", braced(e.Names))
}

func braced(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "{{" + n + "}}"
	}
	return strings.Join(out, ", ")
}

// expandText substitutes placeholders verbatim; unknown names are collected.
func expandText(s string, vars map[string]string, unknown map[string]bool) string {
	out, missing := runbooks.Resolve(s, func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	})
	for _, n := range missing {
		unknown[n] = true
	}
	return out
}

func unknownErr(unknown map[string]bool) error {
	if len(unknown) == 0 {
		return nil
	}
	names := make([]string, 0, len(unknown))
	for n := range unknown {
		names = append(names, n)
	}
	sort.Strings(names)
	return &UnknownPlaceholderError{Names: names}
}

// ShellCommand substitutes {{name}} placeholders in a shell command, each
// value shell-quoted for bash so that no value ever runs as code. A
// placeholder written inside quotes is refused (the quoting would be undone
// by the surrounding quotes): write it bare, drnav quotes it. An unknown
// placeholder is an error.
func ShellCommand(cmd string, vars map[string]string) (string, error) {
	return shellCommand(cmd, vars, nil)
}

// SecretEnvName is the environment variable that carries secret variable
// name to a shell step: DRNAV_VAR_ and the name with every character other
// than a letter, digit or _ replaced by _.
func SecretEnvName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return "DRNAV_VAR_" + string(b)
}

// secretSet is the set of secret variable names of a target.
func secretSet(t Target) map[string]bool {
	if len(t.Secrets) == 0 {
		return nil
	}
	m := make(map[string]bool, len(t.Secrets))
	for _, n := range t.Secrets {
		m[n] = true
	}
	return m
}

// secretVarEnv is the environment carrying the target's secret variables to
// a shell step (DRNAV_VAR_name=value): a secret never goes on a command
// line, where every account on the host can read it in /proc/PID/cmdline.
func secretVarEnv(t Target) ([]string, error) {
	var out []string
	seen := map[string]string{}
	for _, n := range t.Secrets {
		v, ok := t.Vars[n]
		if !ok {
			continue
		}
		e := SecretEnvName(n)
		if other, dup := seen[e]; dup && other != n {
			return nil, fmt.Errorf("secret variables %s and %s both map to $%s: rename one", other, n, e)
		}
		seen[e] = n
		if strings.ContainsRune(v, 0) {
			return nil, fmt.Errorf("variable %s contains a NUL byte, which the environment cannot carry", n)
		}
		out = append(out, e+"="+v)
	}
	return out, nil
}

// shellCommand is ShellCommand where the placeholders of secret variables
// become a quoted "$DRNAV_VAR_name" reference (see secretVarEnv) instead of
// the value.
func shellCommand(cmd string, vars map[string]string, secret map[string]bool) (string, error) {
	if !strings.Contains(cmd, "{{") {
		return cmd, nil
	}
	refs, err := runbooks.ShellRefs(cmd)
	if err != nil {
		return "", err
	}
	unknown := map[string]bool{}
	var b strings.Builder
	last := 0
	for _, r := range refs {
		name := r.Name
		b.WriteString(cmd[last:r.Start])
		last = r.End
		v, ok := vars[name]
		if !ok {
			unknown[name] = true
			continue
		}
		if secret[name] {
			b.WriteString(`"$` + SecretEnvName(name) + `"`)
			continue
		}
		if strings.ContainsRune(v, 0) {
			return "", fmt.Errorf("variable %s contains a NUL byte, which a shell command cannot carry", name)
		}
		q, err := syntax.Quote(v, syntax.LangBash)
		if err != nil {
			return "", fmt.Errorf("quote variable %s: %w", name, err)
		}
		b.WriteString(q)
	}
	b.WriteString(cmd[last:])
	if err := unknownErr(unknown); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Expand returns the step with every {{name}} placeholder substituted from
// vars: in the shell command (shell-quoted, see ShellCommand) and in every
// field of the typed action and of the verify condition (verbatim). An
// unknown placeholder in those is an error. Title, Why, Expect and Hints are
// expanded too, leaving unknown placeholders as written.
func Expand(step runbooks.Step, vars map[string]string) (runbooks.Step, error) {
	return expand(step, vars, nil)
}

// expand is Expand with the secret variables' shell placeholders turned
// into environment references (see shellCommand).
func expand(step runbooks.Step, vars map[string]string, secret map[string]bool) (runbooks.Step, error) {
	out := step
	lenient := map[string]bool{}
	out.Title = expandText(step.Title, vars, lenient)
	out.Why = expandText(step.Why, vars, lenient)
	out.Expect = expandText(step.Expect, vars, lenient)
	if len(step.Hints) > 0 {
		out.Hints = make([]runbooks.Hint, len(step.Hints))
		for i, h := range step.Hints {
			out.Hints[i] = runbooks.Hint{Text: expandText(h.Text, vars, lenient), When: h.When}
		}
	}

	unknown := map[string]bool{}
	if step.Run != "" {
		cmd, err := shellCommand(step.Run, vars, secret)
		if err != nil {
			return step, fmt.Errorf("step %s: %w", step.ID, err)
		}
		out.Run = cmd
	}
	x := func(s string) string { return expandText(s, vars, unknown) }
	out.Manual = x(step.Manual)
	if a := step.K8s; a != nil {
		c := *a
		c.Action, c.Context, c.Namespace = x(a.Action), x(a.Context), x(a.Namespace)
		c.Deployment, c.Pod, c.Selector = x(a.Deployment), x(a.Pod), x(a.Selector)
		c.Path, c.Policy = x(a.Path), x(a.Policy)
		out.K8s = &c
	}
	if a := step.SQL; a != nil {
		c := *a
		c.Action, c.Database, c.Query = x(a.Action), x(a.Database), x(a.Query)
		c.Index, c.File = x(a.Index), x(a.File)
		out.SQL = &c
	}
	if a := step.HTTP; a != nil {
		c := *a
		c.URL = x(a.URL)
		out.HTTP = &c
	}
	out.Wait = expandVerify(step.Wait, x)
	out.Verify = expandVerify(step.Verify, x)
	if err := unknownErr(unknown); err != nil {
		return step, fmt.Errorf("step %s: %w", step.ID, err)
	}
	return out, nil
}

func expandVerify(v *runbooks.Verify, x func(string) string) *runbooks.Verify {
	if v == nil {
		return nil
	}
	c := *v
	c.Context, c.Namespace, c.Deployment = x(v.Context), x(v.Namespace), x(v.Deployment)
	c.PodsReady, c.NoCrashLoop = x(v.PodsReady), x(v.NoCrashLoop)
	c.SQL, c.Equals, c.Database, c.URL = x(v.SQL), x(v.Equals), x(v.Database), x(v.URL)
	return &c
}
