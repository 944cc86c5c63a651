// Package serve serves the navigator over SSH (drnav serve): every SSH
// session gets its own Bubble Tea program running the same root model as the
// local navigator, sized to the client's terminal. Keys are allowed by
// OpenSSH authorized_keys files; a key from a watcher file gets the
// read-only observer view, a key from a driver file may drive through the
// incident's one-driver lock. There is no shell, no exec other than
// "watch [ID]", and no forwarding of any kind.
package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	bm "charm.land/wish/v2/bubbletea"
	gossh "golang.org/x/crypto/ssh"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/ui"
)

// DefaultListen is where drnav serve listens unless told otherwise.
const DefaultListen = "127.0.0.1:2222"

// DefaultMaxSessions bounds concurrent sessions.
const DefaultMaxSessions = 32

// Request is one session's request as the UI builder sees it.
type Request struct {
	Identity
	// Incident is the incident named with "watch ID" ("" for the default).
	Incident string
	// Watch is true when the client asked for "watch" (a driver then gets
	// the read-only view too).
	Watch bool
	// User is the SSH user name the client sent (not authenticated: the key is).
	User   string
	Remote string
}

// Options configure the server.
type Options struct {
	// Listen is host:port (DefaultListen when empty).
	Listen string
	// AllowRemote permits a non-loopback listen address.
	AllowRemote bool
	// HostKey is the path of the ed25519 host key, created on first start.
	HostKey string
	// WatcherKeys and DriverKeys are OpenSSH authorized_keys files.
	WatcherKeys []string
	DriverKeys  []string
	// MaxSessions bounds concurrent sessions (DefaultMaxSessions when 0).
	MaxSessions int
	// UI builds the options of one session's program (the same options the
	// local navigator or watch uses). The server forces the observer mode
	// on watchers whatever UI returns.
	UI func(ctx context.Context, r Request) (ui.Options, error)
	// Incident resolves the incident a watch session follows when the
	// client named none ("" → the latest open one). Nil leaves it to UI.
	Incident func() (string, error)
	// Record journals a connection or disconnection into an incident's
	// participants file (nothing is recorded when nil). A watch session is
	// recorded when it starts and ends; a driver session when it ends, under
	// the incident it had open, with its start time.
	Record func(id string, c incident.Connection) error
	// IdleTimeout closes a connection with no traffic in either direction
	// for that long (DefaultIdleTimeout when 0, none when negative).
	IdleTimeout time.Duration
	// FPS bounds the frames a session is sent per second (DefaultFPS when
	// 0): a watcher on a slow link gets fewer frames, never a backlog.
	FPS int
	// Follow streams an incident's events for a driver who handed the seat
	// over and watches from then on (nil: a still screen).
	Follow func(ctx context.Context, id string) <-chan incident.Event
	// Grace is how long a driver whose connection dropped keeps the seat
	// (the incident's journal and lock) for their next session from the
	// same key (DefaultGrace when 0, none when negative). A step running at
	// the drop is followed meanwhile and its finish journaled; one still
	// running when the grace ends is left to its supervisor.
	Grace time.Duration
	// Exec runs "incidents" or "report [ID]" (already checked) for a
	// session without a terminal, writing what it prints to w; nil offers
	// only the navigator.
	Exec func(ctx context.Context, args []string, w io.Writer) error
	// Logger receives connection events (discarded when nil).
	Logger *slog.Logger
}

// DefaultGrace is how long a dropped driver's seat is kept for them.
const DefaultGrace = 2 * time.Minute

// DefaultIdleTimeout closes connections that carry nothing at all (a live
// view sends its clock every second, so only a dead link goes idle).
const DefaultIdleTimeout = 10 * time.Minute

// DefaultFPS is the most frames a session is sent per second.
const DefaultFPS = 10

// Server is a running drnav SSH server.
type Server struct {
	opts     Options
	srv      *ssh.Server
	ln       net.Listener
	log      *slog.Logger
	sessions atomic.Int64
	hostKey  gossh.PublicKey

	live sync.Map // ssh.Session → *holder, while the session lasts

	mu      sync.Mutex
	drivers []*driverSeat          // driving sessions, for handovers
	parked  map[string]*parkedSeat // dropped drivers' seats by key fingerprint
}

