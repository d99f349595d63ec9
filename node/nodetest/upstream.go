package nodetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/paynode/paynode/node/executor"
	"github.com/paynode/paynode/node/executor/builtin"
)

// Upstream is an OpenAI-compatible inference server on a loopback
// listener: POST /v1/chat/completions, streaming (server-sent events, with
// the usage chunk that stream_options.include_usage asks for) and not.
// Its answers are the builtin model's, so tests can predict them.
type Upstream struct {
	*httptest.Server
	// Requests counts the completions served.
	Requests atomic.Int64
	model    builtin.Model
}

// NewUpstream starts an upstream whose model pauses tokenDelay before
// each output token.
func NewUpstream(tokenDelay time.Duration) *Upstream {
	u := &Upstream{model: builtin.Model{TokenDelay: tokenDelay}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", u.complete)
	u.Server = httptest.NewServer(mux)
	return u
}

type upstreamRequest struct {
	Model         string             `json:"model"`
	Messages      []executor.Message `json:"messages"`
	MaxTokens     int                `json:"max_tokens"`
	Temperature   *float64           `json:"temperature"`
	Stream        bool               `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

type upstreamUsage struct {
	PromptTokens     uint64 `json:"prompt_tokens"`
	CompletionTokens uint64 `json:"completion_tokens"`
	TotalTokens      uint64 `json:"total_tokens"`
}

func (u *Upstream) complete(w http.ResponseWriter, r *http.Request) {
	var req upstreamRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
		return
	}
	u.Requests.Add(1)
	exec := executor.ChatRequest{Model: builtin.Name, Messages: req.Messages, MaxTokens: req.MaxTokens, Temperature: req.Temperature, Stream: req.Stream}
	if !req.Stream {
		res, err := u.model.Run(r.Context(), exec, nil)
		if err != nil {
			http.Error(w, fmt.Sprintf(`{"error":{"message":%q}}`, err.Error()), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-test", "object": "chat.completion", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": res.Output}, "finish_reason": res.FinishReason}},
			"usage":   usage(res.Usage),
		})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	flusher, _ := w.(http.Flusher)
	event := func(v any) error {
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	}
	chunk := func(delta, finish string) map[string]any {
		c := map[string]any{"index": 0, "delta": map[string]any{"content": delta}, "finish_reason": nil}
		if finish != "" {
			c["finish_reason"] = finish
		}
		return map[string]any{"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": req.Model, "choices": []any{c}}
	}
	res, err := u.model.Run(r.Context(), exec, func(delta string) error { return event(chunk(delta, "")) })
	if err != nil {
		return // the client went away; the stream just ends
	}
	event(chunk("", res.FinishReason))
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		event(map[string]any{"id": "chatcmpl-test", "object": "chat.completion.chunk", "choices": []any{}, "usage": usage(res.Usage)})
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}

func usage(u executor.Usage) upstreamUsage {
	return upstreamUsage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.InputTokens + u.OutputTokens}
}
