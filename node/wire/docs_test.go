package wire

import (
	"math/big"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/paynode/paynode/contracts"
)

// docs/protocol.md is the specification; these tests keep it true.

func readProtocolDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docExamples decodes every ```json block of the document, each in the
// first direction that takes it.
func docExamples(t *testing.T, doc string) map[string][]Message {
	t.Helper()
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(doc, -1)
	if len(blocks) < 20 {
		t.Fatalf("found only %d JSON examples", len(blocks))
	}
	byType := map[string][]Message{}
	for _, b := range blocks {
		var errs []string
		var m Message
		for _, dir := range directions {
			got, err := Decode(dir, []byte(b[1]))
			if err == nil {
				m = got
				break
			}
			errs = append(errs, dir.String()+": "+err.Error())
		}
		if m == nil {
			t.Errorf("example does not decode in any direction:\n%s\n%s", b[1], strings.Join(errs, "\n"))
			continue
		}
		byType[m.Type()] = append(byType[m.Type()], m)
	}
	return byType
}

func TestProtocolDocExamples(t *testing.T) {
	doc := readProtocolDoc(t)
	ex := docExamples(t, doc)
	for _, typ := range []string{TypeChallenge, TypeHello, TypeReady, TypeSubmit, TypeAccepted, TypeChunk,
		TypeResult, TypeError, TypeCancel, TypePing, TypePong, TypeSync, TypeChannel,
		TypeRegister, TypeRegistered, TypeModels, TypeAssign, TypeDone, TypeFail} {
		if len(ex[typ]) == 0 {
			t.Errorf("no example of %q", typ)
		}
	}
	if t.Failed() {
		return
	}

	// The worked example holds together: the hello answers the challenge,
	// the voucher is the signer's, the max cost and the voucher follow
	// the documented formulas at the documented price, and the result
	// verifies.
	c := ex[TypeChallenge][0].(*Challenge)
	h := ex[TypeHello][0].(*Hello)
	s := ex[TypeSubmit][0].(*Submit)
	a := ex[TypeAccepted][0].(*Accepted)
	r := ex[TypeResult][0].(*Result)
	ch := ex[TypeChannel][0].(*Channel)
	if err := c.Verify(h); err != nil {
		t.Errorf("the hello does not answer the challenge: %v", err)
	}
	d := c.Domain()
	vd, err := d.VoucherDigest(&contracts.Voucher{ChannelID: s.ChannelID, CumulativeAmount: s.Voucher.Amount.Big()})
	if err != nil {
		t.Fatal(err)
	}
	if signer, err := contracts.Recover(vd, s.Voucher.Signature); err != nil || signer != h.Signer {
		t.Errorf("the voucher is signed by %s (%v), not by %s", signer, err, h.Signer)
	}
	price, err := contracts.ParsePrice("1000", "2000000", "8000000")
	if err != nil {
		t.Fatal(err)
	}
	charged := big.NewInt(5000)
	if a.InputTokens != s.Request.InputTokenBound() || a.InputTokens != 87 {
		t.Errorf("accepted input_tokens %d, the bound is %d", a.InputTokens, s.Request.InputTokenBound())
	}
	maxCost := price.Cost(a.InputTokens, s.Request.MaxTokens)
	if a.MaxCost.Big().Cmp(maxCost) != 0 || maxCost.Int64() != 2198 {
		t.Errorf("max_cost %s, the formula gives %s", a.MaxCost, maxCost)
	}
	if want := new(big.Int).Add(charged, maxCost); s.Voucher.Amount.Big().Cmp(want) != 0 {
		t.Errorf("voucher %s, charged + max cost = %s", s.Voucher.Amount, want)
	}
	if err := r.Verify(d, c.Provider, s.ChannelID); err != nil {
		t.Errorf("the result does not verify: %v", err)
	}
	cost := price.Cost(r.Usage.InputTokens, r.Usage.OutputTokens)
	if r.Cost.Big().Cmp(cost) != 0 || cost.Int64() != 1134 {
		t.Errorf("cost %s, the price gives %s", r.Cost, cost)
	}
	cum := new(big.Int).Add(charged, cost)
	if r.Receipt.CumulativeCharged.Big().Cmp(cum) != 0 || ch.Charged.Big().Cmp(cum) != 0 ||
		ch.Voucher.Cmp(s.Voucher.Amount) != 0 || ch.ReceiptSeq != r.Receipt.Seq {
		t.Errorf("receipt and channel state disagree with the example's figures")
	}

	// The documented constants.
	for _, want := range []string{
		AuthType, contracts.ReceiptType, contracts.VoucherType,
		authTypeHash.Hex(), d.Separator().Hex(), c.Auth().Digest(d).Hex(),
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the document does not give %s", want)
		}
	}
}

// Every code is in the document's tables with its retryability, and the
// tables hold no other code.
func TestProtocolDocErrorCodes(t *testing.T) {
	doc := readProtocolDoc(t)
	_, section, ok := strings.Cut(doc, "\n## Error codes\n")
	if !ok {
		t.Fatal("no Error codes section")
	}
	rows := regexp.MustCompile("(?m)^\\| `([a-z0-9_]+)` \\| .* \\| (yes|no) \\|$").FindAllStringSubmatch(section, -1)
	documented := map[Code]bool{}
	for _, row := range rows {
		c := Code(row[1])
		if documented[c] {
			t.Errorf("%s is documented twice", c)
		}
		documented[c] = true
		if !c.Known() {
			t.Errorf("the document lists %s, which the code does not define", c)
			continue
		}
		if got := c.Retryable(); got != (row[2] == "yes") {
			t.Errorf("%s: the document says retryable %s, the code %v", c, row[2], got)
		}
	}
	for _, c := range Codes() {
		if !documented[c] {
			t.Errorf("%s is not in the document's tables", c)
		}
	}
}