// parkedSeat is the model of a driver whose connection dropped, kept (with
// its journal and lock) for the grace period. When a step was running, the
// server follows it meanwhile (its output and finish are journaled as they
// come); m is the seat's model once done is closed.
type parkedSeat struct {
	label string
	stop  context.CancelFunc // stops following the step (it runs on under its supervisor)
	done  chan struct{}      // closed once m follows no step
	m     ui.Model
}

// release stops following the seat's step, if any, and closes the seat:
// journal and driver lock are released.
func (p *parkedSeat) release() error {
	p.stop()
	<-p.done
	return p.m.Close()
}

// ready reports whether the seat follows no step any more.
func (p *parkedSeat) ready() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// driverSeat is one driving session as the others see it.
type driverSeat struct {
	label string
	fp    string // the key's fingerprint
	prog  *tea.Program
}

type ctxKey int

const (
	identityKey ctxKey = iota
)

// validIncidentID says whether s looks like an incident id on the command
// line (it becomes a path under the journal folder): a letter or digit, then
// up to 127 letters, digits, '.', '_' or '-'. A loop, not a regexp: the
// bounded repetition compiles to 128 copies, which every command paid at
// start-up as package initialisation.
func validIncidentID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return false
		}
	}
	return true
}

// CheckListen refuses a non-loopback address unless allowRemote.
func CheckListen(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		what := host
		if host == "" {
			what = "every interface"
		}
		return fmt.Errorf("listening on %s exposes drnav beyond this machine: pass --allow-remote to mean it", what)
	}
	return nil
}

