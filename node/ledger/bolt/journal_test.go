package bolt_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/ledger/bolt"
	"github.com/paynode/paynode/node/ledger/ledgertest"
)

// TestConformanceCheckpoints runs the suite with the database file as far
// behind the journal as it gets (every read laid over the journal's
// effects) and with a checkpoint at nearly every group commit (reads
// merging the two at every turn).
func TestConformanceCheckpoints(t *testing.T) {
	for _, every := range []time.Duration{time.Hour, time.Microsecond} {
		t.Run(fmt.Sprint("interval=", every), func(t *testing.T) {
			ledgertest.Run(t, func(t *testing.T) ledger.Ledger {
				// NoSync: what this tests is how reads merge, not the disk.
				return open(t, t.TempDir(), bolt.Options{CheckpointInterval: every, NoSync: true})
			})
		})
	}
}

// journalWrites makes writes of every kind, all made durable by the
// journal alone when no checkpoint comes.
func journalWrites(t *testing.T, s *bolt.Store, prefix string, jobs int) {
	t.Helper()
	ctx := t.Context()
	ch := ledgertest.Chan(7)
	for i := range jobs {
		id := fmt.Sprintf("%s-%d", prefix, i)
		if _, err := s.Reserve(ctx, ledger.ReserveOp{
			Job:     ledger.Job{ChannelID: ch, ID: id, MaxCost: big.NewInt(100)},
			Voucher: ledger.Voucher{Amount: big.NewInt(int64(1_000_000 + i)), Signature: []byte{1, 2, 3}},
			NoWait:  i%2 == 0,
		}); err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 0:
			in := ledgertest.Receipt(ch, id, big.NewInt(int64(i%100)), new(big.Int))
			in.CumulativeCharged = nil
			if _, err := s.Charge(ctx, ledger.ChargeOp{ChannelID: ch, JobID: id, Cost: big.NewInt(int64(i % 100)), Receipt: in}); err != nil {
				t.Fatal(err)
			}
		case 1:
			if err := s.Release(ctx, ch, id, "worker_failed"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.AddBatch(ctx, ledger.Batch{Claims: []ledger.Claim{{ChannelID: ch, Amount: big.NewInt(1), VoucherAmount: big.NewInt(1), FromSeq: 1, ToSeq: 1}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMetas(ctx, map[string][]byte{prefix + "-kept": []byte("v"), prefix + "-gone": []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMeta(ctx, prefix+"-gone", nil); err != nil {
		t.Fatal(err)
	}
}

// openToCrash opens a store that the test ends with bolt.Crash, with no
// checkpoint to come: the journal alone holds its writes.
func openToCrash(t *testing.T, dir string) (*bolt.Store, bolt.Options) {
	t.Helper()
	opts := bolt.Options{CheckpointInterval: time.Hour, Logger: quietLogger()}
	s, err := bolt.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, opts
}

// TestJournalRecoversAfterCrash checks that writes made durable by the
// journal alone, the database file never committed, are all there after
// a crash, and that a second crash after more writes neither loses them
// nor replays the first journal over the second.
func TestJournalRecoversAfterCrash(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, _ := openToCrash(t, dir)
	journalWrites(t, s, "a", 60)
	want := jobsString(t, s)
	if st := s.Stats(); st.Checkpoints != 0 || st.Commits == 0 {
		t.Fatalf("stats %+v: want group commits and no checkpoint", st)
	}
	bolt.Crash(s)

	for round, prefix := range []string{"b", "c"} {
		s, _ = openToCrash(t, dir)
		if st := s.Stats(); st.Replayed == 0 {
			t.Fatalf("round %d: nothing replayed from the journal", round)
		}
		if got := jobsString(t, s); got != want {
			t.Fatalf("round %d: after the crash\n%s\nwant\n%s", round, got, want)
		}
		ledgertest.CheckMoney(t, s)
		if b, err := s.Batches(ctx); err != nil || len(b) != round+1 || b[round].ID != uint64(round+1) {
			t.Fatalf("round %d: batches %+v, %v", round, b, err)
		}
		if v, err := s.GetMeta(ctx, "a-kept"); err != nil || string(v) != "v" {
			t.Fatalf("round %d: meta a-kept = %q, %v", round, v, err)
		}
		if _, err := s.GetMeta(ctx, "a-gone"); !errors.Is(err, ledger.ErrNotFound) {
			t.Fatalf("round %d: deleted meta a-gone: %v", round, err)
		}
		journalWrites(t, s, prefix, 30)
		want = jobsString(t, s)
		bolt.Crash(s)
	}
	reopenHolds(t, dir, "after the last crash", want)
}

// reopenHolds opens the store in dir and checks that it holds the jobs
// in want and that its sums agree.
func reopenHolds(t *testing.T, dir, when, want string) {
	t.Helper()
	s := open(t, dir, bolt.Options{})
	if got := jobsString(t, s); got != want {
		t.Fatalf("%s\n%s\nwant\n%s", when, got, want)
	}
	ledgertest.CheckMoney(t, s)
}

// TestJournalTornTail checks that a record torn by a crash, as its
// group commit was being written, is dropped whole, and the records
// before it stand.
func TestJournalTornTail(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, opts := openToCrash(t, dir)
	ch := ledgertest.Chan(3)
	reserve := func(id string) {
		if _, err := s.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: id, MaxCost: big.NewInt(10)}}); err != nil {
			t.Fatal(err)
		}
	}
	reserve("first")
	reserve("torn")
	bolt.Crash(s)
	// The first record ends where its header's length says; tear the
	// second one from its 20th byte, as a crash midway through its write
	// would (the file was written ahead with zeros).
	path := filepath.Join(dir, bolt.JournalFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	second := 16 + int(binary.BigEndian.Uint32(data[0:4]))
	clear(data[second+20 : second+4096])
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, opts)
	if _, err := s.Job(ctx, ch, "first"); err != nil {
		t.Fatalf("the whole record before the torn one: %v", err)
	}
	if _, err := s.Job(ctx, ch, "torn"); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("the torn record's job: %v, want ErrNotFound", err)
	}
	if st, _ := s.Channel(ctx, ch); st.Reserved.Int64() != 10 {
		t.Fatalf("reserved %s, want 10", st.Reserved)
	}
	// The journal goes on past the torn record.
	reserve("after")
	bolt.Crash(s)
	s = open(t, dir, opts)
	if st, _ := s.Channel(ctx, ch); st.Reserved.Int64() != 20 {
		t.Fatalf("reserved %s after the next crash, want 20", st.Reserved)
	}
	ledgertest.CheckMoney(t, s)
}

// TestReadsSeeDurableWrites checks that a read sees every write answered
// before it, whether the database file or the journal holds it, and no
// NoWait reservation before it is durable.
func TestReadsSeeDurableWrites(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, dir, bolt.Options{CheckpointInterval: time.Hour, MaxCommitDelay: time.Hour})
	ch := ledgertest.Chan(1)
	charge := func(id string, cost int64) {
		t.Helper()
		in := ledgertest.Receipt(ch, id, big.NewInt(cost), new(big.Int))
		in.CumulativeCharged = nil
		if _, err := s.Charge(ctx, ledger.ChargeOp{ChannelID: ch, JobID: id, Cost: big.NewInt(cost), Receipt: in}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"a", "b", "c", "d"} {
		if _, err := s.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: id, MaxCost: big.NewInt(10)}}); err != nil {
			t.Fatal(err)
		}
	}
	charge("a", 1)
	// Close checkpoints: a, b, c, d and a's receipt are in the file.
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, bolt.Options{CheckpointInterval: time.Hour, MaxCommitDelay: time.Hour})
	charge("c", 3)
	if err := s.Release(ctx, ch, "b", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: "e", MaxCost: big.NewInt(10)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: "nowait", MaxCost: big.NewInt(10)}, NoWait: true}); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Checkpoints != 0 {
		t.Fatalf("%d checkpoints, want none", st.Checkpoints)
	}

	st, err := s.Channel(ctx, ch)
	if err != nil || st.Charged.Int64() != 4 || st.Reserved.Int64() != 20 || st.ReceiptSeq != 2 {
		t.Fatalf("channel %+v, %v: want charged 4, reserved 20 (d, e; not the NoWait one yet), 2 receipts", st, err)
	}
	reserved, err := s.ReservedJobs(ctx)
	if err != nil || len(reserved) != 2 || reserved[0].ID != "d" || reserved[1].ID != "e" {
		t.Fatalf("reserved jobs %+v, %v: want d (in the file), e (in the journal)", reserved, err)
	}
	jobs, err := s.Jobs(ctx, ch)
	if err != nil || len(jobs) != 5 {
		t.Fatalf("jobs %+v, %v: want a..e", jobs, err)
	}
	for i, want := range []ledger.JobState{ledger.JobCharged, ledger.JobReleased, ledger.JobCharged, ledger.JobReserved, ledger.JobReserved} {
		if jobs[i].State != want {
			t.Errorf("job %s is %s, want %s", jobs[i].ID, jobs[i].State, want)
		}
	}
	rs, err := s.Receipts(ctx, ch, 1, 2)
	if err != nil || len(rs) != 2 || rs[0].JobID != ledgertest.JobHash("a") || rs[1].JobID != ledgertest.JobHash("c") || rs[1].CumulativeCharged.Int64() != 4 {
		t.Fatalf("receipts %+v, %v: want a (in the file) and c (in the journal)", rs, err)
	}
	if rs, err := s.Receipts(ctx, ch, 2, 9); err != nil || len(rs) != 1 || rs[0].Seq != 2 {
		t.Fatalf("receipts from 2: %+v, %v", rs, err)
	}
	if j, err := s.Job(ctx, ch, "c"); err != nil || j.Receipt == nil || j.Receipt.Seq != 2 {
		t.Fatalf("job c: %+v, %v", j, err)
	}
	if chans, err := s.Channels(ctx); err != nil || len(chans) != 1 || chans[0].Charged.Int64() != 4 {
		t.Fatalf("channels %+v, %v", chans, err)
	}
	// A write that waits makes the NoWait reservation durable with it.
	if err := s.PutMeta(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Channel(ctx, ch); st.Reserved.Int64() != 30 {
		t.Fatalf("reserved %s once the NoWait reserve is durable, want 30", st.Reserved)
	}
}

