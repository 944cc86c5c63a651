package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/serve"
	"github.com/drnav/drnav/ui"
)

// serveFlags are the flags of drnav serve.
type serveFlags struct {
	listen      string
	allowRemote bool
	hostKey     string
	watcherKeys []string
	driverKeys  []string
	maxSessions int
	idleTimeout time.Duration
	grace       time.Duration
}

func serveCommand() command {
	return command{
		name: "serve", short: "serve the navigator over SSH to watchers and drivers (no shell on the host)",
		long: `Listens for SSH connections (loopback only unless --allow-remote) and gives each
session its own navigator, sized to the client's terminal. Keys in an
--authorized-keys file may watch (read-only); keys in a --driver-keys file may
drive, through the same one-driver lock as the local navigator. Connect with
'ssh -p 2222 HOST' (default: the latest open incident) or 'ssh -p 2222 -t HOST watch ID'.
The ed25519 host key is created on first start in the state folder.`,
		flags: func(fs *pflag.FlagSet, o *cmdOpts) {
			fs.StringVar(&o.serve.listen, "listen", serve.DefaultListen, "address to listen on")
			fs.BoolVar(&o.serve.allowRemote, "allow-remote", false, "allow a --listen address that is not loopback")
			fs.StringVar(&o.serve.hostKey, "host-key", "", "host key file (default: serve_host_ed25519 in the state folder)")
			fs.StringArrayVar(&o.serve.watcherKeys, "authorized-keys", nil, "OpenSSH authorized_keys file of watchers (repeatable)")
			fs.StringArrayVar(&o.serve.driverKeys, "driver-keys", nil, "OpenSSH authorized_keys file of drivers (repeatable)")
			fs.IntVar(&o.serve.maxSessions, "max-sessions", serve.DefaultMaxSessions, "most concurrent sessions")
			fs.DurationVar(&o.serve.grace, "grace", serve.DefaultGrace, "how long a driver whose connection dropped keeps the seat for their next session (0: none)")
			fs.DurationVar(&o.serve.idleTimeout, "idle-timeout", serve.DefaultIdleTimeout, "close a connection that carries nothing for this long (0: never)")
		},
		run:     cmdServe,
		touches: true,
	}
}

func cmdServe(a *app, o *cmdOpts, args []string) error {
	if len(args) > 0 {
		return usageError{"serve takes no arguments"}
	}
	cfg, rbs, err := a.loadConfigAndRunbooks(o)
	if err != nil {
		return err
	}
	logger, closeLog, err := setupLogging(o.debug)
	if err != nil {
		return err
	}
	defer closeLog()
	hostKey := o.serve.hostKey
	if hostKey == "" {
		state, err := config.StateDir()
		if err != nil {
			return fmt.Errorf("serve: host key folder: %w", err)
		}
		hostKey = filepath.Join(state, "serve_host_ed25519")
	}
	build := func(ctx context.Context, r serve.Request) (ui.Options, error) {
		if r.Role == serve.RoleDriver && !r.Watch {
			opts := a.uiOptions(ctx, o, cfg, rbs)
			// The lock, the declaration and the resume name the key's person,
			// not the account running drnav serve.
			opts.Operator = r.Label()
			// Shell steps run detached under the supervisor, as in the local
			// navigator: they outlive the session and this server.
			if sup, err := stepSupervisor(); err == nil {
				opts.Supervisor = sup
			}
			if open, err := ui.OpenIncidentsAs(cfg.JournalDir, opts.Operator); err == nil {
				opts.Open = open
			}
			return opts, nil
		}
		id := r.Incident
		if id == "" {
			id, err = pickIncident(cfg.JournalDir, nil, true)
			if err != nil {
				return ui.Options{}, err
			}
		}
		st, _, _, err := incident.Read(cfg.JournalDir, id)
		if err != nil {
			return ui.Options{}, fmt.Errorf("no incident %s", id)
		}
		all, _, err := incidentRunbook(rbs, st)
		if err != nil {
			all = rbs
		}
		opts := a.uiOptions(ctx, o, cfg, all)
		opts.ReadOnly = true
		opts.MakeEnv = nil
		opts.Follow = ui.FollowIncident(ctx, cfg.JournalDir, id)
		return opts, nil
	}
	grace := o.serve.grace
	if grace == 0 {
		grace = -1 // the flag's 0 means none
	}
	idle := o.serve.idleTimeout
	if idle == 0 {
		idle = -1 // the flag's 0 means never
	}
	srv, err := serve.New(serve.Options{
		Listen:      o.serve.listen,
		AllowRemote: o.serve.allowRemote,
		HostKey:     hostKey,
		WatcherKeys: o.serve.watcherKeys,
		DriverKeys:  o.serve.driverKeys,
		MaxSessions: o.serve.maxSessions,
		IdleTimeout: idle,
		Grace:       grace,
		Incident:    func() (string, error) { return pickIncident(cfg.JournalDir, nil, true) },
		Record: func(id string, c incident.Connection) error {
			return incident.RecordConnection(cfg.JournalDir, id, c)
		},
		Follow: func(ctx context.Context, id string) <-chan incident.Event {
			return ui.FollowIncident(ctx, cfg.JournalDir, id)
		},
		Exec: func(_ context.Context, args []string, w io.Writer) error {
			// What drnav incidents / drnav report print here, as text.
			sub := app{stdin: strings.NewReader(""), stdout: w, stderr: w}
			oc := *o
			oc.output, oc.format, oc.mirrorContext = "", "md", ""
			if args[0] == "incidents" {
				return cmdIncidents(&sub, &oc, nil)
			}
			return cmdReport(&sub, &oc, args[1:])
		},
		UI:     build,
		Logger: logger,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "drnav serve: listening on %s (host key %s, %s)\n", srv.Addr(), hostKey, srv.HostKeyFingerprint())
	logger.Info("serve start", "addr", srv.Addr().String(), "host_key", srv.HostKeyFingerprint())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(a.stderr, "drnav serve: stopping (sessions get 10s to end)")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("serve shutdown", "err", err)
	}
	return <-done
}
