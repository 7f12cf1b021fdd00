package keys

import (
	"crypto/ed25519"
	"math/big"
)

// Edwards25519 field constants for the point checks below. They run only
// when a foreign Ed25519 key is parsed (did:key, JWK), never on a signing
// path, so math/big is fast enough and keeps the code obviously correct.
var (
	edP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	// edD = -121665 / 121666 mod p.
	edD = func() *big.Int {
		n := new(big.Int).Neg(big.NewInt(121665))
		inv := new(big.Int).ModInverse(big.NewInt(121666), edP)
		return n.Mul(n, inv).Mod(n, edP)
	}()
)

// ParseEd25519PublicKey checks that b is a usable Ed25519 public key: 32
// bytes, a canonical encoding (y < p, and not "x = 0 with the sign bit set"),
// a point on the curve, and not of small order (its order is not a divisor
// of the cofactor 8). Such keys let an attacker make signatures that verify
// for many messages, so SECURITY-CASES E56 refuses them. Every failure is
// ErrInvalidKey.
func ParseEd25519PublicKey(b []byte) (ed25519.PublicKey, error) {
	if len(b) != ed25519.PublicKeySize {
		return nil, ErrInvalidKey.With("the Ed25519 key has the wrong length", nil)
	}
	x, y, ok := edDecode(b)
	if !ok {
		return nil, ErrInvalidKey.With("the Ed25519 key is not a canonical curve point", nil)
	}
	for range 3 {
		x, y = edAdd(x, y, x, y)
	}
	if x.Sign() == 0 && y.Cmp(big.NewInt(1)) == 0 {
		return nil, ErrInvalidKey.With("the Ed25519 key has small order", nil)
	}
	return ed25519.PublicKey(append([]byte(nil), b...)), nil
}

// edDecode decodes an RFC 8032 §5.1.3 point encoding, refusing
// non-canonical ones.
func edDecode(b []byte) (x, y *big.Int, ok bool) {
	le := make([]byte, 32)
	for i := range 32 {
		le[31-i] = b[i]
	}
	sign := le[0] >> 7
	le[0] &= 0x7f
	y = new(big.Int).SetBytes(le)
	if y.Cmp(edP) >= 0 {
		return nil, nil, false
	}
	y2 := new(big.Int).Mul(y, y)
	u := new(big.Int).Sub(y2, big.NewInt(1))
	v := new(big.Int).Mul(edD, y2)
	v.Add(v, big.NewInt(1)).Mod(v, edP)
	x2 := u.Mul(u, new(big.Int).ModInverse(v, edP))
	x2.Mod(x2, edP)
	if x2.Sign() == 0 {
		if sign == 1 {
			return nil, nil, false
		}
		return new(big.Int), y, true
	}
	x = new(big.Int).ModSqrt(x2, edP)
	if x == nil {
		return nil, nil, false
	}
	if uint(x.Bit(0)) != uint(sign) {
		x.Sub(edP, x)
	}
	return x, y, true
}

// edAdd is the complete twisted Edwards addition law with a = -1.
func edAdd(x1, y1, x2, y2 *big.Int) (x3, y3 *big.Int) {
	t := new(big.Int).Mul(x1, x2)
	t.Mul(t, y1).Mul(t, y2).Mul(t, edD).Mod(t, edP) // d·x1·x2·y1·y2
	nx := new(big.Int).Add(new(big.Int).Mul(x1, y2), new(big.Int).Mul(y1, x2))
	ny := new(big.Int).Add(new(big.Int).Mul(y1, y2), new(big.Int).Mul(x1, x2))
	dx := new(big.Int).Add(big.NewInt(1), t)
	dy := new(big.Int).Sub(big.NewInt(1), t)
	dy.Mod(dy, edP)
	x3 = nx.Mul(nx, new(big.Int).ModInverse(dx, edP)).Mod(nx, edP)
	y3 = ny.Mul(ny, new(big.Int).ModInverse(dy, edP)).Mod(ny, edP)
	return x3, y3
}
