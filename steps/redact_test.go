package steps

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drnav/drnav/runbooks"
)

func TestRedactorString(t *testing.T) {
	t.Parallel()
	r, err := NewRedactor([]string{"hunter2"}, []string{`token=(\w+)`, `AKIA[0-9A-Z]{4}`})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"pw hunter2 here":                     "pw *** here",
		"postgres://app:s3cr%40t@db:5432/app": "postgres://app:***@db:5432/app",
		"host=db password='a b' user=x":       "host=db password=*** user=x",
		"PGPASSWORD=abc psql":                 "PGPASSWORD=*** psql",
		"token=xyz other":                     "token=*** other",
		"key AKIA1234":                        "key ***",
		"quoted 'hunter2'":                    "quoted '***'",
		"nothing secret":                      "nothing secret",
	}
	for in, want := range cases {
		if got := r.String(in); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
	if _, err := NewRedactor(nil, []string{"("}); err == nil {
		t.Fatal("bad pattern accepted")
	}
}

func TestRedactionInEveryEvent(t *testing.T) {
	t.Parallel()
	const dsnPass = "dsn-Pa55-word"
	const secret = "v3ry s'ecret$(x)"
	tg := Target{
		Vars: map[string]string{
			"dsn":   "postgres://app:" + dsnPass + "@db.internal:5432/app",
			"token": secret,
		},
		Secrets: []string{"token"},
	}
	cmds := []string{
		`echo {{dsn}}; echo {{token}} >&2; echo "pw ` + dsnPass + `"; printf '%s\n' {{token}}; exit 3`,
		`echo {{token}}; sleep 30`,
	}
	for i, c := range cmds {
		st := shellStep(c)
		if i == 1 {
			// long enough for bash to start and echo on a loaded machine
			st.Timeout = runbooks.Duration{Duration: 3 * time.Second}
		}
		evs := collect(t, Start(context.Background(), st, tg))
		fin := finished(t, evs)
		if fin.ExitCode == 0 {
			t.Fatalf("command %d: %+v", i, fin)
		}
		if len(lines(evs)) == 0 {
			t.Fatal("no output")
		}
		for _, e := range evs {
			s := fmt.Sprintf("%+v", e)
			if strings.Contains(s, dsnPass) || strings.Contains(s, "s'ecret") || strings.Contains(s, `s'\''ecret`) {
				t.Fatalf("secret leaked in %s", s)
			}
		}
	}
	// The placeholder line for the DSN is masked, not dropped.
	evs := collect(t, Start(context.Background(), shellStep("echo {{dsn}}"), tg))
	if got := lines(evs)[0].Text; got != "postgres://app:***@db.internal:5432/app" {
		t.Fatalf("%q", got)
	}
	if cmd := evs[0].Command; strings.Contains(cmd, dsnPass) {
		t.Fatalf("command %q", cmd)
	}
}

// TestMultiLineSecretMaskedLineByLine: a PEM key or kubeconfig given as a
// secret is masked whole and in each of its lines (output arrives one line
// at a time); short lines carry nothing and are left alone.
func TestMultiLineSecretMaskedLineByLine(t *testing.T) {
	pem := "-----BEGIN KEY-----\nAAAAsecretline1\r\n  BBBBsecretline2\n}\n-----END KEY-----"
	r, err := NewRedactor([]string{pem}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		pem:                      "***",
		"AAAAsecretline1":        "***",
		"x BBBBsecretline2 y":    "x *** y",
		"  BBBBsecretline2":      "***",
		"}":                      "}",
		"-----END KEY----- done": "*** done",
	} {
		if got := r.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSecretEnvMasked: an [env] entry marked secret is masked whatever its
// name.
func TestSecretEnvMasked(t *testing.T) {
	r, err := redactorFor(Target{Env: []string{"UPSTREAM_AUTH=sekrit-value-1", "PLAIN=visible"}, SecretEnv: []string{"UPSTREAM_AUTH"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.String("a sekrit-value-1 visible"); got != "a *** visible" {
		t.Errorf("got %q", got)
	}
}
