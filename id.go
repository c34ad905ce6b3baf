package tender

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// crockford is Crockford's base-32 alphabet in lower case: no i, l, o, u,
// so ids survive being read aloud or typed from a receipt.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// NewID returns a new id: prefix followed by 10 characters of millisecond
// time and 10 random characters, all lower-case alphanumeric. Ids sort by
// creation time, and contain no separator so that providers with strict
// reference formats (Trust Payments orderreference is alphanumeric, at most
// 25 characters) can carry a payment id as is: NewID("pay") is 23 characters.
func NewID(prefix string) string {
	return newIDAt(prefix, time.Now())
}

func newIDAt(prefix string, t time.Time) string {
	var b [20]byte
	ms := uint64(t.UnixMilli())
	for i := 9; i >= 0; i-- {
		b[i] = crockford[ms&31]
		ms >>= 5
	}
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		panic("tender: crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	n := binary.BigEndian.Uint64(r[:])
	for i := 19; i >= 10; i-- {
		b[i] = crockford[n&31]
		n >>= 5
	}
	return prefix + string(b[:])
}
