package main

import (
	"context"
	"errors"
	"strings"

	"github.com/paynode/paynode/agent/cli"
)

// runAgent runs `paynode agent <command>`, the SDK from the shell.
func (m *Main) runAgent(ctx context.Context, args []string) error {
	err := (&cli.Main{Stdout: m.Stdout, Stderr: m.Stderr}).Run(ctx, args)
	if errors.Is(err, cli.ErrUsage) {
		return usageError("%s", strings.TrimPrefix(err.Error(), cli.ErrUsage.Error()+": "))
	}
	return err
}
