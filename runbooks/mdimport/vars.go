package mdimport

import (
	"fmt"
	"slices"
	"strings"
)

// variable is a runbook variable the import declares: a placeholder the
// plan wrote (<pod>, $POD) or a hard-coded value it turned into one.
type variable struct {
	name, prompt, def, config, source string
	kind, value                       string // kind "placeholder", or what the value was (deployment…)
	lines                             []int  // plan lines where it was found
	unreplaced                        []int  // lines where the value stays hard-coded (inside a larger quoted word)
}

// registry allocates the variables of one runbook.
type registry struct {
	vars  []*variable
	byKey map[string]*variable
}

func newRegistry() *registry { return &registry{byKey: map[string]*variable{}} }

func (r *registry) taken(name string) bool {
	return slices.ContainsFunc(r.vars, func(v *variable) bool { return v.name == name })
}

func (v *variable) at(line int) {
	if line > 0 && !slices.Contains(v.lines, line) {
		v.lines = append(v.lines, line)
	}
}

// varName makes a variable name of a placeholder: "failing-pod" → "failing_pod".
func varName(raw string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(raw) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	s := strings.Trim(b.String(), "_")
	for strings.Contains(s, "__") {
		s = strings.ReplaceAll(s, "__", "_")
	}
	if s == "" {
		s = "value"
	}
	if s[0] >= '0' && s[0] <= '9' {
		s = "v_" + s
	}
	return s
}

// placeholder declares the variable of a placeholder and returns its name.
func (r *registry) placeholder(raw string, line int) string {
	name := varName(raw)
	if v, ok := r.byKey["name\x00"+name]; ok {
		v.at(line)
		return name
	}
	v := &variable{name: name, kind: "placeholder", value: raw,
		prompt: strings.ToUpper(name[:1]) + strings.ReplaceAll(name[1:], "_", " ")}
	switch {
	case strings.Contains(name, "pod") && containsAny(name, "fail", "crash", "unready", "broken", "bad"):
		v.source = "pods:unready"
	case strings.Contains(name, "pod"):
		v.source = "pods"
	case strings.Contains(name, "deploy"):
		v.source = "deployments"
	case strings.Contains(name, "polic"):
		v.source = "networkpolicies"
	case strings.Contains(name, "context"):
		v.source = "contexts"
	case strings.Contains(name, "backup"):
		v.source = "backups"
	}
	v.at(line)
	r.vars = append(r.vars, v)
	r.byKey["name\x00"+name] = v
	return name
}

func containsAny(s string, subs ...string) bool {
	return slices.ContainsFunc(subs, func(x string) bool { return strings.Contains(s, x) })
}

// found declares (or reuses) the variable holding a hard-coded value of a
// kind (deployment, namespace, selector, manifests, backup, database, url)
// and returns its name.
func (r *registry) found(kind, value string, line int) string {
	key := kind + "\x00" + value
	if v, ok := r.byKey[key]; ok {
		v.at(line)
		return v.name
	}
	base, config, source, prompt := kind, "", "", kind
	lv := strings.ToLower(value)
	switch kind {
	case "deployment":
		base, config, source, prompt = "deployment", "deployment", "deployments", "Deployment"
		if containsAny(lv, "postgres", "mysql", "mariadb", "redis", "mongo", "database") || lv == "db" || strings.HasSuffix(lv, "-db") || strings.HasPrefix(lv, "pg") {
			base, config, prompt = "db_deployment", "db_deployment", "Deployment running the database"
		}
	case "namespace":
		base, config, prompt = "namespace", "namespace", "Kubernetes namespace"
	case "selector":
		base, config, prompt = "app_label", "app_label", "Label selector of the application's pods"
	case "manifests":
		base, prompt = "manifests", "Manifests to apply (file or folder)"
		switch {
		case strings.Contains(lv, "failover"):
			base, config = "failover_manifests", "failover_manifests"
		case strings.Contains(lv, "network-polic") || strings.Contains(lv, "networkpolic"):
			base, config = "network_policy", "network_policy"
		case strings.Contains(lv, "dr-test") || strings.Contains(lv, "drill"):
			base, config = "drill_manifests", "drill_manifests"
		}
	case "backup":
		base, source, prompt = "backup", "backups", "Backup to restore (plain SQL dump)"
		if strings.Contains(lv, "latest") {
			config = "latest_backup"
		}
	case "database":
		base, config, prompt = "database", "database", "Database name"
	case "url":
		base, prompt = "url", "URL"
		switch {
		case strings.Contains(lv, "failover"):
			base, config, prompt = "failover_health_url", "failover_health_url", "Health URL of the failover service"
		case strings.Contains(lv, "/health"):
			base, config, prompt = "health_url", "health_url", "Health URL of the service"
		}
	}
	name := base
	for n := 2; r.taken(name); n++ {
		name = fmt.Sprintf("%s_%d", base, n)
		config = "" // the config key holds one value: the first one found
	}
	v := &variable{name: name, kind: kind, value: value, def: value, config: config, source: source, prompt: prompt}
	v.at(line)
	r.vars = append(r.vars, v)
	r.byKey[key] = v
	r.byKey["name\x00"+name] = v
	return name
}

// unreplaced records that a found value stays hard-coded at line.
func (r *registry) unreplaced(name string, line int) {
	if v, ok := r.byKey["name\x00"+name]; ok && !slices.Contains(v.unreplaced, line) {
		v.unreplaced = append(v.unreplaced, line)
	}
}

// notes are the review notes of a variable.
func (v *variable) notes(source string) []string {
	lines := make([]string, len(v.lines))
	for i, l := range v.lines {
		lines[i] = fmt.Sprintf("%s:%d", source, l)
	}
	at := strings.Join(lines, ", ")
	var out []string
	if v.kind == "placeholder" {
		n := fmt.Sprintf("placeholder %q (%s) became this variable", v.value, at)
		if v.source != "" {
			n += fmt.Sprintf("; source %q guessed from its name", v.source)
		}
		out = append(out, n)
	} else {
		n := fmt.Sprintf("hard-coded %s %q (%s) became this variable", v.kind, v.value, at)
		if v.config != "" {
			n += fmt.Sprintf("; drnav's config key %q, when set, wins over the default", v.config)
		}
		out = append(out, n)
	}
	if len(v.unreplaced) > 0 {
		var ls []string
		for _, l := range v.unreplaced {
			ls = append(ls, fmt.Sprint(l))
		}
		out = append(out, fmt.Sprintf("the value is still written inside quoted text at line(s) %s: replace it by hand", strings.Join(ls, ", ")))
	}
	return out
}
