// Package buildtest builds the paynode binary for tests that run it as a
// process (a node to SIGKILL, a CLI whose --json a script would parse).
package buildtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Binary is the paynode binary, built the first time a test asks for it
// (a run of the tests that need none builds nothing). The zero value is
// ready to use; call Remove when the tests are done, from TestMain.
type Binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// Path builds github.com/paynode/paynode/cmd/paynode once and returns the
// binary's path; a failed build fails t with the compiler's output.
func (b *Binary) Path(t testing.TB) string {
	t.Helper()
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "paynode-bin-"); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "paynode")
		out, err := exec.Command("go", "build", "-o", b.path, "github.com/paynode/paynode/cmd/paynode").CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build ./cmd/paynode: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Remove deletes the built binary, if any.
func (b *Binary) Remove() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}