// New checks the options, loads or creates the host key and listens.
func New(o Options) (*Server, error) {
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = DefaultMaxSessions
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.FPS <= 0 {
		o.FPS = DefaultFPS
	}
	if o.Grace == 0 {
		o.Grace = DefaultGrace
	}
	if o.UI == nil {
		return nil, errors.New("serve: no UI builder")
	}
	if o.HostKey == "" {
		return nil, errors.New("serve: no host key path")
	}
	if len(o.WatcherKeys)+len(o.DriverKeys) == 0 {
		return nil, errors.New("no authorized keys: pass --authorized-keys FILE (watchers) or --driver-keys FILE")
	}
	if err := CheckKeyFiles(append(append([]string(nil), o.WatcherKeys...), o.DriverKeys...)); err != nil {
		return nil, err
	}
	if err := CheckListen(o.Listen, o.AllowRemote); err != nil {
		return nil, err
	}
	signer, err := LoadOrCreateHostKey(o.HostKey)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, log: o.Logger, hostKey: signer.PublicKey()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	srv, err := wish.NewServer(
		func(srv *ssh.Server) error { srv.AddHostKey(signer); return nil },
		wish.WithPublicKeyAuth(s.authorize),
		wish.WithMiddleware(s.runProgram, s.gate),
		func(srv *ssh.Server) error {
			srv.HandshakeTimeout = 30 * time.Second
			if o.IdleTimeout > 0 {
				srv.IdleTimeout = o.IdleTimeout
			}
			srv.Version = "drnav"
			// No subsystems (sftp), no forwarding: the nil callbacks deny
			// port forwarding, and agent forwarding is never handled.
			srv.SubsystemHandlers = map[string]ssh.SubsystemHandler{}
			srv.LocalPortForwardingCallback = nil
			srv.ReversePortForwardingCallback = nil
			return nil
		},
	)
	if err != nil {
		return nil, fmt.Errorf("ssh server: %w", err)
	}
	s.srv = srv
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.ln = ln
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// HostKeyFingerprint is the SHA256 fingerprint of the host key, for
// users to check on first connection.
func (s *Server) HostKeyFingerprint() string { return gossh.FingerprintSHA256(s.hostKey) }

// Serve accepts connections until Close; it returns nil after Close.
func (s *Server) Serve() error {
	err := s.srv.Serve(s.ln)
	if errors.Is(err, ssh.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits for sessions to end until ctx is done,
// then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	s.closeParked()
	if errors.Is(err, ssh.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the server and every session at once.
func (s *Server) Close() error {
	err := s.srv.Close()
	s.closeParked()
	if errors.Is(err, ssh.ErrServerClosed) {
		return nil
	}
	return err
}

// authorize admits only keys listed in an authorized keys file, before any
// session (and so any screen) exists.
func (s *Server) authorize(ctx ssh.Context, key ssh.PublicKey) bool {
	id, ok, err := lookupKey(key, s.opts.DriverKeys, s.opts.WatcherKeys)
	remote := ""
	if a := ctx.RemoteAddr(); a != nil {
		remote = a.String()
	}
	if err != nil {
		s.log.Error("ssh key lookup", "err", err, "remote", remote)
		return false
	}
	if !ok {
		s.log.Warn("ssh key refused", "fingerprint", gossh.FingerprintSHA256(key), "user", ctx.User(), "remote", remote)
		return false
	}
	id.Name = sanitizeName(id.Name)
	ctx.SetValue(identityKey, id)
	return true
}

// holder keeps the latest model of a session so it can be closed (journal
// and driver lock released) when the session ends.
type holder struct {
	mu    sync.Mutex
	m     ui.Model
	set   bool
	label string       // the driving session's label (drivers only)
	req   Request      // what the session asked for (checked by gate)
	log   *slog.Logger // the session's logger
}

// take hands the model over to the caller (a seat parked after a dropped
// connection, possibly with a step running): the session's close then
// leaves it alone.
func (h *holder) take() (ui.Model, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.set || !(h.m.Driving() || h.m.StepRunning()) {
		return ui.Model{}, false
	}
	h.set = false
	return h.m, true
}

func (h *holder) store(m ui.Model) {
	h.mu.Lock()
	h.m, h.set = m, true
	h.mu.Unlock()
}

// incidentID is the incident the session's model has open ("" for none).
func (h *holder) incidentID() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.set {
		return ""
	}
	return h.m.IncidentID()
}

func (h *holder) close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.set {
		return nil
	}
	h.set = false
	return h.m.Close()
}

// tracked wraps the root model to remember its latest value.
type tracked struct {
	m ui.Model
	h *holder
}

func (t tracked) Init() tea.Cmd { return t.m.Init() }

func (t tracked) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	nm, cmd := t.m.Update(msg)
	if um, ok := nm.(ui.Model); ok {
		t.m = um
		t.h.store(um)
	}
	return t, cmd
}

func (t tracked) View() tea.View { return t.m.View() }

// exec runs one of the read-only commands offered without a terminal:
// "incidents" and "report [ID]" (what drnav incidents and drnav report
// print), for any authorized key.
func (s *Server) exec(sess ssh.Session, log *slog.Logger, args []string) {
	if s.opts.Exec == nil {
		wish.Fatalln(sess, "drnav: this server offers no commands but 'watch [ID]'")
		return
	}
	switch {
	case args[0] == "incidents" && len(args) == 1, args[0] == "report" && len(args) == 1:
	case args[0] == "report" && len(args) == 2 && validIncidentID(args[1]):
	default:
		wish.Fatalln(sess, fmt.Sprintf("drnav: usage: incidents | report [ID] (got %q)", strings.Join(args, " ")))
		return
	}
	log.Info("ssh command", "command", strings.Join(args, " "))
	if err := s.opts.Exec(sess.Context(), args, sess); err != nil {
		wish.Fatalln(sess, "drnav: "+err.Error())
		return
	}
	_ = sess.Exit(0)
}

// parseCommand accepts no command (the default view) or "watch [ID]".
func parseCommand(args []string) (watch bool, id string, err error) {
	switch {
	case len(args) == 0:
		return false, "", nil
	case args[0] == "watch" && len(args) == 1:
		return true, "", nil
	case args[0] == "watch" && len(args) == 2:
		if !validIncidentID(args[1]) {
			return false, "", fmt.Errorf("%q is not an incident id", args[1])
		}
		return true, args[1], nil
	}
	return false, "", fmt.Errorf("drnav serve offers no shell and no commands but 'watch [ID]', 'incidents' and 'report [ID]' (got %q)", strings.Join(args, " "))
}

// gate is the outermost handler: it checks the session (limit, terminal,
// command), logs who came and went, and closes the model afterwards.
func (s *Server) gate(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		id, _ := sess.Context().Value(identityKey).(Identity)
		log := s.log.With("fingerprint", id.Fingerprint, "name", id.Name, "role", id.Role.String(),
			"user", sess.User(), "remote", sess.RemoteAddr().String())
		if id.Role == 0 {
			wish.Fatalln(sess, "drnav: not authorized")
			return
		}
		if n := s.sessions.Add(1); n > int64(s.opts.MaxSessions) {
			s.sessions.Add(-1)
			log.Warn("ssh session refused: limit", "limit", s.opts.MaxSessions)
			wish.Fatalln(sess, fmt.Sprintf("drnav: too many sessions (limit %d), try again later", s.opts.MaxSessions))
			return
		}
		defer s.sessions.Add(-1)
		if args := sess.Command(); len(args) > 0 && (args[0] == "incidents" || args[0] == "report") {
			s.exec(sess, log, args)
			return
		}
		req, err := s.request(sess)
		if err != nil {
			log.Warn("ssh session refused", "err", err)
			wish.Fatalln(sess, "drnav: "+err.Error())
			return
		}
		if _, _, ok := sess.Pty(); !ok {
			log.Warn("ssh session refused: no terminal")
			wish.Fatalln(sess, "drnav: this is a terminal program and the session has no terminal; connect with 'ssh -t'")
			return
		}
		// Per session, not per connection: one connection may carry several
		// sessions (OpenSSH's ControlMaster), and sess.Context() is the
		// connection's.
		h := &holder{req: req, log: log}
		s.live.Store(sess, h)
		defer s.live.Delete(sess)
		start := time.Now()
		log.Info("ssh session start", "command", sess.RawCommand(), "incident", req.Incident)
		watching := req.Role != RoleDriver || req.Watch
		if watching {
			s.record(log, req.Incident, "connected", req, start)
		}
		next(sess)
		driven := h.incidentID()
		// A connection that dropped (not a driver who quit: then the session
		// ends before its connection) keeps its seat for the grace period.
		if dropped := sess.Context().Err() != nil; dropped && !watching && s.opts.Grace > 0 {
			if m, ok := h.take(); ok {
				s.park(log, id.Fingerprint, h.label, m)
			}
		}
		if err := h.close(); err != nil {
			log.Error("ssh session close", "err", err)
		}
		end := time.Now()
		if !watching && driven != "" {
			s.record(log, driven, "connected", req, start)
		}
		if watching {
			s.record(log, req.Incident, "disconnected", req, end)
		} else {
			s.record(log, driven, "disconnected", req, end) // nothing when "" (record skips it)
		}
		log.Info("ssh session end", "duration", end.Sub(start).Round(time.Second).String())
	}
}

