package wire

import (
	"fmt"
	"math"
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common"
)

// Message types, the "type" of each frame.
const (
	// agent → node (/v1/agent)
	TypeHello  = "hello"
	TypeSubmit = "submit"
	TypeCancel = "cancel" // also node → worker
	TypeSync   = "sync"
	TypePing   = "ping" // also worker → node
	// node → agent (/v1/agent)
	TypeChallenge = "challenge"
	TypeReady     = "ready"
	TypeAccepted  = "accepted"
	TypeChunk     = "chunk" // also worker → node
	TypeResult    = "result"
	TypeError     = "error" // also node → worker
	TypeChannel   = "channel"
	TypePong      = "pong" // also node → worker
	// worker → node (/v1/worker)
	TypeRegister = "register"
	TypeModels   = "models"
	TypeDone     = "done"
	TypeFail     = "fail"
	// node → worker (/v1/worker)
	TypeRegistered = "registered"
	TypeAssign     = "assign"
)

// Bounds every decoder holds, whatever its configuration.
const (
	MaxJobIDLen     = 128 // bytes of a job id; equal to node/ledger.MaxJobIDLen
	MaxModelLen     = 256 // bytes of a model name
	MaxWorkerModels = 64  // models one worker may announce
	MaxNonceLen     = 64  // bytes of a ping's nonce
	MaxNameLen      = 128 // bytes of a worker's name
	MaxTemperature  = 2.0 // as OpenAI's chat API
)

// Message is one frame's message. The set is closed: the types of this
// package are all there are.
type Message interface {
	// Type is the frame's "type".
	Type() string
	// validate checks what the JSON types cannot say: required fields,
	// lengths, ranges, agreement between fields.
	validate(l *limits) *Error
}

// JobMessage is a message about one job; JobID is the agent's job id on
// the agent connection and the node's job id on the worker connection.
type JobMessage interface {
	Message
	JobID() string
}

// limits are a decoder's configurable bounds; zero means unbounded (Encode
// checks shape, not a peer's limits).
type limits struct {
	maxMessages int
}

// ---- agent → node ----

// Hello answers the node's Challenge: the agent's signer address and its
// EIP-712 signature of Auth{provider, nonce} (see auth.go).
type Hello struct {
	Signer    common.Address `json:"signer"`
	Signature Signature      `json:"signature"`
}

// Submit asks for one paid job.
type Submit struct {
	// ID is the agent's job id, 1..128 bytes, unique per channel: the
	// idempotency key. A resubmitted id never runs or charges twice.
	ID string `json:"id"`
	// Model names the offer's model; Offer its id on OfferRegistry. At
	// least one is required; when both are given they must agree.
	Model string  `json:"model,omitempty"`
	Offer *Amount `json:"offer,omitempty"`
	// ChannelID is the payment channel the job is paid from; its signer
	// must be the connection's signer.
	ChannelID common.Hash `json:"channel_id"`
	Request   ChatRequest `json:"request"`
	Voucher   Voucher     `json:"voucher"`
}

// ChatRequest is the part of an OpenAI chat completion request the node
// takes. Fields it does not take are refused (bad_field), never ignored.
type ChatRequest struct {
	Messages []ChatMessage `json:"messages"`
	// MaxTokens bounds the output; 0 or absent means the offer's
	// max_tokens. Above the offer's: bad_request.
	MaxTokens uint64 `json:"max_tokens,omitempty"`
	// Temperature is 0..2; absent means the backend's default.
	Temperature *float64 `json:"temperature,omitempty"`
	// Stream asks for `chunk` messages as the output is produced. The
	// `result` carries the whole output either way.
	Stream bool `json:"stream,omitempty"`
}

// Overheads of InputTokenBound, in tokens: the chat template's tokens
// around each message and before the reply.
const (
	TokensPerMessage = 8
	TokensPerRequest = 8
)

