package app

import (
	"io"
	"log/slog"

	"github.com/quicprochat/qpc/config"
)

// NewLogger returns the logger a node writes to w (stderr in production,
// where procd hands it to logd), at level ("debug", "info", "warn",
// "error") and in format ("text" or "json").
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	lvl, err := config.ParseLogLevel(level)
	if err != nil {
		return nil, &config.FlagError{Flag: "log-level", Err: err}
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
