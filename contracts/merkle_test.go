package contracts

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"math/bits"
	"os"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

var updateMerkleVectors = flag.Bool("update-merkle-vectors", false,
	"rewrite testdata/merkle_vectors.json from the current code")

const merkleVectorsPath = "testdata/merkle_vectors.json"

// ozMerkleTree is a line-by-line port of makeMerkleTree and getProof from
// OpenZeppelin's JavaScript merkle-tree library (src/core.ts), the
// reference the layout is documented against: a heap array of 2n−1 nodes,
// leaf i at index 2n−2−i, parents hashed with the sorted-pair keccak256.
func ozMerkleTree(leaves []common.Hash) []common.Hash {
	t := make([]common.Hash, 2*len(leaves)-1)
	for i, l := range leaves {
		t[len(t)-1-i] = l
	}
	for i := len(t) - 1 - len(leaves); i >= 0; i-- {
		a, b := t[2*i+1], t[2*i+2]
		if bytes.Compare(a[:], b[:]) > 0 {
			a, b = b, a
		}
		t[i] = crypto.Keccak256Hash(a[:], b[:])
	}
	return t
}

func ozMerkleProof(t []common.Hash, index int) []common.Hash {
	proof := []common.Hash{}
	for i := len(t) - 1 - index; i > 0; i = (i - 1) / 2 {
		s := i - 1
		if i%2 == 1 {
			s = i + 1
		}
		proof = append(proof, t[s])
	}
	return proof
}

func merkleTestLeaves(n int) []common.Hash {
	leaves := make([]common.Hash, n)
	for i := range leaves {
		leaves[i] = crypto.Keccak256Hash([]byte(fmt.Sprintf("paynode/merkle/leaf/%d", i)))
	}
	return leaves
}

// maxMerkleProof is the most siblings a proof over n leaves may have.
func maxMerkleProof(n int) int {
	if n <= 1 {
		return 0
	}
	return bits.Len(uint(n - 1))
}

// checkMerkleProofs checks every leaf's proof against root and the reference
// implementation.
func checkMerkleProofs(t *testing.T, leaves []common.Hash) common.Hash {
	t.Helper()
	root := MerkleRoot(leaves)
	ref := ozMerkleTree(leaves)
	if root != ref[0] {
		t.Fatalf("n=%d: root %s, reference %s", len(leaves), root, ref[0])
	}
	for i, leaf := range leaves {
		proof, err := MerkleProof(leaves, i)
		if err != nil {
			t.Fatalf("n=%d: proof %d: %v", len(leaves), i, err)
		}
		if want := ozMerkleProof(ref, i); !slices.Equal(proof, want) {
			t.Fatalf("n=%d: proof %d differs from the reference:\n got %v\nwant %v", len(leaves), i, proof, want)
		}
		if len(proof) > maxMerkleProof(len(leaves)) {
			t.Fatalf("n=%d: proof %d has %d siblings, more than ⌈log₂ n⌉", len(leaves), i, len(proof))
		}
		if !VerifyMerkleProof(proof, root, leaf) {
			t.Fatalf("n=%d: proof %d does not verify", len(leaves), i)
		}
	}
	return root
}

