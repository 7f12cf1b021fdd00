package holder

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// KDF are the argon2id parameters of new password hashes. A stored hash
// carries its own, so they can be raised without a migration.
type KDF struct {
	Time      uint32 // passes
	MemoryKiB uint32
	Threads   uint8
}

// DefaultKDF is OWASP's argon2id setting (19 MiB, 2 passes, 1 thread).
var DefaultKDF = KDF{Time: 2, MemoryKiB: 19 << 10, Threads: 1}

const (
	saltLen = 16
	hashLen = 32
)

// hashPassword returns the PHC string of password under a fresh salt.
func hashPassword(password string, k KDF) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("making a salt: %w", err)
	}
	sum := argon2.IDKey([]byte(password), salt, k.Time, k.MemoryKiB, k.Threads, hashLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, k.MemoryKiB, k.Time, k.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// checkPassword reports whether password matches the PHC string phc, in
// time independent of where they differ. A malformed phc never matches.
func checkPassword(password, phc string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var k KDF
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &k.MemoryKiB, &k.Time, &k.Threads); err != nil || k.Time == 0 || k.Threads == 0 || k.MemoryKiB > 1<<22 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, k.Time, k.MemoryKiB, k.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