// InputTokenBound is the input token count a job is priced at before it
// runs: TokensPerRequest + Σ (TokensPerMessage + bytes of role + bytes of
// content), UTF-8 bytes. Byte-level tokenizers never make more tokens than
// bytes, so this bounds the true count from above; an agent computes it to
// know the max cost, and so the voucher, before it submits. The node never
// prices a job above it (it may count lower with the model's own
// tokenizer); `accepted` says the count it used.
func (r *ChatRequest) InputTokenBound() uint64 {
	n := uint64(TokensPerRequest)
	for _, m := range r.Messages {
		n += TokensPerMessage + uint64(len(m.Role)) + uint64(len(m.Content))
	}
	return n
}

// ChatMessage is one turn of the conversation. Content is text only.
type ChatMessage struct {
	Role    string `json:"role"` // system, developer, user or assistant
	Content string `json:"content"`
}

// Voucher pays for the job: the channel signer's EIP-712 signature of
// Voucher(channelId = Submit.ChannelID, cumulativeAmount = Amount).
type Voucher struct {
	Amount    *Amount   `json:"amount"`
	Signature Signature `json:"signature"`
	// ChainID and Contract, when given, must name the node's deployment;
	// they let the node answer wrong_domain instead of wrong_signer.
	ChainID  uint64          `json:"chain_id,omitempty"`
	Contract *common.Address `json:"contract,omitempty"`
}

// Cancel stops a job: the agent's job on the agent connection, the node's
// job on the worker connection.
type Cancel struct {
	ID string `json:"id"`
}

// Sync asks for a channel's state; the node answers with Channel.
type Sync struct {
	ChannelID common.Hash `json:"channel_id"`
}

// Ping asks for a Pong carrying the same nonce: a liveness check that a
// client without access to websocket pings (a browser) can make.
type Ping struct {
	Nonce string `json:"nonce,omitempty"`
}

// ---- node → agent ----

// Challenge is the node's first frame on /v1/agent.
type Challenge struct {
	// Nonce is 32 fresh random bytes, used for this connection only.
	Nonce common.Hash `json:"nonce"`
	// Provider is the node's provider address: the key that signs
	// receipts, the provider of its offers and channels.
	Provider common.Address `json:"provider"`
	// ChainID and Contract (PaymentChannels) name the deployment, and
	// with it the EIP-712 domain of vouchers, receipts and the hello.
	ChainID  uint64         `json:"chain_id"`
	Contract common.Address `json:"contract"`
	Limits   Limits         `json:"limits"`
}

// Limits are the node's bounds on an agent connection; past each one the
// node answers with an error code.
type Limits struct {
	MaxFrameBytes           uint64 `json:"max_frame_bytes"`            // frame_too_large
	MaxMessages             uint64 `json:"max_messages"`               // bad_field request.messages
	MaxJobsInFlight         uint64 `json:"max_jobs_in_flight"`         // too_many_jobs
	MaxConnectionsPerSigner uint64 `json:"max_connections_per_signer"` // too_many_connections
	AuthTimeoutMS           uint64 `json:"auth_timeout_ms"`            // auth_failed
	JobTimeoutMS            uint64 `json:"job_timeout_ms"`             // job_timeout
}

// Ready tells the agent its hello was accepted: jobs may follow.
type Ready struct {
	Signer common.Address `json:"signer"`
}

// Accepted tells the agent its job is paid for and will run: MaxCost is
// reserved on its channel until the job ends.
type Accepted struct {
	ID      string  `json:"id"`
	MaxCost *Amount `json:"max_cost"`
	// InputTokens is the node's count of the request's input tokens and
	// MaxTokens the output bound it priced; MaxCost is the offer's price
	// for the two.
	InputTokens uint64 `json:"input_tokens"`
	MaxTokens   uint64 `json:"max_tokens"`
}

// Chunk is a piece of a job's output, in order: Seq is 1, 2, 3… per job.
// The node sends chunks to the agent only when the request asked to
// stream; workers always send them to the node.
type Chunk struct {
	ID    string `json:"id"`
	Seq   uint64 `json:"seq"`
	Delta string `json:"delta"`
}

