// Package contracts is the Go side of paynode's contracts: the EIP-712
// Voucher and Receipt types, mirroring the Solidity structs field for field,
// with their hashing, signing and recovery. The generated bindings live in
// contracts/bindings.
//
// Hashing is hand-rolled for speed (every paid job hashes a voucher and a
// receipt) and is checked against go-ethereum's signer/core/apitypes, the
// reference implementation of EIP-712, by tests and a fuzz target.
package contracts

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// The EIP-712 domain of PaymentChannels: name and version are fixed in the
// contract's constructor.
const (
	DomainName    = "paynode"
	DomainVersion = "1"
)

// Type strings, exactly as in PaymentChannels.sol.
const (
	VoucherType = "Voucher(bytes32 channelId,uint256 cumulativeAmount)"
	ReceiptType = "Receipt(bytes32 channelId,bytes32 jobId,uint256 cost,uint256 cumulativeCharged,uint64 inputTokens,uint64 outputTokens,bytes32 resultHash)"
	domainType  = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)

var (
	voucherTypeHash = crypto.Keccak256Hash([]byte(VoucherType))
	receiptTypeHash = crypto.Keccak256Hash([]byte(ReceiptType))
	domainTypeHash  = crypto.Keccak256Hash([]byte(domainType))
	uint256Max      = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
)

// Errors of signature checks. Callers map them to the protocol's error codes.
var (
	ErrBadSignature = errors.New("malformed signature")
	ErrAmountRange  = errors.New("amount outside uint256")
)

// Domain is the EIP-712 domain of one PaymentChannels deployment. A voucher
// or receipt signed under one domain is worthless under any other, so a
// signature cannot be replayed on another chain or contract.
type Domain struct {
	ChainID           *big.Int
	VerifyingContract common.Address
	separator         common.Hash
}

// NewDomain returns the domain of the PaymentChannels contract at addr on
// the chain chainID, with its separator computed once.
func NewDomain(chainID *big.Int, addr common.Address) *Domain {
	d := &Domain{ChainID: new(big.Int).Set(chainID), VerifyingContract: addr}
	buf := make([]byte, 5*32)
	copy(buf[0:], domainTypeHash[:])
	copy(buf[32:], crypto.Keccak256([]byte(DomainName)))
	copy(buf[64:], crypto.Keccak256([]byte(DomainVersion)))
	d.ChainID.FillBytes(buf[96:128])
	copy(buf[128+12:], addr[:])
	d.separator = crypto.Keccak256Hash(buf)
	return d
}

// Separator is the EIP-712 domain separator.
func (d *Domain) Separator() common.Hash { return d.separator }

func (d *Domain) digest(structHash common.Hash) common.Hash {
	var buf [66]byte
	buf[0], buf[1] = 0x19, 0x01
	copy(buf[2:], d.separator[:])
	copy(buf[34:], structHash[:])
	return crypto.Keccak256Hash(buf[:])
}

// Voucher authorizes the provider to claim up to CumulativeAmount from a
// channel in total. Vouchers are cumulative: the latest supersedes all.
type Voucher struct {
	ChannelID        common.Hash
	CumulativeAmount *big.Int
}

// StructHash is hashStruct(Voucher).
func (v *Voucher) StructHash() (common.Hash, error) {
	if err := checkUint256(v.CumulativeAmount); err != nil {
		return common.Hash{}, fmt.Errorf("cumulativeAmount: %w", err)
	}
	var buf [3 * 32]byte
	copy(buf[0:], voucherTypeHash[:])
	copy(buf[32:], v.ChannelID[:])
	v.CumulativeAmount.FillBytes(buf[64:96])
	return crypto.Keccak256Hash(buf[:]), nil
}

// VoucherDigest is the EIP-712 digest the channel's signer signs.
func (d *Domain) VoucherDigest(v *Voucher) (common.Hash, error) {
	h, err := v.StructHash()
	if err != nil {
		return common.Hash{}, err
	}
	return d.digest(h), nil
}

