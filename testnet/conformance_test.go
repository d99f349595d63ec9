package testnet_test

import (
	"crypto/ecdsa"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/contracts/bindings"
	"github.com/paynode/paynode/testnet"
)

// chainUnderTest is one chain the conformance suite runs on.
type chainUnderTest struct {
	client   *ethclient.Client
	accounts []testnet.DevAccount
	advance  func(t *testing.T, d time.Duration) // moves block time forward
}

// TestConformance runs the same open → voucher → claimMany → withdraw
// story, with ETH and with TestUSD, on the embedded chain and on anvil.
func TestConformance(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		chain := testnet.StartT(t, testnet.Config{})
		client, err := ethclient.DialContext(t.Context(), chain.HTTPURL()) // over the real RPC
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(client.Close)
		runConformance(t, chainUnderTest{
			client:   client,
			accounts: chain.Accounts(),
			advance: func(t *testing.T, d time.Duration) {
				if _, err := chain.AdjustTime(d); err != nil {
					t.Fatal(err)
				}
			},
		})
	})
	t.Run("anvil", func(t *testing.T) {
		requireAnvil(t)
		anvil := testnet.StartAnvilT(t, testnet.AnvilOptions{})
		client, err := ethclient.DialContext(t.Context(), anvil.URL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(client.Close)
		runConformance(t, chainUnderTest{
			client:   client,
			accounts: anvil.Accounts(),
			advance: func(t *testing.T, d time.Duration) {
				if err := client.Client().CallContext(t.Context(), nil, "evm_increaseTime", int64(d/time.Second)); err != nil {
					t.Fatal(err)
				}
				if err := client.Client().CallContext(t.Context(), nil, "evm_mine"); err != nil {
					t.Fatal(err)
				}
			},
		})
	})
}

const withdrawalDelay = time.Hour

