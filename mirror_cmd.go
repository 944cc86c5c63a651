package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/incident/mirror"
	"github.com/drnav/drnav/ui"
)

// takeOverTimeout bounds the wait for another machine's Lease: two lease
// durations (it must expire first) and some slack.
func takeOverTimeout(cfg config.Config) time.Duration {
	return 2*cfg.Mirror.LeaseDuration.Duration + 30*time.Second
}

// mirrorSetup builds the mirror of [mirror] in config, each context's
// client from kubectl's flags (as every other client); nil when off.
func (a *app) mirrorSetup(o *cmdOpts, cfg config.Config, logger *slog.Logger) (*mirror.Setup, error) {
	mc := cfg.Mirror
	if !mc.Enabled() {
		return nil, nil
	}
	s := &mirror.Setup{
		Namespace: mc.Namespace, LeaseDuration: mc.LeaseDuration.Duration,
		RenewDeadline: mc.RenewDeadline.Duration, RetryPeriod: mc.RetryPeriod.Duration,
		Identity: mirror.Identity(incident.CurrentUser(), incident.Host(), os.Getpid()), Logger: logger,
	}
	clientFor := clientConfigFor(o.kube, cfg)
	for i, name := range mc.Contexts {
		rc, err := clientFor(name).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("mirror context %s: %w", name, err)
		}
		rc.Timeout = 10 * time.Second
		c, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return nil, fmt.Errorf("mirror context %s: %w", name, err)
		}
		s.Targets = append(s.Targets, mirror.Target{Name: name, Client: c})
		if name == mc.Lease() {
			s.LeaseTarget = i
		}
	}
	return s, nil
}

// mirrorTakeOver prepares driving incident id with the mirror on: it takes
// the Lease first (waiting while another machine holds it), and with
// --from-cluster pulls the journal from the cluster into the journal
// folder. The returned attach starts the mirror on the opened journal.
func (a *app) mirrorTakeOver(ctx context.Context, o *cmdOpts, cfg config.Config, id string, live *liveMirror, logger *slog.Logger) (attach func(*incident.Journal) func(), release func(), err error) {
	s, err := a.mirrorSetup(o, cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	if s == nil {
		if o.fromCluster {
			return nil, nil, usageError{"--from-cluster needs [mirror] contexts in the config"}
		}
		return nil, func() {}, nil
	}
	progress := func(msg string) { fmt.Fprintln(a.stderr, "drnav:", msg) }
	var lease *mirror.Lease
	if o.fromCluster {
		only := ""
		if o.kube.Context != nil {
			only = *o.kube.Context
		}
		l, best, copies, err := s.PullInto(ctx, cfg.JournalDir, id, only, progress)
		for _, c := range copies {
			switch {
			case c.Err != nil:
				fmt.Fprintf(a.stderr, "drnav: %s: %v\n", c.Context, c.Err)
			case c.Problem != "":
				fmt.Fprintf(a.stderr, "drnav: %s: %d events (%s)\n", c.Context, c.Events, c.Problem)
			default:
				fmt.Fprintf(a.stderr, "drnav: %s: %d events\n", c.Context, c.Events)
			}
		}
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(a.stderr, "drnav: took over %s from %s (%d events)\n", id, best.Context, best.Events)
		lease = l
	} else {
		if lease, err = s.TakeLease(ctx, id); err != nil {
			return nil, nil, err
		}
	}
	attached := false
	attach = func(j *incident.Journal) func() {
		attached = true
		sess, _ := s.Start(j, lease)
		if live != nil {
			live.set(sess, nil)
		}
		return func() { closeSession(a.stderr, sess) }
	}
	release = func() {
		if !attached {
			lease.Release()
		}
	}
	return attach, release, nil
}

// mirrorNew is the attach of a new incident's journal: the Lease is taken
// once the id exists.
func (a *app) mirrorNew(o *cmdOpts, cfg config.Config, live *liveMirror, logger *slog.Logger) (func(*incident.Journal) func(), error) {
	s, err := a.mirrorSetup(o, cfg, logger)
	if err != nil || s == nil {
		return nil, err
	}
	return func(j *incident.Journal) func() {
		if j.State().Mode == incident.ModeDrill {
			return func() {} // a drill never writes to a real cluster
		}
		sess, leaseErr := s.Start(j, nil)
		if live != nil {
			live.set(sess, leaseErr)
		} else if leaseErr != nil {
			fmt.Fprintf(a.stderr, "drnav: %v\n", leaseErr)
		}
		return func() { closeSession(a.stderr, sess) }
	}, nil
}

// closeSession lets the mirror catch up for a few seconds, then says what
// did not make it.
func closeSession(w io.Writer, sess *mirror.Session) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sess.Close(ctx); err != nil {
		fmt.Fprintf(w, "drnav: %v\n", err)
	}
	if err := sess.ReadOnly(); err != nil {
		fmt.Fprintf(w, "drnav: read-only: %v\n", err)
	}
}

