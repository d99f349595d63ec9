// Package proxy is an OpenAI-compatible HTTP server in front of the agent
// SDK: an unchanged OpenAI client (any SDK, curl, an agent framework) sends
// chat completions to it, and each request is paid per job through
// agent.Client — priced, checked against the budget, signed for, and its
// receipt verified and stored.
//
// It serves GET /v1/models (the models of the offers on chain) and POST
// /v1/chat/completions, streaming (server-sent events, ending in
// "data: [DONE]") and not. A response carries OpenAI's `usage` and, for
// whoever wants to audit, the provider's signed receipt: in the
// Paynode-Receipt header (base64 of the receipt's JSON; for a stream, an
// HTTP trailer, since the receipt comes last) and in an extra
// `paynode_receipt` field of the JSON body or of the last chunk.
//
// Errors have OpenAI's shape ({"error": {"message", "type", "code"}}) and
// status codes a client knows what to do with: 400 for a bad request, 404
// for a model no offer serves, 402 when the budget or the channel refuses
// to pay, 429 or 503 with Retry-After when the provider is busy or away,
// 502 when the provider misbehaved.
package proxy

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paynode/paynode/agent"
	"github.com/paynode/paynode/node/wire"
)

// Submitter pays for jobs: *agent.Client is one.
type Submitter interface {
	Submit(ctx context.Context, jb agent.Job) (*agent.Result, error)
}

// Backend is what the proxy pays through: the offers it lists, and a
// paying client for a model (dialled, with a channel, when first asked).
type Backend interface {
	// Offers lists the offers whose models the proxy serves.
	Offers(ctx context.Context) ([]agent.Offer, error)
	// Client returns the client that pays for jobs of model, and the offer
	// it pays. An unknown model is an error with agent.CodeNoOffer.
	Client(ctx context.Context, model string) (Submitter, agent.Offer, error)
}

// PayerBackend pays through p: the offers that pass its filter, and its
// client for each model (finding or opening the channel on first use).
func PayerBackend(p *agent.Payer) Backend { return payerBackend{p} }

type payerBackend struct{ p *agent.Payer }

func (b payerBackend) Offers(ctx context.Context) ([]agent.Offer, error) { return b.p.Offers(ctx) }

func (b payerBackend) Client(ctx context.Context, model string) (Submitter, agent.Offer, error) {
	c, o, err := b.p.Client(ctx, model)
	if err != nil {
		return nil, o, err // not a nil *agent.Client in an interface
	}
	return c, o, nil
}

// ReceiptHeader carries the job's receipt: base64 (standard, padded) of
// the wire.Receipt's JSON.
const ReceiptHeader = "Paynode-Receipt"

// Headers beside the receipt, for people reading a response.
const (
	CostHeader    = "Paynode-Cost"    // the job's cost in base units
	ChannelHeader = "Paynode-Channel" // the channel it was paid from
	JobHeader     = "Paynode-Job"     // the job id
)

// Server is the proxy's http.Handler.
type Server struct {
	Backend Backend
	// MaxBodyBytes bounds a request body; default 4 MiB.
	MaxBodyBytes int64
	Logger       *slog.Logger
	// Now is the clock of `created`; default time.Now.
	Now func() time.Time

	once sync.Once
	mux  *http.ServeMux
}

// New returns a proxy paying through b.
func New(b Backend) *Server { return &Server{Backend: b} }

func (s *Server) init() {
	s.once.Do(func() {
		if s.MaxBodyBytes <= 0 {
			s.MaxBodyBytes = 4 << 20
		}
		if s.Logger == nil {
			s.Logger = slog.New(slog.DiscardHandler)
		}
		if s.Now == nil {
			s.Now = time.Now
		}
		s.mux = http.NewServeMux()
		s.mux.HandleFunc("GET /v1/models", s.models)
		s.mux.HandleFunc("POST /v1/chat/completions", s.chat)
		s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			writeError(w, &apiError{status: http.StatusNotFound, typ: "invalid_request_error", code: "not_found",
				message: fmt.Sprintf("%s %s: the proxy serves GET /v1/models and POST /v1/chat/completions", r.Method, r.URL.Path)})
		})
	})
}

// ServeHTTP serves the OpenAI-compatible API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.init()
	s.mux.ServeHTTP(w, r)
}