// TestReadsDuringCheckpoints reads while a writer makes the file catch up
// with the journal over and over: every read sees at least what was
// answered before it began.
func TestReadsDuringCheckpoints(t *testing.T) {
	ctx := t.Context()
	s := open(t, t.TempDir(), bolt.Options{CheckpointInterval: 200 * time.Microsecond})
	ch := ledgertest.Chan(2)
	var charged atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 400 {
			id := fmt.Sprint(i)
			if _, err := s.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: id, MaxCost: big.NewInt(5)}}); err != nil {
				t.Error(err)
				return
			}
			in := ledgertest.Receipt(ch, id, big.NewInt(5), new(big.Int))
			in.CumulativeCharged = nil
			if _, err := s.Charge(ctx, ledger.ChargeOp{ChannelID: ch, JobID: id, Cost: big.NewInt(5), Receipt: in}); err != nil {
				t.Error(err)
				return
			}
			charged.Store(int64(5 * (i + 1)))
		}
	}()
	reads := 0
	for {
		select {
		case <-done:
			if st := s.Stats(); st.Checkpoints < 10 {
				t.Errorf("%d checkpoints: the test did not read across them", st.Checkpoints)
			}
			t.Logf("%d reads across %d checkpoints", reads, s.Stats().Checkpoints)
			return
		default:
		}
		floor := charged.Load()
		st, err := s.Channel(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
		if st.Charged.Int64() < floor {
			t.Fatalf("read charged %s, but %d was answered before the read began", st.Charged, floor)
		}
		reads++
	}
}

