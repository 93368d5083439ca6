//go:build floor_d || floor_e

package main

import (
	"log/slog"
	"os"
)

func init() {
	extras = append(extras, func() {
		l := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		l.Info("started", "addr", "x", "n", 3)
		j := slog.New(slog.NewJSONHandler(os.Stderr, nil))
		j.Warn("w", "err", os.ErrNotExist)
	})
}
