package openai_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paynode/paynode/node/executor"
	"github.com/paynode/paynode/node/executor/builtin"
	"github.com/paynode/paynode/node/executor/executortest"
	"github.com/paynode/paynode/node/executor/openai"
)

// request is what the fake upstream receives.
type request struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	MaxTokens     *int     `json:"max_tokens"`
	Temperature   *float64 `json:"temperature"`
	Stream        bool     `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

// upstream is a fake OpenAI-compatible server. It answers with the builtin
// model and reports as prompt tokens the worst case of a ChatML template:
// one token per byte of text plus its special tokens, more than any real
// server counts.
type upstream struct {
	noUsage bool // never report usage
	crlf    bool // end lines with \r\n

	mu       sync.Mutex
	requests []request
	headers  []http.Header
}

func chatMLWorstCase(msgs []executor.Message) uint64 {
	n := uint64(1 + len("assistant\n"))
	for _, m := range msgs {
		n += 2 + uint64(len(m.Role)) + 1 + uint64(len(m.Content)) + 1
	}
	return n
}

func (u *upstream) last() (request, http.Header) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.requests[len(u.requests)-1], u.headers[len(u.headers)-1]
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		http.Error(w, `{"error":{"message":"no such route"}}`, http.StatusNotFound)
		return
	}
	var req request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.MaxTokens == nil {
		http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
		return
	}
	u.mu.Lock()
	u.requests = append(u.requests, req)
	u.headers = append(u.headers, r.Header.Clone())
	u.mu.Unlock()

	msgs := make([]executor.Message, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = executor.Message(m)
	}
	var deltas []string
	res, err := (&builtin.Model{}).Run(r.Context(), executor.ChatRequest{Messages: msgs, MaxTokens: *req.MaxTokens, Stream: true},
		func(d string) error { deltas = append(deltas, d); return nil })
	if err != nil {
		http.Error(w, `{"error":{"message":"`+err.Error()+`"}}`, http.StatusInternalServerError)
		return
	}
	usage := map[string]uint64{
		"prompt_tokens":     chatMLWorstCase(msgs),
		"completion_tokens": res.Usage.OutputTokens,
		"total_tokens":      chatMLWorstCase(msgs) + res.Usage.OutputTokens,
	}

	if !req.Stream {
		answer := map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "model": req.Model,
			"choices": []any{map[string]any{
				"index": 0, "message": map[string]any{"role": "assistant", "content": res.Output},
				"finish_reason": res.FinishReason,
			}},
		}
		if !u.noUsage {
			answer["usage"] = usage
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(answer)
		return
	}

	nl := "\n"
	if u.crlf {
		nl = "\r\n"
	}
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	send := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s%s%s", b, nl, nl)
		w.(http.Flusher).Flush()
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}},
		}
	}
	fmt.Fprint(w, ": keep-alive"+nl+nl)
	send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	for _, d := range deltas {
		send(chunk(map[string]any{"content": d}, nil))
	}
	send(chunk(map[string]any{}, res.FinishReason))
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage && !u.noUsage {
		send(map[string]any{"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": []any{}, "usage": usage})
	}
	fmt.Fprint(w, "data: [DONE]"+nl+nl)
}

func newClient(t testing.TB, h http.Handler, opts openai.Options) *openai.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := openai.New(srv.URL, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func userChat(content string, maxTokens int, stream bool) executor.ChatRequest {
	return executor.ChatRequest{
		Model:     "test-model",
		Messages:  []executor.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: content}},
		MaxTokens: maxTokens,
		Stream:    stream,
	}
}

func TestConformance(t *testing.T) {
	for _, u := range []*upstream{{}, {noUsage: true}, {crlf: true}} {
		t.Run(fmt.Sprintf("noUsage=%v,crlf=%v", u.noUsage, u.crlf), func(t *testing.T) {
			executortest.Run(t, newClient(t, u, openai.Options{}), "test-model")
		})
	}
}

func TestStreamWithUsage(t *testing.T) {
	u := &upstream{}
	c := newClient(t, u, openai.Options{})
	req := userChat("Hello there", 1000, true)
	temp := 0.7
	req.Temperature = &temp
	var chunks []string
	res, err := c.Run(t.Context(), req, func(d string) error { chunks = append(chunks, d); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want, _ := (&builtin.Model{}).Run(t.Context(), executor.ChatRequest{Messages: req.Messages, MaxTokens: 1000}, nil)
	if res.Output != want.Output || res.FinishReason != executor.FinishStop {
		t.Fatalf("result %+v, want output %q", res, want.Output)
	}
	if len(chunks) != int(want.Usage.OutputTokens) {
		t.Errorf("%d chunks, want one per token (%d)", len(chunks), want.Usage.OutputTokens)
	}
	wantUsage := executor.Usage{InputTokens: chatMLWorstCase(req.Messages), OutputTokens: want.Usage.OutputTokens}
	if res.Usage != wantUsage {
		t.Errorf("usage %+v, want the upstream's %+v", res.Usage, wantUsage)
	}
	if bound := c.CountPrompt(req.Messages); bound < res.Usage.InputTokens {
		t.Errorf("conservative count %d < upstream's prompt tokens %d", bound, res.Usage.InputTokens)
	}

	sent, h := u.last()
	if !sent.Stream || sent.StreamOptions == nil || !sent.StreamOptions.IncludeUsage {
		t.Errorf("stream %v, stream_options %+v: want stream with include_usage", sent.Stream, sent.StreamOptions)
	}
	if *sent.MaxTokens != 1000 || sent.Temperature == nil || *sent.Temperature != 0.7 || sent.Model != "test-model" {
		t.Errorf("sent %+v", sent)
	}
	if len(sent.Messages) != 2 || sent.Messages[1].Role != "user" || sent.Messages[1].Content != "Hello there" {
		t.Errorf("sent messages %+v", sent.Messages)
	}
	if h.Get("Accept") != "text/event-stream" || h.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", h)
	}
	if h.Get("Authorization") != "" {
		t.Errorf("Authorization %q without an API key", h.Get("Authorization"))
	}
}

func TestStreamWithoutUsage(t *testing.T) {
	c := newClient(t, &upstream{noUsage: true}, openai.Options{})
	for _, maxTokens := range []int{5, 1000} {
		req := userChat("Hello there", maxTokens, true)
		var chunks int
		res, err := c.Run(t.Context(), req, func(string) error { chunks++; return nil })
		if err != nil {
			t.Fatal(err)
		}
		wantOut := openai.EstimateOutputTokens(res.Output, chunks, res.FinishReason, maxTokens)
		if maxTokens == 5 && wantOut != 5 {
			t.Errorf("stopped for length: estimate %d, want max_tokens", wantOut)
		}
		want := executor.Usage{InputTokens: (executor.Conservative{}).CountPrompt(req.Messages), OutputTokens: wantOut, Estimated: true}
		if res.Usage != want {
			t.Errorf("max %d: usage %+v, want %+v", maxTokens, res.Usage, want)
		}
		if res.Usage.InputTokens < chatMLWorstCase(req.Messages) {
			t.Errorf("estimated input %d below the worst case %d", res.Usage.InputTokens, chatMLWorstCase(req.Messages))
		}
	}
}

func TestNonStreaming(t *testing.T) {
	for _, noUsage := range []bool{false, true} {
		u := &upstream{noUsage: noUsage}
		c := newClient(t, u, openai.Options{})
		req := userChat("Hello there", 7, false)
		var chunks []string
		res, err := c.Run(t.Context(), req, func(d string) error { chunks = append(chunks, d); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if len(chunks) != 1 || chunks[0] != res.Output || res.FinishReason != executor.FinishLength {
			t.Errorf("chunks %q, result %+v", chunks, res)
		}
		want := executor.Usage{InputTokens: chatMLWorstCase(req.Messages), OutputTokens: 7}
		if noUsage {
			want = executor.Usage{InputTokens: c.CountPrompt(req.Messages), OutputTokens: 7, Estimated: true}
		}
		if res.Usage != want {
			t.Errorf("noUsage %v: usage %+v, want %+v", noUsage, res.Usage, want)
		}
		sent, h := u.last()
		if sent.Stream || sent.StreamOptions != nil || h.Get("Accept") != "application/json" {
			t.Errorf("non-streaming request sent stream=%v stream_options=%v accept=%q", sent.Stream, sent.StreamOptions, h.Get("Accept"))
		}
	}
}

// A server that ignores stream=true and answers with one JSON object.
func TestStreamAnsweredWithJSON(t *testing.T) {
	c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"choices":[{"index":0,"message":{"role":"assistant","content":"Hi!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2}}`)
	}), openai.Options{})
	var chunks []string
	res, err := c.Run(t.Context(), userChat("x", 10, true), func(d string) error { chunks = append(chunks, d); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if res.Output != "Hi!" || len(chunks) != 1 || res.Usage != (executor.Usage{InputTokens: 3, OutputTokens: 2}) {
		t.Fatalf("%+v, chunks %q", res, chunks)
	}
}

func TestModelMapAndAuthorization(t *testing.T) {
	u := &upstream{}
	models := map[string]string{"paynode-llama": "meta-llama/Llama-3.1-8B-Instruct"}
	c := newClient(t, u, openai.Options{APIKey: "sk-test", ModelMap: models})
	models["paynode-llama"] = "changed after New"
	for model, want := range map[string]string{
		"paynode-llama": "meta-llama/Llama-3.1-8B-Instruct",
		"other":         "other",
	} {
		req := userChat("hi", 5, true)
		req.Model = model
		if _, err := c.Run(t.Context(), req, nil); err != nil {
			t.Fatal(err)
		}
		sent, h := u.last()
		if sent.Model != want {
			t.Errorf("model %q sent as %q, want %q", model, sent.Model, want)
		}
		if got := h.Get("Authorization"); got != "Bearer sk-test" {
			t.Errorf("Authorization %q", got)
		}
	}
}

func TestStatusErrors(t *testing.T) {
	long := strings.Repeat("é", 2000)
	for _, tc := range []struct {
		name      string
		status    int
		body      string
		header    map[string]string
		code      string
		retryable bool
		msg       string
	}{
		{"400 openai", 400, `{"error":{"message":"max_tokens is too large","type":"invalid_request_error"}}`, nil,
			executor.CodeUpstreamRejected, false, "max_tokens is too large"},
		{"400 long message", 400, `{"error":{"message":"` + long + `"}}`, nil, executor.CodeUpstreamRejected, false, "éé…"},
		{"404 ollama", 404, `{"error":"model \"x\" not found, try pulling it first"}`, nil,
			executor.CodeUpstreamRejected, false, `model "x" not found`},
		{"400 vllm", 400, `{"object":"error","message":"This model's maximum context length is 4096 tokens","type":"BadRequestError","code":400}`, nil,
			executor.CodeUpstreamRejected, false, "maximum context length"},
		{"401 text", 401, "unauthorized\n", nil, executor.CodeUpstreamRejected, false, "401 Unauthorized: unauthorized"},
		{"408", 408, "", nil, executor.CodeUpstreamError, true, "408"},
		{"429", 429, `{"error":{"message":"slow down"}}`, map[string]string{"Retry-After": "3"}, executor.CodeUpstreamError, true, "slow down (retry after 3)"},
		{"500", 500, `{"error":{"message":"CUDA out of memory"}}`, nil, executor.CodeUpstreamError, true, "CUDA out of memory"},
		{"503 html", 503, "<html>\n<h1>down</h1></html>", nil, executor.CodeUpstreamError, true, "<html> <h1>down</h1></html>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}), openai.Options{})
			for _, stream := range []bool{true, false} {
				res, err := c.Run(t.Context(), userChat("hi", 5, stream), failEmit(t))
				var e *executor.Error
				if !errors.As(err, &e) || e.Code != tc.code || e.Retryable != tc.retryable {
					t.Fatalf("err = %#v, want %s retryable=%v", err, tc.code, tc.retryable)
				}
				if !strings.Contains(e.Msg, tc.msg) || len(e.Msg) > 700 {
					t.Errorf("message %q (%d bytes), want it to contain %q", e.Msg, len(e.Msg), tc.msg)
				}
				if res != (executor.Result{}) {
					t.Errorf("result %+v", res)
				}
			}
		})
	}
}

