package chainwatch

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/paynode/paynode/contracts/bindings"
)

// event is one decoded PaymentChannels event. Amount is the absolute value
// the event sets: the deposit for ChannelOpened and ChannelToppedUp, the
// claimed total for Claimed, the refund for Withdrawn.
type event struct {
	kind                           ChangeKind
	id                             common.Hash
	payer, provider, signer, asset common.Address
	amount                         *big.Int
	withdrawableAt                 uint64
}

var errNotOurEvent = errors.New("not a PaymentChannels channel event")

// decoder decodes the five channel events of PaymentChannels. It checks the
// number of topics and the length of the data before the ABI decoder sees
// them, so a log from a buggy or hostile RPC is an error, never a panic or a
// half-filled event.
type decoder struct {
	pc                                            *bindings.PaymentChannels
	opened, toppedUp, claimed, requested, withdrn common.Hash
}

func newDecoder() *decoder {
	pc := bindings.NewPaymentChannels()
	ev := pc.GetABI().Events
	return &decoder{
		pc:        pc,
		opened:    ev[bindings.PaymentChannelsChannelOpenedEventName].ID,
		toppedUp:  ev[bindings.PaymentChannelsChannelToppedUpEventName].ID,
		claimed:   ev[bindings.PaymentChannelsClaimedEventName].ID,
		requested: ev[bindings.PaymentChannelsWithdrawalRequestedEventName].ID,
		withdrn:   ev[bindings.PaymentChannelsWithdrawnEventName].ID,
	}
}

// otherTopics are the events that carry only the channel id to filter on.
func (d *decoder) otherTopics() []common.Hash {
	return []common.Hash{d.toppedUp, d.claimed, d.requested, d.withdrn}
}

func (d *decoder) allTopics() []common.Hash {
	return append([]common.Hash{d.opened}, d.otherTopics()...)
}

func shape(l *types.Log, topics, words int) error {
	if len(l.Topics) != topics {
		return fmt.Errorf("%d topics, want %d", len(l.Topics), topics)
	}
	if len(l.Data) != 32*words {
		return fmt.Errorf("%d bytes of data, want %d", len(l.Data), 32*words)
	}
	return nil
}

func (d *decoder) decode(l *types.Log) (event, error) {
	if len(l.Topics) == 0 {
		return event{}, errNotOurEvent
	}
	var (
		ev  event
		err error
	)
	switch l.Topics[0] {
	case d.opened:
		ev, err = d.decodeOpened(l)
	case d.toppedUp:
		ev, err = d.decodeToppedUp(l)
	case d.claimed:
		ev, err = d.decodeClaimed(l)
	case d.requested:
		ev, err = d.decodeRequested(l)
	case d.withdrn:
		ev, err = d.decodeWithdrawn(l)
	default:
		return event{}, errNotOurEvent
	}
	if err != nil {
		return event{}, fmt.Errorf("decode %s event: %w", kindName(d, l.Topics[0]), err)
	}
	return ev, nil
}

func kindName(d *decoder, topic common.Hash) string {
	switch topic {
	case d.opened:
		return bindings.PaymentChannelsChannelOpenedEventName
	case d.toppedUp:
		return bindings.PaymentChannelsChannelToppedUpEventName
	case d.claimed:
		return bindings.PaymentChannelsClaimedEventName
	case d.requested:
		return bindings.PaymentChannelsWithdrawalRequestedEventName
	case d.withdrn:
		return bindings.PaymentChannelsWithdrawnEventName
	}
	return topic.Hex()
}

var errNilAmount = errors.New("amount missing")

func (d *decoder) decodeOpened(l *types.Log) (event, error) {
	if err := shape(l, 4, 3); err != nil {
		return event{}, err
	}
	e, err := d.pc.UnpackChannelOpenedEvent(l)
	if err != nil {
		return event{}, err
	}
	if e.Deposit == nil {
		return event{}, errNilAmount
	}
	return event{
		kind: ChangeOpened, id: e.ChannelId, payer: e.Payer, provider: e.Provider,
		signer: e.Signer, asset: e.Asset, amount: e.Deposit,
	}, nil
}

func (d *decoder) decodeToppedUp(l *types.Log) (event, error) {
	if err := shape(l, 2, 2); err != nil {
		return event{}, err
	}
	e, err := d.pc.UnpackChannelToppedUpEvent(l)
	if err != nil {
		return event{}, err
	}
	if e.Deposit == nil {
		return event{}, errNilAmount
	}
	return event{kind: ChangeToppedUp, id: e.ChannelId, amount: e.Deposit}, nil
}

func (d *decoder) decodeClaimed(l *types.Log) (event, error) {
	if err := shape(l, 3, 4); err != nil {
		return event{}, err
	}
	e, err := d.pc.UnpackClaimedEvent(l)
	if err != nil {
		return event{}, err
	}
	if e.TotalClaimed == nil {
		return event{}, errNilAmount
	}
	return event{kind: ChangeClaimed, id: e.ChannelId, provider: e.Provider, amount: e.TotalClaimed}, nil
}

func (d *decoder) decodeRequested(l *types.Log) (event, error) {
	if err := shape(l, 2, 1); err != nil {
		return event{}, err
	}
	e, err := d.pc.UnpackWithdrawalRequestedEvent(l)
	if err != nil {
		return event{}, err
	}
	return event{kind: ChangeWithdrawalRequested, id: e.ChannelId, withdrawableAt: e.WithdrawableAt}, nil
}

func (d *decoder) decodeWithdrawn(l *types.Log) (event, error) {
	if err := shape(l, 3, 1); err != nil {
		return event{}, err
	}
	e, err := d.pc.UnpackWithdrawnEvent(l)
	if err != nil {
		return event{}, err
	}
	if e.Refund == nil {
		return event{}, errNilAmount
	}
	return event{kind: ChangeWithdrawn, id: e.ChannelId, payer: e.Payer, amount: e.Refund}, nil
}