func runConformance(t *testing.T, c chainUnderTest) {
	ctx := t.Context()
	deployer, payer, provider := c.accounts[0], c.accounts[1], c.accounts[2]
	hotKey, _ := crypto.GenerateKey() // the agent's signer: holds nothing
	hot := crypto.PubkeyToAddress(hotKey.PublicKey)

	tusd := func(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1_000_000)) }
	d, err := testnet.Deploy(ctx, c.client, deployer.Key, testnet.DeployOptions{
		WithdrawalDelay: withdrawalDelay,
		TestToken:       true,
		Mint:            map[common.Address]*big.Int{payer.Address: tusd(1000)},
		PollInterval:    20 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	if err := testnet.CheckDeployed(ctx, c.client, d); err != nil {
		t.Fatal(err)
	}
	pc := bindings.NewPaymentChannels()
	pcAt := pc.Instance(c.client, d.PaymentChannels)
	token := bindings.NewTestUSD()
	tokenAt := token.Instance(c.client, *d.Token)
	domain := d.Domain()

	// Open an ETH channel and a TUSD channel (the latter with a permit).
	ethDeposit := new(big.Int).Mul(big.NewInt(params.Ether), big.NewInt(2))
	saltETH, saltTUSD := common.HexToHash("0x01"), common.HexToHash("0x02")
	mustSend(t, c, payer.Key, pcAt, pc.PackOpen(provider.Address, hot, common.Address{}, ethDeposit, saltETH), ethDeposit)
	ethID := channelID(t, c, pc, pcAt, payer.Address, provider.Address, hot, common.Address{}, saltETH)

	tusdDeposit := tusd(100)
	deadline := big.NewInt(time.Now().Add(time.Hour).Unix())
	v, r, s := signPermit(t, c, token, tokenAt, payer.Key, d.PaymentChannels, tusdDeposit, deadline, *d.Token)
	mustSend(t, c, payer.Key, pcAt, pc.PackOpenWithPermit(provider.Address, hot, *d.Token, tusdDeposit, saltTUSD, deadline, v, r, s), nil)
	tusdID := channelID(t, c, pc, pcAt, payer.Address, provider.Address, hot, *d.Token, saltTUSD)

	// Top up the TUSD channel after an approve.
	topUp := tusd(5)
	mustSend(t, c, payer.Key, tokenAt, token.PackApprove(d.PaymentChannels, topUp), nil)
	mustSend(t, c, payer.Key, pcAt, pc.PackTopUp(tusdID, topUp), nil)
	tusdDeposit.Add(tusdDeposit, topUp)

	for id, want := range map[common.Hash]*big.Int{ethID: ethDeposit, tusdID: tusdDeposit} {
		ch := getChannel(t, pc, pcAt, id)
		if ch.Deposit.Cmp(want) != 0 || ch.Signer != hot || ch.Provider != provider.Address || ch.Payer != payer.Address {
			t.Fatalf("channel %s: %+v, want deposit %s signer %s", id, ch, want, hot)
		}
	}

	// The hot key signs cumulative vouchers; the provider claims both
	// channels in one transaction, less than the voucher ceilings.
	ethVoucher, ethClaim := big.NewInt(900_000_000_000_000), big.NewInt(612_345_678_901_234)
	tusdVoucher, tusdClaim := tusd(3), big.NewInt(2_345_678)
	rootETH, rootTUSD := crypto.Keccak256Hash([]byte("eth receipts")), crypto.Keccak256Hash([]byte("tusd receipts"))
	claims := []bindings.PaymentChannelsClaim{
		claim(t, domain, hotKey, ethID, ethVoucher, ethClaim, rootETH),
		claim(t, domain, hotKey, tusdID, tusdVoucher, tusdClaim, rootTUSD),
	}

	// A voucher from anyone but the channel's signer is refused.
	forged := []bindings.PaymentChannelsClaim{claim(t, domain, payer.Key, ethID, ethVoucher, ethClaim, rootETH)}
	expectRevert(t, c, provider.Address, d.PaymentChannels, pc.PackClaimMany(forged), "InvalidSignature")
	// A voucher signed for another chain is refused.
	otherChain := contracts.NewDomain(big.NewInt(int64(d.ChainID)+1), d.PaymentChannels)
	forged = []bindings.PaymentChannelsClaim{claim(t, otherChain, hotKey, ethID, ethVoucher, ethClaim, rootETH)}
	expectRevert(t, c, provider.Address, d.PaymentChannels, pc.PackClaimMany(forged), "InvalidSignature")
	// Claiming above the voucher is refused.
	over := []bindings.PaymentChannelsClaim{claim(t, domain, hotKey, ethID, ethVoucher, new(big.Int).Add(ethVoucher, big.NewInt(1)), rootETH)}
	expectRevert(t, c, provider.Address, d.PaymentChannels, pc.PackClaimMany(over), "ClaimAboveVoucher")
	// Only the provider claims.
	expectRevert(t, c, payer.Address, d.PaymentChannels, pc.PackClaimMany(claims), "NotProvider")

	provETH := balance(t, c, provider.Address)
	provTUSD := tokenBalance(t, token, tokenAt, provider.Address)
	rcpt := mustSend(t, c, provider.Key, pcAt, pc.PackClaimMany(claims), nil)
	gas := gasCost(rcpt)
	if got, want := balance(t, c, provider.Address), new(big.Int).Sub(new(big.Int).Add(provETH, ethClaim), gas); got.Cmp(want) != 0 {
		t.Fatalf("provider ETH after claim = %s, want %s", got, want)
	}
	if got, want := tokenBalance(t, token, tokenAt, provider.Address), new(big.Int).Add(provTUSD, tusdClaim); got.Cmp(want) != 0 {
		t.Fatalf("provider TUSD after claim = %s, want %s", got, want)
	}
	roots := map[common.Hash]common.Hash{}
	for _, l := range rcpt.Logs {
		if ev, err := pc.UnpackClaimedEvent(l); err == nil {
			roots[ev.ChannelId] = ev.ReceiptsRoot
		}
	}
	if roots[ethID] != rootETH || roots[tusdID] != rootTUSD {
		t.Fatalf("Claimed events carry roots %v", roots)
	}
	// The same claim again has no effect: it reverts.
	expectRevert(t, c, provider.Address, d.PaymentChannels, pc.PackClaimMany(claims[:1]), "ClaimNotIncreasing")

	// Withdrawal: request, too early, then after the delay the payer gets
	// exactly deposit − claimed back.
	mustSend(t, c, payer.Key, pcAt, pc.PackRequestWithdrawal(ethID), nil)
	mustSend(t, c, payer.Key, pcAt, pc.PackRequestWithdrawal(tusdID), nil)
	expectRevert(t, c, payer.Address, d.PaymentChannels, pc.PackFinalizeWithdrawal(ethID), "WithdrawalTooEarly")
	expectRevert(t, c, payer.Address, d.PaymentChannels, pc.PackTopUp(tusdID, topUp), "WithdrawalPending")

	// The provider may still claim inside the window.
	late := tusd(3)
	rcpt = mustSend(t, c, provider.Key, pcAt, pc.PackClaimMany([]bindings.PaymentChannelsClaim{
		claim(t, domain, hotKey, tusdID, tusdVoucher, late, rootTUSD),
	}), nil)
	_ = rcpt
	tusdClaim = late

	c.advance(t, withdrawalDelay+time.Second)
	payerETH := balance(t, c, payer.Address)
	payerTUSD := tokenBalance(t, token, tokenAt, payer.Address)
	rcpt = mustSend(t, c, payer.Key, pcAt, pc.PackFinalizeWithdrawal(ethID), nil)
	wantETH := new(big.Int).Sub(new(big.Int).Add(payerETH, new(big.Int).Sub(ethDeposit, ethClaim)), gasCost(rcpt))
	if got := balance(t, c, payer.Address); got.Cmp(wantETH) != 0 {
		t.Fatalf("payer ETH after withdrawal = %s, want %s", got, wantETH)
	}
	mustSend(t, c, payer.Key, pcAt, pc.PackFinalizeWithdrawal(tusdID), nil)
	wantTUSD := new(big.Int).Add(payerTUSD, new(big.Int).Sub(tusdDeposit, tusdClaim))
	if got := tokenBalance(t, token, tokenAt, payer.Address); got.Cmp(wantTUSD) != 0 {
		t.Fatalf("payer TUSD after withdrawal = %s, want %s", got, wantTUSD)
	}
	// Nothing is left in the contract: every unit is accounted for.
	if got := balance(t, c, d.PaymentChannels); got.Sign() != 0 {
		t.Fatalf("contract still holds %s wei", got)
	}
	if got := tokenBalance(t, token, tokenAt, d.PaymentChannels); got.Sign() != 0 {
		t.Fatalf("contract still holds %s TUSD units", got)
	}
	// A closed channel takes no more claims.
	expectRevert(t, c, provider.Address, d.PaymentChannels, pc.PackClaimMany([]bindings.PaymentChannelsClaim{
		claim(t, domain, hotKey, tusdID, tusdVoucher, tusdVoucher, rootTUSD),
	}), "ChannelClosed")
}

func claim(t *testing.T, d *contracts.Domain, key *ecdsa.PrivateKey, id common.Hash, voucher, amount *big.Int, root common.Hash) bindings.PaymentChannelsClaim {
	t.Helper()
	digest, err := d.VoucherDigest(&contracts.Voucher{ChannelID: id, CumulativeAmount: voucher})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := contracts.Sign(digest, key)
	if err != nil {
		t.Fatal(err)
	}
	r, vs, err := contracts.Compact(sig)
	if err != nil {
		t.Fatal(err)
	}
	return bindings.PaymentChannelsClaim{ChannelId: id, VoucherAmount: voucher, Amount: amount, ReceiptsRoot: root, R: r, Vs: vs}
}

func mustSend(t *testing.T, c chainUnderTest, key *ecdsa.PrivateKey, to *bind.BoundContract, data []byte, value *big.Int) *types.Receipt {
	t.Helper()
	chainID, err := c.client.ChainID(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return testnet.TransactT(t, c.client, chainID, key, to, data, value)
}

func expectRevert(t *testing.T, c chainUnderTest, from, to common.Address, data []byte, want string) {
	t.Helper()
	_, err := c.client.EstimateGas(t.Context(), ethereum.CallMsg{From: from, To: &to, Data: data})
	rev, ok := contracts.DecodeRevert(err)
	if !ok {
		t.Fatalf("want revert %s, got %v", want, err)
	}
	if rev.Name != want {
		t.Fatalf("want revert %s, got %v", want, rev)
	}
}

func channelID(t *testing.T, c chainUnderTest, pc *bindings.PaymentChannels, at *bind.BoundContract, payer, provider, signer, asset common.Address, salt common.Hash) common.Hash {
	t.Helper()
	id, err := bind.Call(at, &bind.CallOpts{Context: t.Context()}, pc.PackChannelId(payer, provider, signer, asset, salt), pc.UnpackChannelId)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func getChannel(t *testing.T, pc *bindings.PaymentChannels, at *bind.BoundContract, id common.Hash) bindings.PaymentChannelsChannel {
	t.Helper()
	ch, err := bind.Call(at, &bind.CallOpts{Context: t.Context()}, pc.PackGetChannel(id), pc.UnpackGetChannel)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func balance(t *testing.T, c chainUnderTest, a common.Address) *big.Int {
	t.Helper()
	b, err := c.client.BalanceAt(t.Context(), a, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tokenBalance(t *testing.T, token *bindings.TestUSD, at *bind.BoundContract, a common.Address) *big.Int {
	t.Helper()
	b, err := bind.Call(at, &bind.CallOpts{Context: t.Context()}, token.PackBalanceOf(a), token.UnpackBalanceOf)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gasCost(r *types.Receipt) *big.Int {
	return new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), r.EffectiveGasPrice)
}

// signPermit signs an EIP-2612 permit of TestUSD for spender.
func signPermit(t *testing.T, c chainUnderTest, token *bindings.TestUSD, at *bind.BoundContract, owner *ecdsa.PrivateKey, spender common.Address, value, deadline *big.Int, tokenAddr common.Address) (uint8, [32]byte, [32]byte) {
	t.Helper()
	ownerAddr := crypto.PubkeyToAddress(owner.PublicKey)
	nonce, err := bind.Call(at, &bind.CallOpts{Context: t.Context()}, token.PackNonces(ownerAddr), token.UnpackNonces)
	if err != nil {
		t.Fatal(err)
	}
	sep, err := bind.Call(at, &bind.CallOpts{Context: t.Context()}, token.PackDOMAINSEPARATOR(), token.UnpackDOMAINSEPARATOR)
	if err != nil {
		t.Fatal(err)
	}
	permitType := crypto.Keccak256([]byte("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"))
	buf := make([]byte, 6*32)
	copy(buf, permitType)
	copy(buf[32+12:], ownerAddr[:])
	copy(buf[64+12:], spender[:])
	value.FillBytes(buf[96:128])
	nonce.FillBytes(buf[128:160])
	deadline.FillBytes(buf[160:192])
	structHash := crypto.Keccak256(buf)
	digest := crypto.Keccak256Hash([]byte{0x19, 0x01}, sep[:], structHash)
	sig, err := contracts.Sign(digest, owner)
	if err != nil {
		t.Fatal(err)
	}
	var r, s [32]byte
	copy(r[:], sig[:32])
	copy(s[:], sig[32:64])
	return sig[64], r, s
}