func TestMerkleTable(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			leaves := merkleTestLeaves(n)
			root := checkMerkleProofs(t, leaves)
			if n == 1 && root != leaves[0] {
				t.Fatalf("one leaf: root %s, want the leaf %s", root, leaves[0])
			}
			outsider := crypto.Keccak256Hash([]byte("not a leaf"))

			for i, leaf := range leaves {
				proof, _ := MerkleProof(leaves, i)
				if VerifyMerkleProof(proof, root, outsider) {
					t.Fatalf("proof %d verifies a leaf that is not in the tree", i)
				}
				if n > 1 && VerifyMerkleProof(proof, root, leaves[(i+2)%n]) && leaves[(i+2)%n] != leaf {
					t.Fatalf("proof %d verifies leaf %d", i, (i+2)%n)
				}
				if VerifyMerkleProof(proof, outsider, leaf) {
					t.Fatalf("proof %d verifies against a wrong root", i)
				}
				for j := range proof {
					for _, k := range []int{0, 17, 31} {
						bad := slices.Clone(proof)
						bad[j][k] ^= 0x01
						if VerifyMerkleProof(bad, root, leaf) {
							t.Fatalf("proof %d with byte %d of sibling %d flipped verifies", i, k, j)
						}
					}
				}
				if len(proof) > 0 {
					if VerifyMerkleProof(proof[:len(proof)-1], root, leaf) {
						t.Fatalf("proof %d without its last sibling verifies", i)
					}
					if VerifyMerkleProof(append(slices.Clone(proof), outsider), root, leaf) {
						t.Fatalf("proof %d with an extra sibling verifies", i)
					}
				}
				flipped := leaf
				flipped[5] ^= 0x80
				if VerifyMerkleProof(proof, root, flipped) {
					t.Fatalf("proof %d verifies the leaf with a flipped byte", i)
				}
			}

			// Any changed leaf changes the root.
			for i := range leaves {
				changed := slices.Clone(leaves)
				changed[i][31] ^= 0x01
				if MerkleRoot(changed) == root {
					t.Fatalf("changing leaf %d keeps the root", i)
				}
			}

			// Order: a sorted-pair hash cannot tell the two children of a
			// node apart, so swapping leaves 2k and 2k+1 (siblings) keeps
			// the root; every other swap of neighbours changes it.
			for i := 0; i+1 < n; i++ {
				swapped := slices.Clone(leaves)
				swapped[i], swapped[i+1] = swapped[i+1], swapped[i]
				same := MerkleRoot(swapped) == root
				if siblings := i%2 == 0; same != siblings {
					t.Fatalf("swapping leaves %d and %d: root unchanged = %v, siblings = %v", i, i+1, same, siblings)
				}
			}
			if n >= 3 {
				rotated := append(slices.Clone(leaves[1:]), leaves[0])
				if MerkleRoot(rotated) == root {
					t.Fatal("rotating the leaves keeps the root")
				}
				// Reversing 2^k leaves mirrors every node, so the root
				// stays; any other count puts leaves in other subtrees.
				reversed := slices.Clone(leaves)
				slices.Reverse(reversed)
				pow2 := n&(n-1) == 0
				if same := MerkleRoot(reversed) == root; same != pow2 {
					t.Fatalf("reversing %d leaves: root unchanged = %v", n, same)
				}
			}
			// Appending or dropping a leaf changes the root.
			if MerkleRoot(append(slices.Clone(leaves), outsider)) == root {
				t.Fatal("appending a leaf keeps the root")
			}
			if n > 1 && MerkleRoot(leaves[:n-1]) == root {
				t.Fatal("dropping the last leaf keeps the root")
			}
		})
	}
}

func TestMerkleEdges(t *testing.T) {
	if root := MerkleRoot(nil); root != (common.Hash{}) {
		t.Fatalf("empty list: root %s, want zero", root)
	}
	if root := MerkleRoot([]common.Hash{}); root != (common.Hash{}) {
		t.Fatalf("empty list: root %s, want zero", root)
	}
	if _, err := MerkleProof(nil, 0); !errors.Is(err, ErrLeafIndex) {
		t.Fatalf("proof in an empty list: %v, want ErrLeafIndex", err)
	}
	leaves := merkleTestLeaves(3)
	for _, i := range []int{-1, 3, 100} {
		if _, err := MerkleProof(leaves, i); !errors.Is(err, ErrLeafIndex) {
			t.Fatalf("proof %d of 3: %v, want ErrLeafIndex", i, err)
		}
	}
	proof, err := MerkleProof(leaves[:1], 0)
	if err != nil || proof == nil || len(proof) != 0 {
		t.Fatalf("one leaf: proof %v (%v), want an empty non-nil list", proof, err)
	}
	// Known shape: three leaves make H(H(l0, l1), l2); five make
	// H(H(H(l0, l1), l4), H(l2, l3)).
	h := func(a, b common.Hash) common.Hash {
		if bytes.Compare(a[:], b[:]) > 0 {
			a, b = b, a
		}
		return crypto.Keccak256Hash(a[:], b[:])
	}
	if got, want := MerkleRoot(leaves), h(h(leaves[0], leaves[1]), leaves[2]); got != want {
		t.Fatalf("three leaves: root %s, want %s", got, want)
	}
	five := merkleTestLeaves(5)
	if got, want := MerkleRoot(five), h(h(h(five[0], five[1]), five[4]), h(five[2], five[3])); got != want {
		t.Fatalf("five leaves: root %s, want %s", got, want)
	}
	// Duplicate leaves are allowed; each copy has a proof.
	dup := []common.Hash{leaves[0], leaves[0], leaves[1]}
	checkMerkleProofs(t, dup)
	// The inputs are left alone.
	before := slices.Clone(five)
	MerkleRoot(five)
	MerkleProof(five, 2)
	if !slices.Equal(before, five) {
		t.Fatal("MerkleRoot or MerkleProof changed its input")
	}
}

