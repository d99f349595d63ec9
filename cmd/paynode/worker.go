package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/paynode/paynode/node/executor"
	"github.com/paynode/paynode/node/executor/builtin"
	"github.com/paynode/paynode/node/executor/openai"
	"github.com/paynode/paynode/node/worker"
)

const workerHelp = `
Runs a worker: it dials a paynode node's worker hub, announces the models it
serves and how many jobs it runs at once, and runs the jobs the node assigns
on its backend, streaming the output back. It reconnects when the node goes
away, and stops cleanly on SIGINT/SIGTERM.

Backends:
  openai    an OpenAI-compatible inference server (vLLM, llama.cpp's server,
            Ollama) at --upstream; --model names the models it serves, each
            as the offer's name, or OFFER=SERVER to map an offer's model to
            the server's own name for it
  builtin   paynode-test-1, the deterministic test model (no server needed)

The worker token (the node's workers.token_file) is read from --token-file;
it is never taken from a flag value.

Examples:
  paynode worker --node ws://10.0.0.5:7070/v1/worker --token-file worker.token \
      --backend openai --upstream http://127.0.0.1:8000 --model llama-3.1-8b --capacity 8
  paynode worker --node ws://127.0.0.1:7070/v1/worker --token-file worker.token --backend builtin`

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func (m *Main) runWorker(ctx context.Context, args []string) error {
	flags := m.newFlagSet("worker", "--node URL --token-file FILE --backend openai|builtin [flags]", workerHelp)
	nodeURL := flags.String("node", "", "the node's worker endpoint, ws(s)://host:port/v1/worker")
	tokenFile := flags.String("token-file", "", "file holding the worker token")
	backend := flags.String("backend", "", "openai or builtin")
	upstream := flags.String("upstream", "", "openai: the inference server's base URL, e.g. http://127.0.0.1:8000")
	apiKeyFile := flags.String("upstream-key-file", "", "openai: file holding the server's API key, if it wants one")
	var models listFlag
	flags.Var(&models, "model", "a model served (repeatable); openai: NAME or OFFER=SERVER; builtin: paynode-test-1 by default")
	capacity := flags.Int("capacity", 4, "jobs run at once")
	name := flags.String("name", "", "the worker's name in the node's status (default: the host name)")
	timeout := flags.Duration("job-timeout", 10*time.Minute, "the most one job may run on the backend")
	tokenDelay := flags.Duration("token-delay", 0, "builtin: pause before each output token (to watch streaming)")
	lf := addLogFlags(flags)
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	switch {
	case *nodeURL == "":
		return usageError("--node is required")
	case *tokenFile == "":
		return usageError("--token-file is required")
	case *capacity <= 0:
		return usageError("--capacity must be at least 1")
	}
	log, err := lf.logger(m.Stderr)
	if err != nil {
		return err
	}
	token, err := readSecret(*tokenFile)
	if err != nil {
		return fmt.Errorf("--token-file: %w", err)
	}
	var exec executor.Executor
	var served []string
	switch *backend {
	case "builtin":
		if *upstream != "" {
			return usageError("--upstream is for --backend openai")
		}
		for _, mdl := range models {
			if mdl != builtin.Name {
				return usageError("--model %q: the builtin backend serves %s only", mdl, builtin.Name)
			}
		}
		exec, served = &builtin.Model{TokenDelay: *tokenDelay}, []string{builtin.Name}
	case "openai":
		if *upstream == "" {
			return usageError("--backend openai needs --upstream")
		}
		if len(models) == 0 {
			return usageError("--backend openai needs at least one --model")
		}
		opts := openai.Options{Timeout: *timeout, ModelMap: map[string]string{}}
		for _, mdl := range models {
			offer, server, mapped := strings.Cut(mdl, "=")
			if offer == "" || (mapped && server == "") {
				return usageError("--model %q: want NAME or OFFER=SERVER", mdl)
			}
			if mapped {
				opts.ModelMap[offer] = server
			}
			served = append(served, offer)
		}
		if *apiKeyFile != "" {
			if opts.APIKey, err = readSecret(*apiKeyFile); err != nil {
				return fmt.Errorf("--upstream-key-file: %w", err)
			}
		}
		client, err := openai.New(*upstream, opts)
		if err != nil {
			return usageError("--upstream: %v", err)
		}
		exec = client
	case "":
		return usageError("--backend is required: openai or builtin")
	default:
		return usageError("--backend %q: want openai or builtin", *backend)
	}
	if *name == "" {
		*name, _ = os.Hostname()
		if *name == "" {
			*name = "worker"
		}
	}
	w := &worker.Worker{
		URL: *nodeURL, Token: token, Name: *name, Capacity: *capacity,
		Models: served, Executor: exec, Log: log.With("subsystem", "worker"),
	}
	fmt.Fprintf(m.Stderr, "worker %s: serving %s (%d at once) for %s\n", *name, strings.Join(served, ", "), *capacity, *nodeURL)
	return w.Run(ctx)
}

// readSecret reads a one-line secret file.
func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}
