package runbooks

import (
	"fmt"
	"reflect"
	"strings"
)

// nextPlaceholder finds the first {{name}} in s at or after from; name is an
// identifier (a letter or _, then letters, digits, _). It returns the
// placeholder's start and end (exclusive) and the name, or start -1.
func nextPlaceholder(s string, from int) (start, end int, name string) {
	for i := from; i+4 < len(s)+1; i++ {
		j := strings.Index(s[i:], "{{")
		if j < 0 {
			return -1, 0, ""
		}
		i += j
		k := i + 2
		for k < len(s) && (s[k] == '_' || 'a' <= s[k] && s[k] <= 'z' || 'A' <= s[k] && s[k] <= 'Z' || k > i+2 && '0' <= s[k] && s[k] <= '9') {
			k++
		}
		if k > i+2 && strings.HasPrefix(s[k:], "}}") {
			return i, k + 2, s[i+2 : k]
		}
	}
	return -1, 0, ""
}

// Placeholders lists the variable names written {{name}} in s, each once, in
// order of first appearance.
func Placeholders(s string) []string {
	var names []string
	for i := 0; ; {
		start, end, name := nextPlaceholder(s, i)
		if start < 0 {
			return names
		}
		if !contains(names, name) {
			names = append(names, name)
		}
		i = end
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Expand replaces every {{name}} in s by quote(values[name]) (the value
// itself when quote is nil). Shell commands pass a shell quoting function
// (syntax.Quote) so a value is always one word. It fails, naming them, when
// placeholders have no value.
func Expand(s string, values map[string]string, quote func(string) string) (string, error) {
	var (
		b       strings.Builder
		missing []string
		last    int
	)
	for i := 0; ; {
		start, end, name := nextPlaceholder(s, i)
		if start < 0 {
			break
		}
		b.WriteString(s[last:start])
		v, ok := values[name]
		switch {
		case !ok:
			if !contains(missing, name) {
				missing = append(missing, name)
			}
			b.WriteString(s[start:end])
		case quote != nil:
			b.WriteString(quote(v))
		default:
			b.WriteString(v)
		}
		last, i = end, end
	}
	if len(missing) > 0 {
		return s, fmt.Errorf("no value for %s", strings.Join(missing, ", "))
	}
	b.WriteString(s[last:])
	return b.String(), nil
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
