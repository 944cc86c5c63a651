package steps

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/runbooks"
)

func dur(d time.Duration) runbooks.Duration { return runbooks.Duration{Duration: d} }

func TestHTTPCheckFailsTwiceThenSucceeds(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	st := runbooks.Step{ID: "h", HTTP: &runbooks.HTTPAction{URL: srv.URL + "/health", Count: 5, Interval: dur(10 * time.Millisecond)}}
	evs := collect(t, Start(context.Background(), st, Target{}))
	fin := finished(t, evs)
	ls := lines(evs)
	if fin.ExitCode != 0 || len(ls) != 3 || !strings.Contains(ls[0].Text, "HTTP 503") || !strings.Contains(ls[2].Text, "HTTP 200") {
		t.Fatalf("%+v %+v", fin, ls)
	}
	if !strings.HasPrefix(evs[0].Equivalent, "curl ") {
		t.Fatalf("equivalent %q", evs[0].Equivalent)
	}
	st.HTTP.Count = 1
	n.Store(0)
	if fin := finished(t, collect(t, Start(context.Background(), st, Target{}))); fin.ExitCode != ExitFailed || !strings.Contains(fin.Err, "503") {
		t.Fatalf("%+v", fin)
	}
}

func TestVerifyPollsUntilReady(t *testing.T) {
	t.Parallel()
	d := deployment("web", 3, "web:1")
	d.Status.ReadyReplicas = 1
	cs := fake.NewClientset(d)
	scaleReactor(cs)
	st := k8sStep(runbooks.K8sAction{Action: "scale", Deployment: "web", Replicas: intp(3)})
	st.Verify = &runbooks.Verify{Ready: intp(3), Within: dur(30 * time.Second), Interval: dur(20 * time.Millisecond)}
	r := Start(context.Background(), st, Target{Kube: &fakeKube{cs: cs}})
	var evs []Event
	bumped := false
	for ev := range r.Events() {
		evs = append(evs, ev)
		if ev.Kind == EventVerify && !ev.Verify.OK && !bumped {
			if !strings.Contains(ev.Verify.Detail, "ready 1/3") {
				t.Errorf("detail %q", ev.Verify.Detail)
			}
			bumped = true
			u := getDep(t, cs, "web")
			u.Status.ReadyReplicas = 3
			if _, err := cs.AppsV1().Deployments("default").UpdateStatus(context.Background(), u, metav1.UpdateOptions{}); err != nil {
				t.Error(err)
			}
		}
	}
	fin := finished(t, evs)
	if fin.ExitCode != 0 || fin.Verified == nil || !*fin.Verified {
		t.Fatalf("%+v", fin)
	}
	last := evs[len(evs)-2]
	if last.Kind != EventVerify || !last.Verify.OK || !last.Verify.Final || last.Verify.Attempt < 2 {
		t.Fatalf("last poll %+v", last.Verify)
	}
}

func TestVerifyTimesOutAndPods(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset(pod("web-a", "web", true, ""), pod("web-b", "web", false, "CrashLoopBackOff"))
	st := runbooks.Step{ID: "w", Wait: &runbooks.Verify{PodsReady: "app=web", NoCrashLoop: "app=web", Within: dur(150 * time.Millisecond), Interval: dur(20 * time.Millisecond)}}
	evs := collect(t, Start(context.Background(), st, Target{Kube: &fakeKube{cs: cs}}))
	fin := finished(t, evs)
	if fin.ExitCode != ExitFailed || fin.Verified == nil || *fin.Verified {
		t.Fatalf("%+v", fin)
	}
	if !strings.Contains(fin.Err, "pods ready 1/2") || !strings.Contains(fin.Err, "crash-looping 1/2 (web-b)") {
		t.Fatalf("err %q", fin.Err)
	}
	if err := cs.CoreV1().Pods("default").Delete(context.Background(), "web-b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if fin := finished(t, collect(t, Start(context.Background(), st, Target{Kube: &fakeKube{cs: cs}}))); fin.ExitCode != 0 {
		t.Fatalf("%+v", fin)
	}
	// no pods at all is not "all ready".
	empty := runbooks.Step{ID: "w", Wait: &runbooks.Verify{PodsReady: "app=none", Within: dur(50 * time.Millisecond), Interval: dur(10 * time.Millisecond)}}
	if fin := finished(t, collect(t, Start(context.Background(), empty, Target{Kube: &fakeKube{cs: cs}}))); fin.ExitCode == 0 {
		t.Fatal("no pods counted as ready")
	}
}

func TestVerifyCancelled(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	st := runbooks.Step{ID: "w", Wait: &runbooks.Verify{PodsReady: "app=web", Within: dur(time.Minute), Interval: dur(10 * time.Millisecond)}}
	r := Start(context.Background(), st, Target{Kube: &fakeKube{cs: cs}})
	for ev := range r.Events() {
		if ev.Kind == EventVerify {
			r.Cancel()
		}
	}
	if fin := r.Wait(); fin.ExitCode != ExitCancelled {
		t.Fatalf("%+v", fin)
	}
}

