package testnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
)

// DefaultAnvilChainID is anvil's own default chain id.
const DefaultAnvilChainID = 31337

// ErrAnvilNotFound is returned by FindAnvil when no anvil binary is found.
var ErrAnvilNotFound = errors.New("testnet: anvil not found")

// AnvilOptions configures StartAnvil. The zero value is a working anvil.
type AnvilOptions struct {
	// Path is the anvil binary. Default: FindAnvil.
	Path string
	// ChainID is the chain id. Default 31337.
	ChainID uint64
	// Args are more anvil flags, e.g. "--block-time", "1".
	Args []string
	// StartTimeout bounds the wait for anvil to answer, on top of the
	// context given to StartAnvil. Default 30s.
	StartTimeout time.Duration
}

// AnvilProcess is a running anvil. Anvil funds the same ten dev accounts as
// Start ([DevAccounts]), 10,000 ETH each.
type AnvilProcess struct {
	cmd     *exec.Cmd
	url     string
	chainID uint64
	stderr  *tailBuffer

	exited  chan struct{} // closed once the process has been waited for
	waitErr error         // set before exited is closed

	closeOnce sync.Once
	closeErr  error
}

// FindAnvil returns the path of an anvil binary: $ANVIL if set, else anvil
// on $PATH, else the one npm installs under contracts/node_modules in the
// repository that holds the working directory (found by walking up to a
// go.mod). The error wraps ErrAnvilNotFound.
func FindAnvil() (string, error) {
	if p := os.Getenv("ANVIL"); p != "" {
		if !isExecutable(p) {
			return "", fmt.Errorf("%w: $ANVIL=%s is not an executable file", ErrAnvilNotFound, p)
		}
		return p, nil
	}
	if p, err := exec.LookPath("anvil"); err == nil {
		return p, nil
	}
	npmPath := filepath.Join("contracts", "node_modules", "@foundry-rs",
		fmt.Sprintf("anvil-%s-%s", runtime.GOOS, runtime.GOARCH), "bin", "anvil")
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrAnvilNotFound, err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if p := filepath.Join(dir, npmPath); isExecutable(p) {
				return p, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", fmt.Errorf("%w: not in $ANVIL, on $PATH, nor at <repo>/%s (run npm ci in contracts/)", ErrAnvilNotFound, npmPath)
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}

// StartAnvil starts anvil on a free port of 127.0.0.1 and returns once it
// answers eth_chainId. ctx bounds the start only; the process runs until
// Close.
func StartAnvil(ctx context.Context, opts AnvilOptions) (*AnvilProcess, error) {
	if opts.Path == "" {
		p, err := FindAnvil()
		if err != nil {
			return nil, err
		}
		opts.Path = p
	}
	if opts.ChainID == 0 {
		opts.ChainID = DefaultAnvilChainID
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	// The port is picked here and handed to anvil, so another process may
	// take it in between: then anvil exits at once and we try another.
	var errs []error
	for range 3 {
		a, err := startAnvilOnce(ctx, opts)
		if err == nil {
			return a, nil
		}
		errs = append(errs, err)
		if !errors.Is(err, errAddrInUse) || ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("testnet: start anvil: %w", errors.Join(errs...))
}

var errAddrInUse = errors.New("address in use")

func startAnvilOnce(ctx context.Context, opts AnvilOptions) (*AnvilProcess, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"--host", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--chain-id", strconv.FormatUint(opts.ChainID, 10),
		"--silent",
	}, opts.Args...)
	cmd := exec.Command(opts.Path, args...)
	stderr := &tailBuffer{max: 4096}
	cmd.Stdout = io.Discard
	cmd.Stderr = stderr
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	a := &AnvilProcess{
		cmd:     cmd,
		url:     "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		chainID: opts.ChainID,
		stderr:  stderr,
		exited:  make(chan struct{}),
	}
	go func() {
		a.waitErr = cmd.Wait()
		close(a.exited)
	}()
	if err := a.waitReady(ctx); err != nil {
		return nil, errors.Join(err, a.Close())
	}
	return a, nil
}

// waitReady polls eth_chainId until anvil answers with its chain id.
func (a *AnvilProcess) waitReady(ctx context.Context) error {
	client, err := rpc.DialOptions(ctx, a.url)
	if err != nil {
		return err
	}
	defer client.Close()
	ticker := time.NewTicker(25 * time.Millisecond)
	defer ticker.Stop()
	var lastErr error
	for {
		var id hexutil.Uint64
		callCtx, cancel := context.WithTimeout(ctx, time.Second)
		lastErr = client.CallContext(callCtx, &id, "eth_chainId")
		cancel()
		if lastErr == nil {
			if uint64(id) != a.chainID {
				return fmt.Errorf("anvil at %s answers chain id %d, want %d", a.url, id, a.chainID)
			}
			return nil
		}
		select {
		case <-a.exited:
			out := a.stderr.String()
			err := fmt.Errorf("anvil exited before answering: %v: %s", a.waitErr, strings.TrimSpace(out))
			if strings.Contains(strings.ToLower(out), "address already in use") {
				err = fmt.Errorf("%w: %w", errAddrInUse, err)
			}
			return err
		case <-ctx.Done():
			return fmt.Errorf("anvil at %s did not answer: %w (last error: %v)", a.url, ctx.Err(), lastErr)
		case <-ticker.C:
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// URL is anvil's JSON-RPC over HTTP endpoint, e.g. http://127.0.0.1:41234.
func (a *AnvilProcess) URL() string { return a.url }

// WSURL is anvil's JSON-RPC over WebSocket endpoint, on the same port.
func (a *AnvilProcess) WSURL() string { return "ws" + strings.TrimPrefix(a.url, "http") }

// ChainID returns the chain id.
func (a *AnvilProcess) ChainID() *big.Int { return new(big.Int).SetUint64(a.chainID) }

// Accounts returns the accounts anvil funds: the dev accounts.
func (a *AnvilProcess) Accounts() []DevAccount { return DevAccounts() }

// Close stops anvil and its process group: SIGTERM, then SIGKILL after five
// seconds. It is safe to call more than once.
func (a *AnvilProcess) Close() error {
	a.closeOnce.Do(func() {
		select {
		case <-a.exited:
			return // it died by itself; nothing to stop
		default:
		}
		_ = signalGroup(a.cmd.Process, syscall.SIGTERM)
		select {
		case <-a.exited:
		case <-time.After(5 * time.Second):
			_ = signalGroup(a.cmd.Process, syscall.SIGKILL)
			<-a.exited
		}
		if a.waitErr != nil && !killedBySignal(a.waitErr) {
			a.closeErr = fmt.Errorf("testnet: stop anvil: %w", a.waitErr)
		}
	})
	return a.closeErr
}

func killedBySignal(err error) bool {
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return false
	}
	status, ok := exitErr.Sys().(syscall.WaitStatus)
	return ok && status.Signaled()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