// stream answers with the given raw SSE body.
func stream(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, body)
	}
}

const okChunk = `data: {"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}` + "\n\n"

func TestBadStreams(t *testing.T) {
	for _, tc := range []struct {
		name      string
		h         http.Handler
		opts      openai.Options
		retryable bool
		msg       string
	}{
		{"malformed chunk", stream(okChunk + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\n\n" + "data: [DONE]\n\n"),
			openai.Options{}, false, "malformed chunk"},
		{"chunk not an object", stream(okChunk + "data: [1,2]\n\ndata: [DONE]\n\n"), openai.Options{}, false, "malformed chunk"},
		{"negative usage", stream(okChunk + `data: {"choices":[],"usage":{"prompt_tokens":-1,"completion_tokens":1}}` + "\n\ndata: [DONE]\n\n"),
			openai.Options{}, false, "malformed chunk"},
		{"error mid-stream", stream(okChunk + `data: {"error":{"message":"engine died","code":500}}` + "\n\n"),
			openai.Options{}, true, "engine died"},
		{"error event", stream(okChunk + "event: error\ndata: overloaded\n\n"), openai.Options{}, true, "overloaded"},
		{"no [DONE]", stream(okChunk + okChunk), openai.Options{}, true, "without [DONE]"},
		{"cut in event", stream(okChunk + `data: {"choices":[{"index":0,"delta":{"content":"x"}}]}` + "\n"),
			openai.Options{}, true, "inside an event"},
		{"event too large", stream(okChunk + "data: " + strings.Repeat("x", 2000) + "\n\n"), openai.Options{MaxEventSize: 1000},
			false, "too large"},
		{"server hangs up", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, okChunk+okChunk)
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // drops the connection mid-stream
		}), openai.Options{}, true, "stream"},
		{"hijacked close", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, buf, _ := w.(http.Hijacker).Hijack()
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" + okChunk + okChunk + "data: {\"cho")
			buf.Flush()
			conn.Close()
		}), openai.Options{}, true, "inside an event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, tc.h, tc.opts)
			emitted := 0
			res, err := c.Run(t.Context(), userChat("hi", 100, true), func(string) error { emitted++; return nil })
			var e *executor.Error
			if !errors.As(err, &e) || e.Code != executor.CodeUpstreamError || e.Retryable != tc.retryable {
				t.Fatalf("err = %#v, want upstream_error retryable=%v", err, tc.retryable)
			}
			if !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("message %q, want %q in it", e.Msg, tc.msg)
			}
			if res != (executor.Result{}) {
				t.Errorf("partial success %+v", res)
			}
			if emitted == 0 {
				t.Errorf("nothing emitted before the failure")
			}
		})
	}
}