// answer waits for a write started in its own goroutine, failing the
// test if it takes longer than a held-up disk explains.
func answer(t *testing.T, what string, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no answer", what)
		return nil
	}
}

// unanswered fails the test if a write waiting for a held group commit
// returns.
func unanswered(t *testing.T, what string, errc <-chan error) {
	t.Helper()
	select {
	case err := <-errc:
		t.Fatalf("%s answered (%v) before its group commit was durable", what, err)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestWriterAppliesDuringSync checks that the writer goes on applying
// writes while a group commit is on its way to the disk, when writes
// wait to be applied as it begins, that the writes applied meanwhile are
// answered and seen by reads only once their own group commit is
// durable, and that they are all there after a crash.
func TestWriterAppliesDuringSync(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, _ := openToCrash(t, dir)
	ch := ledgertest.Chan(3)
	reserve := func(id string, noWait bool) error {
		_, err := s.Reserve(ctx, ledger.ReserveOp{
			Job:     ledger.Job{ChannelID: ch, ID: id, MaxCost: big.NewInt(10)},
			Voucher: ledger.Voucher{Amount: big.NewInt(1000), Signature: []byte{9}},
			Cap:     big.NewInt(1000),
			NoWait:  noWait,
		})
		return err
	}
	queued := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); bolt.Queued(s) != n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d writes queued, want %d", bolt.Queued(s), n)
			}
		}
	}
	// Hold the writer inside a write (gate) with "first" and a second
	// held write (gate2) queued behind it; they form one batch.
	gate, gate2 := make(chan struct{}), make(chan struct{})
	holding, holding2 := make(chan struct{}), make(chan struct{})
	held := make(chan error, 2)
	go func() { held <- bolt.Apply(ctx, s, func() error { close(holding); <-gate; return nil }) }()
	<-holding
	first := make(chan error, 1)
	go func() { first <- reserve("first", false) }()
	queued(1)
	go func() { held <- bolt.Apply(ctx, s, func() error { close(holding2); <-gate2; return nil }) }()
	queued(2)
	close(gate)
	if err := answer(t, "the write holding the writer", held); err != nil {
		t.Fatal(err)
	}
	before := s.Stats().Commits
	release := bolt.HoldSyncs(s)
	defer release()

	// A NoWait reserve queued while the batch is applied: the group commit
	// of "first" then goes beside the writer, and the writer, not held by
	// it, applies and answers the reserve at once.
	<-holding2
	noWait := make(chan error, 1)
	go func() { noWait <- reserve("applied", true) }()
	queued(1)
	close(gate2)
	if err := answer(t, "a NoWait reserve while a group commit is held", noWait); err != nil {
		t.Fatal(err)
	}
	unanswered(t, "the first reserve", first)
	// Its charge waits for the group commit after the one in flight.
	charge := make(chan error, 1)
	go func() {
		in := ledgertest.Receipt(ch, "applied", big.NewInt(4), new(big.Int))
		in.CumulativeCharged = nil // filled in by the ledger
		_, err := s.Charge(ctx, ledger.ChargeOp{ChannelID: ch, JobID: "applied", Cost: big.NewInt(4), Receipt: in})
		charge <- err
	}()
	unanswered(t, "the charge", charge)
	if st, err := s.Channel(ctx, ch); err == nil && (st.Reserved.Sign() != 0 || st.Charged.Sign() != 0) {
		t.Fatalf("reads see reserved %s, charged %s before any group commit is durable", st.Reserved, st.Charged)
	}

	release()
	for what, errc := range map[string]chan error{"the first reserve": first, "the second held write": held, "the charge": charge} {
		if err := answer(t, what, errc); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	if got := s.Stats().Commits - before; got != 2 {
		t.Fatalf("%d group commits, want 2: the one held and the one after it", got)
	}
	st, err := s.Channel(ctx, ch)
	if err != nil || st.Reserved.Int64() != 10 || st.Charged.Int64() != 4 {
		t.Fatalf("after both commits: %+v, %v; want reserved 10, charged 4", st, err)
	}
	want := jobsString(t, s)
	bolt.Crash(s)
	reopenHolds(t, dir, "after a crash", want)
}