// Usage is what a job consumed.
type Usage struct {
	InputTokens  uint64 `json:"input_tokens"`
	OutputTokens uint64 `json:"output_tokens"`
}

// Result ends a job that succeeded: the whole output, what it cost and the
// provider's signed receipt. Usage and Cost repeat the receipt's fields
// for convenience and must equal them.
type Result struct {
	ID      string  `json:"id"`
	Output  string  `json:"output"`
	Usage   Usage   `json:"usage"`
	Cost    *Amount `json:"cost"`
	Receipt Receipt `json:"receipt"`
	// Replayed marks the earlier result of a job id submitted again.
	Replayed bool `json:"replayed,omitempty"`
	// OutputDropped marks a replayed result whose output the node no
	// longer holds: Output is empty and only the receipt remains.
	OutputDropped bool `json:"output_dropped,omitempty"`
}

// Receipt is the provider's EIP-712 Receipt (contracts.ReceiptType) with
// its sequence number in the channel and its signature. The JSON names
// are the EIP-712 field names in snake case.
type Receipt struct {
	ChannelID         common.Hash `json:"channel_id"`
	JobID             common.Hash `json:"job_id"` // JobKey(the agent's job id)
	Cost              *Amount     `json:"cost"`
	CumulativeCharged *Amount     `json:"cumulative_charged"`
	InputTokens       uint64      `json:"input_tokens"`
	OutputTokens      uint64      `json:"output_tokens"`
	ResultHash        common.Hash `json:"result_hash"` // ResultHash(output)
	Seq               uint64      `json:"seq"`         // 1, 2, 3… per channel
	Signature         Signature   `json:"signature"`
}

// Channel is a channel's state as the node's ledger holds it, so that a
// client that lost track can resync. Amounts are base units.
type Channel struct {
	ChannelID common.Hash `json:"channel_id"`
	Deposit   *Amount     `json:"deposit"`  // on chain, confirmed
	Charged   *Amount     `json:"charged"`  // Σ cost of the charged jobs
	Reserved  *Amount     `json:"reserved"` // Σ max cost of the jobs in flight
	Claimed   *Amount     `json:"claimed"`  // settled on chain
	Voucher   *Amount     `json:"voucher"`  // the highest voucher the node holds
	// ReceiptSeq is the last receipt's Seq (0: none yet).
	ReceiptSeq uint64 `json:"receipt_seq"`
	// Closing: withdrawal was requested; the channel takes no more jobs.
	Closing bool `json:"closing,omitempty"`
}

// Pong answers a Ping with its nonce.
type Pong struct {
	Nonce string `json:"nonce,omitempty"`
}

// ---- worker → node ----

// Register is a worker's first frame on /v1/worker (the connection itself
// was authenticated by the worker token in its upgrade request).
type Register struct {
	Name string `json:"name"`
	// Capacity is how many jobs the worker runs at once, over all models.
	Capacity uint64   `json:"capacity"`
	Models   []string `json:"models"`
}

// Models replaces a registered worker's models and capacity. Capacity 0
// drains the worker: it finishes its jobs and gets no new ones.
type Models struct {
	Capacity uint64   `json:"capacity"`
	Models   []string `json:"models,omitempty"`
}

// Done ends an assigned job that succeeded; its output is the chunks sent
// before it.
type Done struct {
	ID    string `json:"id"`
	Usage Usage  `json:"usage"`
}

// Fail ends an assigned job that failed. Code is usually upstream_error,
// worker_failed, unknown_model, overloaded, job_timeout or cancelled.
type Fail struct {
	ID      string `json:"id"`
	Code    Code   `json:"code"`
	Message string `json:"message"`
	// Retryable, when set, is whether the same request may succeed if
	// run again, which the worker knows better than the code: a backend
	// that refused the request (a 4xx) refuses it again. When absent, the
	// code's default holds.
	Retryable *bool `json:"retryable,omitempty"`
}

// ---- node → worker ----

