package contracts

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"math/big"
	"os"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"
)

// referenceTypedData builds the apitypes form of a message, so our
// hand-rolled hashing can be checked against go-ethereum's EIP-712.
func referenceTypedData(d *Domain, primary string, msg apitypes.TypedDataMessage) apitypes.TypedData {
	return apitypes.TypedData{
		Types: apitypes.Types{
			"EIP712Domain": {
				{Name: "name", Type: "string"},
				{Name: "version", Type: "string"},
				{Name: "chainId", Type: "uint256"},
				{Name: "verifyingContract", Type: "address"},
			},
			"Voucher": {
				{Name: "channelId", Type: "bytes32"},
				{Name: "cumulativeAmount", Type: "uint256"},
			},
			"Receipt": {
				{Name: "channelId", Type: "bytes32"},
				{Name: "jobId", Type: "bytes32"},
				{Name: "cost", Type: "uint256"},
				{Name: "cumulativeCharged", Type: "uint256"},
				{Name: "inputTokens", Type: "uint64"},
				{Name: "outputTokens", Type: "uint64"},
				{Name: "resultHash", Type: "bytes32"},
			},
		},
		PrimaryType: primary,
		Domain: apitypes.TypedDataDomain{
			Name:              DomainName,
			Version:           DomainVersion,
			ChainId:           (*math.HexOrDecimal256)(d.ChainID),
			VerifyingContract: d.VerifyingContract.Hex(),
		},
		Message: msg,
	}
}

func referenceVoucherDigest(t testing.TB, d *Domain, v *Voucher) common.Hash {
	t.Helper()
	td := referenceTypedData(d, "Voucher", apitypes.TypedDataMessage{
		"channelId":        v.ChannelID.Hex(),
		"cumulativeAmount": v.CumulativeAmount.String(),
	})
	h, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		t.Fatalf("apitypes voucher: %v", err)
	}
	return common.BytesToHash(h)
}

func referenceReceiptDigest(t testing.TB, d *Domain, r *Receipt) common.Hash {
	t.Helper()
	td := referenceTypedData(d, "Receipt", apitypes.TypedDataMessage{
		"channelId":         r.ChannelID.Hex(),
		"jobId":             r.JobID.Hex(),
		"cost":              r.Cost.String(),
		"cumulativeCharged": r.CumulativeCharged.String(),
		"inputTokens":       new(big.Int).SetUint64(r.InputTokens).String(),
		"outputTokens":      new(big.Int).SetUint64(r.OutputTokens).String(),
		"resultHash":        r.ResultHash.Hex(),
	})
	h, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		t.Fatalf("apitypes receipt: %v", err)
	}
	sep, err := td.HashStruct("EIP712Domain", td.Domain.Map())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sep, d.Separator().Bytes()) {
		t.Fatalf("domain separator %x, apitypes says %x", d.Separator(), sep)
	}
	return common.BytesToHash(h)
}

func TestDigestsMatchApitypes(t *testing.T) {
	d := NewDomain(big.NewInt(1337), common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3"))
	cases := []struct {
		name   string
		amount *big.Int
	}{
		{"zero", big.NewInt(0)},
		{"one", big.NewInt(1)},
		{"one ether", new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)},
		{"uint256 max", new(big.Int).Set(uint256Max)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := &Voucher{ChannelID: common.HexToHash("0xabcdef"), CumulativeAmount: c.amount}
			got, err := d.VoucherDigest(v)
			if err != nil {
				t.Fatal(err)
			}
			if want := referenceVoucherDigest(t, d, v); got != want {
				t.Fatalf("voucher digest %x, apitypes %x", got, want)
			}
			r := &Receipt{
				ChannelID: common.HexToHash("0x01"), JobID: common.HexToHash("0x02"),
				Cost: c.amount, CumulativeCharged: c.amount,
				InputTokens: 1<<64 - 1, OutputTokens: 7, ResultHash: common.HexToHash("0x03"),
			}
			got, err = d.ReceiptDigest(r)
			if err != nil {
				t.Fatal(err)
			}
			if want := referenceReceiptDigest(t, d, r); got != want {
				t.Fatalf("receipt digest %x, apitypes %x", got, want)
			}
		})
	}
}

