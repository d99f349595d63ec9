package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/node/wire"
)

// Record is one line of a channel's receipt file: a receipt the agent got,
// with what it knew when it paid.
type Record struct {
	Time     time.Time      `json:"time"`
	JobID    string         `json:"job_id"`
	Provider common.Address `json:"provider"`
	Asset    common.Address `json:"asset"`
	// MaxCost is what the job was priced at before it ran; Voucher the
	// voucher amount last signed for it.
	MaxCost *wire.Amount `json:"max_cost,omitempty"`
	Voucher *wire.Amount `json:"voucher,omitempty"`
	// Receipt is the receipt; none on a record of a node's account
	// refused (Sync).
	Receipt wire.Receipt `json:"receipt,omitzero"`
	// Unverified marks a receipt kept before its signature was verified
	// (Config.VerifyReceiptsEvery): a later receipt's signature proves its
	// running total, not the receipt itself.
	Unverified bool `json:"unverified,omitempty"`
	// Rejected says why the receipt failed verification: the evidence
	// against a provider the SDK stopped paying. Rejected records do not
	// count as charged.
	Rejected string `json:"rejected,omitempty"`
	// Sync is the node's account of the channel that the SDK refused
	// (docs/protocol.md, "Resync"), with Rejected saying why; such a
	// record has no receipt.
	Sync *wire.Channel `json:"sync,omitempty"`
}

// Store keeps receipts on disk so that spend can be audited: one file of
// JSON lines per channel, <dir>/<channel id>.jsonl, each record appended
// and fsynced before the SDK hands the result to its caller. A line torn
// by a crash is dropped (and cut off before the next append).
//
// Beside it, <dir>/<channel id>.vouchers.jsonl records the highest
// voucher amount signed on the channel, appended and fsynced before a
// higher voucher is sent: what the agent has promised, which bounds the
// charge it adopts from the node when its receipts fall short
// (docs/protocol.md, "Resync"). Keep it when restoring the receipts from
// a copy: the receipts it lacks are then recovered from the node.
type Store struct {
	dir string

	mu     sync.Mutex
	files  map[string]*os.File      // by path; guarded by mu
	signed map[common.Hash]*big.Int // the vouchers files' highest amounts, once read; guarded by mu
}

// OpenStore opens (creating it) the receipt directory dir.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("receipt store: %w", err)
	}
	return &Store{dir: dir, files: map[string]*os.File{}, signed: map[common.Hash]*big.Int{}}, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(channel common.Hash) string {
	return filepath.Join(s.dir, strings.ToLower(channel.Hex())+".jsonl")
}

func (s *Store) vouchersPath(channel common.Hash) string {
	return filepath.Join(s.dir, strings.ToLower(channel.Hex())+".vouchers.jsonl")
}

// Append writes rec to channel's file and syncs it to disk.
func (s *Store) Append(channel common.Hash, rec *Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(s.path(channel), rec)
}

// appendLocked writes v's JSON as a line of the file at path and syncs
// it to disk.
func (s *Store) appendLocked(path string, v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("receipt store: %w", err)
	}
	line = append(line, '\n')
	f, err := s.fileLocked(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(line); err != nil {
		return fmt.Errorf("receipt store: write %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("receipt store: sync %s: %w", f.Name(), err)
	}
	return nil
}

// signedLine is a line of a vouchers file.
type signedLine struct {
	Time   time.Time    `json:"time"`
	Amount *wire.Amount `json:"amount"`
}

// Signed returns the highest voucher amount recorded for channel by
// RecordSigned; zero when none was.
func (s *Store) Signed(channel common.Hash) (*big.Int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.signedLocked(channel)
	if err != nil {
		return nil, err
	}
	return new(big.Int).Set(v), nil
}

func (s *Store) signedLocked(channel common.Hash) (*big.Int, error) {
	if v, ok := s.signed[channel]; ok {
		return v, nil
	}
	v := new(big.Int)
	err := readLines(s.vouchersPath(channel), func(b []byte) error {
		var l signedLine
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		if a := l.Amount.Big(); a != nil && a.Cmp(v) > 0 {
			v = a
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.signed[channel] = v
	return v, nil
}

// RecordSigned records that a voucher of amount was signed for channel,
// synced to disk, unless one at least as high was recorded already. A
// Client records each voucher so before it sends it.
func (s *Store) RecordSigned(channel common.Hash, amount *big.Int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.signedLocked(channel)
	if err != nil {
		return err
	}
	if amount.Cmp(v) <= 0 {
		return nil
	}
	if err := s.appendLocked(s.vouchersPath(channel), &signedLine{Time: time.Now().UTC(), Amount: wire.NewAmount(amount)}); err != nil {
		return err
	}
	s.signed[channel] = new(big.Int).Set(amount)
	return nil
}

func (s *Store) fileLocked(path string) (*os.File, error) {
	if f, ok := s.files[path]; ok {
		return f, nil
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("receipt store: %w", err)
	}
	if err := cutTornTail(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("receipt store: %s: %w", path, err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// A new file's name must survive a crash too.
		if d, err := os.Open(s.dir); err == nil {
			d.Sync()
			d.Close()
		}
	}
	s.files[path] = f
	return f, nil
}

// cutTornTail truncates f after its last newline, dropping a line a crash
// left half written.
func cutTornTail(f *os.File) error {
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return err
	}
	size := st.Size()
	const chunk = 4096
	buf := make([]byte, chunk)
	end := size
	for end > 0 {
		start := max(end-chunk, 0)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && err != io.EOF {
			return err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			if cut := start + int64(i) + 1; cut != size {
				return f.Truncate(cut)
			}
			return nil
		}
		end = start
	}
	return f.Truncate(0)
}

// Load reads channel's records in the order they were written; a channel
// without a file has none. A torn last line is skipped; a malformed line
// elsewhere is an error.
func (s *Store) Load(channel common.Hash) ([]Record, error) {
	var out []Record
	err := readLines(s.path(channel), func(b []byte) error {
		var r Record
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// readLines calls take with each line of the file at path that is not
// blank; a missing file has none. A torn last line is skipped; a line
// take refuses elsewhere is an error.
func readLines(path string, take func([]byte) error) error {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("receipt store: %w", err)
	}
	// A last line without its newline is one a crash tore: drop it.
	raw = raw[:bytes.LastIndexByte(raw, '\n')+1]
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if err := take(b); err != nil {
			return fmt.Errorf("receipt store: %s line %d: %w", path, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("receipt store: %s: %w", path, err)
	}
	return nil
}

// Channels lists the channels that have a receipt file.
func (s *Store) Channels() ([]common.Hash, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("receipt store: %w", err)
	}
	var out []common.Hash
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".jsonl")
		if !ok || len(name) != 66 || !strings.HasPrefix(name, "0x") {
			continue
		}
		out = append(out, common.HexToHash(name))
	}
	return out, nil
}

// Close closes the open files.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for path, f := range s.files {
		errs = append(errs, f.Close())
		delete(s.files, path)
	}
	return errors.Join(errs...)
}
