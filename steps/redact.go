package steps

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"

	"mvdan.cc/sh/v3/syntax"
)

// Mask replaces every redacted value.
const Mask = "***"

// Built-in patterns: passwords in URLs (scheme://user:PASS@host), libpq
// keyword/value DSNs (password=PASS) and PGPASSWORD=PASS assignments.
var (
	urlPasswordRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s'"]*:)([^@\s'"]+)(@)`)
	})
	kvPasswordRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s'"]+)`)
	})
	pgPasswordEnvRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(PGPASSWORD=)('[^']*'|"[^"]*"|\S+)`) })
)

// Redactor masks secrets in text: literal values (secret variables, DSN
// passwords) and regular expressions, plus the built-in URL, password= and
// PGPASSWORD= patterns. It is safe for concurrent use.
type Redactor struct {
	literals []string // longest first
	patterns []*regexp.Regexp
}

// minSecretLine is the shortest line of a multi-line secret masked on its
// own: shorter lines ("}", "---") carry no secret and would mask everything.
const minSecretLine = 6

// NewRedactor builds a Redactor from literal values and regexps. A pattern
// with capture groups masks only its first group; one without masks the whole
// match. Each value's shell-quoted form is masked too, so a quoted secret in a
// displayed command is caught.
func NewRedactor(values []string, patterns []string) (*Redactor, error) {
	r := &Redactor{}
	seen := map[string]bool{}
	add := func(v string) {
		if v == "" || v == Mask || seen[v] {
			return
		}
		seen[v] = true
		r.literals = append(r.literals, v)
	}
	forms := func(v string) {
		add(v)
		if q, err := syntax.Quote(v, syntax.LangBash); err == nil && q != v {
			add(q)
		}
		add(url.QueryEscape(v))
		add(url.PathEscape(v))
	}
	for _, v := range values {
		forms(v)
		if strings.ContainsAny(v, "\r\n") {
			// A multi-line secret (a PEM key, a kubeconfig) reaches output
			// one line at a time: mask each of its lines too.
			for _, l := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
				if t := strings.TrimSpace(l); len(t) >= minSecretLine {
					add(l)
					add(t)
				}
			}
		}
	}
	sort.SliceStable(r.literals, func(i, j int) bool { return len(r.literals[i]) > len(r.literals[j]) })
	for _, p := range patterns {
		if p == "" {
			continue
		}
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("redact pattern %q: %w", p, err)
		}
		r.patterns = append(r.patterns, re)
	}
	return r, nil
}

// String returns s with every secret replaced by ***.
func (r *Redactor) String(s string) string {
	if r == nil || s == "" {
		return s
	}
	for _, l := range r.literals {
		if strings.Contains(s, l) {
			s = strings.ReplaceAll(s, l, Mask)
		}
	}
	if strings.Contains(s, "://") {
		s = urlPasswordRE().ReplaceAllString(s, "${1}"+Mask+"${3}")
	}
	if strings.Contains(s, "=") {
		if containsFold(s, "password") {
			s = kvPasswordRE().ReplaceAllString(s, "${1}"+Mask)
		}
		if strings.Contains(s, "PGPASSWORD=") {
			s = pgPasswordEnvRE().ReplaceAllString(s, "${1}"+Mask)
		}
	}
	for _, re := range r.patterns {
		if re.NumSubexp() == 0 {
			s = re.ReplaceAllLiteralString(s, Mask)
			continue
		}
		s = re.ReplaceAllStringFunc(s, func(m string) string {
			loc := re.FindStringSubmatchIndex(m)
			if len(loc) < 4 || loc[2] < 0 {
				return Mask
			}
			return m[:loc[2]] + Mask + m[loc[3]:]
		})
	}
	return s
}

func containsFold(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], sub) {
			return true
		}
	}
	return false
}

// dsnPassword extracts the password from a postgres URL or a libpq
// keyword/value string; "" when there is none.
func dsnPassword(s string) string {
	if strings.Contains(s, "://") {
		if u, err := url.Parse(strings.TrimSpace(s)); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok {
				return p
			}
		}
		if m := urlPasswordRE().FindStringSubmatch(s); m != nil {
			if p, err := url.PathUnescape(m[2]); err == nil {
				return p
			}
			return m[2]
		}
		return ""
	}
	if m := kvPasswordRE().FindStringSubmatch(s); m != nil {
		p := m[2]
		if len(p) >= 2 && p[0] == '\'' && p[len(p)-1] == '\'' {
			p = strings.ReplaceAll(p[1:len(p)-1], `\'`, `'`)
			p = strings.ReplaceAll(p, `\\`, `\`)
		}
		return p
	}
	return ""
}

// secretSource is implemented by Database handles that know secrets (the real
// one's password) which must never appear in events.
type secretSource interface {
	Secrets() []string
}

// redactorFor builds the Redactor of a Target: values of the secret
// variables, DSN passwords found in any variable, PGPASSWORD from the extra
// environment and the process environment, secrets the database handle knows,
// and the Target's extra patterns.
func redactorFor(t Target) (*Redactor, error) {
	var vals []string
	for _, name := range t.Secrets {
		if v, ok := t.Vars[name]; ok {
			vals = append(vals, v)
		}
	}
	for _, v := range t.Vars {
		if p := dsnPassword(v); p != "" {
			vals = append(vals, p)
		}
	}
	secretEnv := map[string]bool{}
	for _, k := range t.SecretEnv {
		secretEnv[k] = true
	}
	for _, kv := range t.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if secretEnv[k] || k == "PGPASSWORD" || strings.Contains(strings.ToUpper(k), "PASSWORD") || strings.Contains(strings.ToUpper(k), "TOKEN") || strings.Contains(strings.ToUpper(k), "SECRET") {
			vals = append(vals, v)
		}
		if p := dsnPassword(v); p != "" {
			vals = append(vals, p)
		}
	}
	if v := os.Getenv("PGPASSWORD"); v != "" {
		vals = append(vals, v)
	}
	if s, ok := t.DB.(secretSource); ok && t.DB != nil {
		vals = append(vals, s.Secrets()...)
	}
	var pats []string
	for _, p := range t.Redact {
		if pw := dsnPassword(p); pw != "" {
			vals = append(vals, pw) // a DSN given to redact: mask its password
			continue
		}
		pats = append(pats, p)
	}
	return NewRedactor(vals, pats)
}