func TestBadAnswers(t *testing.T) {
	for name, body := range map[string]string{
		"malformed":  `{"choices":[`,
		"no choices": `{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}`,
		"not json":   `<html>ok</html>`,
	} {
		t.Run(name, func(t *testing.T) {
			c := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, body)
			}), openai.Options{})
			_, err := c.Run(t.Context(), userChat("hi", 5, false), failEmit(t))
			if executor.CodeOf(err) != executor.CodeUpstreamError || executor.IsRetryable(err) {
				t.Fatalf("err = %v, want a non-retryable upstream_error", err)
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := openai.New("http://"+addr, openai.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Run(t.Context(), userChat("hi", 5, true), failEmit(t))
	if executor.CodeOf(err) != executor.CodeUpstreamError || !executor.IsRetryable(err) {
		t.Fatalf("err = %v, want a retryable upstream_error", err)
	}
}

// slow is a server that sends one chunk and then waits until the client
// goes away, recording that it saw it go.
type slow struct {
	headers bool // send the headers and a chunk before waiting
	gone    chan struct{}
}

func (s *slow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Reading the whole request lets the server notice a client that goes.
	io.Copy(io.Discard, r.Body)
	if s.headers {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, okChunk)
		w.(http.Flusher).Flush()
	}
	select {
	case <-r.Context().Done():
		close(s.gone)
	case <-time.After(10 * time.Second):
	}
}

