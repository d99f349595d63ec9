package keyfile_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/internal/keyfile"
)

// testKey is anvil's account 0: public, and so fine in a test.
const testKey = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
const testAddr = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"

func TestLoadHex(t *testing.T) {
	for name, content := range map[string]string{
		"bare":              testKey,
		"0x":                "0x" + testKey,
		"0X":                "0X" + testKey,
		"trailing newline":  testKey + "\n",
		"CRLF":              "0x" + testKey + "\r\n",
		"upper case":        strings.ToUpper(testKey),
		"surrounding space": "  " + testKey + " \n\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := writeFile(t, "key", content, 0o600)
			key, err := keyfile.Load(path, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := crypto.PubkeyToAddress(key.PublicKey).Hex(); got != testAddr {
				t.Errorf("address %s, want %s", got, testAddr)
			}
		})
	}
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name    string
		content string
		want    string
	}{
		{"empty", "", "found 0 characters"},
		{"short", testKey[:63], "found 63 characters"},
		{"long", testKey + "0", "found 65 characters"},
		{"two keys", testKey + "\n" + testKey, "found 129 characters"},
		{"not hex", "g" + testKey[1:], "not a hex digit"},
		{"zero", strings.Repeat("0", 64), "not a valid secp256k1"},
		{"curve order", "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", "not a valid secp256k1"},
		{"inner space", testKey[:32] + " " + testKey[33:], "not a hex digit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := keyfile.Load(path, "")
			if err == nil {
				t.Fatal("want an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, path) {
				t.Errorf("error %q: want the file name and %q", msg, tc.want)
			}
			assertNoKeyMaterial(t, msg, tc.content)
		})
	}

	t.Run("missing file", func(t *testing.T) {
		_, err := keyfile.Load(filepath.Join(dir, "nope"), "")
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("got %v, want a not-exist error", err)
		}
	})
	t.Run("huge file", func(t *testing.T) {
		path := writeFile(t, "huge", strings.Repeat(testKey, 2000), 0o600)
		_, err := keyfile.Load(path, "")
		if err == nil || !strings.Contains(err.Error(), "not a key file") {
			t.Errorf("got %v", err)
		}
		assertNoKeyMaterial(t, err.Error(), testKey)
	})
}

func TestLoadKeystore(t *testing.T) {
	key, err := keyfile.ParseHex([]byte(testKey))
	if err != nil {
		t.Fatal(err)
	}
	ks := keystore.NewKeyStore(t.TempDir(), keystore.LightScryptN, keystore.LightScryptP)
	account, err := ks.ImportECDSA(key, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	path := account.URL.Path

	for name, password := range map[string]string{
		"first line only": "correct horse\nsecond line is ignored\n",
		"CRLF":            "correct horse\r\n",
		"no newline":      "correct horse",
	} {
		t.Run(name, func(t *testing.T) {
			got, err := keyfile.Load(path, writeFile(t, "password", password, 0o600))
			if err != nil {
				t.Fatal(err)
			}
			if crypto.PubkeyToAddress(got.PublicKey).Hex() != testAddr {
				t.Error("decrypted to another key")
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		_, err := keyfile.Load(path, writeFile(t, "password", "battery staple\n", 0o600))
		if !errors.Is(err, keystore.ErrDecrypt) || !strings.Contains(err.Error(), path) {
			t.Errorf("got %v; want ErrDecrypt naming the file", err)
		}
	})
	t.Run("password from the environment", func(t *testing.T) {
		t.Setenv(keyfile.PasswordEnv, "correct horse")
		got, err := keyfile.Load(path, "")
		if err != nil {
			t.Fatal(err)
		}
		if crypto.PubkeyToAddress(got.PublicKey).Hex() != testAddr {
			t.Error("decrypted to another key")
		}
	})
	t.Run("no password file", func(t *testing.T) {
		_, err := keyfile.Load(path, "")
		if !errors.Is(err, keyfile.ErrNoPassword) || !strings.Contains(err.Error(), path) {
			t.Errorf("got %v; want ErrNoPassword naming the file", err)
		}
	})
	t.Run("missing password file", func(t *testing.T) {
		_, err := keyfile.Load(path, filepath.Join(t.TempDir(), "nope"))
		if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "password file") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("broken JSON", func(t *testing.T) {
		_, err := keyfile.Load(writeFile(t, "broken.json", `{"crypto":`, 0o600), writeFile(t, "password", "x", 0o600))
		if err == nil {
			t.Error("want an error")
		}
	})
}

func TestWriteHex(t *testing.T) {
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "agent.key")
	// An existing file, readable by all, is replaced by one readable by its
	// owner only.
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := keyfile.WriteHex(path, key); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode %o, want 600", perm)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := hex.EncodeToString(crypto.FromECDSA(key)) + "\n"; string(data) != want {
		t.Error("file is not 64 hex digits and a newline")
	}
	// go-ethereum's own loader reads it, and so do we.
	if _, err := crypto.LoadECDSA(path); err != nil {
		t.Errorf("crypto.LoadECDSA: %v", err)
	}
	got, err := keyfile.Load(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(key) {
		t.Error("round trip changed the key")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := keyfile.WriteHex(filepath.Join(t.TempDir(), "no", "such", "dir"), key); err == nil {
		t.Error("want an error for a missing directory")
	}
}

func FuzzParseHex(f *testing.F) {
	for _, seed := range []string{
		testKey, "0x" + testKey, testKey + "\n", strings.ToUpper(testKey), " \t" + testKey + "\r\n",
		testKey[:63], testKey + "00", strings.Repeat("0", 64), strings.Repeat("f", 64),
		"0x", "", "{}", "zz" + testKey[2:],
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := keyfile.ParseHex(data)
		norm := bytes.TrimSpace(data)
		if len(norm) >= 2 && norm[0] == '0' && (norm[1] == 'x' || norm[1] == 'X') {
			norm = norm[2:]
		}
		if err != nil {
			if key != nil {
				t.Fatal("a key and an error")
			}
			assertNoKeyMaterial(t, err.Error(), string(norm))
			return
		}
		if got := hex.EncodeToString(crypto.FromECDSA(key)); got != strings.ToLower(string(norm)) {
			t.Fatalf("parsed %q to a key that encodes as another", data)
		}
	})
}

// assertNoKeyMaterial fails if msg quotes 8 consecutive hex digits of
// content.
func assertNoKeyMaterial(t *testing.T, msg, content string) {
	t.Helper()
	for i := 0; i+8 <= len(content); i++ {
		window := content[i : i+8]
		if _, err := hex.DecodeString(window); err == nil && strings.Contains(msg, window) {
			t.Fatalf("error %q quotes the file's content", msg)
		}
	}
}

func writeFile(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return path
}