func merkleTestReceipts(n int) []*Receipt {
	channel := crypto.Keccak256Hash([]byte("paynode/vectors/channel"))
	charged := new(big.Int)
	rs := make([]*Receipt, n)
	for i := range rs {
		cost := big.NewInt(int64(1000 + 37*i))
		charged = new(big.Int).Add(charged, cost)
		rs[i] = &Receipt{
			ChannelID:         channel,
			JobID:             crypto.Keccak256Hash([]byte(fmt.Sprintf("paynode/merkle/job/%d", i))),
			Cost:              cost,
			CumulativeCharged: charged,
			InputTokens:       uint64(100 + i),
			OutputTokens:      uint64(200 + 3*i),
			ResultHash:        crypto.Keccak256Hash([]byte(fmt.Sprintf("paynode/merkle/result/%d", i))),
		}
	}
	return rs
}

func TestReceiptsRoot(t *testing.T) {
	rs := merkleTestReceipts(6)
	root, err := ReceiptsRoot(rs)
	if err != nil {
		t.Fatal(err)
	}
	leaves := make([]common.Hash, len(rs))
	for i, r := range rs {
		if leaves[i], err = r.StructHash(); err != nil {
			t.Fatal(err)
		}
	}
	if want := MerkleRoot(leaves); root != want {
		t.Fatalf("ReceiptsRoot %s, MerkleRoot of the struct hashes %s", root, want)
	}
	got, err := ReceiptLeaves(rs)
	if err != nil || !slices.Equal(got, leaves) {
		t.Fatalf("ReceiptLeaves: %v (%v), want the struct hashes", got, err)
	}
	if root, err := ReceiptsRoot(nil); err != nil || root != (common.Hash{}) {
		t.Fatalf("no receipts: %s (%v), want the zero hash", root, err)
	}
	if _, err := ReceiptsRoot([]*Receipt{rs[0], nil}); err == nil {
		t.Fatal("a nil receipt is accepted")
	}
	bad := *rs[1]
	bad.Cost = big.NewInt(-1)
	if _, err := ReceiptsRoot([]*Receipt{rs[0], &bad}); !errors.Is(err, ErrAmountRange) {
		t.Fatalf("a negative cost: %v, want ErrAmountRange", err)
	}
}

func FuzzMerkleProof(f *testing.F) {
	f.Add([]byte{}, uint8(0))
	f.Add([]byte{1}, uint8(0))
	f.Add(bytes.Repeat([]byte{0xff}, 64), uint8(1))
	f.Add(make([]byte, 96), uint8(0))
	f.Add([]byte("paynode"), uint8(99))
	f.Fuzz(func(t *testing.T, data []byte, extra uint8) {
		// Leaves are data in 32-byte pieces (the last one zero-padded)
		// followed by extra derived ones, so the fuzzer controls both exact
		// values (duplicates, zero, ordering ties) and the count.
		var leaves []common.Hash
		for rest := data; len(rest) > 0 && len(leaves) < 256; rest = rest[min(32, len(rest)):] {
			var h common.Hash
			copy(h[:], rest)
			leaves = append(leaves, h)
		}
		for i := 0; i < int(extra); i++ {
			leaves = append(leaves, crypto.Keccak256Hash([]byte{byte(i)}, data))
		}
		if len(leaves) == 0 {
			if MerkleRoot(leaves) != (common.Hash{}) {
				t.Fatal("empty list: root is not zero")
			}
			return
		}
		root := checkMerkleProofs(t, leaves)
		if _, err := MerkleProof(leaves, len(leaves)); !errors.Is(err, ErrLeafIndex) {
			t.Fatalf("proof past the end: %v", err)
		}
		// A leaf that is in the list under no index does not verify with
		// leaf 0's proof, unless it equals leaf 0's value or the root.
		proof, _ := MerkleProof(leaves, 0)
		other := crypto.Keccak256Hash(leaves[0][:], []byte("other"))
		if VerifyMerkleProof(proof, root, other) {
			t.Fatal("proof 0 verifies an unrelated leaf")
		}
	})
}

func BenchmarkMerkleRoot(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		leaves := merkleTestLeaves(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				MerkleRoot(leaves)
			}
		})
	}
}

// The fixed vectors of testdata/merkle_vectors.json, which the forge test
// MerkleVectors.t.sol checks with OpenZeppelin's MerkleProof.verify.

type merkleVectorFile struct {
	Comment string             `json:"comment"`
	Cases   []merkleVectorCase `json:"cases"`
}

