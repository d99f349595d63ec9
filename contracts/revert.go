package contracts

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/paynode/paynode/contracts/bindings"
)

// RevertError is a contract revert decoded into the Solidity custom error
// that fired, e.g. InvalidSignature(channelId). Value is the generated Go
// type (*bindings.PaymentChannelsInvalidSignature, …) for errors.As-style
// checks; Name is the Solidity error's name.
type RevertError struct {
	Name  string
	Value any
	Data  []byte
	cause error
}

func (e *RevertError) Error() string {
	if e.Value == nil {
		return fmt.Sprintf("execution reverted (data %s)", hexutil.Encode(e.Data))
	}
	return fmt.Sprintf("execution reverted: %s%s", e.Name, formatFields(e.Value))
}

func (e *RevertError) Unwrap() error { return e.cause }

// unpackers decode revert data of each contract; the first that knows the
// selector wins.
var unpackers = []func([]byte) (any, error){
	bindings.NewPaymentChannels().UnpackError,
	bindings.NewOfferRegistry().UnpackError,
	bindings.NewTestUSD().UnpackError,
}

// DecodeRevert finds revert data in an error from eth_call, eth_estimateGas
// or eth_sendRawTransaction and decodes it into the custom error of
// paynode's contracts that fired. ok is false when err carries no revert
// data at all.
func DecodeRevert(err error) (rev *RevertError, ok bool) {
	var de rpc.DataError
	if err == nil || !errors.As(err, &de) {
		return nil, false
	}
	s, isString := de.ErrorData().(string)
	if !isString {
		return nil, false
	}
	data, decErr := hexutil.Decode(s)
	if decErr != nil {
		return nil, false
	}
	rev = &RevertError{Data: data, cause: err}
	if len(data) < 4 {
		return rev, true
	}
	for _, unpack := range unpackers {
		if v, err := unpack(data); err == nil && v != nil {
			rev.Value = v
			rev.Name = errorName(v)
			return rev, true
		}
	}
	return rev, true
}

func errorName(v any) string {
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	n := t.Name()
	for _, prefix := range []string{"PaymentChannels", "OfferRegistry", "TestUSD"} {
		if rest, ok := strings.CutPrefix(n, prefix); ok && rest != "" {
			return rest
		}
	}
	return n
}

func formatFields(v any) string {
	rv := reflect.Indirect(reflect.ValueOf(v))
	if rv.Kind() != reflect.Struct {
		return ""
	}
	parts := make([]string, 0, rv.NumField())
	for i := range rv.NumField() {
		f := rv.Field(i).Interface()
		if b, ok := f.([32]byte); ok {
			f = common.Hash(b).Hex()
		}
		parts = append(parts, fmt.Sprintf("%s=%v", rv.Type().Field(i).Name, f))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