func TestAmountOutOfRange(t *testing.T) {
	d := NewDomain(big.NewInt(1), common.Address{})
	for name, amt := range map[string]*big.Int{
		"nil":      nil,
		"negative": big.NewInt(-1),
		"2^256":    new(big.Int).Lsh(big.NewInt(1), 256),
	} {
		if _, err := d.VoucherDigest(&Voucher{CumulativeAmount: amt}); err == nil {
			t.Errorf("%s: voucher digest accepted an amount outside uint256", name)
		}
		if _, err := d.ReceiptDigest(&Receipt{Cost: amt, CumulativeCharged: big.NewInt(1)}); err == nil {
			t.Errorf("%s: receipt digest accepted a cost outside uint256", name)
		}
	}
}

func TestSignRecoverRoundTrip(t *testing.T) {
	key, _ := crypto.GenerateKey()
	d := NewDomain(big.NewInt(1337), common.HexToAddress("0x1234"))
	digest, err := d.VoucherDigest(&Voucher{ChannelID: common.HexToHash("0x99"), CumulativeAmount: big.NewInt(5)})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := Sign(digest, key)
	if err != nil {
		t.Fatal(err)
	}
	if sig[64] != 27 && sig[64] != 28 {
		t.Fatalf("v = %d, want 27 or 28", sig[64])
	}
	got, err := Recover(digest, sig)
	if err != nil {
		t.Fatal(err)
	}
	if want := crypto.PubkeyToAddress(key.PublicKey); got != want {
		t.Fatalf("recovered %s, want %s", got, want)
	}
	// v as 0/1 is accepted too.
	raw := bytes.Clone(sig)
	raw[64] -= 27
	if got2, err := Recover(digest, raw); err != nil || got2 != got {
		t.Fatalf("v in 0/1 form: %s, %v", got2, err)
	}
	// A different digest recovers someone else.
	other, _ := d.VoucherDigest(&Voucher{ChannelID: common.HexToHash("0x99"), CumulativeAmount: big.NewInt(6)})
	if got3, err := Recover(other, sig); err == nil && got3 == got {
		t.Fatal("a signature over one amount recovered the signer for another")
	}
}