func (s *Server) request(sess ssh.Session) (Request, error) {
	id, _ := sess.Context().Value(identityKey).(Identity)
	watch, inc, err := parseCommand(sess.Command())
	if err != nil {
		return Request{}, err
	}
	r := Request{Identity: id, Incident: inc, Watch: watch, User: sess.User(), Remote: sess.RemoteAddr().String()}
	if (r.Role != RoleDriver || r.Watch) && r.Incident == "" && s.opts.Incident != nil {
		if r.Incident, err = s.opts.Incident(); err != nil {
			return Request{}, err
		}
	}
	return r, nil
}

// record writes one connection event; a failure is logged, never fatal
// (the session goes on: the server log still has it).
func (s *Server) record(log *slog.Logger, id, event string, r Request, at time.Time) {
	if s.opts.Record == nil || id == "" {
		return
	}
	c := incident.Connection{At: at, Event: event, Name: r.Name, Fingerprint: r.Fingerprint, Role: r.Role.String(), Remote: r.Remote}
	if err := s.opts.Record(id, c); err != nil {
		log.Warn("record connection", "incident", id, "err", err)
	}
}

// program builds the session's program: the root model with the options
// the UI builder returns, forced read-only for watchers.
func (s *Server) program(sess ssh.Session) *tea.Program {
	v, ok := s.live.Load(sess)
	if !ok {
		return nil
	}
	h := v.(*holder)
	req := h.req
	opts, err := s.opts.UI(sess.Context(), req)
	if err != nil {
		wish.Fatalln(sess, "drnav: "+err.Error())
		return nil
	}
	var seat *driverSeat
	if req.Role != RoleDriver || req.Watch {
		restrict(&opts)
	} else {
		seat = s.addDriver(req.Identity)
		h.label = seat.label
		opts.Seat = s.seatOf(sess.Context(), seat)
		context.AfterFunc(sess.Context(), func() { s.removeDriver(seat) })
	}
	opts.ASCII, opts.NoColor = clientTerminal(sess.Environ())
	m := ui.New(opts)
	h.store(m)
	popts := append(bm.MakeOptions(sess), tea.WithContext(sess.Context()), tea.WithFPS(s.opts.FPS))
	p := tea.NewProgram(tracked{m: m, h: h}, popts...)
	if seat != nil {
		s.mu.Lock()
		seat.prog = p
		s.mu.Unlock()
		s.reclaim(req.Fingerprint, seat.label, p)
	}
	return p
}

