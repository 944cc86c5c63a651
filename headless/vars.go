package headless

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/drnav/drnav/internal/safefile"
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

// maxVarFileBytes bounds a --var-file read.
const maxVarFileBytes = 1 << 20

// ReadVarSources reads variable values that must not go on the command line
// (where every account on the host sees them in /proc/PID/cmdline):
// --var-env name=ENVVAR takes the value of an environment variable,
// --var-file name=PATH reads a file (PATH "-" is stdin) whose mode gives
// group and others no access, owned by the user or root. One trailing
// newline of a file is dropped. A name set twice is an error.
func ReadVarSources(envFlags, fileFlags []string, getenv func(string) string, stdin io.Reader) (map[string]string, error) {
	out := map[string]string{}
	set := func(flag, name, value string) error {
		if _, dup := out[name]; dup {
			return fmt.Errorf("%s: variable %s is set twice", flag, name)
		}
		out[name] = value
		return nil
	}
	for _, f := range envFlags {
		name, env, ok := strings.Cut(f, "=")
		if !ok || name == "" || env == "" {
			return nil, fmt.Errorf("--var-env %q: want name=ENVVAR", f)
		}
		v := getenv(env)
		if v == "" {
			return nil, fmt.Errorf("--var-env %s: environment variable %s is empty or unset", name, env)
		}
		if err := set("--var-env", name, v); err != nil {
			return nil, err
		}
	}
	stdinUsed := false
	for _, f := range fileFlags {
		name, path, ok := strings.Cut(f, "=")
		if !ok || name == "" || path == "" {
			return nil, fmt.Errorf("--var-file %q: want name=PATH (PATH - for stdin)", f)
		}
		var data []byte
		var err error
		if path == "-" {
			if stdinUsed {
				return nil, fmt.Errorf("--var-file %s: stdin is already read for another variable", name)
			}
			stdinUsed = true
			data, err = io.ReadAll(io.LimitReader(stdin, maxVarFileBytes+1))
		} else {
			data, err = readSecretFile(path)
		}
		if err != nil {
			return nil, fmt.Errorf("--var-file %s: %w", name, err)
		}
		if len(data) > maxVarFileBytes {
			return nil, fmt.Errorf("--var-file %s: more than %d bytes", name, maxVarFileBytes)
		}
		v := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
		if err := set("--var-file", name, v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readSecretFile reads a file holding a secret after checking that nobody
// else can read or change it.
func readSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if err := safefile.CheckInfo("secret file", path, fi, safefile.MeOrRoot); err != nil {
		return nil, err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("secret file %s is readable by group or others (mode %04o): run chmod 600 %s", path, perm, path)
	}
	return io.ReadAll(io.LimitReader(f, maxVarFileBytes+1))
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
			return nil, err // names the variable, never the value
		}
		out[v.Name] = val
	}
	return out, nil
}