func TestSlowServer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers bool
		timeout time.Duration // Options.Timeout; 0: cancel after the first chunk or 50ms
		code    string
		cause   error
	}{
		{"cancel mid-stream", true, 0, executor.CodeCancelled, context.Canceled},
		{"cancel before headers", false, 0, executor.CodeCancelled, context.Canceled},
		{"timeout mid-stream", true, 100 * time.Millisecond, executor.CodeJobTimeout, context.DeadlineExceeded},
		{"timeout before headers", false, 100 * time.Millisecond, executor.CodeJobTimeout, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &slow{headers: tc.headers, gone: make(chan struct{})}
			c := newClient(t, s, openai.Options{Timeout: tc.timeout})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tc.timeout == 0 && !tc.headers {
				time.AfterFunc(50*time.Millisecond, cancel)
			}
			start := time.Now()
			_, err := c.Run(ctx, userChat("hi", 100, true), func(string) error {
				if tc.timeout == 0 {
					cancel()
				}
				return nil
			})
			if executor.CodeOf(err) != tc.code || !errors.Is(err, tc.cause) {
				t.Fatalf("err = %v, want %s wrapping %v", err, tc.code, tc.cause)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v to stop", d)
			}
			select {
			case <-s.gone:
			case <-time.After(5 * time.Second):
				t.Error("the server never saw the client go: the request was not aborted")
			}
		})
	}
}

