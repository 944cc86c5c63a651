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
)

// setupLogging sends drnav's and client-go's logs to a JSON file under the
// state folder, never to the terminal (they would garble the UI). It returns
// the logger and a function closing the file.
func setupLogging(debug bool) (*slog.Logger, func(), error) {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	dir := config.StateDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create state folder: %w", err)
	}
	path := filepath.Join(dir, "drnav.log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open log file: %w", err)
	}
	h := slog.NewJSONHandler(f, &slog.HandlerOptions{Level: level})
	logger := slog.New(h)
	klog.SetLogger(logr.FromSlogHandler(h))
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	return logger, func() { _ = f.Close() }, nil
}
