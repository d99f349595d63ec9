package settle

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/ledger"
)

// ErrNotSettled: the job's receipt is not in a confirmed claim yet.
var ErrNotSettled = errors.New("settle: job not settled yet")

// Proof shows that one job was settled on chain: its receipt is a leaf of
// the receiptsRoot of a Claimed event of a confirmed claimMany.
// contracts.VerifyMerkleProof(Proof, ReceiptsRoot, Leaf) holds, and
// OpenZeppelin's MerkleProof.verify agrees on chain.
type Proof struct {
	Receipt      ledger.Receipt
	Leaf         common.Hash // the receipt's EIP-712 struct hash
	ReceiptsRoot common.Hash
	Proof        []common.Hash
	BatchID      uint64
	Block        uint64
	TxHashes     []common.Hash // the batch's transactions; one was mined at Block
}

// Proof returns the Merkle proof of a settled job, or ErrNotSettled.
func (s *Settler) Proof(ctx context.Context, channelID common.Hash, jobID string) (*Proof, error) {
	r, err := s.ledger.Receipt(ctx, channelID, jobID)
	if err != nil {
		return nil, fmt.Errorf("settle: proof: %w", err)
	}
	batches, err := s.ledger.Batches(ctx, ledger.BatchConfirmed)
	if err != nil {
		return nil, fmt.Errorf("settle: proof: %w", err)
	}
	for _, b := range batches {
		for _, c := range b.Claims {
			if c.ChannelID != channelID || r.Seq < c.FromSeq || r.Seq > c.ToSeq {
				continue
			}
			rs, err := s.ledger.Receipts(ctx, channelID, c.FromSeq, c.ToSeq)
			if err != nil {
				return nil, fmt.Errorf("settle: proof: %w", err)
			}
			leaves, err := contracts.ReceiptLeaves(eip712Receipts(rs))
			if err != nil {
				return nil, fmt.Errorf("settle: proof: %w", err)
			}
			idx := int(r.Seq - c.FromSeq)
			proof, err := contracts.MerkleProof(leaves, idx)
			if err != nil {
				return nil, fmt.Errorf("settle: proof: %w", err)
			}
			return &Proof{
				Receipt: *r, Leaf: leaves[idx], ReceiptsRoot: c.ReceiptsRoot, Proof: proof,
				BatchID: b.ID, Block: b.Block, TxHashes: b.TxHashes,
			}, nil
		}
	}
	return nil, ErrNotSettled
}
