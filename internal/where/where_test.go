package where

import "testing"

func TestSameServer(t *testing.T) {
	cases := []struct {
		a, b string
		same bool
	}{
		{"https://10.0.0.1:6443", "https://10.0.0.1:6443/", true},
		{"https://API.example", "https://api.example:443", true},
		{"https://10.0.0.1:6443", "https://10.0.0.2:6443", false},
		{"", "", false}, // unknown is never "the same"
	}
	for _, c := range cases {
		if got := SameServer(Kube{Server: c.a}, Kube{Server: c.b}); got != c.same {
			t.Errorf("SameServer(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func TestStrings(t *testing.T) {
	k := Kube{Context: "lab", Server: "https://10.1.0.1:6443", Namespace: "perf", User: "admin"}
	if got := k.String(); got != "lab · https://10.1.0.1:6443 · ns perf · user admin" {
		t.Errorf("Kube.String() = %q", got)
	}
	d := DB{Hosts: []string{HostPort("db1", 5432), HostPort("::1", 5433), HostPort("/run/postgresql", 5432)}, Database: "app", User: "dr"}
	if got := d.String(); got != "database app on db1:5432,[::1]:5433,/run/postgresql:5432 as user dr" {
		t.Errorf("DB.String() = %q", got)
	}
	if (DB{}).String() != "" || !(Kube{}).IsZero() {
		t.Error("zero values must describe nothing")
	}
}
