package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/internal/safefile"
)

// setupLogging sends drnav's and client-go's logs to a JSON file under the
// state folder, never to the terminal (they would garble the UI). It returns
// the logger and a function closing the file.
// startLogging sets up logging once per command: klog's logger is
// process-wide, so it must be set before any client-go goroutine (a live
// pane, the Lease, a mirror follower) starts, and not again while they
// run. A later call returns the same logger and a close that does nothing.
func (a *app) startLogging(debug bool) (*slog.Logger, func(), error) {
	if a.logger != nil {
		return a.logger, func() {}, nil
	}
	logger, closeLog, err := setupLogging(debug)
	if err != nil {
		return nil, nil, err
	}
	a.logger = logger
	return logger, closeLog, nil
}

func setupLogging(debug bool) (*slog.Logger, func(), error) {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	dir, err := config.StateDir()
	if err != nil {
		return nil, nil, fmt.Errorf("state folder: %w", err)
	}
	if err := safefile.MkdirPrivate("state folder", dir); err != nil {
		return nil, nil, err
	}
	path := filepath.Join(dir, "drnav.log")
	f, err := safefile.OpenNoFollow(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open log file: %w", err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || safefile.UID(fi) != os.Geteuid() || fi.Mode().Perm()&0o077 != 0 {
		f.Close()
		return nil, nil, fmt.Errorf("log file %s is not a private regular file of yours (want mode 0600): remove it", path)
	}
	h := slog.NewJSONHandler(f, &slog.HandlerOptions{Level: level})
	logger := slog.New(h)
	klog.SetLogger(logr.FromSlogHandler(h))
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	return logger, func() { _ = f.Close() }, nil
}
