package testnet

import (
	"testing"
)

// StartT starts a dev chain for a test and closes it when the test ends. It
// fails the test if the chain does not start.
func StartT(t testing.TB, cfg Config) *Chain {
	t.Helper()
	c, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// StartAnvilT starts anvil for a test and stops it when the test ends. It
// skips the test when no anvil binary is found (see [FindAnvil]) and fails
// it when anvil is found but does not start.
func StartAnvilT(t testing.TB, opts AnvilOptions) *AnvilProcess {
	t.Helper()
	if opts.Path == "" {
		path, err := FindAnvil()
		if err != nil {
			t.Skip(err)
		}
		opts.Path = path
	}
	a, err := StartAnvil(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Error(err)
		}
	})
	return a
}
