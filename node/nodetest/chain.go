package nodetest

import (
	"crypto/ecdsa"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/contracts/bindings"
	"github.com/paynode/paynode/testnet"
)

// OpenChannel opens a channel from payer to provider, signed by signer's
// key, with deposit of asset (the zero address: ETH; else an ERC-20 the
// payer holds, approved here), and returns its id.
func OpenChannel(t testing.TB, client *ethclient.Client, d *contracts.Deployment, payer *ecdsa.PrivateKey,
	provider common.Address, signer *ecdsa.PrivateKey, asset common.Address, deposit *big.Int, salt common.Hash) common.Hash {
	t.Helper()
	chainID := new(big.Int).SetUint64(d.ChainID)
	pc := bindings.NewPaymentChannels()
	pcAt := pc.Instance(client, d.PaymentChannels)
	value := deposit
	if asset != (common.Address{}) {
		value = nil
		tok := bindings.NewTestUSD()
		testnet.TransactT(t, client, chainID, payer, tok.Instance(client, asset), tok.PackApprove(d.PaymentChannels, deposit), nil)
	}
	hot := crypto.PubkeyToAddress(signer.PublicKey)
	testnet.TransactT(t, client, chainID, payer, pcAt, pc.PackOpen(provider, hot, asset, deposit, salt), value)
	from := crypto.PubkeyToAddress(payer.PublicKey)
	id, err := bind.Call(pcAt, nil, pc.PackChannelId(from, provider, hot, asset, salt), pc.UnpackChannelId)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Claimed reads a channel's claimed total from the chain.
func Claimed(t testing.TB, client *ethclient.Client, d *contracts.Deployment, id common.Hash) *big.Int {
	t.Helper()
	pc := bindings.NewPaymentChannels()
	ch, err := bind.Call(pc.Instance(client, d.PaymentChannels), nil, pc.PackGetChannel(id), pc.UnpackGetChannel)
	if err != nil {
		t.Fatal(err)
	}
	return ch.Claimed
}
