// Package openai runs jobs on an OpenAI-compatible inference server: any
// server that speaks POST /v1/chat/completions the way OpenAI's API does,
// as vLLM, llama.cpp's llama-server and Ollama do.
//
// A streaming job asks for Server-Sent Events with
// stream_options.include_usage, emits each choices[0].delta.content as it
// arrives, and takes the token usage from the chunk that carries it
// (normally the last one, before `data: [DONE]`). A non-streaming job reads
// choices[0].message.content and usage from one JSON answer. When the
// server reports no usage, the client estimates it and marks it
// (executor.Usage.Estimated): the input with the node's conservative
// counter, the output from what it received (docs/executors.md).
//
// Failures map to the executor's codes: a 4xx answer is
// executor.CodeUpstreamRejected with the server's message; 408, 429 and
// 5xx answers, failed connections and streams cut short are
// executor.CodeUpstreamError, retryable; a malformed answer is
// executor.CodeUpstreamError, not retryable.
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paynode/paynode/node/executor"
)

// Options tune a Client. The zero value is ready to use.
type Options struct {
	// APIKey, if set, is sent as "Authorization: Bearer APIKey".
	APIKey string
	// HTTPClient sends the requests; nil means a client of its own on
	// http.DefaultTransport. Its Timeout, if any, bounds a whole job,
	// stream included; prefer Timeout below.
	HTTPClient *http.Client
	// Timeout bounds each job, from the request to the last chunk; zero
	// means only the caller's context does. A job past it fails with
	// executor.CodeJobTimeout.
	Timeout time.Duration
	// ModelMap maps an offer's model name to the server's name for it;
	// a name not in the map is sent as it is.
	ModelMap map[string]string
	// Counter estimates a prompt's input tokens when the server reports no
	// usage, and is the client's CountPrompt; nil means
	// executor.Conservative{}.
	Counter executor.Counter
	// MaxEventSize bounds one streamed event; zero means
	// DefaultMaxEventSize. A larger event fails the job with
	// executor.CodeUpstreamError.
	MaxEventSize int
}

// MaxResponseSize bounds a non-streaming answer; a larger one fails the
// job with executor.CodeUpstreamError.
const MaxResponseSize = 16 << 20

const (
	maxErrorBody    = 64 << 10 // how much of an error answer is read
	maxErrorMessage = 512      // how much of the server's message is kept
)

// Client is an executor.Executor on one OpenAI-compatible server. It is
// safe for concurrent use.
type Client struct {
	endpoint string
	opts     Options
	http     *http.Client
	counter  executor.Counter
}

var (
	_ executor.Executor = (*Client)(nil)
	_ executor.Counter  = (*Client)(nil)
)

// New returns a client of the server at baseURL, an http or https URL
// such as "http://127.0.0.1:8000". Jobs go to baseURL + "/v1/chat/completions";
// a baseURL that already ends in "/v1", as OpenAI's own clients expect it,
// is not given a second one.
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("openai: base url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("openai: base url %q: want http://host[:port][/path] or https://…", baseURL)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(u.Path, "/v1") {
		u.Path += "/v1"
	}
	u.Path += "/chat/completions"
	u.RawPath, u.Fragment = "", ""

	c := &Client{endpoint: u.String(), opts: opts, http: opts.HTTPClient, counter: opts.Counter}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.counter == nil {
		c.counter = executor.Conservative{}
	}
	if opts.ModelMap != nil {
		c.opts.ModelMap = make(map[string]string, len(opts.ModelMap))
		for k, v := range opts.ModelMap {
			c.opts.ModelMap[k] = v
		}
	}
	return c, nil
}

// Endpoint returns the URL jobs are posted to.
func (c *Client) Endpoint() string { return c.endpoint }

// CountPrompt counts messages with Options.Counter: the count the node
// prices a job for this server with.
func (c *Client) CountPrompt(messages []executor.Message) uint64 {
	return c.counter.CountPrompt(messages)
}

// Run runs req on the server; see executor.Executor.
func (c *Client) Run(ctx context.Context, req executor.ChatRequest, emit func(string) error) (executor.Result, error) {
	if err := req.Validate(); err != nil {
		return executor.Result{}, err
	}
	if err := executor.ContextError(ctx); err != nil {
		return executor.Result{}, err
	}
	if c.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.Timeout)
		defer cancel()
	}
	// Leaving Run for any reason aborts the request and closes the body.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	res, err := c.run(ctx, req, emit)
	if err == nil {
		// A job cancelled as it finished is cancelled: it is not charged.
		err = executor.ContextError(ctx)
	}
	if err != nil {
		return executor.Result{}, err
	}
	return res, nil
}

