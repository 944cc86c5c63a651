package steps

import (
	"strings"
	"testing"
)

func TestDescribeDSNNeverShowsThePassword(t *testing.T) {
	t.Setenv("PGHOST", "")
	t.Setenv("PGPORT", "")
	t.Setenv("PGUSER", "")
	t.Setenv("PGDATABASE", "")
	t.Setenv("PGPASSWORD", "")
	t.Setenv("PGSERVICEFILE", "")
	cases := []struct {
		name, dsn, database, secret, want string
	}{
		{"url with query password", "postgres://u@db1.example:6543/app?password=s3cret&sslmode=disable", "", "s3cret",
			"database app on db1.example:6543 as user u"},
		{"escaped url password", "postgresql://dr:p%40ss%2Fw@10.0.0.5:5433/orders", "", "p@ss/w",
			"database orders on 10.0.0.5:5433 as user dr"},
		{"keyword/value", "host=db2 port=5544 dbname=app user=dr password='se cret'", "", "se cret",
			"database app on db2:5544 as user dr"},
		{"database override", "host=db2 dbname=app user=dr password=x1y2z3", "other", "x1y2z3",
			"database other on db2:5432 as user dr"},
		{"fallback hosts", "postgres://dr:hunter22@a.example:5432,b.example:5433/app", "", "hunter22",
			"database app on a.example:5432,b.example:5433 as user dr"},
		{"ipv6", "postgres://dr:hunter22@[::1]:5432/app", "", "hunter22",
			"database app on [::1]:5432 as user dr"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := DescribeDSN(c.dsn, c.database)
			if err != nil {
				t.Fatal(err)
			}
			got := d.String()
			if got != c.want {
				t.Errorf("DescribeDSN(%q) = %q, want %q", c.dsn, got, c.want)
			}
			if strings.Contains(got, c.secret) || strings.Contains(got, "password") {
				t.Errorf("description %q shows the password", got)
			}
		})
	}
}

func TestDescribeDSNFromLibpqEnvironment(t *testing.T) {
	t.Setenv("PGHOST", "envhost")
	t.Setenv("PGPORT", "6000")
	t.Setenv("PGUSER", "envuser")
	t.Setenv("PGDATABASE", "envdb")
	t.Setenv("PGPASSWORD", "envsecret")
	d, err := DescribeDSN("", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.String(), "database envdb on envhost:6000 as user envuser"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDescribeDSNErrorHidesThePassword(t *testing.T) {
	for _, dsn := range []string{
		// libpq ends the user info at the first '@': the host would be
		// "ss@db1.example", half of the intended password.
		"postgres://u:p@ss@db1.example/app",
		"postgres://u:p@ss@db1.example:notaport/app",
		"host=db1 port=notaport password=s3cretpw",
		"postgres://u@db1.example:notaport/app?password=s3cretpw",
	} {
		_, err := DescribeDSN(dsn, "")
		if err == nil {
			t.Fatalf("DescribeDSN(%q): no error", dsn)
		}
		if strings.Contains(err.Error(), "ss@") || strings.Contains(err.Error(), "s3cretpw") {
			t.Errorf("error shows the password: %v", err)
		}
	}
}
