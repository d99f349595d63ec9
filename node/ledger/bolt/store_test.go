package bolt_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/ledger/bolt"
	"github.com/paynode/paynode/node/ledger/ledgertest"
)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func open(t testing.TB, dir string, opts bolt.Options) *bolt.Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	s, err := bolt.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil && !errors.Is(err, ledger.ErrClosed) {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// TestConformance runs the suite with fsync on, as in production.
func TestConformance(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Ledger {
		return open(t, t.TempDir(), bolt.Options{})
	})
}

func TestOpenLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "store")
	s := open(t, dir, bolt.Options{})
	if want := filepath.Join(dir, bolt.FileName); s.Path() != want {
		t.Errorf("path %s, want %s", s.Path(), want)
	}
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	// The journal is written ahead, so group commits overwrite it.
	ji, err := os.Stat(filepath.Join(dir, bolt.JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	if ji.Mode().Perm() != 0o600 || ji.Size() < 4<<20 {
		t.Errorf("journal mode %v size %d, want 0600 and at least 4 MiB", ji.Mode().Perm(), ji.Size())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", di.Mode().Perm())
	}
	// A second opener fails instead of waiting forever.
	if _, err := bolt.Open(dir, bolt.Options{LockTimeout: 50 * time.Millisecond, Logger: quietLogger()}); err == nil {
		t.Error("second Open of the same store succeeded")
	}
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, dir, bolt.Options{})
	ch := ledgertest.Chan(1)
	for i := range 10 {
		id := fmt.Sprint("j", i)
		if _, err := s.Reserve(ctx, ledger.ReserveOp{
			Job:     ledger.Job{ChannelID: ch, ID: id, MaxCost: big.NewInt(100)},
			Voucher: ledger.Voucher{Amount: big.NewInt(int64(1000 + i)), Signature: []byte{byte(i)}},
		}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if err := s.Release(ctx, ch, id, "x"); err != nil {
				t.Fatal(err)
			}
		} else if i%3 == 1 {
			st, _ := s.Channel(ctx, ch)
			cost := big.NewInt(int64(i))
			if _, err := s.Charge(ctx, ledger.ChargeOp{ChannelID: ch, JobID: id, Cost: cost,
				Receipt: ledgertest.Receipt(ch, id, cost, new(big.Int).Add(st.Charged, cost))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	bid, err := s.AddBatch(ctx, ledger.Batch{Claims: []ledger.Claim{{ChannelID: ch, Amount: big.NewInt(5), VoucherAmount: big.NewInt(1009), FromSeq: 1, ToSeq: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmClaims(ctx, bid, 10, 20); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMeta(ctx, "cursor", []byte("77")); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Channel(ctx, ch)
	jobsBefore := jobsString(t, s)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir, bolt.Options{})
	after, err := s.Channel(ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("channel after reopen %v, before %v", after, before)
	}
	if jobsAfter := jobsString(t, s); jobsAfter != jobsBefore {
		t.Errorf("jobs after reopen differ:\n%v\n%v", jobsAfter, jobsBefore)
	}
	if v, err := s.GetMeta(ctx, "cursor"); err != nil || string(v) != "77" {
		t.Errorf("meta after reopen %q, %v", v, err)
	}
	if bs, _ := s.Batches(ctx, ledger.BatchConfirmed); len(bs) != 1 {
		t.Errorf("batches after reopen %v", bs)
	}
	// Ids go on.
	if id, err := s.AddBatch(ctx, ledger.Batch{}); err != nil || id != 2 {
		t.Errorf("batch id after reopen %d, %v", id, err)
	}
	if rj, _ := s.ReservedJobs(ctx); len(rj) != 3 { // j2, j5, j8
		t.Errorf("reserved after reopen %d, want 3", len(rj))
	}
	ledgertest.CheckMoney(t, s)
}

// jobsString prints every job of channel 1, receipts by value.
func jobsString(t *testing.T, s *bolt.Store) string {
	js, err := s.Jobs(t.Context(), ledgertest.Chan(1))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, j := range js {
		r := j.Receipt
		j.Receipt = nil
		fmt.Fprintf(&b, "%+v", j)
		if r != nil {
			fmt.Fprintf(&b, " receipt %+v", *r)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// TestGroupCommit checks that concurrent writers share commits and that a
// lone writer is not held back.
func TestGroupCommit(t *testing.T) {
	ctx := t.Context()
	s := open(t, t.TempDir(), bolt.Options{})
	ch := ledgertest.Chan(1)
	start := time.Now()
	for i := range 20 {
		if _, err := s.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: fmt.Sprint("solo", i), MaxCost: big.NewInt(1)}}); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.Commits != 20 || st.Ops != 20 {
		t.Errorf("20 sequential ops: %+v, want one commit each", st)
	}
	t.Logf("20 sequential durable ops in %v", time.Since(start))

	var wg sync.WaitGroup
	for g := range 64 {
		wg.Go(func() {
			for i := range 20 {
				if _, err := s.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: ledgertest.Chan(g), ID: fmt.Sprint(i), MaxCost: big.NewInt(1)}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	ops, commits := st.Ops-20, st.Commits-20
	if ops != 64*20 {
		t.Errorf("ops %d, want %d", ops, 64*20)
	}
	if commits*4 > ops {
		t.Errorf("64 concurrent writers: %d ops in %d commits, want batching", ops, commits)
	}
	t.Logf("64 concurrent writers: %d ops in %d commits", ops, commits)
}

// TestCancelQueued checks that a write whose caller gives up still applies
// as a whole.
func TestCancelQueued(t *testing.T) {
	s := open(t, t.TempDir(), bolt.Options{})
	ch := ledgertest.Chan(1)
	release := make(chan struct{})
	started := make(chan struct{})
	if _, err := s.Reserve(t.Context(), ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: "block", MaxCost: big.NewInt(5)}}); err != nil {
		t.Fatal(err)
	}
	// A write that blocks holds the writer, so the next one queues.
	go func() {
		if err := bolt.Apply(context.Background(), s, func() error { close(started); <-release; return nil }); err != nil {
			t.Error(err)
		}
	}()
	<-started
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err := s.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: "late", MaxCost: big.NewInt(7)}})
	if !errors.Is(err, ledger.ErrOutcomeUnknown) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want ErrOutcomeUnknown and DeadlineExceeded", err)
	}
	close(release)
	// Close drains the queue: the late op is applied.
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	s = open(t, filepath.Dir(s.Path()), bolt.Options{})
	j, err := s.Job(t.Context(), ch, "late")
	if err != nil {
		t.Fatalf("queued op lost after its caller gave up: %v", err)
	}
	st, _ := s.Channel(t.Context(), ch)
	if st.Reserved.Int64() != 5+7 || st.Charged.Sign() != 0 || j.State != ledger.JobReserved {
		t.Errorf("state after canceled op: reserved %v charged %v job %s", st.Reserved, st.Charged, j.State)
	}
}

// TestApplyPanic checks that a write that panics on the writer fails
// alone: the writes committed beside it stand.
func TestApplyPanic(t *testing.T) {
	ctx := t.Context()
	s := open(t, t.TempDir(), bolt.Options{})
	ch := ledgertest.Chan(1)
	for _, id := range []string{"a", "b"} {
		if _, err := s.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: id, MaxCost: big.NewInt(5)}}); err != nil {
			t.Fatal(err)
		}
	}
	err := bolt.Apply(ctx, s, func() error { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("err = %v, want the panic", err)
	}
	if _, err := s.Charge(ctx, ledger.ChargeOp{ChannelID: ch, JobID: "b", Cost: big.NewInt(2),
		Receipt: ledgertest.Receipt(ch, "b", big.NewInt(2), big.NewInt(2))}); err != nil {
		t.Fatalf("charge after the panic: %v", err)
	}
	ledgertest.CheckMoney(t, s)
}

// ------------------------------------------------------------- crash test

const crashEnv = "PAYNODE_LEDGER_CRASH_DIR"

// TestCrash runs writers in a child process, kills it with SIGKILL at a
// random moment, reopens the store and checks that every write the child
// saw acknowledged is there and the money adds up. Half the reserves are
// NoWait: such a reserve must be there once a write its goroutine
// submitted after it was acknowledged. Three rounds run on the
// same file, each recovering from the last. A killed process leaves the
// kernel's page cache behind, so this tests the store's own discipline
// (nothing acknowledged before it is in the journal, no half-applied
// write, the journal read back in order); a torn record, which only a
// power loss makes, is TestJournalTornTail's.
func TestCrash(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashChild(dir)
		return
	}
	rounds := 3
	if testing.Short() {
		rounds = 1
	}
	dir := t.TempDir()
	acked := map[string]string{} // job key → last acknowledged state
	var replayed uint64
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir, "PAYNODE_LEDGER_CRASH_ROUND="+strconv.Itoa(round))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var lines []string
		readDone := make(chan struct{})
		started := make(chan struct{}) // the child has acknowledged some writes
		go func() {
			defer close(readDone)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if lines = append(lines, sc.Text()); len(lines) == 20 {
					close(started)
				}
			}
		}()
		// Kill at a random moment once the child is writing.
		select {
		case <-started:
		case <-readDone:
		case <-time.After(30 * time.Second):
		}
		time.Sleep(time.Duration(rand.IntN(500)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-readDone
		_ = cmd.Wait()

		n := 0
		noWait := map[string][]string{} // goroutine → its NoWait reserves not yet followed by a write that waited
		for _, line := range lines {
			f := strings.Fields(line)
			if len(f) != 3 || f[0] != "ack" {
				continue
			}
			n++
			key, state := f[1], f[2]
			g := key[:strings.LastIndex(key, "-")] // c/r<round>-g<goroutine>
			g = g[strings.Index(g, "/")+1:]
			if state == "nowait" {
				noWait[g] = append(noWait[g], key)
				continue
			}
			for _, k := range noWait[g] {
				if _, ok := acked[k]; !ok {
					acked[k] = "reserved"
				}
			}
			noWait[g] = nil
			acked[key] = state
		}
		if n < 20 {
			t.Fatalf("round %d: child acknowledged only %d ops before the kill", round, n)
		}
		t.Logf("round %d: %d acknowledged ops before SIGKILL", round, n)

		s := open(t, dir, bolt.Options{})
		replayed += s.Stats().Replayed
		ctx := t.Context()
		for key, state := range acked {
			ch, id, _ := strings.Cut(key, "/")
			c, _ := strconv.Atoi(ch)
			j, err := s.Job(ctx, ledgertest.Chan(c), id)
			if err != nil {
				t.Fatalf("acknowledged job %s lost: %v", key, err)
			}
			// A later op on the job may have committed without its ack.
			if got := j.State.String(); got != state && state != "reserved" {
				t.Errorf("job %s is %s, acknowledged %s", key, got, state)
			}
		}
		ledgertest.CheckMoney(t, s)
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The kills come well within the first checkpoint interval, so the
	// writes acknowledged last were in the journal alone.
	if replayed == 0 {
		t.Error("no round recovered anything from the journal")
	}
}

// crashChild writes until killed, printing "ack <channel>/<job> <state>"
// after each write returns nil.
func crashChild(dir string) {
	s, err := bolt.Open(dir, bolt.Options{Logger: quietLogger()})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(2)
	}
	round := os.Getenv("PAYNODE_LEDGER_CRASH_ROUND")
	var outMu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	ack := func(c int, id, state string) {
		outMu.Lock()
		fmt.Fprintf(out, "ack %d/%s %s\n", c, id, state)
		out.Flush()
		outMu.Unlock()
	}
	ctx := context.Background()
	var locks [8]sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(5 * time.Second) // bounded even if never killed
	for g := range 16 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			for i := 0; time.Now().Before(deadline); i++ {
				c := rng.IntN(len(locks))
				ch := ledgertest.Chan(c)
				id := fmt.Sprintf("r%s-g%d-%d", round, g, i)
				maxCost := big.NewInt(int64(1 + rng.IntN(1_000_000)))
				noWait := rng.IntN(2) == 0
				if _, err := s.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: id, MaxCost: maxCost}, NoWait: noWait}); err != nil {
					fmt.Fprintln(os.Stderr, "reserve:", err)
					os.Exit(2)
				}
				if noWait {
					ack(c, id, "nowait")
				} else {
					ack(c, id, "reserved")
				}
				if rng.IntN(4) == 0 {
					if err := s.Release(ctx, ch, id, "x"); err != nil {
						fmt.Fprintln(os.Stderr, "release:", err)
						os.Exit(2)
					}
					ack(c, id, "released")
					continue
				}
				if rng.IntN(5) == 0 {
					continue // left reserved, as a job in flight at the crash
				}
				cost := big.NewInt(rng.Int64N(maxCost.Int64() + 1))
				locks[c].Lock()
				st, err := s.Channel(ctx, ch)
				if err == nil {
					_, err = s.Charge(ctx, ledger.ChargeOp{ChannelID: ch, JobID: id, Cost: cost,
						Receipt: ledgertest.Receipt(ch, id, cost, new(big.Int).Add(st.Charged, cost))})
				}
				locks[c].Unlock()
				if err != nil {
					fmt.Fprintln(os.Stderr, "charge:", err)
					os.Exit(2)
				}
				ack(c, id, "charged")
			}
		})
	}
	wg.Wait()
	_ = s.Close(ctx)
	_, _ = io.WriteString(os.Stdout, "done\n")
	os.Exit(0)
}