func TestVerifyURL(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	defer srv.Close()
	st := runbooks.Step{ID: "w", Wait: &runbooks.Verify{URL: srv.URL, Status: 418, Within: dur(time.Second), Interval: dur(10 * time.Millisecond)}}
	if fin := finished(t, collect(t, Start(context.Background(), st, Target{}))); fin.ExitCode != 0 {
		t.Fatalf("%+v", fin)
	}
}

// backupDir makes files with the given ages.
func backupDir(t *testing.T, now time.Time, ages ...time.Duration) string {
	t.Helper()
	dir := t.TempDir()
	for i, a := range ages {
		p := filepath.Join(dir, fmt.Sprintf("backup-%d.sql", i))
		writeFile(t, p, "-- dump\n")
		mt := now.Add(-a)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBackupPolicyChecks(t *testing.T) {
	t.Parallel()
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time { return now }
	fresh := backupDir(t, now, 7*time.Minute+12*time.Second, 31*24*time.Hour)
	stale := backupDir(t, now, 40*time.Minute, 2*24*time.Hour)
	stamp := now.Add(-5 * time.Minute).UTC().Format(time.RFC3339)
	old := fmt.Sprint(now.Add(-time.Hour).Unix())
	fast := func(v runbooks.Verify) runbooks.Step {
		v.Within, v.Interval = dur(100*time.Millisecond), dur(20*time.Millisecond)
		return runbooks.Step{ID: "b", Wait: &v}
	}
	cases := []struct {
		name   string
		step   runbooks.Step
		backup config.Backup
		rpo    time.Duration
		ok     bool
		detail string
	}{
		{"max age ok", fast(runbooks.Verify{BackupMaxAge: dur(15 * time.Minute)}), config.Backup{Dir: fresh}, 0, true, "newest backup 7m12s old (limit 15m0s"},
		{"max age stale", fast(runbooks.Verify{BackupMaxAge: dur(15 * time.Minute)}), config.Backup{Dir: stale}, 0, false, "newest backup 40m0s old (limit 15m0s"},
		{"retention ok", fast(runbooks.Verify{BackupRetention: dur(30 * 24 * time.Hour)}), config.Backup{Dir: fresh}, 0, true, "oldest kept backup 31d old (retention 30d"},
		{"retention short", fast(runbooks.Verify{BackupRetention: dur(30 * 24 * time.Hour)}), config.Backup{Dir: stale}, 0, false, "oldest kept backup 2d old"},
		{"freshness command rfc3339", fast(runbooks.Verify{BackupMaxAge: dur(15 * time.Minute)}), config.Backup{Dir: stale, FreshnessCommand: "echo " + stamp}, 0, true, "newest backup 5m0s old"},
		{"freshness command unix", fast(runbooks.Verify{BackupMaxAge: dur(15 * time.Minute)}), config.Backup{FreshnessCommand: "echo " + old}, 0, false, "newest backup 1h0m0s old"},
		{"freshness garbage", fast(runbooks.Verify{BackupMaxAge: dur(15 * time.Minute)}), config.Backup{FreshnessCommand: "echo yesterday-ish"}, 0, false, `printed "yesterday-ish", not a timestamp`},
		{"freshness fails", fast(runbooks.Verify{BackupMaxAge: dur(15 * time.Minute)}), config.Backup{FreshnessCommand: "echo no bucket >&2; exit 2"}, 0, false, "failed: exit status 2: no bucket"},
		{"regions", fast(runbooks.Verify{BackupRegions: true}), config.Backup{Regions: []config.Region{{Name: "eu", Command: "echo " + stamp}, {Name: "us", Command: "echo " + old}}}, 15 * time.Minute, false, "region eu 5m0s old (ok), region us 1h0m0s old (too old) (limit 15m0s)"},
		{"regions ok with max age", fast(runbooks.Verify{BackupRegions: true, BackupMaxAge: dur(2 * time.Hour)}), config.Backup{Regions: []config.Region{{Name: "eu", Command: "echo " + stamp}, {Name: "us", Command: "echo " + old}}, FreshnessCommand: "echo " + stamp}, 0, true, "limit 2h0m0s"},
		{"no regions", fast(runbooks.Verify{BackupRegions: true}), config.Backup{}, 0, false, "no backup regions configured"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			evs := collect(t, Start(context.Background(), tc.step, Target{Backup: tc.backup, RPO: tc.rpo, Now: clock}))
			fin := finished(t, evs)
			if (fin.ExitCode == 0) != tc.ok || fin.Verified == nil || *fin.Verified != tc.ok {
				t.Fatalf("ok %v, want %v: %+v", fin.ExitCode == 0, tc.ok, fin)
			}
			var poll VerifyPoll
			for _, e := range evs {
				if e.Kind == EventVerify {
					poll = e.Verify
				}
			}
			if !poll.Final || !strings.Contains(poll.Detail, tc.detail) {
				t.Fatalf("detail %q, want %q", poll.Detail, tc.detail)
			}
		})
	}
}
