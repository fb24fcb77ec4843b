// Package secret makes and protects the server's secrets: opaque random
// values (codes, tokens, session ids), their SHA-256 digests for storage,
// constant-time comparison, and AES-GCM sealing under the key-encryption
// key.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Token returns a URL-safe opaque value carrying n random bytes (n ≥ 16:
// at least 128 bits), with prefix in front.
func Token(prefix string, n int) string {
	if n < 16 {
		panic("secret: fewer than 128 random bits requested")
	}
	b := make([]byte, n)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Hex returns n random bytes as hex: the format Plaid suggests for client
// ids (16 bytes) and secrets (32 bytes).
func Hex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// lowerBase32 spells ids in lower-case letters and digits, without padding.
var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// ID returns prefix followed by n random bytes in lower-case base32: for
// identifiers that people read, such as req_4h8j2k9m3n7p5q1r.
func ID(prefix string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return prefix + lowerBase32.EncodeToString(b)
}

// Hash is the hex SHA-256 of v: how codes, tokens and client secrets are
// stored. The values are high-entropy, so a fast hash is the right one.
func Hash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// Equal compares two strings in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// KeySize is the size of the key-encryption key: AES-256.
const KeySize = 32

// Sealer encrypts small secrets at rest with AES-256-GCM.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for a 32-byte key-encryption key.
func NewSealer(kek []byte) (*Sealer, error) {
	if len(kek) != KeySize {
		return nil, fmt.Errorf("secret: key-encryption key must be %d bytes, got %d", KeySize, len(kek))
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext; purpose is bound as associated data so a
// ciphertext made for one purpose cannot be passed off as another.
func (s *Sealer) Seal(plaintext []byte, purpose string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plaintext, []byte(purpose))
}

// ErrUnseal means a ciphertext was not made with this key for this purpose.
var ErrUnseal = errors.New("secret: cannot decrypt: wrong key-encryption key or corrupted data")

// Open decrypts what Seal made with the same key and purpose.
func (s *Sealer) Open(ciphertext []byte, purpose string) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(ciphertext) < n+s.aead.Overhead() {
		return nil, ErrUnseal
	}
	plain, err := s.aead.Open(nil, ciphertext[:n], ciphertext[n:], []byte(purpose))
	if err != nil {
		return nil, ErrUnseal
	}
	return plain, nil
}

// ParseKey reads a key-encryption key written as 64 hex digits or as
// base64 (standard or URL alphabet, padded or not) of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("secret: a key-encryption key must be %d bytes as 64 hex digits or base64", KeySize)
}

// NewKey returns a fresh key-encryption key.
func NewKey() []byte {
	b := make([]byte, KeySize)
	rand.Read(b)
	return b
}

// LoadOrCreateKeyFile reads the key in path; when the file does not exist it
// creates it, mode 0600, with a fresh key. created reports which happened.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := ParseKey(string(b))
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return k, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("secret: read key file: %w", err)
	}
	k := NewKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			// Another process created it first: use theirs.
			return LoadOrCreateKeyFile(path)
		}
		return nil, false, fmt.Errorf("secret: create key file: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("secret: write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("secret: write key file: %w", err)
	}
	return k, true, nil
}

// LoadKeyFile reads the key in path, refusing a file others can read.
func LoadKeyFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("secret: key file: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret: key file %s is readable by others (mode %v); chmod 600 it", path, info.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret: key file: %w", err)
	}
	k, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
