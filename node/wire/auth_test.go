package wire

import (
	"bytes"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"

	"github.com/paynode/paynode/contracts"
)

// referenceAuthDigest hashes an Auth with go-ethereum's EIP-712
// implementation, what eth_signTypedData_v4 signers compute.
func referenceAuthDigest(t testing.TB, d *contracts.Domain, a Auth) common.Hash {
	t.Helper()
	td := apitypes.TypedData{
		Types: apitypes.Types{
			"EIP712Domain": {
				{Name: "name", Type: "string"},
				{Name: "version", Type: "string"},
				{Name: "chainId", Type: "uint256"},
				{Name: "verifyingContract", Type: "address"},
			},
			"AgentAuth": {
				{Name: "provider", Type: "address"},
				{Name: "nonce", Type: "bytes32"},
			},
		},
		PrimaryType: "AgentAuth",
		Domain: apitypes.TypedDataDomain{
			Name:              contracts.DomainName,
			Version:           contracts.DomainVersion,
			ChainId:           (*math.HexOrDecimal256)(d.ChainID),
			VerifyingContract: d.VerifyingContract.Hex(),
		},
		Message: apitypes.TypedDataMessage{
			"provider": a.Provider.Hex(),
			"nonce":    a.Nonce.Hex(),
		},
	}
	if got := td.TypeHash("AgentAuth"); !bytes.Equal(got, authTypeHash[:]) {
		t.Fatalf("type hash %x, apitypes says %x", authTypeHash, got)
	}
	h, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		t.Fatal(err)
	}
	return common.BytesToHash(h)
}

func TestAuthDigestMatchesApitypes(t *testing.T) {
	for _, a := range []Auth{
		{Provider: providerAdr, Nonce: nonce},
		{},
		{Provider: common.HexToAddress("0xffffffffffffffffffffffffffffffffffffffff"), Nonce: common.MaxHash},
	} {
		if got, want := a.Digest(domain), referenceAuthDigest(t, domain, a); got != want {
			t.Errorf("digest of %+v = %s, apitypes %s", a, got, want)
		}
	}
}