// Registered accepts a worker's Register.
type Registered struct {
	MaxFrameBytes uint64 `json:"max_frame_bytes"`
}

// Assign gives a worker a job. ID is the node's job id (agents' ids are
// unique per channel only); Request.MaxTokens is always set.
type Assign struct {
	ID        string      `json:"id"`
	Model     string      `json:"model"`
	Request   ChatRequest `json:"request"`
	TimeoutMS uint64      `json:"timeout_ms,omitempty"`
}

func (*Hello) Type() string      { return TypeHello }
func (*Submit) Type() string     { return TypeSubmit }
func (*Cancel) Type() string     { return TypeCancel }
func (*Sync) Type() string       { return TypeSync }
func (*Ping) Type() string       { return TypePing }
func (*Challenge) Type() string  { return TypeChallenge }
func (*Ready) Type() string      { return TypeReady }
func (*Accepted) Type() string   { return TypeAccepted }
func (*Chunk) Type() string      { return TypeChunk }
func (*Result) Type() string     { return TypeResult }
func (*Channel) Type() string    { return TypeChannel }
func (*Pong) Type() string       { return TypePong }
func (*Register) Type() string   { return TypeRegister }
func (*Models) Type() string     { return TypeModels }
func (*Done) Type() string       { return TypeDone }
func (*Fail) Type() string       { return TypeFail }
func (*Registered) Type() string { return TypeRegistered }
func (*Assign) Type() string     { return TypeAssign }

func (m *Submit) JobID() string   { return m.ID }
func (m *Cancel) JobID() string   { return m.ID }
func (m *Accepted) JobID() string { return m.ID }
func (m *Chunk) JobID() string    { return m.ID }
func (m *Result) JobID() string   { return m.ID }
func (m *Done) JobID() string     { return m.ID }
func (m *Fail) JobID() string     { return m.ID }
func (m *Assign) JobID() string   { return m.ID }

// ---- validation ----

func checkID(field, id string) *Error {
	if len(id) == 0 {
		return badField(field, "missing")
	}
	if len(id) > MaxJobIDLen {
		return badField(field, "%d bytes, the limit is %d", len(id), MaxJobIDLen)
	}
	return nil
}

func checkModel(field, m string) *Error {
	if m == "" {
		return badField(field, "missing")
	}
	if len(m) > MaxModelLen {
		return badField(field, "%d bytes, the limit is %d", len(m), MaxModelLen)
	}
	return nil
}

func checkAmount(field string, a *Amount) *Error {
	if a == nil {
		return badField(field, "missing")
	}
	if !a.valid() {
		return badField(field, "outside 0..2^256-1")
	}
	return nil
}

func checkSig(field string, s Signature) *Error {
	if len(s) == 0 {
		return badField(field, "missing")
	}
	if len(s) != SignatureLen {
		return badField(field, "%d bytes, want %d", len(s), SignatureLen)
	}
	return nil
}

func checkHash(field string, h common.Hash) *Error {
	if h == (common.Hash{}) {
		return badField(field, "missing (or all zero)")
	}
	return nil
}

func checkAddress(field string, a common.Address) *Error {
	if a == (common.Address{}) {
		return badField(field, "missing (or the zero address)")
	}
	return nil
}

func checkPositive(field string, n uint64) *Error {
	if n == 0 {
		return badField(field, "missing (or 0)")
	}
	return nil
}

// checkText: JSON carries only valid UTF-8 (encoding/json replaces the
// rest), so a sender must not hash one string and send another.
func checkText(field, s string) *Error {
	if !utf8.ValidString(s) {
		return badField(field, "not valid UTF-8")
	}
	return nil
}

func checkNonce(field, n string) *Error {
	if len(n) > MaxNonceLen {
		return badField(field, "%d bytes, the limit is %d", len(n), MaxNonceLen)
	}
	return nil
}

func firstErr(errs ...*Error) *Error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (m *Hello) validate(*limits) *Error {
	return firstErr(checkAddress("signer", m.Signer), checkSig("signature", m.Signature))
}