// Model is one entry of GET /v1/models, with the offer behind it.
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // "model"
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"` // the provider's address
	// Paynode is the cheapest offer for the model.
	Paynode ModelOffer `json:"paynode"`
}

// ModelOffer is an offer's price, in base units of its asset.
type ModelOffer struct {
	Offer     string `json:"offer"`
	Asset     string `json:"asset"` // the zero address for ETH
	Base      string `json:"base"`
	InPerM    string `json:"in_per_m"`
	OutPerM   string `json:"out_per_m"`
	MaxTokens uint64 `json:"max_tokens"`
	Endpoint  string `json:"endpoint"`
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	offers, err := s.Backend.Offers(r.Context())
	if err != nil {
		writeError(w, toAPIError(err))
		return
	}
	var list []Model
	seen := map[string]bool{}
	for _, o := range offers { // cheapest first: keep the first of each model
		if seen[o.Model] {
			continue
		}
		seen[o.Model] = true
		list = append(list, Model{
			ID: o.Model, Object: "model", Created: o.UpdatedAt.Unix(), OwnedBy: o.Provider.Hex(),
			Paynode: ModelOffer{Offer: o.ID.String(), Asset: o.Asset.Hex(), Base: o.Price.Base.String(),
				InPerM: o.Price.InPerM.String(), OutPerM: o.Price.OutPerM.String(), MaxTokens: o.MaxTokens, Endpoint: o.Endpoint},
		})
	}
	slices.SortFunc(list, func(a, b Model) int { return strings.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": orEmpty(list)})
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ChatRequest is the part of OpenAI's chat completion request the proxy
// reads; other fields are ignored.
type ChatRequest struct {
	Model               string        `json:"model"`
	Messages            []ChatMessage `json:"messages"`
	MaxTokens           *uint64       `json:"max_tokens,omitempty"`
	MaxCompletionTokens *uint64       `json:"max_completion_tokens,omitempty"`
	Temperature         *float64      `json:"temperature,omitempty"`
	Stream              bool          `json:"stream,omitempty"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options,omitempty"`
	N *int `json:"n,omitempty"`
}

// ChatMessage is a message whose content is a string or an array of
// parts, of which the text parts are taken.
type ChatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

func (m ChatMessage) text() (string, error) {
	if len(m.Content) == 0 || string(m.Content) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(m.Content, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(m.Content, &parts); err != nil {
		return "", fmt.Errorf("content is neither a string nor an array of parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			return "", fmt.Errorf("content part of type %q: only text is served", p.Type)
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

// Usage is OpenAI's usage object.
type Usage struct {
	PromptTokens     uint64 `json:"prompt_tokens"`
	CompletionTokens uint64 `json:"completion_tokens"`
	TotalTokens      uint64 `json:"total_tokens"`
}

func usageOf(u wire.Usage) *Usage {
	return &Usage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.InputTokens + u.OutputTokens}
}

// Completion is a chat.completion (and, with Delta set in its choices, a
// chat.completion.chunk).
type Completion struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []Choice `json:"choices"`
	Usage   *Usage   `json:"usage,omitempty"`
	// PaynodeReceipt is the provider's signed receipt for the job.
	PaynodeReceipt *wire.Receipt `json:"paynode_receipt,omitempty"`
	// PaynodeCost is the job's cost in base units of the offer's asset.
	PaynodeCost string `json:"paynode_cost,omitempty"`
}

// Choice is one choice: Message in a completion, Delta in a chunk.
type Choice struct {
	Index        int      `json:"index"`
	Message      *Message `json:"message,omitempty"`
	Delta        *Message `json:"delta,omitempty"`
	FinishReason *string  `json:"finish_reason"`
}

// Message is the assistant's message or a chunk's delta.
type Message struct {
	Role    string `json:"role,omitempty"`
	Content string `json:"content"`
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	var req ChatRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.MaxBodyBytes))
	if err := dec.Decode(&req); err != nil {
		writeError(w, badRequest("", "the body is not a chat completion request: %v", err))
		return
	}
	job, apiErr := jobOf(&req)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	client, offer, err := s.Backend.Client(r.Context(), req.Model)
	if err != nil {
		writeError(w, toAPIError(err))
		return
	}
	job.ID = agent.NewJobID()
	id := "chatcmpl-" + job.ID
	created := s.Now().Unix()
	if !req.Stream {
		res, err := client.Submit(r.Context(), job)
		if err != nil {
			s.Logger.Info("job refused or failed", "model", req.Model, "err", err)
			writeError(w, toAPIError(err))
			return
		}
		setReceiptHeaders(w.Header(), res)
		writeJSON(w, http.StatusOK, &Completion{
			ID: id, Object: "chat.completion", Created: created, Model: offer.Model,
			Choices:        []Choice{{Message: &Message{Role: "assistant", Content: res.Output}, FinishReason: finish(res, &job, &offer)}},
			Usage:          usageOf(res.Usage),
			PaynodeReceipt: &res.Receipt, PaynodeCost: res.Cost.String(),
		})
		return
	}
	st := &stream{w: w, id: id, created: created, model: offer.Model}
	job.OnChunk = st.delta
	res, err := client.Submit(r.Context(), job)
	if err != nil {
		s.Logger.Info("job refused or failed", "model", req.Model, "err", err)
		if !st.fail(toAPIError(err)) {
			writeError(w, toAPIError(err))
		}
		return
	}
	st.finish(res, finish(res, &job, &offer), req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
}

// jobOf turns an OpenAI request into a job.
func jobOf(req *ChatRequest) (agent.Job, *apiError) {
	var job agent.Job
	if req.Model == "" {
		return job, badRequest("model", "no model")
	}
	if len(req.Messages) == 0 {
		return job, badRequest("messages", "no messages")
	}
	if req.N != nil && *req.N != 1 {
		return job, badRequest("n", "only n=1 is served")
	}
	for i, m := range req.Messages {
		text, err := m.text()
		if err != nil {
			return job, badRequest(fmt.Sprintf("messages[%d].content", i), "%v", err)
		}
		switch m.Role {
		case "system", "developer", "user", "assistant":
		default:
			return job, badRequest(fmt.Sprintf("messages[%d].role", i), "role %q: want system, developer, user or assistant", m.Role)
		}
		job.Messages = append(job.Messages, wire.ChatMessage{Role: m.Role, Content: text})
	}
	switch {
	case req.MaxCompletionTokens != nil:
		job.MaxTokens = *req.MaxCompletionTokens
	case req.MaxTokens != nil:
		job.MaxTokens = *req.MaxTokens
	}
	if req.Temperature != nil && (*req.Temperature < 0 || *req.Temperature > 2) {
		return job, badRequest("temperature", "temperature %g is not in 0..2", *req.Temperature)
	}
	job.Temperature = req.Temperature
	return job, nil
}

// finish is the finish_reason: "length" when the output used every token
// the job allowed.
func finish(res *agent.Result, job *agent.Job, offer *agent.Offer) *string {
	limit := job.MaxTokens
	if limit == 0 {
		limit = offer.MaxTokens
	}
	reason := "stop"
	if res.Usage.OutputTokens >= limit {
		reason = "length"
	}
	return &reason
}

func setReceiptHeaders(h http.Header, res *agent.Result) {
	h.Set(ReceiptHeader, EncodeReceipt(&res.Receipt))
	h.Set(CostHeader, res.Cost.String())
	h.Set(ChannelHeader, res.Receipt.ChannelID.Hex())
	h.Set(JobHeader, res.ID)
}

// EncodeReceipt is the Paynode-Receipt header's value for r.
func EncodeReceipt(r *wire.Receipt) string {
	b, _ := json.Marshal(r)
	return base64.StdEncoding.EncodeToString(b)
}

// DecodeReceipt reads a Paynode-Receipt header's value.
func DecodeReceipt(s string) (*wire.Receipt, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("receipt header: %w", err)
	}
	var r wire.Receipt
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("receipt header: %w", err)
	}
	return &r, nil
}

// stream writes a chat.completion.chunk stream. Its headers go out with
// the first delta, so that a job refused before it produced anything is
// answered with a plain error status.
type stream struct {
	w              http.ResponseWriter
	id, model      string
	created        int64
	mu             sync.Mutex
	started, ended bool
}

func (st *stream) start() {
	if st.started {
		return
	}
	st.started = true
	h := st.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("Trailer", strings.Join([]string{ReceiptHeader, CostHeader, ChannelHeader, JobHeader}, ", "))
	st.w.WriteHeader(http.StatusOK)
	st.event(&Completion{Choices: []Choice{{Delta: &Message{Role: "assistant"}}}})
}

func (st *stream) event(c *Completion) {
	c.ID, c.Object, c.Created, c.Model = st.id, "chat.completion.chunk", st.created, st.model
	b, _ := json.Marshal(c)
	fmt.Fprintf(st.w, "data: %s\n\n", b)
	http.NewResponseController(st.w).Flush()
}

func (st *stream) delta(text string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ended {
		return
	}
	st.start()
	st.event(&Completion{Choices: []Choice{{Delta: &Message{Content: text}}}})
}

func (st *stream) finish(res *agent.Result, reason *string, includeUsage bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.start()
	st.ended = true
	last := &Completion{Choices: []Choice{{Delta: &Message{}, FinishReason: reason}}}
	if includeUsage {
		st.event(last)
		last = &Completion{Choices: []Choice{}, Usage: usageOf(res.Usage)}
	}
	last.PaynodeReceipt, last.PaynodeCost = &res.Receipt, res.Cost.String()
	st.event(last)
	fmt.Fprint(st.w, "data: [DONE]\n\n")
	setReceiptHeaders(st.w.Header(), res) // trailers
}

// fail reports err in the stream if it has started (OpenAI sends an error
// event); false if it had not, and the caller answers with a status.
func (st *stream) fail(e *apiError) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.ended = true
	if !st.started {
		return false
	}
	b, _ := json.Marshal(e.body())
	fmt.Fprintf(st.w, "data: %s\n\n", b)
	return true
}

// apiError is an error in OpenAI's shape, with its HTTP status.
type apiError struct {
	status     int
	typ, code  string
	param      string
	message    string
	retryAfter time.Duration
}

type errorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	} `json:"error"`
}

