package proxy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/paynode/paynode/agent"
	"github.com/paynode/paynode/agent/proxy"
	"github.com/paynode/paynode/node/wire"
)

// echo pays nothing and answers with the job's last message.
type echo struct{}

func (echo) Offers(context.Context) ([]agent.Offer, error) { return nil, nil }
func (echo) Client(_ context.Context, model string) (proxy.Submitter, agent.Offer, error) {
	return echo{}, agent.Offer{Model: model, MaxTokens: 16}, nil
}
func (echo) Submit(_ context.Context, jb agent.Job) (*agent.Result, error) {
	out := jb.Messages[len(jb.Messages)-1].Content
	if jb.OnChunk != nil {
		jb.OnChunk(out)
	}
	return &agent.Result{ID: jb.ID, Output: out, Cost: wire.AmountOf(1).Big(), Usage: wire.Usage{InputTokens: 1, OutputTokens: 1}}, nil
}

// FuzzChatCompletions: any body gets a JSON answer (or an event stream)
// with a status, never a panic; a 400 is in OpenAI's error shape.
func FuzzChatCompletions(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]}`,
		`{"model":"m","messages":[{"role":"user","content":null}],"max_tokens":-1,"temperature":3}`,
		`{"model":"","messages":[]}`, `[]`, `{`, `{"n":2}`,
	} {
		f.Add(s)
	}
	srv := &proxy.Server{Backend: echo{}}
	f.Fuzz(func(t *testing.T, body string) {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body)))
		if w.Code == http.StatusOK {
			return
		}
		var e struct {
			Error struct {
				Message string `json:"message"`
				Code    string `json:"code"`
			} `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Message == "" || e.Error.Code == "" {
			t.Fatalf("status %d, body %q: not an OpenAI error (%v)", w.Code, w.Body.String(), err)
		}
	})
}

// FuzzDecodeReceipt: the receipt header decoder never panics, and what it
// reads encodes back to the same receipt.
func FuzzDecodeReceipt(f *testing.F) {
	f.Add(proxy.EncodeReceipt(&wire.Receipt{Cost: wire.AmountOf(5), CumulativeCharged: wire.AmountOf(9), Seq: 2}))
	f.Add("not base64")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := proxy.DecodeReceipt(s)
		if err != nil {
			return
		}
		again, err := proxy.DecodeReceipt(proxy.EncodeReceipt(r))
		if err != nil || proxy.EncodeReceipt(again) != proxy.EncodeReceipt(r) {
			t.Fatalf("receipt %+v does not survive encoding: %v", r, err)
		}
	})
}
