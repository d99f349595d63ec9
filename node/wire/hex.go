package wire

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/ethereum/go-ethereum/common/hexutil"
)

// SignatureLen is the length of every signature on the wire: r ‖ s ‖ v,
// with v = 27 or 28 (0 or 1 is accepted too).
const SignatureLen = 65

// Signature is a 65-byte ECDSA signature on the wire: "0x" and 130 hex
// digits. Hashes (32 bytes) and addresses (20 bytes) use go-ethereum's
// common.Hash and common.Address, whose JSON forms are likewise
// 0x-prefixed with their exact length checked.
type Signature []byte

var signatureType = reflect.TypeFor[Signature]()

// MarshalJSON writes 0x-prefixed hex.
func (s Signature) MarshalJSON() ([]byte, error) {
	if len(s) != SignatureLen {
		return nil, fmt.Errorf("signature is %d bytes, want %d", len(s), SignatureLen)
	}
	return json.Marshal(hexutil.Encode(s))
}

// UnmarshalJSON reads 0x-prefixed hex of exactly 65 bytes. A JSON null
// leaves s unchanged (validation then reports it missing).
func (s *Signature) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) == 0 || b[0] != '"' {
		return &json.UnmarshalTypeError{Value: "non-string", Type: signatureType}
	}
	var h hexutil.Bytes
	if err := h.UnmarshalJSON(b); err != nil {
		return &json.UnmarshalTypeError{Value: hexReason(err), Type: signatureType}
	}
	if len(h) != SignatureLen {
		return &json.UnmarshalTypeError{Value: fmt.Sprintf("%d bytes of hex, want %d", len(h), SignatureLen), Type: signatureType}
	}
	*s = Signature(h)
	return nil
}

// hexReason unwraps hexutil's UnmarshalTypeError to its reason.
func hexReason(err error) string {
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		return te.Value
	}
	return err.Error()
}