func (e *apiError) body() errorBody {
	var b errorBody
	b.Error.Message, b.Error.Type, b.Error.Code = e.message, e.typ, e.code
	if e.param != "" {
		b.Error.Param = &e.param
	}
	return b
}

func badRequest(param, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "invalid_request_error", code: "bad_request", param: param, message: fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.retryAfter.Seconds()))))
	}
	writeJSON(w, e.status, e.body())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// toAPIError maps an SDK error to a status and OpenAI error type; the
// code is the SDK's (or the node's) stable code.
func toAPIError(err error) *apiError {
	code := agent.CodeOf(err)
	e := &apiError{status: http.StatusBadGateway, typ: "api_error", code: string(code), message: err.Error()}
	if code == "" {
		e.code = "internal"
	}
	var we *wire.Error
	if errors.As(err, &we) {
		e.retryAfter = time.Duration(we.RetryAfterMS) * time.Millisecond
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		e.status, e.code = http.StatusGatewayTimeout, "timeout"
		return e
	}
	switch code {
	case agent.CodeBudgetPerJob, agent.CodeBudgetTotal, agent.CodeBudgetPerHour,
		agent.CodeProviderNotAllowed, agent.CodeAssetNotAllowed, agent.CodeChannelTooSmall,
		agent.Code(wire.CodeVoucherAboveDeposit), agent.Code(wire.CodeChannelClosing), agent.CodeChannelClosed:
		e.status, e.typ = http.StatusPaymentRequired, "insufficient_quota"
	case agent.CodeNoOffer, agent.Code(wire.CodeUnknownModel):
		e.status, e.typ = http.StatusNotFound, "invalid_request_error"
	case agent.CodeBadJob, agent.Code(wire.CodeBadRequest), agent.Code(wire.CodeBadField), agent.Code(wire.CodeFrameTooLarge):
		e.status, e.typ = http.StatusBadRequest, "invalid_request_error"
	case agent.Code(wire.CodeOverloaded), agent.Code(wire.CodeTooManyJobs), agent.CodeRetriesSpent:
		e.status, e.typ = http.StatusTooManyRequests, "rate_limit_error"
		if e.retryAfter <= 0 {
			e.retryAfter = time.Second
		}
	case agent.CodeUnreachable, agent.Code(wire.CodeShuttingDown), agent.Code(wire.CodeUnavailable),
		agent.Code(wire.CodeDepositUnconfirmed), agent.Code(wire.CodeTooManyConnections):
		e.status = http.StatusServiceUnavailable
		if e.retryAfter <= 0 {
			e.retryAfter = time.Second
		}
	case agent.Code(wire.CodeJobTimeout):
		e.status = http.StatusGatewayTimeout
	}
	return e
}
