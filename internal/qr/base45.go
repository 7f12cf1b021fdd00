package qr

// Base45 (RFC 9285), written here rather than taken from
// github.com/minvws/base45-go v0.1.0: that module's RFC codec (eubase45)
// decodes a triplet over 65535 or a pair over 255 by truncating it to a
// byte instead of refusing it (RFC 9285 §4 says decoding MUST fail), so
// two texts would decode to the same bytes, and it pulls in
// github.com/go-errors/errors for its error strings.

// base45Alphabet is RFC 9285 Table 1; it is also exactly the QR
// alphanumeric character set, in the same order.
const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// base45Value maps a byte to its Base45 value, or -1.
var base45Value = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := range len(base45Alphabet) {
		t[base45Alphabet[i]] = int8(i)
	}
	return t
}()

// base45EncodedLen is the length of the Base45 text of n bytes.
func base45EncodedLen(n int) int { return n/2*3 + n%2*2 }

// base45Encode returns the Base45 text of src: every two bytes [a b] as
// three characters [c d e] with a·256+b = c + d·45 + e·45², and a last odd
// byte as two characters [c d] with its value = c + d·45.
func base45Encode(src []byte) string {
	dst := make([]byte, 0, base45EncodedLen(len(src)))
	for len(src) >= 2 {
		n := int(src[0])<<8 | int(src[1])
		dst = append(dst, base45Alphabet[n%45], base45Alphabet[n/45%45], base45Alphabet[n/2025])
		src = src[2:]
	}
	if len(src) == 1 {
		n := int(src[0])
		dst = append(dst, base45Alphabet[n%45], base45Alphabet[n/45])
	}
	return string(dst)
}

// DecodeBase45 decodes s as Base45 (RFC 9285), for the other formats that
// use it (the EU DCC's HC1: text). It refuses a character outside the
// alphabet (qr_base45_character), a group over its range: a triplet worth
// more than 65535 or a final pair worth more than 255
// (qr_base45_overflow), and a text whose length is 1 modulo 3, a dangling
// character (qr_invalid_base45), so every byte string has exactly one
// Base45 text. The first two are also errors.Is ErrInvalidBase45, the
// class. No error quotes the input.
func DecodeBase45(s string) ([]byte, error) { return base45Decode(s) }

// EncodeBase45 returns the Base45 text of b (for tests and tools that
// make other formats' texts).
func EncodeBase45(b []byte) string { return base45Encode(b) }

// base45Decode is DecodeBase45. The first group at fault decides the
// error; within a group a character outside the alphabet comes before the
// range.
func base45Decode(s string) ([]byte, error) {
	if len(s)%3 == 1 {
		return nil, ErrInvalidBase45.With("a Base45 text cannot end in a single character", nil)
	}
	full := len(s) / 3
	dst := make([]byte, full*2+len(s)%3/2)
	for i := range full {
		a, b, c := base45Value[s[3*i]], base45Value[s[3*i+1]], base45Value[s[3*i+2]]
		if a|b|c < 0 { // -1 marks a character outside the alphabet
			return nil, ErrBase45Character.With("", ErrInvalidBase45)
		}
		n := int(a) + int(b)*45 + int(c)*45*45
		if n > 0xffff {
			return nil, ErrBase45Overflow.With("a Base45 triplet is over 65535", ErrInvalidBase45)
		}
		dst[2*i], dst[2*i+1] = byte(n>>8), byte(n)
	}
	if len(s)%3 == 2 {
		a, b := base45Value[s[len(s)-2]], base45Value[s[len(s)-1]]
		if a|b < 0 {
			return nil, ErrBase45Character.With("", ErrInvalidBase45)
		}
		n := int(a) + int(b)*45
		if n > 0xff {
			return nil, ErrBase45Overflow.With("a final Base45 pair is over 255", ErrInvalidBase45)
		}
		dst[len(dst)-1] = byte(n)
	}
	return dst, nil
}
