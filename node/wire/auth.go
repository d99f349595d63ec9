package wire

import (
	"crypto/ecdsa"
	"crypto/rand"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/contracts"
)

// AuthType is the EIP-712 type an agent signs to prove its key to a node,
// under the deployment's domain {name "paynode", version "1", chainId,
// verifyingContract = PaymentChannels} — the domain of its vouchers.
//
// Why EIP-712 and not an EIP-191 personal_sign text: the agent already
// signs vouchers this way, so one domain, one signer setup and one code
// path (eth_signTypedData_v4 in wallets and remote signers) serve both; the
// fields are fixed-size, so there is no text format (hex case, checksums,
// decimal chain ids) to get subtly wrong; the chain and contract are bound
// by the domain; and the type hash differs from Voucher's and Receipt's, so
// no hello can ever pass for a voucher, nor a voucher for a hello.
//
// provider binds the signature to one node: an agent checks that the
// challenge names the provider of the offer it chose (and its own chain
// and contract) before it signs, so a node cannot relay another node's
// challenge to borrow the agent's identity there. nonce is fresh per
// connection, so a signature is good for one connection only.
const AuthType = "AgentAuth(address provider,bytes32 nonce)"

var authTypeHash = crypto.Keccak256Hash([]byte(AuthType))

// Auth is the struct of AuthType.
type Auth struct {
	Provider common.Address
	Nonce    common.Hash
}

// Digest is the EIP-712 digest of a under domain d: the 32 bytes the
// agent's key signs, keccak256(0x19 0x01 ‖ domainSeparator ‖
// keccak256(typeHash ‖ provider (left-padded to 32 bytes) ‖ nonce)).
func (a Auth) Digest(d *contracts.Domain) common.Hash {
	var s [3 * 32]byte
	copy(s[0:], authTypeHash[:])
	copy(s[32+12:], a.Provider[:])
	copy(s[64:], a.Nonce[:])
	structHash := crypto.Keccak256Hash(s[:])
	sep := d.Separator()
	var buf [66]byte
	buf[0], buf[1] = 0x19, 0x01
	copy(buf[2:], sep[:])
	copy(buf[34:], structHash[:])
	return crypto.Keccak256Hash(buf[:])
}

// NewNonce returns 32 random bytes for a Challenge.
func NewNonce() common.Hash {
	var n common.Hash
	rand.Read(n[:]) // never fails (crypto/rand, Go ≥ 1.24)
	return n
}

// Domain is the EIP-712 domain the challenge names.
func (c *Challenge) Domain() *contracts.Domain {
	return contracts.NewDomain(new(big.Int).SetUint64(c.ChainID), c.Contract)
}

// Auth is the struct an agent signs to answer c.
func (c *Challenge) Auth() Auth { return Auth{Provider: c.Provider, Nonce: c.Nonce} }

// Answer signs c with the agent's key and returns the hello to send. The
// caller checks first that c names the provider, chain and contract it
// meant to reach.
func (c *Challenge) Answer(key *ecdsa.PrivateKey) (*Hello, error) {
	sig, err := contracts.Sign(c.Auth().Digest(c.Domain()), key)
	if err != nil {
		return nil, err
	}
	return &Hello{Signer: crypto.PubkeyToAddress(key.PublicKey), Signature: sig}, nil
}

// VerifyHello checks that h answers the challenge whose struct is a under
// domain d: that h.Signature is a valid signature by h.Signer of a's
// digest. It returns an *Error with code auth_failed, or nil. The node
// passes the domain it built once, so verifying costs one recovery.
func VerifyHello(d *contracts.Domain, a Auth, h *Hello) error {
	got, err := contracts.Recover(a.Digest(d), h.Signature)
	if err != nil {
		return NewError("", CodeAuthFailed, "hello signature: %v", err)
	}
	if got != h.Signer {
		return NewError("", CodeAuthFailed, "hello is signed by %s, not by the signer %s it names (or not over this connection's challenge)", got, h.Signer)
	}
	return nil
}

// Verify checks that h answers c (see VerifyHello).
func (c *Challenge) Verify(h *Hello) error { return VerifyHello(c.Domain(), c.Auth(), h) }
