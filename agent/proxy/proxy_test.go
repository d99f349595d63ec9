package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/agent"
	"github.com/paynode/paynode/agent/proxy"
	"github.com/paynode/paynode/internal/devstack"
	"github.com/paynode/paynode/node/config"
	"github.com/paynode/paynode/node/executor/builtin"
	"github.com/paynode/paynode/node/wire"
)

type env struct {
	stack *devstack.Stack
	payer *agent.Payer
	url   string
}

// newEnv runs the real node on the embedded chain and the proxy in front
// of the SDK, paying from the dev agent account with a hot signer key; it
// opens a 0.001 ETH channel on the first request.
func newEnv(t *testing.T, budget *agent.Budget) *env {
	t.Helper()
	stack, err := devstack.Start(t.Context(), devstack.Options{NoSync: true, Configure: func(c *config.Config) {
		c.Settlement.Interval = config.Duration{Duration: time.Hour}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stack.Close(context.Background()) })
	channels := agent.NewChannels(stack.Chain.Client(), stack.Deployment, stack.AgentKey)
	channels.PollInterval = 10 * time.Millisecond
	signer, _ := crypto.GenerateKey()
	store, err := agent.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	deposit, _ := agent.ETH.Parse("0.001ETH")
	p := &agent.Payer{
		Discovery: agent.NewDiscovery(stack.Chain.Client(), stack.Deployment), Channels: channels, Signer: signer,
		Store: store, Budget: budget,
		Deposit: func(*agent.Offer) (*big.Int, error) { return deposit, nil },
	}
	t.Cleanup(func() { p.Close() })
	srv := httptest.NewServer(&proxy.Server{Backend: proxy.PayerBackend(p)})
	t.Cleanup(srv.Close)
	return &env{stack: stack, payer: p, url: srv.URL + "/v1"}
}

func (e *env) post(t *testing.T, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", e.url+"/chat/completions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sk-anything")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// charged is the node ledger's charge of every channel.
func (e *env) charged(t *testing.T) (*big.Int, uint64) {
	t.Helper()
	states, err := e.stack.Node.Ledger().Channels(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sum, n := new(big.Int), uint64(0)
	for _, s := range states {
		sum.Add(sum, s.Charged)
		n += s.ReceiptSeq
	}
	return sum, n
}

// completion is what an OpenAI client reads of a response, plus the
// extra field.
type completion struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"message"`
		Delta struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     uint64 `json:"prompt_tokens"`
		CompletionTokens uint64 `json:"completion_tokens"`
		TotalTokens      uint64 `json:"total_tokens"`
	} `json:"usage"`
	PaynodeReceipt *wire.Receipt `json:"paynode_receipt"`
	Error          *struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    string `json:"code"`
	} `json:"error"`
}

// TestProxy drives the proxy as an OpenAI client does — models, a chat
// completion, a streamed one with usage — against the real node, and
// checks that usage and receipts come back and that the node charged
// exactly what the receipts say.
func TestProxy(t *testing.T) {
	e := newEnv(t, nil)
	provider := e.stack.Node.Provider()
	domain := e.stack.Deployment.Domain()

	// GET /v1/models: the offers on chain.
	resp, err := http.Get(e.url + "/models")
	if err != nil {
		t.Fatal(err)
	}
	var models struct {
		Object string `json:"object"`
		Data   []struct {
			ID      string `json:"id"`
			Object  string `json:"object"`
			OwnedBy string `json:"owned_by"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&models); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if models.Object != "list" || len(models.Data) != 1 || models.Data[0].ID != builtin.Name || models.Data[0].OwnedBy != provider.Hex() {
		t.Fatalf("models %+v", models)
	}

	// Not streamed.
	resp = e.post(t, `{"model":"paynode-test-1","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Name three primes."}],"max_tokens":20}`)
	var c completion
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || c.Object != "chat.completion" || len(c.Choices) != 1 || c.Choices[0].Message.Content == "" || c.Choices[0].Message.Role != "assistant" {
		t.Fatalf("status %d, completion %+v", resp.StatusCode, c)
	}
	if c.Usage == nil || c.Usage.CompletionTokens == 0 || c.Usage.TotalTokens != c.Usage.PromptTokens+c.Usage.CompletionTokens {
		t.Fatalf("usage %+v", c.Usage)
	}
	r1 := c.PaynodeReceipt
	if r1 == nil || r1.Verify(domain, provider) != nil || r1.ResultHash != wire.ResultHash(c.Choices[0].Message.Content) ||
		r1.OutputTokens != c.Usage.CompletionTokens || r1.InputTokens != c.Usage.PromptTokens {
		t.Fatalf("receipt %+v does not verify or match the completion", r1)
	}
	hdr, err := proxy.DecodeReceipt(resp.Header.Get(proxy.ReceiptHeader))
	if err != nil || !bytes.Equal(hdr.Signature, r1.Signature) || resp.Header.Get(proxy.CostHeader) != r1.Cost.String() {
		t.Fatalf("receipt header %+v (%v); cost header %q", hdr, err, resp.Header.Get(proxy.CostHeader))
	}

	// Streamed, with the usage chunk.
	resp = e.post(t, `{"model":"paynode-test-1","messages":[{"role":"user","content":[{"type":"text","text":"Tell a story."}]}],"max_completion_tokens":40,"stream":true,"stream_options":{"include_usage":true}}`)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var text strings.Builder
	var last completion
	var chunks int
	sawDone := false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			sawDone = true
			break
		}
		var ch completion
		if err := json.Unmarshal([]byte(data), &ch); err != nil {
			t.Fatalf("chunk %q: %v", data, err)
		}
		if ch.Object != "chat.completion.chunk" || ch.Error != nil {
			t.Fatalf("chunk %s", data)
		}
		if len(ch.Choices) > 0 {
			text.WriteString(ch.Choices[0].Delta.Content)
		}
		chunks++
		last = ch
	}
	resp.Body.Close()
	if !sawDone || chunks < 3 {
		t.Fatalf("%d chunks, [DONE] %v", chunks, sawDone)
	}
	if last.Usage == nil || len(last.Choices) != 0 || last.PaynodeReceipt == nil {
		t.Fatalf("the last chunk has usage %+v, %d choices, receipt %v", last.Usage, len(last.Choices), last.PaynodeReceipt)
	}
	r2 := last.PaynodeReceipt
	if r2.Verify(domain, provider) != nil || r2.ResultHash != wire.ResultHash(text.String()) || r2.OutputTokens != last.Usage.CompletionTokens {
		t.Fatalf("stream receipt %+v does not verify or match the streamed text %q", r2, text.String())
	}
	if tr, err := proxy.DecodeReceipt(resp.Trailer.Get(proxy.ReceiptHeader)); err != nil || tr.Seq != r2.Seq {
		t.Fatalf("receipt trailer: %v, %v", tr, err)
	}

	// The node charged exactly what the two receipts say.
	charged, receipts := e.charged(t)
	want := new(big.Int).Add(r1.Cost.Big(), r2.Cost.Big())
	if receipts != 2 || charged.Cmp(want) != 0 || r2.CumulativeCharged.Big().Cmp(want) != 0 {
		t.Fatalf("the node charged %s in %d receipts; the responses' receipts add up to %s", charged, receipts, want)
	}
}

