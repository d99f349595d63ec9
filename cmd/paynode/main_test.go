package main

import (
	"errors"
	"io/fs"
	"testing"
)

// A subcommand's error names the command once, even when the package
// behind it prefixes its errors with the same name.
func TestCommandError(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		err  error
		want string
	}{
		{"agent", errors.New("agent: connect: unreachable"), "paynode agent: connect: unreachable"},
		{"serve", errors.New("config: open x: no such file"), "paynode serve: config: open x: no such file"},
		{"agent", errors.New("agents: two"), "paynode agent: agents: two"},
	} {
		if got := (&commandError{cmd: tc.cmd, err: tc.err}).Error(); got != tc.want {
			t.Errorf("%s, %q: %q, want %q", tc.cmd, tc.err, got, tc.want)
		}
	}
	if err := error(&commandError{cmd: "agent", err: fs.ErrNotExist}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%v does not unwrap to its cause", err)
	}
}
