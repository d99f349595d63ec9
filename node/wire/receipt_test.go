package wire

import (
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

func TestResultVerify(t *testing.T) {
	m, err := Decode(NodeToAgent, mustEncode(t, sampleResult()))
	if err != nil {
		t.Fatal(err)
	}
	r := m.(*Result)
	if err := r.Verify(domain, providerAdr, channelID); err != nil {
		t.Fatalf("verify: %v", err)
	}
	cases := map[string]func(r *Result) (common.Address, common.Hash){
		"other output":   func(r *Result) (common.Address, common.Hash) { r.Output += "!"; return providerAdr, channelID },
		"other channel":  func(r *Result) (common.Address, common.Hash) { return providerAdr, common.Hash{1} },
		"other job id":   func(r *Result) (common.Address, common.Hash) { r.ID = "job-0002"; return providerAdr, channelID },
		"other provider": func(r *Result) (common.Address, common.Hash) { return agentAddr, channelID },
		"other cost": func(r *Result) (common.Address, common.Hash) {
			r.Receipt.Cost = AmountOf(1)
			return providerAdr, channelID
		},
		"other tokens": func(r *Result) (common.Address, common.Hash) {
			r.Receipt.OutputTokens++
			return providerAdr, channelID
		},
		"other seq is not signed, but a bad signature is": func(r *Result) (common.Address, common.Hash) {
			r.Receipt.Signature[5] ^= 1
			return providerAdr, channelID
		},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			r := sampleResult()
			provider, channel := f(r)
			if err := r.Verify(domain, provider, channel); err == nil {
				t.Fatal("verified")
			}
		})
	}
	// A replay whose output was dropped still proves its charge.
	r = sampleResult()
	r.Output, r.Replayed, r.OutputDropped = "", true, true
	if err := r.Verify(domain, providerAdr, channelID); err != nil {
		t.Fatalf("dropped output: %v", err)
	}
}

func TestJobKeyAndResultHash(t *testing.T) {
	if JobKey("job-0001") != crypto.Keccak256Hash([]byte("job-0001")) ||
		JobKey("job-0001").Hex() != "0x39c1bb4f3f0bb0b3388709c32b11a4574c20443739080037f1189c1ea54f5003" {
		t.Fatal("JobKey")
	}
	if ResultHash("7, 11, 13.").Hex() != "0x6e99fc261c36388d33185afa60176db70f40087cc9ce5d9308cf1e8b59b80e5a" {
		t.Fatal("ResultHash")
	}
}

func TestReceiptConversions(t *testing.T) {
	r := sampleResult().Receipt
	back := NewReceipt(r.EIP712(), r.Seq, r.Signature)
	if !equal(&back, &r) {
		t.Fatalf("NewReceipt(EIP712()) = %#v, want %#v", back, r)
	}
	back.Signature[0] ^= 1
	if r.Signature[0] == back.Signature[0] {
		t.Fatal("NewReceipt shares the signature")
	}
}

// The ledger stores body hashes across restarts and upgrades: their
// definition may never change.
func TestBodyHash(t *testing.T) {
	// The vector of docs/protocol.md.
	doc := &Submit{ID: "job-0001", Model: "paynode-test-1", Request: ChatRequest{
		Messages: []ChatMessage{{Role: "user", Content: "Name three prime numbers."}}, MaxTokens: 64}}
	preimage := `{"model":"paynode-test-1","messages":[{"role":"user","content":"Name three prime numbers."}],"max_tokens":64}`
	if doc.BodyHash() != crypto.Keccak256Hash([]byte(preimage)) ||
		doc.BodyHash().Hex() != "0x8ba8b1fefb81d103d6d8377390182dcf070e3b58e58a1745fc9d88f61103eb5d" {
		t.Fatalf("documented body hash vector: got %s", doc.BodyHash())
	}

	s := sampleSubmit()
	const want = "0xd37de68650b467b058f1ddc946e4e6b974d7904dbbff6de60a9f0caa31569b8b"
	got := s.BodyHash()
	if got.Hex() != want {
		t.Fatalf("body hash %s, pinned %s", got, want)
	}
	same := []func(s *Submit){
		func(s *Submit) { s.Voucher.Amount = AmountOf(99) },
		func(s *Submit) { s.Voucher.Signature = make(Signature, 65) },
		func(s *Submit) { s.Voucher.ChainID, s.Voucher.Contract = 0, nil },
		func(s *Submit) { s.Request.Stream = !s.Request.Stream },
		func(s *Submit) { s.ID = "other" },                   // the ledger keys by id already
		func(s *Submit) { s.ChannelID = common.Hash{9} },     // and by channel
		func(s *Submit) { s.Request.Temperature = f64(0.2) }, // an equal value
	}
	for i, f := range same {
		s := sampleSubmit()
		f(s)
		if s.BodyHash() != got {
			t.Errorf("change %d altered the body hash", i)
		}
	}
	different := map[string]func(s *Submit){
		"model":        func(s *Submit) { s.Model += "x" },
		"offer":        func(s *Submit) { s.Offer = AmountOf(1) },
		"content":      func(s *Submit) { s.Request.Messages[1].Content += " " },
		"role":         func(s *Submit) { s.Request.Messages[0].Role = "developer" },
		"one less":     func(s *Submit) { s.Request.Messages = s.Request.Messages[:3] },
		"max_tokens":   func(s *Submit) { s.Request.MaxTokens++ },
		"temperature":  func(s *Submit) { s.Request.Temperature = f64(0.3) },
		"default temp": func(s *Submit) { s.Request.Temperature = nil },
	}
	for name, f := range different {
		s := sampleSubmit()
		f(s)
		if s.BodyHash() == got {
			t.Errorf("%s: the body hash did not change", name)
		}
	}
}
