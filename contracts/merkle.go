package contracts

import (
	"errors"
	"fmt"
	"math/bits"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// ErrLeafIndex is returned for a proof of a leaf that is not in the list.
var ErrLeafIndex = errors.New("merkle: leaf index out of range")

// commutativeKeccak is OpenZeppelin's Hashes.commutativeKeccak256(a, b),
// reusing st and buf.
func commutativeKeccak(st crypto.KeccakState, buf *[64]byte, a, b common.Hash) (out common.Hash) {
	if hashLess(b, a) {
		a, b = b, a
	}
	copy(buf[:32], a[:])
	copy(buf[32:], b[:])
	st.Reset()
	st.Write(buf[:])
	st.Read(buf[:32]) // reading into out would move it to the heap
	copy(out[:], buf[:32])
	return out
}

// hashLess compares a and b as uint256, as Solidity's bytes32 < does.
func hashLess(a, b common.Hash) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// merkleTree is the heap-ordered tree over n leaves: node indexes 0..n−2
// are the inner nodes (kept in inner), n−1..2n−2 the leaves in reverse
// order.
type merkleTree struct {
	leaves []common.Hash
	inner  []common.Hash
}

func buildMerkleTree(leaves []common.Hash) merkleTree {
	n := len(leaves)
	t := merkleTree{leaves: leaves}
	if n < 2 {
		return t
	}
	t.inner = make([]common.Hash, n-1)
	st := crypto.NewKeccakState()
	var buf [64]byte
	for i := n - 2; i >= 0; i-- {
		t.inner[i] = commutativeKeccak(st, &buf, t.node(2*i+1), t.node(2*i+2))
	}
	return t
}

// node returns the node at heap index i.
func (t merkleTree) node(i int) common.Hash {
	if i < len(t.inner) {
		return t.inner[i]
	}
	return t.leaves[2*len(t.leaves)-2-i]
}

// MerkleRoot is the root of the receipts tree over leaves, taken in order.
//
// Every claim carries receiptsRoot, the root of this tree over the EIP-712
// struct hashes of the receipts it settles, so anyone holding a receipt and
// its proof can show on chain, with OpenZeppelin's
// MerkleProof.verify(proof, root, leaf), that the job was settled.
//
// Hashing. A parent is keccak256(min(a, b) ‖ max(a, b)): the two children
// sorted as 32-byte big-endian numbers, as OpenZeppelin's
// Hashes.commutativeKeccak256 and its JavaScript library's standardNodeHash
// do. A proof is therefore the list of siblings from the leaf up, with no
// left/right bits.
//
// Shape. The layout of OpenZeppelin's JavaScript SimpleMerkleTree with
// sortLeaves: false: the tree is an array of 2n−1 nodes in heap order (the
// children of node i are 2i+1 and 2i+2, the root is node 0), and leaf i
// (the i-th receipt in Seq order) sits at index 2n−2−i. So
//
//	SimpleMerkleTree.of(leaves, { sortLeaves: false })
//
// builds the same root and proofs from the same ordered list. The shape
// depends only on n, every proof has at most ⌈log₂ n⌉ siblings, and
// leaves are not re-hashed: they are already keccak256 digests of 256-byte
// typed-data encodings, never 64 bytes, so an inner node cannot pass as a
// receipt's struct hash without a keccak256 preimage.
//
// Edge cases: one leaf is its own root with an empty proof; no leaves give
// the zero hash, which commits to no receipt. Because pairs are hashed
// sorted, swapping the two subtrees under any node leaves the root
// unchanged (leaves 2k and 2k+1 are siblings; reversing 2^k leaves mirrors
// the whole tree): a root commits to the receipts and their places up to
// such mirrorings, not to a strict order. The order of a channel's
// receipts is fixed by their own cumulativeCharged.
func MerkleRoot(leaves []common.Hash) common.Hash {
	if len(leaves) == 0 {
		return common.Hash{}
	}
	return buildMerkleTree(leaves).node(0)
}

// MerkleProof is the proof for leaves[index]: its siblings from the leaf up
// to the root, as OpenZeppelin's MerkleProof.verify and SimpleMerkleTree's
// getProof take them. The proof of a single leaf is empty. It builds the
// whole tree, O(n) hashes, on each call.
func MerkleProof(leaves []common.Hash, index int) ([]common.Hash, error) {
	n := len(leaves)
	if index < 0 || index >= n {
		return nil, fmt.Errorf("%w: %d of %d", ErrLeafIndex, index, n)
	}
	t := buildMerkleTree(leaves)
	proof := make([]common.Hash, 0, bits.Len(uint(n)))
	for i := 2*n - 2 - index; i > 0; i = (i - 1) / 2 {
		sibling := i + 1
		if i%2 == 0 {
			sibling = i - 1
		}
		proof = append(proof, t.node(sibling))
	}
	return proof, nil
}

// VerifyMerkleProof reports whether proof takes leaf to root, exactly as
// OpenZeppelin's MerkleProof.verify(proof, root, leaf) decides it on chain.
// Like it, it accepts an empty proof when leaf == root (including the zero
// root of an empty list with a zero leaf, which no receipt hashes to).
func VerifyMerkleProof(proof []common.Hash, root, leaf common.Hash) bool {
	st := crypto.NewKeccakState()
	var buf [64]byte
	h := leaf
	for _, p := range proof {
		h = commutativeKeccak(st, &buf, h, p)
	}
	return h == root
}

// ReceiptLeaves returns the leaves of receipts in order: each receipt's
// EIP-712 struct hash.
func ReceiptLeaves(receipts []*Receipt) ([]common.Hash, error) {
	leaves := make([]common.Hash, len(receipts))
	for i, r := range receipts {
		if r == nil {
			return nil, fmt.Errorf("receipt %d: nil", i)
		}
		h, err := r.StructHash()
		if err != nil {
			return nil, fmt.Errorf("receipt %d: %w", i, err)
		}
		leaves[i] = h
	}
	return leaves, nil
}

// ReceiptsRoot is the receiptsRoot a claim settling receipts carries: the
// MerkleRoot of their struct hashes, in the order given (the receipts' Seq
// order).
func ReceiptsRoot(receipts []*Receipt) (common.Hash, error) {
	leaves, err := ReceiptLeaves(receipts)
	if err != nil {
		return common.Hash{}, err
	}
	return MerkleRoot(leaves), nil
}