// TestProxyErrors: errors come in OpenAI's shape with a status a client
// acts on, and nothing is charged for them.
func TestProxyErrors(t *testing.T) {
	budget := &agent.Budget{Limits: map[common.Address]agent.Limits{{}: {PerJob: big.NewInt(5000)}}}
	e := newEnv(t, budget)
	for _, tc := range []struct {
		name, body string
		status     int
		code, says string
	}{
		{"unknown model", `{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}`, 404, "no_offer", `"gpt-9"`},
		{"no messages", `{"model":"paynode-test-1","messages":[]}`, 400, "bad_request", "no messages"},
		{"bad role", `{"model":"paynode-test-1","messages":[{"role":"robot","content":"hi"}]}`, 400, "bad_request", "robot"},
		{"not json", `{"model":`, 400, "bad_request", "not a chat completion request"},
		{"max_tokens above the offer's", `{"model":"paynode-test-1","messages":[{"role":"user","content":"hi"}],"max_tokens":100000}`, 400, "bad_job", "above the offer's"},
		{"budget exceeded", `{"model":"paynode-test-1","messages":[{"role":"user","content":"hi"}],"max_tokens":1000}`, 402, "budget_per_job", "per-job limit 5000"},
		{"budget exceeded, streamed", `{"model":"paynode-test-1","messages":[{"role":"user","content":"hi"}],"max_tokens":1000,"stream":true}`, 402, "budget_per_job", "per-job limit 5000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.post(t, tc.body)
			var c completion
			if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || c.Error == nil || c.Error.Code != tc.code || !strings.Contains(c.Error.Message, tc.says) || c.Error.Type == "" {
				t.Fatalf("status %d, error %+v; want %d, %s naming %q", resp.StatusCode, c.Error, tc.status, tc.code, tc.says)
			}
		})
	}
	if charged, n := e.charged(t); charged.Sign() != 0 || n != 0 {
		t.Fatalf("the node charged %s in %d receipts for refused requests", charged, n)
	}
	// Within budget, it pays.
	resp := e.post(t, `{"model":"paynode-test-1","messages":[{"role":"user","content":"hi"}],"max_tokens":10}`)
	if resp.StatusCode != 200 {
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b.String())
	}
}

// TestErrorStatus maps the SDK's errors to statuses; busy providers come
// with Retry-After.
func TestErrorStatus(t *testing.T) {
	backendErr := func(err error) proxy.Backend { return failing{err} }
	for _, tc := range []struct {
		err        error
		status     int
		retryAfter string
	}{
		{&agent.Error{Op: "submit", Code: agent.Code(wire.CodeOverloaded), Err: &wire.Error{Code: wire.CodeOverloaded, RetryAfterMS: 2500}}, 429, "3"},
		{&agent.Error{Op: "connect", Code: agent.CodeUnreachable, Message: "ws://x: refused"}, 503, "1"},
		{&agent.Error{Op: "submit", Code: agent.Code(wire.CodeShuttingDown), Err: &wire.Error{Code: wire.CodeShuttingDown}}, 503, "1"},
		{&agent.Error{Op: "budget", Code: agent.CodeBudgetTotal}, 402, ""},
		{&agent.Error{Op: "channel", Code: agent.CodeChannelTooSmall}, 402, ""},
		{&agent.Error{Op: "submit", Code: agent.CodeBadReceipt}, 502, ""},
	} {
		srv := httptest.NewServer(&proxy.Server{Backend: backendErr(tc.err)})
		resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		srv.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Retry-After") != tc.retryAfter {
			t.Errorf("%v: status %d, Retry-After %q; want %d, %q", tc.err, resp.StatusCode, resp.Header.Get("Retry-After"), tc.status, tc.retryAfter)
		}
	}
}

type failing struct{ err error }

func (f failing) Offers(context.Context) ([]agent.Offer, error) { return nil, f.err }
func (f failing) Client(context.Context, string) (proxy.Submitter, agent.Offer, error) {
	return f, agent.Offer{Model: "m", MaxTokens: 10}, nil
}
func (f failing) Submit(context.Context, agent.Job) (*agent.Result, error) { return nil, f.err }