func TestNew(t *testing.T) {
	for base, want := range map[string]string{
		"http://127.0.0.1:8000":          "http://127.0.0.1:8000/v1/chat/completions",
		"http://127.0.0.1:8000/":         "http://127.0.0.1:8000/v1/chat/completions",
		"http://127.0.0.1:8000/v1":       "http://127.0.0.1:8000/v1/chat/completions",
		"http://127.0.0.1:8000/v1/":      "http://127.0.0.1:8000/v1/chat/completions",
		"https://gpu.example/llm":        "https://gpu.example/llm/v1/chat/completions",
		"https://gpu.example/llm/v1?x=1": "https://gpu.example/llm/v1/chat/completions?x=1",
		"http://localhost:11434":         "http://localhost:11434/v1/chat/completions",
	} {
		c, err := openai.New(base, openai.Options{})
		if err != nil {
			t.Errorf("New(%q): %v", base, err)
			continue
		}
		if c.Endpoint() != want {
			t.Errorf("New(%q).Endpoint() = %q, want %q", base, c.Endpoint(), want)
		}
	}
	for _, base := range []string{"", "localhost:8000", "ftp://host/", "http://", "://x", "/v1"} {
		if _, err := openai.New(base, openai.Options{}); err == nil {
			t.Errorf("New(%q) accepted", base)
		}
	}
}