// liveMirror hands the navigator's header the state of the mirror of the
// incident being driven (set once the journal is attached).
type liveMirror struct {
	mu       sync.Mutex
	sess     *mirror.Session
	leaseErr error
}

func (l *liveMirror) set(s *mirror.Session, leaseErr error) {
	l.mu.Lock()
	l.sess, l.leaseErr = s, leaseErr
	l.mu.Unlock()
}

// Status is the header's mirror line and, once the Lease is lost, why the
// driver is read-only. Memory only.
func (l *liveMirror) Status() (string, error) {
	l.mu.Lock()
	s, leaseErr := l.sess, l.leaseErr
	l.mu.Unlock()
	if s == nil {
		return "", nil
	}
	line := mirror.Summary(s.Status())
	if leaseErr != nil {
		line += " · no lease"
	}
	return line, s.ReadOnly()
}

// mirrorNavigator mirrors what the navigator drives: a newly declared
// incident, and one resumed from the picker (after taking its Lease, which
// fails at once when another machine drives it).
func (a *app) mirrorNavigator(o *cmdOpts, cfg config.Config, opts *ui.Options) error {
	if !cfg.Mirror.Enabled() {
		return nil
	}
	live := &liveMirror{}
	attach, err := a.mirrorNew(o, cfg, live, nil)
	if err != nil {
		return err
	}
	opts.AttachJournal = attach
	opts.MirrorStatus = live.Status
	for i := range opts.Open {
		oi := &opts.Open[i]
		if oi.Mode == ui.ModeDrill {
			continue
		}
		open := oi.Open
		oi.Open = func() (*ui.Resume, error) {
			ctx, cancel := context.WithTimeout(context.Background(), cfg.Mirror.RenewDeadline.Duration)
			defer cancel()
			attach, release, err := a.mirrorTakeOver(ctx, o, cfg, oi.ID, live, nil)
			if err != nil {
				return nil, err
			}
			r, err := open()
			if err != nil {
				release()
				return nil, err
			}
			if ij, ok := r.Journal.(*incident.Journal); ok {
				r.Journal = ui.Detaching{Journal: ij, Detach: attach(ij)}
			}
			return r, nil
		}
	}
	return nil
}

// mirrorTarget is the mirror in one kube context (configured or not).
func (a *app) mirrorTarget(o *cmdOpts, cfg config.Config, name string) (mirror.Target, error) {
	rc, err := clientConfigFor(o.kube, cfg)(name).ClientConfig()
	if err != nil {
		return mirror.Target{}, fmt.Errorf("context %s: %w", name, err)
	}
	rc.Timeout = 15 * time.Second
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return mirror.Target{}, fmt.Errorf("context %s: %w", name, err)
	}
	return mirror.Target{Name: name, Client: c, Namespace: cfg.Mirror.Namespace}, nil
}

// mirroredIncidents lists the incidents mirrored in --context.
func (a *app) mirroredIncidents(o *cmdOpts, cfg config.Config) error {
	t, err := a.mirrorTarget(o, cfg, o.mirrorContext)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := mirror.List(withQuietLogs(ctx), t, "")
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintf(a.stdout, "no incidents mirrored in %s (namespace %s)\n", o.mirrorContext, cfg.Mirror.Namespace)
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRUNBOOK\tMODE\tDETECTED\tOPERATOR\tEVENTS\tDRIVER")
	p := incident.Printable
	for _, l := range list {
		driver := "-"
		if l.Holder != "" {
			driver = l.Holder
		}
		det := "-"
		if !l.Declared.Detected.IsZero() {
			det = l.Declared.Detected.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", p(l.ID), p(l.Declared.RunbookID), p(l.Declared.Mode), det,
			p(l.Declared.Operator), l.LastSeq, p(driver))
	}
	return tw.Flush()
}

