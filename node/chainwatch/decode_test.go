package chainwatch

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

func TestDecode(t *testing.T) {
	d := newDecoder()
	id := chanID("x")
	st := map[common.Hash]channelView{}
	asset := common.HexToAddress("0x00000000000000000000000000000000000000e7")
	logOf := func(ev fakeEvent) *types.Log {
		topics, data := ev(st)
		return &types.Log{Topics: topics, Data: data}
	}
	opened := logOf(evOpened(id, payerAddr, ourProvider, signerAddr, asset, 5))
	for _, tc := range []struct {
		name string
		log  *types.Log
		want event
	}{
		{"opened", opened, event{kind: ChangeOpened, id: id, payer: payerAddr, provider: ourProvider, signer: signerAddr, asset: asset, amount: big.NewInt(5)}},
		{"topped up", logOf(evToppedUp(id, 1<<62)), event{kind: ChangeToppedUp, id: id, amount: big.NewInt(5 + 1<<62)}},
		{"claimed", logOf(evClaimed(id, 3)), event{kind: ChangeClaimed, id: id, provider: ourProvider, amount: big.NewInt(3)}},
		{"requested", logOf(evRequested(id, 1<<63)), event{kind: ChangeWithdrawalRequested, id: id, withdrawableAt: 1 << 63}},
		{"withdrawn", logOf(evWithdrawn(id)), event{kind: ChangeWithdrawn, id: id, payer: payerAddr, amount: big.NewInt(5 + 1<<62 - 3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := d.decode(tc.log)
			if err != nil {
				t.Fatal(err)
			}
			if got.kind != tc.want.kind || got.id != tc.want.id || got.payer != tc.want.payer || got.provider != tc.want.provider ||
				got.signer != tc.want.signer || got.asset != tc.want.asset || got.withdrawableAt != tc.want.withdrawableAt ||
				(got.amount == nil) != (tc.want.amount == nil) || got.amount != nil && got.amount.Cmp(tc.want.amount) != 0 {
				t.Fatalf("decoded %+v, want %+v", got, tc.want)
			}
		})
	}

	bad := map[string]*types.Log{
		"no topics":     {},
		"other event":   {Topics: []common.Hash{{1}}},
		"short data":    {Topics: opened.Topics, Data: opened.Data[:64]},
		"long data":     {Topics: opened.Topics, Data: append(append([]byte{}, opened.Data...), 0)},
		"missing topic": {Topics: opened.Topics[:3], Data: opened.Data},
		"uint64 overflow": {Topics: []common.Hash{d.requested, id},
			Data: common.LeftPadBytes([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0}, 32)},
	}
	for name, l := range bad {
		if ev, err := d.decode(l); err == nil {
			t.Errorf("%s: decoded %+v", name, ev)
		}
	}
}

// FuzzDecode: whatever topics and data a log carries, decoding returns an
// event with every field it needs, or an error; it never panics.
func FuzzDecode(f *testing.F) {
	d := newDecoder()
	st := map[common.Hash]channelView{}
	id := chanID("f")
	for _, ev := range []fakeEvent{
		evOpened(id, payerAddr, ourProvider, signerAddr, common.Address{}, 5),
		evToppedUp(id, 1), evClaimed(id, 2), evRequested(id, 3), evWithdrawn(id),
	} {
		topics, data := ev(st)
		var raw []byte
		for _, t := range topics[1:] {
			raw = append(raw, t[:]...)
		}
		for sel, t0 := range d.allTopics() {
			if t0 == topics[0] {
				f.Add(byte(sel), raw, data)
			}
		}
	}
	f.Add(byte(9), []byte{1, 2, 3}, []byte{})
	f.Fuzz(func(t *testing.T, sel byte, rawTopics, data []byte) {
		l := &types.Log{Data: data}
		all := d.allTopics()
		if int(sel) < len(all) {
			l.Topics = append(l.Topics, all[sel])
		} else if sel != 255 {
			l.Topics = append(l.Topics, common.BytesToHash([]byte{sel}))
		}
		for len(rawTopics) > 0 && len(l.Topics) < 6 {
			n := min(len(rawTopics), 32)
			l.Topics = append(l.Topics, common.BytesToHash(rawTopics[:n]))
			rawTopics = rawTopics[n:]
		}
		ev, err := d.decode(l)
		if err != nil {
			return
		}
		if ev.kind < ChangeOpened || ev.kind > ChangeWithdrawn {
			t.Fatalf("kind %v", ev.kind)
		}
		if ev.kind != ChangeWithdrawalRequested && ev.amount == nil {
			t.Fatalf("%v without an amount", ev.kind)
		}
		// Applying it never panics either.
		e := next(nil, event{kind: ChangeOpened, id: ev.id, amount: big.NewInt(1)}, 1, 0)
		_ = next(e, ev, 2, 0)
	})
}