// TestJournalWriteFails checks that a group commit that cannot be
// written fails its writes and those applied after it, that the store
// then refuses writes until reopened, and that reopening keeps every
// write answered before.
func TestJournalWriteFails(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, _ := openToCrash(t, dir)
	journalWrites(t, s, "ok", 12)
	want := jobsString(t, s)
	ch := ledgertest.Chan(4)
	reserve := func(id string) error {
		_, err := s.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: id, MaxCost: big.NewInt(1)}})
		return err
	}

	release := bolt.HoldSyncs(s)
	defer release()
	inFlight, after := make(chan error, 1), make(chan error, 1)
	go func() { inFlight <- reserve("in-flight") }()
	unanswered(t, "the reserve in flight", inFlight)
	go func() { after <- reserve("after") }()
	unanswered(t, "the reserve after it", after)
	bolt.BreakJournal(s)
	release()
	for what, errc := range map[string]chan error{"the reserve in flight": inFlight, "the reserve after it": after} {
		if err := answer(t, what, errc); !errors.Is(err, ledger.ErrFailed) {
			t.Fatalf("%s: %v, want ErrFailed", what, err)
		}
	}
	if err := reserve("later"); !errors.Is(err, ledger.ErrFailed) {
		t.Fatalf("a write after the failure: %v, want ErrFailed", err)
	}
	bolt.Crash(s)
	reopenHolds(t, dir, "after reopening", want)
}
