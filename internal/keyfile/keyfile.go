// Package keyfile reads and writes the private keys paynode signs with.
//
// A key file is either a hex key file, 64 hex digits with or without 0x and
// with any surrounding white space (a trailing newline, say), or a
// go-ethereum keystore JSON file, which needs a password file beside it.
// Errors name the file and what is wrong with it and never carry key
// material, so they can be printed and logged as they are.
package keyfile

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"
)

// maxFileSize bounds what Load reads: a keystore file is under 1 KiB.
const maxFileSize = 64 << 10

// ErrNoPassword is returned by Load for a keystore file without a password
// file.
var ErrNoPassword = errors.New("keystore file needs a password file")

// PasswordEnv is the environment variable a keystore's password is taken
// from when no password file is named.
const PasswordEnv = "PAYNODE_KEY_PASSWORD"

// Load reads the private key in path. A keystore JSON file is decrypted with
// the first line of passwordFile, or with $PAYNODE_KEY_PASSWORD when
// passwordFile is empty; a hex key file ignores both.
func Load(path, passwordFile string) (*ecdsa.PrivateKey, error) {
	data, err := readSmall(path)
	if err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	defer clear(data)
	if !isJSON(data) {
		key, err := ParseHex(data)
		if err != nil {
			return nil, fmt.Errorf("keyfile: %s: %w", path, err)
		}
		return key, nil
	}
	var password string
	if passwordFile == "" {
		pw, ok := os.LookupEnv(PasswordEnv)
		if !ok {
			return nil, fmt.Errorf("keyfile: %s: %w (or set %s)", path, ErrNoPassword, PasswordEnv)
		}
		password = pw
	} else if password, err = readPassword(passwordFile); err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	key, err := keystore.DecryptKey(data, password)
	if err != nil {
		return nil, fmt.Errorf("keyfile: %s: keystore: %w", path, err)
	}
	return key.PrivateKey, nil
}

// ParseHex parses a hex private key: 64 hex digits, with or without 0x,
// with any surrounding white space.
func ParseHex(text []byte) (*ecdsa.PrivateKey, error) {
	text = bytes.TrimSpace(text)
	if len(text) >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X') {
		text = text[2:]
	}
	if len(text) != 64 {
		return nil, fmt.Errorf("not a hex key: want 64 hex digits, found %d characters", len(text))
	}
	var raw [32]byte
	defer clear(raw[:])
	// hex.Decode's error quotes the offending byte; ours says nothing of the
	// content.
	if _, err := hex.Decode(raw[:], text); err != nil {
		return nil, errors.New("not a hex key: a character is not a hex digit")
	}
	key, err := crypto.ToECDSA(raw[:])
	if err != nil {
		return nil, errors.New("not a valid secp256k1 private key: zero or not below the curve order")
	}
	return key, nil
}

// WriteHex writes key to path as a hex key file (64 hex digits and a
// newline, the format go-ethereum's crypto.LoadECDSA reads), readable by its
// owner only. It replaces path atomically if it exists.
func WriteHex(path string, key *ecdsa.PrivateKey) (err error) {
	if key == nil {
		return errors.New("keyfile: write: nil key")
	}
	raw := crypto.FromECDSA(key)
	defer clear(raw)
	text := make([]byte, hex.EncodedLen(len(raw))+1)
	defer clear(text)
	hex.Encode(text, raw)
	text[len(text)-1] = '\n'

	// CreateTemp makes the file with mode 0600; the rename keeps it, so the
	// key is never readable by others, not even for a moment.
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("keyfile: write: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("keyfile: write %s: %w", path, err)
	}
	if _, err := f.Write(text); err != nil {
		return fmt.Errorf("keyfile: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("keyfile: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("keyfile: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("keyfile: write: %w", err)
	}
	return nil
}

func isJSON(data []byte) bool {
	data = bytes.TrimSpace(data)
	return len(data) > 0 && data[0] == '{'
}

// readPassword returns the first line of path, as geth's --password does.
func readPassword(path string) (string, error) {
	data, err := readSmall(path)
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	defer clear(data)
	line, _, _ := strings.Cut(string(data), "\n")
	return strings.TrimSuffix(line, "\r"), nil
}

// readSmall reads path, refusing files over maxFileSize: whatever such a
// file is, it is no key.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: over %d bytes, not a key file", path, maxFileSize)
	}
	return data, nil
}
