package node

import (
	"context"
	"log/slog"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/contracts/bindings"
)

// asset is how the node shows an asset to operators: its symbol, and the
// decimals that turn base units into whole units on the dashboards.
type asset struct {
	symbol   string
	decimals uint8
}

// assets are the assets the node knows by address; ETH is the zero
// address.
type assets map[common.Address]asset

// readAssets reads, once at start, the symbol and decimals of the tokens
// the node's offers are paid in (and the deployment's test token). A
// token that does not answer both is shown by its address, with 18
// decimals, and logged.
func readAssets(ctx context.Context, b bind.ContractBackend, tokens []common.Address, log *slog.Logger) assets {
	as := assets{{}: {symbol: "ETH", decimals: 18}}
	erc20 := bindings.NewTestUSD() // symbol() and decimals() are ERC-20's
	for _, t := range tokens {
		if _, ok := as[t]; ok {
			continue
		}
		c := erc20.Instance(b, t)
		symbol, err := bind.Call(c, nil, erc20.PackSymbol(), erc20.UnpackSymbol)
		if err == nil {
			var decimals uint8
			if decimals, err = bind.Call(c, nil, erc20.PackDecimals(), erc20.UnpackDecimals); err == nil && symbol != "" {
				as[t] = asset{symbol: symbol, decimals: decimals}
				continue
			}
		}
		log.Warn("token without ERC-20 symbol and decimals: shown by address, 18 decimals", "token", t, "err", err)
		as[t] = asset{symbol: t.Hex(), decimals: 18}
	}
	return as
}

// name is the asset's symbol, or its address when the node does not know it.
func (as assets) name(a common.Address) string {
	if x, ok := as[a]; ok {
		return x.symbol
	}
	return a.Hex()
}

// decimalsOf is the asset's decimals, 18 when the node does not know it.
func (as assets) decimalsOf(a common.Address) uint8 {
	if x, ok := as[a]; ok {
		return x.decimals
	}
	return 18
}