// fromMirror copies incident id from --context's mirror into a private
// temporary journal folder and points --journal-dir there; done removes it.
func (a *app) fromMirror(o *cmdOpts, id string) (done func(), err error) {
	cfg, err := a.loadConfig(o)
	if err != nil {
		return nil, err
	}
	t, err := a.mirrorTarget(o, cfg, o.mirrorContext)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := mirror.ReadCopy(withQuietLogs(ctx), t, "", id)
	if c.Err != nil {
		return nil, c.Err
	}
	if c.Events == 0 {
		return nil, fmt.Errorf("incident %s is not mirrored in %s (namespace %s)", id, o.mirrorContext, cfg.Mirror.Namespace)
	}
	if c.Problem != "" {
		fmt.Fprintf(a.stderr, "drnav: the copy in %s stops after event %d: %s\n", o.mirrorContext, c.Events, c.Problem)
	}
	dir, err := os.MkdirTemp("", "drnav-mirror-")
	if err != nil {
		return nil, fmt.Errorf("temporary journal folder: %w", err)
	}
	done = func() { _ = os.RemoveAll(dir) }
	root := filepath.Join(dir, "incidents")
	if err := incident.PrepareRoot(root, ""); err != nil {
		done()
		return nil, err
	}
	if _, err := incident.Import(root, id, c.Data); err != nil {
		done()
		return nil, err
	}
	o.journalDir = root
	return done, nil
}

// withQuietLogs keeps client-go's logs of a one-shot command off the
// terminal.
func withQuietLogs(ctx context.Context) context.Context {
	return klog.NewContext(ctx, logr.Discard())
}

// watchMirror is watch ID --context C: the navigator, read-only, following
// the incident's copy in C's mirror as its chunks grow. Nothing is written,
// locally or in the cluster; no local journal is needed.
func (a *app) watchMirror(o *cmdOpts, args []string) error {
	if len(args) != 1 {
		return usageError{"watch --context needs the incident ID (see 'drnav incidents --context " + o.mirrorContext + "')"}
	}
	id := args[0]
	if err := incident.ValidID(id); err != nil {
		return err
	}
	cfg, rbs, err := a.loadConfigAndRunbooks(o)
	if err != nil {
		return err
	}
	t, err := a.mirrorTarget(o, cfg, o.mirrorContext)
	if err != nil {
		return err
	}
	// Before the follower starts client-go goroutines.
	_, closeLog, err := a.startLogging(o.debug)
	if err != nil {
		return err
	}
	defer closeLog()
	ctx, cancel := context.WithCancel(withQuietLogs(context.Background()))
	defer cancel()
	// Say at once when it is not there, rather than an empty screen.
	rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
	c := mirror.ReadCopy(rctx, t, "", id)
	rcancel()
	if c.Err != nil {
		return c.Err
	}
	if c.Events == 0 {
		return fmt.Errorf("incident %s is not mirrored in %s (namespace %s)", id, o.mirrorContext, cfg.Mirror.Namespace)
	}
	if nl := bytes.IndexByte(c.Data, '\n'); nl > 0 {
		var ev incident.Event
		if json.Unmarshal(c.Data[:nl], &ev) == nil {
			if all, _, err := incidentRunbook(rbs, incident.Replay([]incident.Event{ev})); err == nil {
				rbs = all
			}
		}
	}
	opts := a.uiOptions(ctx, o, cfg, rbs)
	opts.ReadOnly = true
	opts.MakeEnv = nil
	opts.JournalRoot = ""
	f := mirror.Follow(ctx, t, "", id, 0)
	opts.Follow = f.Events()
	opts.MirrorStatus = f.Status
	return a.runUI(ctx, o, opts)
}