func TestEstimateOutputTokens(t *testing.T) {
	for _, tc := range []struct {
		output string
		chunks int
		finish string
		max    int
		want   uint64
	}{
		{"", 0, "stop", 10, 0},
		{"Hello", 1, "stop", 10, 2},
		{"Hello world, how are you?", 7, "stop", 100, 7},
		{"Hello world, how are you?", 2, "stop", 100, 7},
		{strings.Repeat("x", 400), 5, "stop", 50, 50},
		{"cut", 1, "length", 64, 64},
		{"x", 1, "stop", 0, 0},
	} {
		if got := openai.EstimateOutputTokens(tc.output, tc.chunks, tc.finish, tc.max); got != tc.want {
			t.Errorf("EstimateOutputTokens(%q, %d, %q, %d) = %d, want %d", tc.output, tc.chunks, tc.finish, tc.max, got, tc.want)
		}
	}
}

func failEmit(t *testing.T) func(string) error {
	return func(d string) error {
		t.Errorf("emit(%q) on a failed job", d)
		return nil
	}
}

// The stream of a 1,000-token answer, as vLLM sends it.
func thousandChunks() string {
	var b strings.Builder
	b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}` + "\n\n")
	for i := range 1000 {
		fmt.Fprintf(&b, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" word%d"},"logprobs":null,"finish_reason":null}]}`+"\n\n", i)
	}
	b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"length"}]}` + "\n\n")
	b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":12,"total_tokens":1012,"completion_tokens":1000}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.String()
}

// fixed is a transport that answers every request with the same stream,
// so the benchmark measures the client, not a network.
type fixed []byte

func (f fixed) RoundTrip(r *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, r.Body)
	return &http.Response{
		StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"text/event-stream"}},
		Body:    io.NopCloser(bytes.NewReader(f)),
		Request: r,
	}, nil
}

func BenchmarkStream1000(b *testing.B) {
	body := thousandChunks()
	c, err := openai.New("http://upstream.invalid", openai.Options{HTTPClient: &http.Client{Transport: fixed([]byte(body))}})
	if err != nil {
		b.Fatal(err)
	}
	req := userChat("hi", 1000, true)
	emit := func(string) error { return nil }
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := c.Run(b.Context(), req, emit)
		if err != nil || res.Usage.OutputTokens != 1000 {
			b.Fatal(res.Usage, err)
		}
	}
}

func BenchmarkSSEReader1000(b *testing.B) {
	body := thousandChunks()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		s := openai.NewSSEReader(strings.NewReader(body), 0)
		n := 0
		for {
			if _, err := s.Next(); err != nil {
				break
			}
			n++
		}
		if n != 1004 {
			b.Fatal(n)
		}
	}
}

// FuzzStream feeds arbitrary bytes to the client as a streamed answer: it
// never panics, and every outcome is a result whose chunks make its output
// or an executor error with a code.
func FuzzStream(f *testing.F) {
	f.Add([]byte(thousandChunks()[:2000]))
	f.Add([]byte(okChunk + `data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}` + "\n\ndata: [DONE]\n\n"))
	f.Add([]byte(okChunk + `data: {"error":"x"}` + "\n\n"))
	f.Add([]byte("data: [DONE]\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := openai.New("http://upstream.invalid", openai.Options{
			HTTPClient:   &http.Client{Transport: fixed(body)},
			MaxEventSize: 4096,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, stream := range []bool{true, false} {
			var out strings.Builder
			res, err := c.Run(t.Context(), userChat("hi", 50, stream), func(d string) error {
				out.WriteString(d)
				return nil
			})
			if err != nil {
				if executor.CodeOf(err) != executor.CodeUpstreamError || res != (executor.Result{}) {
					t.Fatalf("err = %v, result %+v", err, res)
				}
				continue
			}
			if out.String() != res.Output {
				t.Fatalf("emitted %q, output %q", out.String(), res.Output)
			}
			if res.Usage.Estimated && res.Usage.OutputTokens > 50 {
				t.Fatalf("estimate %d above max_tokens", res.Usage.OutputTokens)
			}
		}
	})
}