func (c *Client) run(ctx context.Context, req executor.ChatRequest, emit func(string) error) (executor.Result, error) {
	body, err := json.Marshal(c.wireRequest(req))
	if err != nil {
		return executor.Result{}, executor.Errorf(executor.CodeBadRequest, false, "encoding request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return executor.Result{}, executor.Errorf(executor.CodeUpstreamError, false, "request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("User-Agent", "paynode")
	if req.Stream {
		hreq.Header.Set("Accept", "text/event-stream")
	} else {
		hreq.Header.Set("Accept", "application/json")
	}
	if c.opts.APIKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.opts.APIKey)
	}

	resp, err := c.http.Do(hreq)
	if err != nil {
		return executor.Result{}, c.failed(ctx, "request", err)
	}
	defer func() {
		// Read a little of what is left so the connection can be reused.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
	}()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return executor.Result{}, statusError(resp)
	}

	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if req.Stream && mediaType != "application/json" {
		return c.readStream(ctx, req, resp.Body, emit)
	}
	// Not streaming, or a server that ignored stream=true.
	return c.readResponse(ctx, req, resp.Body, emit)
}

// failed maps a transport error: the job's own end if ctx is done,
// otherwise a retryable upstream error.
func (c *Client) failed(ctx context.Context, what string, err error) error {
	if cerr := executor.ContextError(ctx); cerr != nil {
		return cerr
	}
	return executor.Errorf(executor.CodeUpstreamError, true, "%s: %w", what, err)
}

type wireMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type wireStreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type wireRequest struct {
	Model         string             `json:"model"`
	Messages      []wireMessage      `json:"messages"`
	MaxTokens     int                `json:"max_tokens"`
	Temperature   *float64           `json:"temperature,omitempty"`
	Stream        bool               `json:"stream"`
	StreamOptions *wireStreamOptions `json:"stream_options,omitempty"`
}

func (c *Client) wireRequest(req executor.ChatRequest) wireRequest {
	model := req.Model
	if m, ok := c.opts.ModelMap[model]; ok {
		model = m
	}
	w := wireRequest{
		Model:       model,
		Messages:    make([]wireMessage, len(req.Messages)),
		MaxTokens:   req.MaxTokens,
		Temperature: req.Temperature,
		Stream:      req.Stream,
	}
	for i, m := range req.Messages {
		w.Messages[i] = wireMessage(m)
	}
	if req.Stream {
		w.StreamOptions = &wireStreamOptions{IncludeUsage: true}
	}
	return w
}

type wireUsage struct {
	PromptTokens     uint64 `json:"prompt_tokens"`
	CompletionTokens uint64 `json:"completion_tokens"`
}

// wireError is the part of an answer that can say it failed: OpenAI and
// llama.cpp put {"error": {"message": …}}, Ollama {"error": "…"}, older
// vLLM {"object": "error", "message": …}.
type wireError struct {
	Error   json.RawMessage `json:"error"`
	Object  string          `json:"object"`
	Message string          `json:"message"`
}

// message returns what the answer says went wrong, or "" if it is no error.
func (e wireError) message() string {
	if len(e.Error) > 0 && string(e.Error) != "null" {
		var obj struct {
			Message string `json:"message"`
		}
		var s string
		switch {
		case json.Unmarshal(e.Error, &obj) == nil && obj.Message != "":
			return obj.Message
		case json.Unmarshal(e.Error, &s) == nil && s != "":
			return s
		}
		return string(e.Error)
	}
	if e.Object == "error" {
		if e.Message != "" {
			return e.Message
		}
		return "error"
	}
	return ""
}

type wireChunk struct {
	wireError
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *wireUsage `json:"usage"`
}

func (c *Client) readStream(ctx context.Context, req executor.ChatRequest, body io.Reader, emit func(string) error) (executor.Result, error) {
	events := NewSSEReader(body, c.opts.MaxEventSize)
	var (
		out    strings.Builder
		chunks int
		finish string
		usage  *wireUsage
	)
	for {
		ev, err := events.Next()
		switch {
		case err == nil:
		case errors.Is(err, ErrEventTooLarge):
			return executor.Result{}, executor.Errorf(executor.CodeUpstreamError, false, "stream: %w", err)
		case err == io.EOF:
			return executor.Result{}, c.failed(ctx, "stream", errors.New("ended without [DONE]"))
		case err == io.ErrUnexpectedEOF:
			return executor.Result{}, c.failed(ctx, "stream", errors.New("cut off inside an event"))
		default:
			return executor.Result{}, c.failed(ctx, "stream", err)
		}
		if ev.Data == "[DONE]" {
			break
		}
		var chunk wireChunk
		err = json.Unmarshal([]byte(ev.Data), &chunk)
		if msg := chunk.message(); msg != "" || ev.Type == "error" {
			if msg == "" {
				msg = ev.Data
			}
			return executor.Result{}, executor.Errorf(executor.CodeUpstreamError, true, "upstream failed mid-stream: %s", clip(msg, maxErrorMessage))
		}
		if err != nil {
			return executor.Result{}, executor.Errorf(executor.CodeUpstreamError, false, "malformed chunk %s: %v", clip(ev.Data, 64), err)
		}
		if chunk.Usage != nil {
			usage = chunk.Usage
		}
		for _, choice := range chunk.Choices {
			if choice.Index != 0 {
				continue
			}
			if choice.FinishReason != "" {
				finish = choice.FinishReason
			}
			if delta := choice.Delta.Content; delta != "" {
				if err := executor.ContextError(ctx); err != nil {
					return executor.Result{}, err
				}
				out.WriteString(delta)
				chunks++
				if emit != nil {
					if err := emit(delta); err != nil {
						return executor.Result{}, executor.EmitError(err)
					}
				}
			}
		}
	}
	return c.result(req, out.String(), chunks, finish, usage), nil
}