// The signed bytes are part of the protocol: docs/protocol.md gives this
// vector, and any change to them breaks every agent.
func TestAuthVector(t *testing.T) {
	a := Auth{Provider: common.HexToAddress("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"), Nonce: common.HexToHash("0x0101010101010101010101010101010101010101010101010101010101010101")}
	d := contracts.NewDomain(big.NewInt(1337), common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3"))
	const want = "0x9037e4480ced3618a3868ce1fa6cbfc197cd11128b655eeaed6fab2cf63224f4"
	got := a.Digest(d)
	if got != referenceAuthDigest(t, d, a) {
		t.Fatalf("digest %s disagrees with apitypes", got)
	}
	if got.Hex() != want {
		t.Fatalf("digest %s, the documented vector is %s", got, want)
	}
	// Signing is deterministic (RFC 6979), so the signature is a vector
	// too: Hardhat's and anvil's dev account #2.
	key := mustKey("5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a")
	c := &Challenge{Nonce: a.Nonce, Provider: a.Provider, ChainID: 1337, Contract: d.VerifyingContract}
	h, err := c.Answer(key)
	if err != nil {
		t.Fatal(err)
	}
	const wantSig = "0x095bf1811680ec0143da8de63b307617d177842752775866021894dd65bf826b66c76466c49535d0b659ed1e3f5ee61f41094640adc31abb9a195e2becd7605c1c"
	if h.Signer != common.HexToAddress("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC") || common.Bytes2Hex(h.Signature) != wantSig[2:] {
		t.Fatalf("hello %s %x, the documented vector is %s", h.Signer, []byte(h.Signature), wantSig)
	}
}

func TestHelloAnswersChallenge(t *testing.T) {
	c := sampleChallenge()
	h, err := c.Answer(agentKey)
	if err != nil {
		t.Fatal(err)
	}
	if h.Signer != agentAddr || len(h.Signature) != SignatureLen {
		t.Fatalf("hello %#v", h)
	}
	if err := c.Verify(h); err != nil {
		t.Fatalf("verify: %v", err)
	}
	// Through the wire and back.
	m, err := Decode(AgentToNode, mustEncode(t, h))
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyHello(domain, Auth{Provider: providerAdr, Nonce: nonce}, m.(*Hello)); err != nil {
		t.Fatalf("verify decoded hello: %v", err)
	}
	// v as 0/1 is accepted too.
	h01 := &Hello{Signer: h.Signer, Signature: bytes.Clone(h.Signature)}
	h01.Signature[64] -= 27
	if err := c.Verify(h01); err != nil {
		t.Fatalf("v = 0/1: %v", err)
	}
}

func TestHelloRefused(t *testing.T) {
	c := sampleChallenge()
	h, err := c.Answer(agentKey)
	if err != nil {
		t.Fatal(err)
	}
	other := mustKey("0123456789012345678901234567890123456789012345678901234567890123")
	tamper := func(f func(c *Challenge, h *Hello)) (*Challenge, *Hello) {
		c2 := *c
		h2 := &Hello{Signer: h.Signer, Signature: bytes.Clone(h.Signature)}
		f(&c2, h2)
		return &c2, h2
	}
	highS := func(sig Signature) Signature {
		s := new(big.Int).SetBytes(sig[32:64])
		s.Sub(crypto.S256().Params().N, s)
		out := bytes.Clone(sig)
		s.FillBytes(out[32:64])
		out[64] ^= 1 // the other recovery id, so only the s check can refuse it
		return out
	}
	cases := map[string]func(c *Challenge, h *Hello){
		"other nonce":    func(c *Challenge, h *Hello) { c.Nonce[0] ^= 1 },
		"other provider": func(c *Challenge, h *Hello) { c.Provider[0] ^= 1 },
		"other chain":    func(c *Challenge, h *Hello) { c.ChainID++ },
		"other contract": func(c *Challenge, h *Hello) { c.Contract[19] ^= 1 },
		"other signer":   func(c *Challenge, h *Hello) { h.Signer = crypto.PubkeyToAddress(other.PublicKey) },
		"signed by another key": func(c *Challenge, h *Hello) {
			h2, _ := c.Answer(other)
			h.Signature = h2.Signature
		},
		"flipped bit":  func(c *Challenge, h *Hello) { h.Signature[10] ^= 1 },
		"short":        func(c *Challenge, h *Hello) { h.Signature = h.Signature[:64] },
		"v = 29":       func(c *Challenge, h *Hello) { h.Signature[64] = 29 },
		"high s":       func(c *Challenge, h *Hello) { h.Signature = highS(h.Signature) },
		"zero r and s": func(c *Challenge, h *Hello) { h.Signature = make(Signature, 65) },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			c2, h2 := tamper(f)
			err := c2.Verify(h2)
			if CodeOf(err) != CodeAuthFailed {
				t.Fatalf("got %v, want auth_failed", err)
			}
		})
	}
}

// An auth signature is never a voucher signature: the two digests differ
// even for equal field bytes.
func TestAuthIsNotAVoucher(t *testing.T) {
	a := Auth{Nonce: channelID}
	v, err := domain.VoucherDigest(&contracts.Voucher{ChannelID: channelID, CumulativeAmount: big.NewInt(0)})
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest(domain) == v {
		t.Fatal("an auth digest equals a voucher digest")
	}
}

func TestNewNonce(t *testing.T) {
	a, b := NewNonce(), NewNonce()
	if a == b || a == (common.Hash{}) {
		t.Fatalf("nonces %s and %s", a, b)
	}
}

func FuzzVerifyHello(f *testing.F) {
	h, err := sampleChallenge().Answer(agentKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(h.Signature), nonce[:])
	f.Add(make([]byte, 65), []byte{})
	f.Fuzz(func(t *testing.T, sig, n []byte) {
		c := sampleChallenge()
		copy(c.Nonce[:], n)
		err := c.Verify(&Hello{Signer: agentAddr, Signature: sig})
		if err == nil && (c.Nonce != nonce || !bytes.Equal(sig, h.Signature) && !isV01(sig, h.Signature)) {
			t.Fatalf("verified a signature the agent did not make: %x over %s", sig, c.Nonce)
		}
		if err != nil && CodeOf(err) != CodeAuthFailed {
			t.Fatalf("error %v is not auth_failed", err)
		}
	})
}

func isV01(sig, orig []byte) bool {
	return len(sig) == 65 && bytes.Equal(sig[:64], orig[:64]) && sig[64]+27 == orig[64]
}