type merkleVectorCase struct {
	Name     string                `json:"name"`
	Receipts []merkleVectorReceipt `json:"receipts,omitempty"`
	Leaves   []common.Hash         `json:"leaves"`
	Root     common.Hash           `json:"root"`
	Proofs   [][]common.Hash       `json:"proofs"`
}

// merkleVectorReceipt has amounts as decimal strings, as in
// eip712_vectors.json.
type merkleVectorReceipt struct {
	ChannelID         common.Hash `json:"channelId"`
	JobID             common.Hash `json:"jobId"`
	Cost              string      `json:"cost"`
	CumulativeCharged string      `json:"cumulativeCharged"`
	InputTokens       uint64      `json:"inputTokens"`
	OutputTokens      uint64      `json:"outputTokens"`
	ResultHash        common.Hash `json:"resultHash"`
}

func merkleVectorCaseOf(t *testing.T, name string, leaves []common.Hash) merkleVectorCase {
	t.Helper()
	c := merkleVectorCase{Name: name, Leaves: leaves, Root: MerkleRoot(leaves), Proofs: [][]common.Hash{}}
	for i := range leaves {
		p, err := MerkleProof(leaves, i)
		if err != nil {
			t.Fatal(err)
		}
		c.Proofs = append(c.Proofs, p)
	}
	return c
}

func merkleVectors(t *testing.T) []byte {
	t.Helper()
	file := merkleVectorFile{
		Comment: "Receipt Merkle roots (contracts/merkle.go, docs/contracts.md): OpenZeppelin SimpleMerkleTree " +
			"layout with sortLeaves false, sorted-pair keccak256. Regenerate with " +
			"go test ./contracts/ -run TestMerkleVectors -update-merkle-vectors",
	}
	file.Cases = append(file.Cases, merkleVectorCaseOf(t, "no leaves", []common.Hash{}))
	for _, n := range []int{1, 2, 3, 5, 8} {
		file.Cases = append(file.Cases, merkleVectorCaseOf(t, merkleCaseName(n), merkleTestLeaves(n)))
	}
	rs := merkleTestReceipts(6)
	leaves, err := ReceiptLeaves(rs)
	if err != nil {
		t.Fatal(err)
	}
	c := merkleVectorCaseOf(t, "6 receipts", leaves)
	for _, r := range rs {
		c.Receipts = append(c.Receipts, merkleVectorReceipt{
			ChannelID: r.ChannelID, JobID: r.JobID,
			Cost: r.Cost.String(), CumulativeCharged: r.CumulativeCharged.String(),
			InputTokens: r.InputTokens, OutputTokens: r.OutputTokens, ResultHash: r.ResultHash,
		})
	}
	file.Cases = append(file.Cases, c)
	out, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// TestMerkleVectors holds the committed vector file to what the code
// produces now; -update-merkle-vectors rewrites it.
func TestMerkleVectors(t *testing.T) {
	want := merkleVectors(t)
	if *updateMerkleVectors {
		if err := os.WriteFile(merkleVectorsPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(merkleVectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not what the code produces; if the change is intended, run\n"+
			"  go test ./contracts/ -run TestMerkleVectors -update-merkle-vectors", merkleVectorsPath)
	}

	// And the file, read back, checks out on its own.
	var file merkleVectorFile
	if err := json.Unmarshal(got, &file); err != nil {
		t.Fatal(err)
	}
	for _, c := range file.Cases {
		if c.Root != MerkleRoot(c.Leaves) || len(c.Proofs) != len(c.Leaves) {
			t.Fatalf("%s: root or proof count is off", c.Name)
		}
		for i, p := range c.Proofs {
			if !VerifyMerkleProof(p, c.Root, c.Leaves[i]) {
				t.Fatalf("%s: proof %d does not verify", c.Name, i)
			}
		}
		for i, r := range c.Receipts {
			rc := &Receipt{
				ChannelID: r.ChannelID, JobID: r.JobID,
				Cost: mustBig(t, r.Cost), CumulativeCharged: mustBig(t, r.CumulativeCharged),
				InputTokens: r.InputTokens, OutputTokens: r.OutputTokens, ResultHash: r.ResultHash,
			}
			if h, err := rc.StructHash(); err != nil || h != c.Leaves[i] {
				t.Fatalf("%s: receipt %d hashes to %s (%v), leaf is %s", c.Name, i, h, err, c.Leaves[i])
			}
		}
	}
}

func merkleCaseName(n int) string {
	if n == 1 {
		return "1 leaf"
	}
	return fmt.Sprintf("%d leaves", n)
}
