package runbooks

import (
	"fmt"
	"reflect"
	"strings"
)

// The one placeholder grammar of drnav: lint, the step engine and the UI
// all read placeholders through Refs, Placeholders, Expand and Resolve.
// A placeholder is {{name}}, spaces inside the braces allowed ({{ name }}),
// where name is a variable name: a letter or _, then letters, digits or _.
// Anything else between double braces ({{.metadata.name}}, {{ a-b }}) is
// plain text, left as written.

// Ref is one placeholder in a text: its byte span [Start, End) and name.
type Ref struct {
	Start, End int
	Name       string
}

// nextRef finds the first placeholder in s at or after from.
func nextRef(s string, from int) (Ref, bool) {
	for i := from; i < len(s); {
		j := strings.Index(s[i:], "{{")
		if j < 0 {
			return Ref{}, false
		}
		i += j
		k := skipBlanks(s, i+2)
		n := k
		for n < len(s) && isNameByte(s[n], n == k) {
			n++
		}
		if e := skipBlanks(s, n); n > k && strings.HasPrefix(s[e:], "}}") {
			return Ref{Start: i, End: e + 2, Name: s[k:n]}, true
		}
		i++
	}
	return Ref{}, false
}

func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || !first && '0' <= c && c <= '9'
}

// Refs lists every placeholder of s in order.
func Refs(s string) []Ref {
	var out []Ref
	for i := 0; ; {
		r, ok := nextRef(s, i)
		if !ok {
			return out
		}
		out = append(out, r)
		i = r.End
	}
}

// Placeholders lists the variable names written {{name}} in s, each once, in
// order of first appearance.
func Placeholders(s string) []string {
	var names []string
	for _, r := range Refs(s) {
		if !contains(names, r.Name) {
			names = append(names, r.Name)
		}
	}
	return names
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Resolve replaces each placeholder of s whose name lookup knows by its
// value and leaves the others as written, returning them as missing (each
// once, in order).
func Resolve(s string, lookup func(name string) (string, bool)) (out string, missing []string) {
	if !strings.Contains(s, "{{") {
		return s, nil
	}
	var b strings.Builder
	last := 0
	for _, r := range Refs(s) {
		v, ok := lookup(r.Name)
		if !ok {
			if !contains(missing, r.Name) {
				missing = append(missing, r.Name)
			}
			continue
		}
		b.WriteString(s[last:r.Start])
		b.WriteString(v)
		last = r.End
	}
	b.WriteString(s[last:])
	return b.String(), missing
}

// Expand replaces every {{name}} in s by quote(values[name]) (the value
// itself when quote is nil). Shell commands pass a shell quoting function
// (syntax.Quote) so a value is always one word. It fails, naming them, when
// placeholders have no value.
func Expand(s string, values map[string]string, quote func(string) string) (string, error) {
	out, missing := Resolve(s, func(name string) (string, bool) {
		v, ok := values[name]
		if ok && quote != nil {
			v = quote(v)
		}
		return v, ok
	})
	if len(missing) > 0 {
		return s, fmt.Errorf("no value for %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// Placeholders lists every variable the step's action and verify use (all
// their string fields), each once, in field order.
func (s *Step) Placeholders() []string {
	var names []string
	add := func(_ string, text string) {
		for _, n := range Placeholders(text) {
			if !contains(names, n) {
				names = append(names, n)
			}
		}
	}
	s.walkAction(add)
	return names
}

// walkAction calls fn with the field path (relative to the step) and value of
// every string of the step's action and verify.
func (s *Step) walkAction(fn func(field, value string)) {
	if s.Run != "" {
		fn("run", s.Run)
	}
	if s.Manual != "" {
		fn("manual", s.Manual)
	}
	walkStrings("k8s", reflect.ValueOf(s.K8s), fn)
	walkStrings("sql", reflect.ValueOf(s.SQL), fn)
	walkStrings("http", reflect.ValueOf(s.HTTP), fn)
	walkStrings("wait", reflect.ValueOf(s.Wait), fn)
	walkStrings("verify", reflect.ValueOf(s.Verify), fn)
}

// walkText calls fn for the step's descriptive texts (title, why, expect, hints).
func (s *Step) walkText(fn func(field, value string)) {
	fn("title", s.Title)
	fn("why", s.Why)
	fn("expect", s.Expect)
	for i, h := range s.Hints {
		fn(fmt.Sprintf("hints[%d]", i+1), h.Text)
	}
}

// walkStrings visits the non-empty string fields of a pointer to a struct.
func walkStrings(path string, v reflect.Value, fn func(field, value string)) {
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return
	}
	v = v.Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.String {
			for j := range v.Field(i).Len() {
				if s := v.Field(i).Index(j).String(); s != "" {
					fn(fmt.Sprintf("%s.%s[%d]", path, f.Tag.Get("toml"), j+1), s)
				}
			}
			continue
		}
		if f.Type.Kind() != reflect.String {
			continue
		}
		if s := v.Field(i).String(); s != "" {
			fn(path+"."+f.Tag.Get("toml"), s)
		}
	}
}

func reflectValue(rb *Runbook) reflect.Value { return reflect.ValueOf(rb).Elem() }