type wireResponse struct {
	wireError
	Choices []struct {
		Index   int `json:"index"`
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *wireUsage `json:"usage"`
}

func (c *Client) readResponse(ctx context.Context, req executor.ChatRequest, body io.Reader, emit func(string) error) (executor.Result, error) {
	data, err := io.ReadAll(io.LimitReader(body, MaxResponseSize+1))
	if err != nil {
		return executor.Result{}, c.failed(ctx, "reading answer", err)
	}
	if len(data) > MaxResponseSize {
		return executor.Result{}, executor.Errorf(executor.CodeUpstreamError, false, "answer above %d bytes", MaxResponseSize)
	}
	var resp wireResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return executor.Result{}, executor.Errorf(executor.CodeUpstreamError, false, "malformed answer %s: %v", clip(string(data), 64), err)
	}
	if msg := resp.message(); msg != "" {
		return executor.Result{}, executor.Errorf(executor.CodeUpstreamError, true, "upstream failed: %s", clip(msg, maxErrorMessage))
	}
	i := 0
	for i < len(resp.Choices) && resp.Choices[i].Index != 0 {
		i++
	}
	if i == len(resp.Choices) {
		return executor.Result{}, executor.Errorf(executor.CodeUpstreamError, false, "malformed answer: no choice 0")
	}
	choice := resp.Choices[i]
	if err := executor.ContextError(ctx); err != nil {
		return executor.Result{}, err
	}
	output := choice.Message.Content
	if emit != nil && output != "" {
		if err := emit(output); err != nil {
			return executor.Result{}, executor.EmitError(err)
		}
	}
	chunks := 0
	if output != "" {
		chunks = 1
	}
	return c.result(req, output, chunks, choice.FinishReason, resp.Usage), nil
}

// result assembles a finished job, estimating the usage the server did not
// report.
func (c *Client) result(req executor.ChatRequest, output string, chunks int, finish string, usage *wireUsage) executor.Result {
	res := executor.Result{Output: output, FinishReason: finish}
	if usage != nil {
		res.Usage = executor.Usage{InputTokens: usage.PromptTokens, OutputTokens: usage.CompletionTokens}
		return res
	}
	res.Usage = executor.Usage{
		InputTokens:  c.counter.CountPrompt(req.Messages),
		OutputTokens: EstimateOutputTokens(output, chunks, finish, req.MaxTokens),
		Estimated:    true,
	}
	return res
}

// EstimateOutputTokens is the output token count of an answer whose
// server reported none: max_tokens if the answer stopped for length (the
// server generated exactly that many); otherwise the larger of the number
// of chunks it came in (servers stream about a token a chunk) and a
// quarter of its bytes rounded up (a common tokenizer's average), never
// above max_tokens.
func EstimateOutputTokens(output string, chunks int, finish string, maxTokens int) uint64 {
	if maxTokens <= 0 {
		return 0
	}
	limit := uint64(maxTokens)
	if finish == executor.FinishLength {
		return limit
	}
	n := max(uint64(chunks), (uint64(len(output))+3)/4)
	return min(n, limit)
}

// statusError maps an answer that is not 2xx.
func statusError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var we wireError
	msg := ""
	if json.Unmarshal(data, &we) == nil {
		msg = we.message()
	}
	if msg == "" {
		msg = strings.TrimSpace(string(data))
	}
	status := resp.Status
	if status == "" {
		status = fmt.Sprint(resp.StatusCode)
	}
	if msg != "" {
		status += ": " + clip(msg, maxErrorMessage)
	}
	code := resp.StatusCode
	switch {
	case code == http.StatusTooManyRequests, code == http.StatusRequestTimeout, code >= 500:
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			status += " (retry after " + clip(ra, 32) + ")"
		}
		return &executor.Error{Code: executor.CodeUpstreamError, Msg: "upstream answered " + status, Retryable: true}
	case code >= 400:
		return &executor.Error{Code: executor.CodeUpstreamRejected, Msg: "upstream rejected the request: " + status}
	default:
		return &executor.Error{Code: executor.CodeUpstreamError, Msg: "upstream answered " + status}
	}
}

// clip makes s fit a one-line message of at most n bytes (and an
// ellipsis): valid UTF-8, control characters as spaces.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