func TestRecoverRejectsMalformed(t *testing.T) {
	key, _ := crypto.GenerateKey()
	digest := crypto.Keccak256Hash([]byte("x"))
	sig, _ := Sign(digest, key)
	highS := bytes.Clone(sig)
	// s' = n - s recovers the same key but is the malleable twin.
	n := crypto.S256().Params().N
	s := new(big.Int).SetBytes(sig[32:64])
	new(big.Int).Sub(n, s).FillBytes(highS[32:64])
	highS[64] ^= 1
	badV := bytes.Clone(sig)
	badV[64] = 29
	zeroR := bytes.Clone(sig)
	clear(zeroR[:32])
	for name, in := range map[string][]byte{
		"empty": nil, "short": sig[:64], "long": append(bytes.Clone(sig), 0),
		"high s": highS, "v 29": badV, "zero r": zeroR,
	} {
		if _, err := Recover(digest, in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCompact(t *testing.T) {
	key, _ := crypto.GenerateKey()
	for i := range 8 { // both parities show up
		digest := crypto.Keccak256Hash([]byte{byte(i)})
		sig, _ := Sign(digest, key)
		r, vs, err := Compact(sig)
		if err != nil {
			t.Fatal(err)
		}
		// Undo: v = top bit of vs, s = vs without it.
		back := make([]byte, 65)
		copy(back, r[:])
		copy(back[32:], vs[:])
		back[32] &= 0x7f
		back[64] = 27 + vs[0]>>7
		if !bytes.Equal(back, sig) {
			t.Fatalf("compact form does not round-trip: %x vs %x", back, sig)
		}
	}
}

// vectors is contracts/testdata/eip712_vectors.json, which the forge test
// Vectors.t.sol checks against the contract too.
type vectors struct {
	ChainID           int64          `json:"chainId"`
	VerifyingContract common.Address `json:"verifyingContract"`
	SignerKey         hexutil.Bytes  `json:"signerKey"`
	Signer            common.Address `json:"signer"`
	DomainSeparator   common.Hash    `json:"domainSeparator"`
	Voucher           struct {
		ChannelID        common.Hash   `json:"channelId"`
		CumulativeAmount string        `json:"cumulativeAmount"`
		Digest           common.Hash   `json:"digest"`
		Signature        hexutil.Bytes `json:"signature"`
	} `json:"voucher"`
	Receipt struct {
		ChannelID         common.Hash   `json:"channelId"`
		JobID             common.Hash   `json:"jobId"`
		Cost              string        `json:"cost"`
		CumulativeCharged string        `json:"cumulativeCharged"`
		InputTokens       uint64        `json:"inputTokens"`
		OutputTokens      uint64        `json:"outputTokens"`
		ResultHash        common.Hash   `json:"resultHash"`
		StructHash        common.Hash   `json:"structHash"`
		Digest            common.Hash   `json:"digest"`
		Signature         hexutil.Bytes `json:"signature"`
	} `json:"receipt"`
}

func mustBig(t *testing.T, s string) *big.Int {
	t.Helper()
	x, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("not a decimal integer: %q", s)
	}
	return x
}

func TestFixedVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/eip712_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vec vectors
	if err := json.Unmarshal(raw, &vec); err != nil {
		t.Fatal(err)
	}
	key, err := crypto.ToECDSA(vec.SignerKey)
	if err != nil {
		t.Fatal(err)
	}
	if got := crypto.PubkeyToAddress(key.PublicKey); got != vec.Signer {
		t.Fatalf("signer key gives %s, vector says %s", got, vec.Signer)
	}
	d := NewDomain(big.NewInt(vec.ChainID), vec.VerifyingContract)
	if d.Separator() != vec.DomainSeparator {
		t.Fatalf("domain separator %s, vector %s", d.Separator(), vec.DomainSeparator)
	}

	v := &Voucher{ChannelID: vec.Voucher.ChannelID, CumulativeAmount: mustBig(t, vec.Voucher.CumulativeAmount)}
	vd, err := d.VoucherDigest(v)
	if err != nil {
		t.Fatal(err)
	}
	if vd != vec.Voucher.Digest {
		t.Fatalf("voucher digest %s, vector %s", vd, vec.Voucher.Digest)
	}
	checkSignature(t, "voucher", vd, key, vec.Voucher.Signature, vec.Signer)

	r := &Receipt{
		ChannelID: vec.Receipt.ChannelID, JobID: vec.Receipt.JobID,
		Cost: mustBig(t, vec.Receipt.Cost), CumulativeCharged: mustBig(t, vec.Receipt.CumulativeCharged),
		InputTokens: vec.Receipt.InputTokens, OutputTokens: vec.Receipt.OutputTokens,
		ResultHash: vec.Receipt.ResultHash,
	}
	sh, err := r.StructHash()
	if err != nil {
		t.Fatal(err)
	}
	if sh != vec.Receipt.StructHash {
		t.Fatalf("receipt struct hash %s, vector %s", sh, vec.Receipt.StructHash)
	}
	rd, err := d.ReceiptDigest(r)
	if err != nil {
		t.Fatal(err)
	}
	if rd != vec.Receipt.Digest {
		t.Fatalf("receipt digest %s, vector %s", rd, vec.Receipt.Digest)
	}
	checkSignature(t, "receipt", rd, key, vec.Receipt.Signature, vec.Signer)
}

func checkSignature(t *testing.T, what string, digest common.Hash, key *ecdsa.PrivateKey, want []byte, signer common.Address) {
	t.Helper()
	sig, err := Sign(digest, key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sig, want) {
		t.Fatalf("%s signature %x, vector %x (RFC 6979 signatures are deterministic)", what, sig, want)
	}
	got, err := Recover(digest, want)
	if err != nil || got != signer {
		t.Fatalf("%s signature recovers %s (%v), want %s", what, got, err, signer)
	}
}

// FuzzVoucherDigest checks the fast hashing against apitypes on any input,
// and that recovery never panics and never yields the signer for a
// signature over another digest.
func FuzzVoucherDigest(f *testing.F) {
	f.Add(int64(1337), []byte{1, 2, 3}, []byte{0xff}, []byte{})
	f.Add(int64(1), []byte{}, []byte{}, make([]byte, 65))
	f.Fuzz(func(t *testing.T, chainID int64, channel, amount, sig []byte) {
		if chainID < 0 || len(channel) > 32 || len(amount) > 32 {
			return
		}
		d := NewDomain(big.NewInt(chainID), common.BytesToAddress(channel))
		v := &Voucher{ChannelID: common.BytesToHash(channel), CumulativeAmount: new(big.Int).SetBytes(amount)}
		got, err := d.VoucherDigest(v)
		if err != nil {
			t.Fatal(err)
		}
		if want := referenceVoucherDigest(t, d, v); got != want {
			t.Fatalf("digest %x, apitypes %x", got, want)
		}
		_, _ = Recover(got, sig) // must not panic on any bytes
		_, _, _ = Compact(sig)
	})
}

// FuzzReceiptDigest does the same for receipts.
func FuzzReceiptDigest(f *testing.F) {
	f.Add([]byte{1}, []byte{2}, []byte{3}, []byte{4}, uint64(10), uint64(20))
	f.Fuzz(func(t *testing.T, channel, job, cost, cum []byte, in, out uint64) {
		if len(channel) > 32 || len(job) > 32 || len(cost) > 32 || len(cum) > 32 {
			return
		}
		d := NewDomain(big.NewInt(31337), common.HexToAddress("0x42"))
		r := &Receipt{
			ChannelID: common.BytesToHash(channel), JobID: common.BytesToHash(job),
			Cost: new(big.Int).SetBytes(cost), CumulativeCharged: new(big.Int).SetBytes(cum),
			InputTokens: in, OutputTokens: out, ResultHash: crypto.Keccak256Hash(job),
		}
		got, err := d.ReceiptDigest(r)
		if err != nil {
			t.Fatal(err)
		}
		if want := referenceReceiptDigest(t, d, r); got != want {
			t.Fatalf("digest %x, apitypes %x", got, want)
		}
	})
}

func BenchmarkVoucherDigest(b *testing.B) {
	d := NewDomain(big.NewInt(1337), common.HexToAddress("0x42"))
	v := &Voucher{ChannelID: common.HexToHash("0x01"), CumulativeAmount: big.NewInt(123456789)}
	for b.Loop() {
		if _, err := d.VoucherDigest(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVoucherDigestApitypes(b *testing.B) {
	d := NewDomain(big.NewInt(1337), common.HexToAddress("0x42"))
	v := &Voucher{ChannelID: common.HexToHash("0x01"), CumulativeAmount: big.NewInt(123456789)}
	for b.Loop() {
		referenceVoucherDigest(b, d, v)
	}
}

func BenchmarkRecover(b *testing.B) {
	key, _ := crypto.GenerateKey()
	digest := crypto.Keccak256Hash([]byte("bench"))
	sig, _ := Sign(digest, key)
	for b.Loop() {
		if _, err := Recover(digest, sig); err != nil {
			b.Fatal(err)
		}
	}
}
