package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

type oneShotResult struct {
	args string
	rss  int64
	wall time.Duration
}

// reference is what the same run measured without drnav.
type reference struct {
	load         string
	informer     time.Duration
	informerHeap uint64
	kubectl      time.Duration
	kubectlRSS   int64
	kubectlErr   error

	// A bare typed informer in its own process over a churn window like
	// drnav's (refinformer.go).
	churnCPU     time.Duration
	churnChanges int64
	churnEvents  int64
	churnLoad    string
}

type results struct {
	bin                  string
	loadStart, loadEnd   string
	firstFrame, allShown []time.Duration
	rss, rssIdle         int64
	rssLoad, hwm         int64
	idleCPU, loadCPU     time.Duration
	changes              int64
	oneShots             []oneShotResult
	binSize              int64
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func list(ds []time.Duration) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, fmt.Sprintf("%d", d.Milliseconds()))
	}
	return strings.Join(parts, ", ")
}

// ratio is a/b, or "–" when b is zero (a window too short for the
// reference to have spent a clock tick).
func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", float64(a)/float64(b))
}

func mb(n int64) string { return fmt.Sprintf("%.0f MB", float64(n)/(1<<20)) }

func cpus(d time.Duration) string { return fmt.Sprintf("%.2f CPU-s/min", d.Seconds()) }

// print writes the table in Markdown, ready for the README.
func (r *results) print(o options, ref reference) {
	fmt.Printf("\n%s: %d pods, terminal %dx%d, load average %s at the start of its measurements, %s at the end (references: %s)\n\n",
		r.bin, o.pods, o.width, o.height, r.loadStart, r.loadEnd, ref.load)
	row := func(cells ...string) { fmt.Println("| " + strings.Join(cells, " | ") + " |") }
	row("figure", "drnav", "reference (same run)", "ratio", "target")
	row("---", "---", "---", "---", "---")
	all := median(r.allShown)
	row("first frame", fmt.Sprintf("%s (median of %s ms)", ms(median(r.firstFrame)), list(r.firstFrame)), "–", "–", "≤ 100 ms")
	row(fmt.Sprintf("exec → all %d pods shown", o.pods), fmt.Sprintf("%s (median of %s ms)", ms(all), list(r.allShown)),
		"typed informer synced in "+ms(ref.informer), fmt.Sprintf("%.2f×", float64(all)/float64(ref.informer)), "≤ 1.5×")
	if ref.kubectlErr == nil {
		row("", "", fmt.Sprintf("kubectl get pods %s (%s peak RSS)", ms(ref.kubectl), mb(ref.kubectlRSS)), fmt.Sprintf("%.2f×", float64(all)/float64(ref.kubectl)), "")
	} else {
		row("", "", "kubectl get pods: "+ref.kubectlErr.Error(), "", "")
	}
	row("RSS steady (10 s after shown)", mb(r.rss), fmt.Sprintf("informer live heap %s", mb(int64(ref.informerHeap))),
		fmt.Sprintf("%.2f×", float64(r.rss)/float64(ref.informerHeap)), "≤ 80 MB")
	row("RSS after idle / after load / peak", fmt.Sprintf("%s / %s / %s", mb(r.rssIdle), mb(r.rssLoad), mb(r.hwm)), "", "", "")
	row(fmt.Sprintf("CPU idle over %s", o.idle), cpus(r.idleCPU), "", "", "≤ 0.3")
	row(fmt.Sprintf("CPU over %s at %d changes/s", o.load, o.rate), fmt.Sprintf("%s (%d changes made)", cpus(r.loadCPU), r.changes),
		fmt.Sprintf("typed informer in its own process %s (%d changes made, %d events seen, load average %s)", cpus(ref.churnCPU), ref.churnChanges, ref.churnEvents, ref.churnLoad),
		ratio(r.loadCPU, ref.churnCPU), "≤ 2")
	for _, s := range r.oneShots {
		row("drnav "+s.args, fmt.Sprintf("%s peak RSS, %s", mb(s.rss), ms(s.wall)), "", "", "≤ 30 MB")
	}
	row("binary", mb(r.binSize), "", "", "≤ 60 MB")
}