func (m *Submit) validate(l *limits) *Error {
	if e := checkID("id", m.ID); e != nil {
		return e
	}
	if m.Model == "" && m.Offer == nil {
		return badField("model", "missing: give the model, the offer id, or both")
	}
	if m.Model != "" {
		if e := checkModel("model", m.Model); e != nil {
			return e
		}
	}
	if m.Offer != nil {
		if e := checkAmount("offer", m.Offer); e != nil {
			return e
		}
		if (*big.Int)(m.Offer).Sign() == 0 {
			return badField("offer", "offer ids start at 1")
		}
	}
	return firstErr(
		checkHash("channel_id", m.ChannelID),
		m.Request.check("request", l),
		m.Voucher.check("voucher"),
	)
}

func (r *ChatRequest) check(field string, l *limits) *Error {
	n := len(r.Messages)
	if n == 0 {
		return badField(field+".messages", "missing: at least one message")
	}
	if l != nil && l.maxMessages > 0 && n > l.maxMessages {
		return badField(field+".messages", "%d messages, the limit is %d", n, l.maxMessages)
	}
	for i := range r.Messages {
		msg := &r.Messages[i]
		switch msg.Role {
		case "system", "developer", "user", "assistant":
		case "":
			return badField(fmt.Sprintf("%s.messages[%d].role", field, i), "missing")
		default:
			return badField(fmt.Sprintf("%s.messages[%d].role", field, i), "%q: want system, developer, user or assistant", truncate(msg.Role))
		}
		if !utf8.ValidString(msg.Content) { // the field's name is made only when it is needed
			return checkText(fmt.Sprintf("%s.messages[%d].content", field, i), msg.Content)
		}
	}
	if t := r.Temperature; t != nil && (math.IsNaN(*t) || *t < 0 || *t > MaxTemperature) {
		return badField(field+".temperature", "%v: want 0 to %v", *t, MaxTemperature)
	}
	return nil
}

func (v *Voucher) check(field string) *Error {
	// The fields' names are made only when one is wrong.
	switch {
	case v.Amount == nil || !v.Amount.valid():
		return checkAmount(field+".amount", v.Amount)
	case len(v.Signature) != SignatureLen:
		return checkSig(field+".signature", v.Signature)
	case v.Contract != nil && *v.Contract == (common.Address{}):
		return checkAddress(field+".contract", *v.Contract)
	}
	return nil
}

func (m *Cancel) validate(*limits) *Error { return checkID("id", m.ID) }
func (m *Sync) validate(*limits) *Error   { return checkHash("channel_id", m.ChannelID) }
func (m *Ping) validate(*limits) *Error   { return checkNonce("nonce", m.Nonce) }
func (m *Pong) validate(*limits) *Error   { return checkNonce("nonce", m.Nonce) }

func (m *Challenge) validate(*limits) *Error {
	l := &m.Limits
	return firstErr(
		checkHash("nonce", m.Nonce),
		checkAddress("provider", m.Provider),
		checkPositive("chain_id", m.ChainID),
		checkAddress("contract", m.Contract),
		checkPositive("limits.max_frame_bytes", l.MaxFrameBytes),
		checkPositive("limits.max_messages", l.MaxMessages),
		checkPositive("limits.max_jobs_in_flight", l.MaxJobsInFlight),
		checkPositive("limits.max_connections_per_signer", l.MaxConnectionsPerSigner),
		checkPositive("limits.auth_timeout_ms", l.AuthTimeoutMS),
		checkPositive("limits.job_timeout_ms", l.JobTimeoutMS),
	)
}

func (m *Ready) validate(*limits) *Error { return checkAddress("signer", m.Signer) }

func (m *Accepted) validate(*limits) *Error {
	return firstErr(checkID("id", m.ID), checkAmount("max_cost", m.MaxCost))
}

func (m *Chunk) validate(*limits) *Error {
	return firstErr(checkID("id", m.ID), checkPositive("seq", m.Seq), checkText("delta", m.Delta))
}

