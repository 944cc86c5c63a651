package runbooks

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"
)

// decoder fills a struct from the generic value tree toml.Decode produces,
// recording every problem as a finding instead of stopping at the first one.
type decoder struct {
	rb       *Runbook
	findings []Finding
}

func (d *decoder) add(path, format string, args ...any) {
	d.findings = append(d.findings, Finding{
		File:     d.rb.File,
		Line:     d.rb.lineOf(path),
		Field:    path,
		Message:  fmt.Sprintf(format, args...),
		Severity: Error,
	})
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// value decodes v into dst (addressable) at path.
func (d *decoder) value(path string, v any, dst reflect.Value) {
	if dst.Type() == reflect.TypeFor[Hint]() {
		// A hint is a plain string or a table { text, when }.
		if s, ok := v.(string); ok {
			dst.Set(reflect.ValueOf(Hint{Text: s}))
			return
		}
		if _, ok := v.(map[string]any); !ok {
			d.add(path, `want a string or a table { text = "…", when = "…" }, got %s`, describe(v))
			return
		}
	}
	if dst.CanAddr() && dst.Addr().Type().Implements(textUnmarshalerType) {
		s, ok := v.(string)
		if !ok {
			if dst.Type() == reflect.TypeFor[Duration]() {
				d.add(path, `want a duration such as "30s" or "15m", got %s`, describe(v))
			} else {
				d.add(path, "want a string, got %s", describe(v))
			}
			return
		}
		if err := dst.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			d.add(path, "%s", err.Error())
		}
		return
	}
	switch dst.Kind() {
	case reflect.String:
		switch x := v.(type) {
		case string:
			dst.SetString(x)
		case time.Time:
			// An unquoted TOML local date (next_review = 2027-04-01).
			if x.Location().String() == "date-local" {
				dst.SetString(x.Format(time.DateOnly))
				return
			}
			d.add(path, "want a string or a date (YYYY-MM-DD), got a date with a time")
		default:
			d.add(path, "want a string, got %s", describe(v))
		}
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			d.add(path, "want true or false, got %s", describe(v))
			return
		}
		dst.SetBool(b)
	case reflect.Int:
		n, ok := v.(int64)
		if !ok {
			d.add(path, "want an integer, got %s", describe(v))
			return
		}
		if n < math.MinInt32 || n > math.MaxInt32 {
			d.add(path, "integer %d out of range", n)
			return
		}
		dst.SetInt(n)
	case reflect.Pointer:
		p := reflect.New(dst.Type().Elem())
		d.value(path, v, p.Elem())
		dst.Set(p)
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			d.add(path, "want a table, got %s", describe(v))
			return
		}
		d.table(path, m, dst)
	case reflect.Slice:
		items, ok := sliceOf(v)
		if !ok {
			d.add(path, "want an array, got %s", describe(v))
			return
		}
		s := reflect.MakeSlice(dst.Type(), len(items), len(items))
		for i, it := range items {
			d.value(fmt.Sprintf("%s[%d]", path, i+1), it, s.Index(i))
		}
		dst.Set(s)
	default:
		d.add(path, "cannot decode into %s", dst.Type())
	}
}

func sliceOf(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case []map[string]any:
		out := make([]any, len(x))
		for i, m := range x {
			out[i] = m
		}
		return out, true
	}
	return nil, false
}

// table decodes a TOML table into a struct, reporting unknown keys.
func (d *decoder) table(path string, m map[string]any, dst reflect.Value) {
	t := dst.Type()
	fields := map[string]int{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("toml")
		if !f.IsExported() || tag == "" || tag == "-" {
			continue
		}
		fields[tag] = i
		names = append(names, tag)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Report in the order the keys are written.
	slices.SortFunc(keys, func(a, b string) int {
		la, lb := d.rb.lineOf(join(path, a)), d.rb.lineOf(join(path, b))
		if la != lb {
			return la - lb
		}
		return strings.Compare(a, b)
	})
	for _, k := range keys {
		p := join(path, k)
		i, ok := fields[k]
		if !ok {
			if s := suggest(k, names); s != "" {
				d.add(p, "unknown key (did you mean %q?)", s)
			} else {
				d.add(p, "unknown key")
			}
			continue
		}
		d.value(p, m[k], dst.Field(i))
	}
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("string %q", x)
	case int64:
		return fmt.Sprintf("integer %d", x)
	case float64:
		return fmt.Sprintf("float %v", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case time.Time:
		return "a date/time"
	case map[string]any:
		return "a table"
	case []any, []map[string]any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}

// suggest returns the known name closest to k when it is a likely typo.
func suggest(k string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if dist := editDistance(k, n); dist < bestD {
			best, bestD = n, dist
		}
	}
	if bestD > 2 || bestD >= len(k) {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