// runProgram runs the session's program (built by program) on the
// session's terminal, following the client's window changes. A program
// ended by a quit or by its connection closing (the client left, dropped,
// idled out, or the server stops) is a normal end; any other error is logged
// as one.
func (s *Server) runProgram(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		p := s.program(sess)
		if p == nil {
			next(sess)
			return
		}
		log := s.log
		if v, ok := s.live.Load(sess); ok && v.(*holder).log != nil {
			log = v.(*holder).log
		}
		_, windows, _ := sess.Pty() // gate refused sessions without one
		ctx, cancel := context.WithCancel(sess.Context())
		defer cancel()
		go func() {
			for {
				select {
				case <-ctx.Done():
					p.Quit()
					return
				case w, ok := <-windows:
					if !ok {
						windows = nil // the session's requests ended
						continue
					}
					p.Send(tea.WindowSizeMsg{Width: w.Width, Height: w.Height})
				}
			}
		}()
		_, err := p.Run()
		if err := programError(err, sess.Context().Err()); err != nil {
			log.Error("session program ended with an error", "err", err)
		} else {
			log.Debug("session program ended", "connection_closed", sess.Context().Err() != nil)
		}
		p.Kill()
		cancel()
		next(sess)
	}
}

// programError is the error of a session's program worth logging: none for
// a quit, nor for a program killed because its connection closed (connErr
// set: the context error it was killed with); a panic always.
func programError(err, connErr error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tea.ErrProgramPanic):
		return err
	case connErr != nil && errors.Is(err, tea.ErrProgramKilled) && errors.Is(err, connErr):
		return nil
	}
	return err
}

// park keeps a dropped driver's model for the grace period; then it is
// closed (journal and lock released) unless their next session took it. A
// step the driver had running is followed meanwhile, its events journaled
// as the program would have; if it still runs when the grace period ends,
// it is left to its supervisor and the next resume reads its outcome.
func (s *Server) park(log *slog.Logger, fp, label string, m ui.Model) {
	ctx, stop := context.WithCancel(context.Background())
	p := &parkedSeat{label: label, stop: stop, done: make(chan struct{})}
	s.mu.Lock()
	if s.parked == nil {
		s.parked = map[string]*parkedSeat{}
	}
	old := s.parked[fp]
	s.parked[fp] = p
	s.mu.Unlock()
	if old != nil {
		_ = old.release()
	}
	id := m.IncidentID()
	if m.StepRunning() {
		log.Info("driver's connection dropped mid-step: seat kept, step followed", "incident", id, "grace", s.opts.Grace.String())
		go func() {
			fm, finished := m.FollowRun(ctx)
			if finished {
				log.Info("step finished while its driver was away", "incident", id)
			} else {
				fm = fm.AbandonRun()
				log.Info("step left to its supervisor: the next resume reads its outcome", "incident", id)
			}
			p.m = fm
			close(p.done)
			if finished {
				s.reclaimLive(fp)
			}
		}()
	} else {
		log.Info("driver's connection dropped: seat kept", "incident", id, "grace", s.opts.Grace.String())
		p.m = m
		close(p.done)
	}
	time.AfterFunc(s.opts.Grace, func() {
		if s.unpark(fp, p) {
			log.Info("seat released after the grace period", "incident", id)
			if err := p.release(); err != nil {
				log.Error("release seat", "err", err)
			}
		}
	})
}

// unpark removes p if it is still parked under fp; true when the caller
// now owns it.
func (s *Server) unpark(fp string, p *parkedSeat) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.parked[fp] != p {
		return false
	}
	delete(s.parked, fp)
	return true
}

