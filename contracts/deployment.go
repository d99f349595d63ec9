package contracts

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/common"
)

// Deployment is where paynode's contracts sit on one chain: the file that
// `paynode deploy` and `paynode chain` write and every other command reads.
type Deployment struct {
	ChainID         uint64          `json:"chainId"`
	OfferRegistry   common.Address  `json:"offerRegistry"`
	PaymentChannels common.Address  `json:"paymentChannels"`
	Token           *common.Address `json:"token,omitempty"` // the dev TestUSD, when deployed
	StartBlock      uint64          `json:"startBlock"`      // first block to scan for events
	// WithdrawalDelay is PaymentChannels' delay in seconds, fixed at
	// deployment: the provider's window to claim after a withdrawal request.
	WithdrawalDelay uint64         `json:"withdrawalDelay"`
	Deployer        common.Address `json:"deployer"`
}

// Validate checks that the file names a chain and both core contracts.
func (d *Deployment) Validate() error {
	switch {
	case d.ChainID == 0:
		return errors.New("chainId is missing")
	case d.OfferRegistry == (common.Address{}):
		return errors.New("offerRegistry is missing")
	case d.PaymentChannels == (common.Address{}):
		return errors.New("paymentChannels is missing")
	case d.Token != nil && *d.Token == (common.Address{}):
		return errors.New("token is the zero address")
	}
	return nil
}

// Domain is the EIP-712 domain of this deployment's PaymentChannels.
func (d *Deployment) Domain() *Domain {
	return NewDomain(new(big.Int).SetUint64(d.ChainID), d.PaymentChannels)
}

// LoadDeployment reads and validates a deployment file.
func LoadDeployment(path string) (*Deployment, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("deployment file: %w", err)
	}
	var d Deployment
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("deployment file %s: %w", path, err)
	}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("deployment file %s: %w", path, err)
	}
	return &d, nil
}

// Save writes the deployment file atomically: a reader never sees half of
// it, and a failed write leaves any earlier file in place.
func (d *Deployment) Save(path string) error {
	raw, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	raw = append(raw, '\n')
	tmp, err := os.CreateTemp(filepath.Dir(path), ".deployment-*.json")
	if err != nil {
		return fmt.Errorf("write deployment file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return fmt.Errorf("write deployment file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write deployment file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write deployment file: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write deployment file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write deployment file: %w", err)
	}
	return nil
}