func (m *Result) validate(*limits) *Error {
	if e := firstErr(checkID("id", m.ID), checkText("output", m.Output), checkAmount("cost", m.Cost)); e != nil {
		return e
	}
	if m.OutputDropped && (m.Output != "" || !m.Replayed) {
		return badField("output_dropped", "only a replayed result with an empty output may have dropped it")
	}
	r := &m.Receipt
	if e := firstErr(
		checkHash("receipt.channel_id", r.ChannelID),
		checkHash("receipt.job_id", r.JobID),
		checkAmount("receipt.cost", r.Cost),
		checkAmount("receipt.cumulative_charged", r.CumulativeCharged),
		checkPositive("receipt.seq", r.Seq),
		checkSig("receipt.signature", r.Signature),
	); e != nil {
		return e
	}
	switch {
	case m.Cost.Cmp(r.Cost) != 0:
		return badField("cost", "%s differs from the receipt's cost %s", m.Cost, r.Cost)
	case m.Usage.InputTokens != r.InputTokens || m.Usage.OutputTokens != r.OutputTokens:
		return badField("usage", "differs from the receipt's token counts")
	case r.Cost.Cmp(r.CumulativeCharged) > 0:
		return badField("receipt.cumulative_charged", "below the receipt's own cost")
	}
	return nil
}

func (m *Error) validate(*limits) *Error {
	if m.ID != "" {
		if e := checkID("id", m.ID); e != nil {
			return e
		}
	}
	if !validCode(m.Code) {
		return badField("code", "want 1 to %d bytes of a-z, 0-9 and _", maxCodeLen)
	}
	return nil
}

func (m *Channel) validate(*limits) *Error {
	return firstErr(
		checkHash("channel_id", m.ChannelID),
		checkAmount("deposit", m.Deposit),
		checkAmount("charged", m.Charged),
		checkAmount("reserved", m.Reserved),
		checkAmount("claimed", m.Claimed),
		checkAmount("voucher", m.Voucher),
	)
}

func checkModels(field string, models []string, required bool) *Error {
	if required && len(models) == 0 {
		return badField(field, "missing: at least one model")
	}
	if len(models) > MaxWorkerModels {
		return badField(field, "%d models, the limit is %d", len(models), MaxWorkerModels)
	}
	for i, m := range models {
		f := fmt.Sprintf("%s[%d]", field, i)
		if e := checkModel(f, m); e != nil {
			return e
		}
		for _, prev := range models[:i] {
			if prev == m {
				return badField(f, "%q is listed twice", truncate(m))
			}
		}
	}
	return nil
}

func (m *Register) validate(*limits) *Error {
	if m.Name == "" {
		return badField("name", "missing")
	}
	if len(m.Name) > MaxNameLen {
		return badField("name", "%d bytes, the limit is %d", len(m.Name), MaxNameLen)
	}
	return firstErr(checkPositive("capacity", m.Capacity), checkModels("models", m.Models, true))
}

func (m *Models) validate(*limits) *Error { return checkModels("models", m.Models, false) }

func (m *Done) validate(*limits) *Error { return checkID("id", m.ID) }

func (m *Fail) validate(*limits) *Error {
	if e := checkID("id", m.ID); e != nil {
		return e
	}
	if !validCode(m.Code) {
		return badField("code", "want 1 to %d bytes of a-z, 0-9 and _", maxCodeLen)
	}
	return nil
}

func (m *Registered) validate(*limits) *Error {
	return checkPositive("max_frame_bytes", m.MaxFrameBytes)
}

func (m *Assign) validate(l *limits) *Error {
	return firstErr(
		checkID("id", m.ID),
		checkModel("model", m.Model),
		m.Request.check("request", l),
		checkPositive("request.max_tokens", m.Request.MaxTokens),
	)
}

// truncate keeps error messages short when quoting what a peer sent.
func truncate(s string) string { return truncateN(s, 64) }

func truncateN(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}