// reclaim offers a parked seat of the same key to its new session. A seat
// whose step still runs stays parked: it is offered when the step ends
// (reclaimLive).
func (s *Server) reclaim(fp, label string, prog *tea.Program) {
	s.mu.Lock()
	p := s.parked[fp]
	s.mu.Unlock()
	if p == nil || !p.ready() || !s.unpark(fp, p) {
		return
	}
	m, offer, ok := p.m.OfferSeat(p.label, label)
	if !ok {
		_ = p.m.Close()
		return
	}
	s.log.Info("seat offered back after a dropped connection", "incident", m.IncidentID(), "to", label)
	go func() {
		prog.Send(ui.HandoverMsg{Offer: offer})
		offer.Wait(30 * time.Second)
		_ = m.Close() // the journal only if the new session did not take it
	}()
}

// reclaimLive offers a parked seat to a session of the same key already
// connected (it came back while the seat's step still ran).
func (s *Server) reclaimLive(fp string) {
	s.mu.Lock()
	var d *driverSeat
	for _, x := range s.drivers {
		if x.fp == fp && x.prog != nil {
			d = x
		}
	}
	s.mu.Unlock()
	if d != nil {
		s.reclaim(fp, d.label, d.prog)
	}
}

// closeParked releases every parked seat (the server is stopping).
func (s *Server) closeParked() {
	s.mu.Lock()
	parked := s.parked
	s.parked = nil
	s.mu.Unlock()
	for _, p := range parked {
		_ = p.release()
	}
}

// addDriver registers a driving session under a label people recognise:
// the key's name and the start of its fingerprint (#2… when one key has
// several sessions).
func (s *Server) addDriver(id Identity) *driverSeat {
	base := id.Label()
	s.mu.Lock()
	defer s.mu.Unlock()
	label := base
	for n := 2; s.findDriver(label) != nil; n++ {
		label = fmt.Sprintf("%s #%d", base, n)
	}
	d := &driverSeat{label: label, fp: id.Fingerprint}
	s.drivers = append(s.drivers, d)
	return d
}

func (s *Server) removeDriver(d *driverSeat) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.drivers {
		if x == d {
			s.drivers = append(s.drivers[:i], s.drivers[i+1:]...)
			return
		}
	}
}

// findDriver is the session with label (s.mu held).
func (s *Server) findDriver(label string) *driverSeat {
	for _, d := range s.drivers {
		if d.label == label {
			return d
		}
	}
	return nil
}

// seatOf connects a driving session to the others for handovers.
func (s *Server) seatOf(ctx context.Context, me *driverSeat) *ui.Seat {
	seat := &ui.Seat{
		Me: me.label,
		Candidates: func() []string {
			s.mu.Lock()
			defer s.mu.Unlock()
			var out []string
			for _, d := range s.drivers {
				if d != me && d.prog != nil {
					out = append(out, d.label)
				}
			}
			return out
		},
		Offer: func(to string, o *ui.HandoverOffer) error {
			s.mu.Lock()
			d := s.findDriver(to)
			s.mu.Unlock()
			if d == nil || d.prog == nil {
				return fmt.Errorf("%s is no longer connected", to)
			}
			s.log.Info("handover offered", "from", me.label, "to", to)
			go d.prog.Send(ui.HandoverMsg{Offer: o})
			return nil
		},
	}
	if s.opts.Follow != nil {
		seat.Follow = func(id string) <-chan incident.Event { return s.opts.Follow(ctx, id) }
	}
	return seat
}

// restrict makes options an observer's: nothing that could take the driver
// lock, run a step or send a message is left.
func restrict(o *ui.Options) {
	o.ReadOnly = true
	o.MakeEnv = nil
	o.Open = nil
	o.Resume = nil
	o.Notify = nil
	o.Start = nil
	o.Interactive = nil
	o.NewJournal = nil
}

// clientTerminal reads the client's locale and NO_COLOR from the session
// environment (what the client sent with SendEnv). No locale means UTF-8.
func clientTerminal(env []string) (ascii, noColor bool) {
	vals := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vals[k] = v
		}
	}
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v := strings.ToLower(vals[k]); v != "" {
			ascii = !strings.Contains(v, "utf-8") && !strings.Contains(v, "utf8")
			break
		}
	}
	_, noColor = vals["NO_COLOR"]
	return ascii, noColor
}