// Receipt is the provider's signed account of one job: what it cost and
// the channel's charged total after it. Its struct hash is the leaf of the
// Merkle root that a claim carries on chain.
type Receipt struct {
	ChannelID         common.Hash
	JobID             common.Hash
	Cost              *big.Int
	CumulativeCharged *big.Int
	InputTokens       uint64
	OutputTokens      uint64
	ResultHash        common.Hash
}

// StructHash is hashStruct(Receipt).
func (r *Receipt) StructHash() (common.Hash, error) {
	if err := checkUint256(r.Cost); err != nil {
		return common.Hash{}, fmt.Errorf("cost: %w", err)
	}
	if err := checkUint256(r.CumulativeCharged); err != nil {
		return common.Hash{}, fmt.Errorf("cumulativeCharged: %w", err)
	}
	var buf [8 * 32]byte
	copy(buf[0:], receiptTypeHash[:])
	copy(buf[32:], r.ChannelID[:])
	copy(buf[64:], r.JobID[:])
	r.Cost.FillBytes(buf[96:128])
	r.CumulativeCharged.FillBytes(buf[128:160])
	new(big.Int).SetUint64(r.InputTokens).FillBytes(buf[160:192])
	new(big.Int).SetUint64(r.OutputTokens).FillBytes(buf[192:224])
	copy(buf[224:], r.ResultHash[:])
	return crypto.Keccak256Hash(buf[:]), nil
}

// ReceiptDigest is the EIP-712 digest the provider signs.
func (d *Domain) ReceiptDigest(r *Receipt) (common.Hash, error) {
	h, err := r.StructHash()
	if err != nil {
		return common.Hash{}, err
	}
	return d.digest(h), nil
}

// Sign signs an EIP-712 digest and returns the 65-byte signature r‖s‖v
// with v = 27 or 28, the form wallets and eth_signTypedData produce.
func Sign(digest common.Hash, key *ecdsa.PrivateKey) ([]byte, error) {
	sig, err := crypto.Sign(digest[:], key)
	if err != nil {
		return nil, err
	}
	sig[64] += 27
	return sig, nil
}

// Recover returns the address that made sig over digest. It accepts v as
// 0/1 or 27/28 and rejects malleable (high-s) signatures, as OpenZeppelin's
// ECDSA does on chain.
func Recover(digest common.Hash, sig []byte) (common.Address, error) {
	if len(sig) != 65 {
		return common.Address{}, fmt.Errorf("%w: %d bytes, want 65", ErrBadSignature, len(sig))
	}
	v := sig[64]
	if v >= 27 {
		v -= 27
	}
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:64])
	if v > 1 || !crypto.ValidateSignatureValues(v, r, s, true) {
		return common.Address{}, ErrBadSignature
	}
	var norm [65]byte
	copy(norm[:], sig[:64])
	norm[64] = v
	pub, err := crypto.SigToPub(digest[:], norm[:])
	if err != nil {
		return common.Address{}, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return crypto.PubkeyToAddress(*pub), nil
}

// Compact returns the EIP-2098 form (r, yParity‖s) of a 65-byte signature,
// which PaymentChannels.claimMany takes to save calldata.
func Compact(sig []byte) (r, vs [32]byte, err error) {
	if len(sig) != 65 {
		return r, vs, fmt.Errorf("%w: %d bytes, want 65", ErrBadSignature, len(sig))
	}
	v := sig[64]
	if v >= 27 {
		v -= 27
	}
	if v > 1 || sig[32]&0x80 != 0 {
		return r, vs, ErrBadSignature
	}
	copy(r[:], sig[:32])
	copy(vs[:], sig[32:64])
	vs[0] |= v << 7
	return r, vs, nil
}

func checkUint256(x *big.Int) error {
	if x == nil || x.Sign() < 0 || x.Cmp(uint256Max) > 0 {
		return ErrAmountRange
	}
	return nil
}
