package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/contracts"
)

// JobKey is the bytes32 job id of a receipt: keccak256 of the agent's job
// id string, so ids of any form fit the on-chain type. It must stay equal
// to node/payment.JobKey.
func JobKey(id string) common.Hash { return crypto.Keccak256Hash([]byte(id)) }

// ResultHash is a receipt's resultHash: keccak256 of the output's UTF-8
// bytes, exactly as the result message carries them.
func ResultHash(output string) common.Hash { return crypto.Keccak256Hash([]byte(output)) }

// jobBody is what makes two submissions of one job id the same job: the
// model or offer and the request, without the voucher (a resubmission may
// carry a newer one) and without stream (a resubmission may ask
// differently for the same result).
type jobBody struct {
	Model       string        `json:"model,omitempty"`
	Offer       *Amount       `json:"offer,omitempty"`
	Messages    []ChatMessage `json:"messages"`
	MaxTokens   uint64        `json:"max_tokens,omitempty"`
	Temperature *float64      `json:"temperature,omitempty"`
}

// BodyHash is the hash the node stores with a job (ledger.Job.BodyHash)
// to tell a resubmission (same hash: the earlier outcome again) from a
// conflict (another hash: job_conflict): keccak256 of the JSON of the
// model, offer, messages, max_tokens and temperature. The ledger keeps it
// across restarts and upgrades, so its definition never changes; a test
// pins it.
func (m *Submit) BodyHash() common.Hash {
	if m.Offer != nil && !m.Offer.valid() || m.Request.Temperature != nil && !finite(*m.Request.Temperature) {
		return m.bodyHashJSON() // hashes encoding/json's error, as it always has
	}
	b := make([]byte, 0, m.Request.sizeHint()+len(m.Model)+96)
	return crypto.Keccak256Hash(m.appendBody(b))
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// appendBody appends the JSON that BodyHash hashes, as encoding/json
// writes jobBody: TestBodyHash and FuzzAppendMatchesJSON hold the two
// equal.
func (m *Submit) appendBody(b []byte) []byte {
	b = append(b, '{')
	if m.Model != "" {
		b = append(b, `"model":`...)
		b = appendString(b, m.Model)
		b = append(b, ',')
	}
	if m.Offer != nil {
		b = append(b, `"offer":`...)
		b = appendAmount(b, m.Offer)
		b = append(b, ',')
	}
	b = append(b, `"messages":`...)
	b = appendMessages(b, m.Request.Messages)
	if m.Request.MaxTokens != 0 {
		b = appendUint(key(b, "max_tokens"), m.Request.MaxTokens)
	}
	if m.Request.Temperature != nil {
		b = appendFloat(key(b, "temperature"), *m.Request.Temperature)
	}
	return append(b, '}')
}

// bodyHashJSON is BodyHash by encoding/json: its definition.
func (m *Submit) bodyHashJSON() common.Hash {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// Encoding strings, integers and finite floats cannot fail; amounts
	// out of range can, and hash as their error text, which no valid
	// submit shares.
	if err := enc.Encode(jobBody{
		Model: m.Model, Offer: m.Offer, Messages: m.Request.Messages,
		MaxTokens: m.Request.MaxTokens, Temperature: m.Request.Temperature,
	}); err != nil {
		return crypto.Keccak256Hash([]byte(err.Error()))
	}
	return crypto.Keccak256Hash(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// NewReceipt returns the wire form of a signed receipt.
func NewReceipt(r *contracts.Receipt, seq uint64, sig []byte) Receipt {
	return Receipt{
		ChannelID:         r.ChannelID,
		JobID:             r.JobID,
		Cost:              NewAmount(r.Cost),
		CumulativeCharged: NewAmount(r.CumulativeCharged),
		InputTokens:       r.InputTokens,
		OutputTokens:      r.OutputTokens,
		ResultHash:        r.ResultHash,
		Seq:               seq,
		Signature:         Signature(bytes.Clone(sig)),
	}
}

// EIP712 returns the receipt's EIP-712 struct.
func (r *Receipt) EIP712() *contracts.Receipt {
	return &contracts.Receipt{
		ChannelID:         r.ChannelID,
		JobID:             r.JobID,
		Cost:              r.Cost.Big(),
		CumulativeCharged: r.CumulativeCharged.Big(),
		InputTokens:       r.InputTokens,
		OutputTokens:      r.OutputTokens,
		ResultHash:        r.ResultHash,
	}
}

// Verify checks that the receipt is signed by provider under domain d.
func (r *Receipt) Verify(d *contracts.Domain, provider common.Address) error {
	digest, err := d.ReceiptDigest(r.EIP712())
	if err != nil {
		return fmt.Errorf("receipt: %w", err)
	}
	got, err := contracts.Recover(digest, r.Signature)
	if err != nil {
		return fmt.Errorf("receipt signature: %w", err)
	}
	if got != provider {
		return fmt.Errorf("receipt is signed by %s, not by the provider %s", got, provider)
	}
	return nil
}

// Check checks what an agent must check of a result for job id on
// channel, short of the signature: the receipt is for this channel and
// this job, and hashes this output (unless the output was dropped from a
// replay). Decode has already held Cost and Usage equal to the receipt's.
func (m *Result) Check(channel common.Hash) error {
	r := &m.Receipt
	switch {
	case r.ChannelID != channel:
		return fmt.Errorf("receipt is for channel %s, the job was paid from %s", r.ChannelID, channel)
	case r.JobID != JobKey(m.ID):
		return fmt.Errorf("receipt job id %s is not keccak256(%q)", r.JobID, m.ID)
	case !m.OutputDropped && r.ResultHash != ResultHash(m.Output):
		return fmt.Errorf("receipt result hash %s does not match the output", r.ResultHash)
	}
	return nil
}

// Verify is Check, then the receipt's signature: the provider's under
// domain d.
func (m *Result) Verify(d *contracts.Domain, provider common.Address, channel common.Hash) error {
	if err := m.Check(channel); err != nil {
		return err
	}
	return m.Receipt.Verify(d, provider)
}