// TestNoWaitCommitsWithNextWrite checks that NoWait reserves return before
// any commit, are ordered before the writes after them, and reach the
// disk in the commit of the next write that waits, or at their deadline.
func TestNoWaitCommitsWithNextWrite(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, dir, bolt.Options{MaxCommitDelay: time.Hour})
	ch := ledgertest.Chan(1)
	before := s.Stats().Commits
	for i := range 10 {
		j, err := s.Reserve(ctx, ledger.ReserveOp{
			Job:     ledger.Job{ChannelID: ch, ID: fmt.Sprint("n", i), MaxCost: big.NewInt(10)},
			Voucher: ledger.Voucher{Amount: big.NewInt(int64(100 + i)), Signature: []byte{byte(i)}},
			Cap:     big.NewInt(1000),
			NoWait:  true,
		})
		if err != nil || j.State != ledger.JobReserved {
			t.Fatalf("reserve %d: %+v, %v", i, j, err)
		}
	}
	// A NoWait reserve that fails says so at once, and changes nothing.
	if _, err := s.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: "n0", MaxCost: big.NewInt(10)}, NoWait: true}); !errors.Is(err, ledger.ErrJobExists) {
		t.Fatalf("reserve of a job applied but not committed: %v, want ErrJobExists", err)
	}
	if _, err := s.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: "big", MaxCost: big.NewInt(901)}, Cap: big.NewInt(1000), NoWait: true}); !errors.Is(err, ledger.ErrInsufficient) {
		t.Fatalf("reserve past the cap: %v, want ErrInsufficient", err)
	}
	if got := s.Stats().Commits; got != before {
		t.Fatalf("%d commits for NoWait reserves alone, want none", got-before)
	}
	if st, _ := s.Channel(ctx, ch); st.Reserved.Sign() != 0 {
		t.Fatalf("reads see reserved %s before the commit", st.Reserved)
	}
	// The charge of one of them commits them all with it.
	in := ledgertest.Receipt(ch, "n3", big.NewInt(7), big.NewInt(7))
	if _, err := s.Charge(ctx, ledger.ChargeOp{ChannelID: ch, JobID: "n3", Cost: big.NewInt(7), Receipt: in}); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().Commits; got != before+1 {
		t.Fatalf("%d commits, want the charge's one", got-before)
	}
	st, _ := s.Channel(ctx, ch)
	if st.Reserved.Int64() != 90 || st.Charged.Int64() != 7 || st.Voucher.Amount.Int64() != 109 {
		t.Fatalf("after the charge: reserved %s charged %s voucher %s, want 90, 7, 109", st.Reserved, st.Charged, st.Voucher.Amount)
	}

	// Alone, a NoWait reserve commits at its deadline.
	s2 := open(t, t.TempDir(), bolt.Options{MaxCommitDelay: 20 * time.Millisecond})
	if _, err := s2.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: "alone", MaxCost: big.NewInt(5)}, NoWait: true}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := s2.Job(ctx, ch, "alone"); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("NoWait reserve never committed: %v", err)
		}
	}

	// Close commits what is open.
	if _, err := s.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: "at-close", MaxCost: big.NewInt(5)}, NoWait: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, bolt.Options{})
	if j, err := s.Job(ctx, ch, "at-close"); err != nil || j.State != ledger.JobReserved {
		t.Fatalf("NoWait reserve open at Close: %+v, %v", j, err)
	}
	ledgertest.CheckMoney(t, s)
}
