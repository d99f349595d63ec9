package payment

import (
	"slices"
	"testing"

	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/wire"
)

// TestCodesMatchWire holds the payment check's codes equal to the wire
// protocol's: node/wire cannot import this package (agents import wire),
// so the strings are written in both places and this test keeps them one.
func TestCodesMatchWire(t *testing.T) {
	codes := []*Error{
		refuse(CodeBadRequest, ""), refuse(CodeBadSignature, ""), refuse(CodeWrongSigner, ""),
		refuse(CodeWrongDomain, ""), refuse(CodeVoucherTooLow, ""), refuse(CodeVoucherAboveDeposit, ""),
		refuse(CodeUnknownChannel, ""), refuse(CodeWrongProvider, ""), refuse(CodeChannelClosing, ""),
		refuse(CodeWrongAsset, ""), refuse(CodeJobConflict, ""), refuse(CodeJobFailed, ""),
		{Code: CodeJobInProgress, Retryable: true}, {Code: CodeDepositUnconfirmed, Retryable: true},
		{Code: CodeUnavailable, Retryable: true},
	}
	all := wire.Codes()
	for _, e := range codes {
		wc := wire.Code(e.Code)
		if !slices.Contains(all, wc) {
			t.Errorf("payment code %q is not a wire code", e.Code)
			continue
		}
		if wc.Retryable() != e.Retryable {
			t.Errorf("%q: retryable %v here, %v on the wire", e.Code, e.Retryable, wc.Retryable())
		}
	}
	if ledger.MaxJobIDLen != wire.MaxJobIDLen {
		t.Errorf("job id limits differ: ledger %d, wire %d", ledger.MaxJobIDLen, wire.MaxJobIDLen)
	}
}
