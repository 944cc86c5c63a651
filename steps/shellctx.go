package steps

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ShellKubeconfigWriter is implemented by a KubeProvider that can give a
// shell step the same Kubernetes context its typed actions use: it writes a
// self-contained kubeconfig (mode 0600) whose current context is the
// resolved context of name.
type ShellKubeconfigWriter interface {
	WriteShellKubeconfig(name, path string) (ContextInfo, error)
}

// ShellEnver is implemented by a Database that can give a shell step the
// libpq environment of the configured database (PGHOST, PGPORT,
// PGDATABASE, PGUSER, the password only in PGPASSWORD).
type ShellEnver interface {
	ShellEnv() []string
}

// Context variables every step may use without declaring them; a declared
// variable of the same name wins.
const (
	VarContext         = "context"          // the step's context: the primary one
	VarPrimaryContext  = "primary_context"  // the resolved primary context
	VarFailoverContext = "failover_context" // the resolved failover context
)

// ContextVars resolves the context variables through t.Kube: the names of
// the kube contexts "primary" and "failover" are (the simulator's names in
// a drill). A context that does not resolve is left out.
func ContextVars(t Target) map[string]string {
	out := map[string]string{}
	if t.Kube == nil {
		return out
	}
	if _, info, err := t.Kube.Client("primary"); err == nil && info.Name != "" {
		out[VarContext] = info.Name
		out[VarPrimaryContext] = info.Name
	}
	if _, info, err := t.Kube.Client("failover"); err == nil && info.Name != "" {
		out[VarFailoverContext] = info.Name
	}
	return out
}

// withContextVars returns vars with the context variables added where the
// runbook declares none of that name.
func withContextVars(t Target) map[string]string {
	cv := ContextVars(t)
	if len(cv) == 0 {
		return t.Vars
	}
	out := make(map[string]string, len(t.Vars)+len(cv))
	for k, v := range cv {
		out[k] = v
	}
	for k, v := range t.Vars {
		out[k] = v
	}
	return out
}

// shellContext prepares the environment of a shell step: KUBECONFIG for
// the primary context (in a fresh 0700 folder that cleanup removes) and
// the database's libpq variables. It returns the extra environment, a
// line saying where the step runs, and the cleanup.
//
// runDir, when set, is the step's run folder (a detached step): the
// kubeconfig is written there, so it outlives drnav with the step that uses
// it; otherwise into a fresh private temp folder. cleanup removes it.
func shellContext(t Target, runDir string) (env []string, where string, cleanup func(), err error) {
	cleanup = func() {}
	if s, ok := t.DB.(ShellEnver); ok && t.DB != nil {
		env = append(env, s.ShellEnv()...)
	}
	w, ok := t.Kube.(ShellKubeconfigWriter)
	if !ok || t.Kube == nil {
		return env, "", cleanup, nil
	}
	dir := runDir
	if dir == "" {
		dir, err = os.MkdirTemp("", "drnav-kube-")
		if err != nil {
			return nil, "", cleanup, fmt.Errorf("kubeconfig for the shell step: %w", err)
		}
		cleanup = func() { _ = os.RemoveAll(dir) }
	}
	path := filepath.Join(dir, "kubeconfig")
	if runDir != "" {
		cleanup = func() { _ = os.Remove(path) }
	}
	info, err := w.WriteShellKubeconfig("primary", path)
	if err != nil {
		// No context to give (no kubeconfig, no current context): the step
		// may not need one; say so and leave KUBECONFIG as it is.
		cleanup()
		return env, "no kube context for this step (" + err.Error() + "); KUBECONFIG left as is", func() {}, nil
	}
	env = append(env, "KUBECONFIG="+path)
	where = "kube context " + info.Name + " (KUBECONFIG set for this step)"
	if info.Namespace != "" {
		where = "kube context " + info.Name + ", namespace " + info.Namespace + " (KUBECONFIG set for this step)"
	}
	return env, where, cleanup, nil
}

// WriteShellKubeconfig writes the kubeconfig a shell step uses: every
// context of the loaded kubeconfig (so --context still works), credentials
// inlined, current context the resolved name, mode 0600.
func (p *kubeProvider) WriteShellKubeconfig(name, path string) (ContextInfo, error) {
	resolved, err := p.resolve(name)
	if err != nil {
		return ContextInfo{}, err
	}
	cc := p.opts.ClientConfig(resolved)
	raw, err := cc.RawConfig()
	if err != nil {
		return ContextInfo{}, fmt.Errorf("load kubeconfig: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return ContextInfo{}, fmt.Errorf("kube context %q: namespace: %w", resolved, err)
	}
	cfg := raw.DeepCopy()
	cfg.CurrentContext = resolved
	if c, ok := cfg.Contexts[resolved]; ok && ns != "" {
		c.Namespace = ns
	}
	if err := clientcmdapi.FlattenConfig(cfg); err != nil {
		return ContextInfo{}, fmt.Errorf("kubeconfig: inline credentials: %w", err)
	}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return ContextInfo{}, fmt.Errorf("kubeconfig: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return ContextInfo{}, fmt.Errorf("kubeconfig: %w", err)
	}
	return ContextInfo{Name: resolved, Namespace: ns, Real: true}, nil
}

// ShellEnv is the libpq environment of the configured database; the
// password travels only in PGPASSWORD.
func (d *pgDatabase) ShellEnv() []string {
	var env []string
	if d.cfg.Host != "" {
		env = append(env, "PGHOST="+d.cfg.Host)
	}
	if d.cfg.Port != 0 {
		env = append(env, "PGPORT="+strconv.Itoa(int(d.cfg.Port)))
	}
	if d.cfg.Database != "" {
		env = append(env, "PGDATABASE="+d.cfg.Database)
	}
	if d.cfg.User != "" {
		env = append(env, "PGUSER="+d.cfg.User)
	}
	if d.password != "" {
		env = append(env, "PGPASSWORD="+d.password)
	}
	if d.sslmode != "" {
		env = append(env, "PGSSLMODE="+d.sslmode)
	}
	env = append(env, "PGCONNECT_TIMEOUT="+strconv.Itoa(max(1, int(d.cfg.ConnectTimeout.Seconds()))))
	return env
}
