package aggregate

import (
	"encoding/binary"

	"github.com/promfwd/promfwd/scrape"
)

// A group's identity is packed into bytes: each string length-prefixed,
// so distinct identities never collide. The snapshot holds the full form
// (appendKey: name, then labels); the group store holds the name as a
// small id into its name table instead (appendIDKey), since most groups of
// a rule share a few input names and the name is often half the key.

// appendKey packs name and ls into b.
func appendKey(b []byte, name string, ls scrape.Labels) []byte {
	return appendLabels(appendString(b, name), ls)
}

// appendIDKey packs a name id and ls into b (the group store's form).
func appendIDKey(b []byte, id uint32, ls scrape.Labels) []byte {
	return appendLabels(binary.AppendUvarint(b, uint64(id)), ls)
}

func appendLabels(b []byte, ls scrape.Labels) []byte {
	for _, l := range ls {
		b = appendString(appendString(b, l.Name), l.Value)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// decodeKey unpacks appendKey's bytes; the strings are substrings of key.
// ok is false for bytes appendKey did not write (a damaged snapshot).
func decodeKey(key string) (name string, ls scrape.Labels, ok bool) {
	if name, key, ok = cutString(key); !ok {
		return "", nil, false
	}
	ls, ok = decodeLabels(key)
	return name, ls, ok
}

// decodeLabels unpacks appendLabels' bytes; the strings are substrings of b.
func decodeLabels(b string) (scrape.Labels, bool) {
	n := 0 // strings: a name and a value per label
	for rest := b; len(rest) > 0; n++ {
		var ok bool
		if _, rest, ok = cutString(rest); !ok {
			return nil, false
		}
	}
	if n%2 != 0 {
		return nil, false
	}
	var ls scrape.Labels
	if n > 0 {
		ls = make(scrape.Labels, n/2)
	}
	for i := range ls {
		ls[i].Name, b, _ = cutString(b)
		ls[i].Value, b, _ = cutString(b)
	}
	return ls, true
}

// cutString splits one length-prefixed string off s.
func cutString(s string) (string, string, bool) {
	var n uint64
	for i, shift := 0, uint(0); i < len(s) && i < binary.MaxVarintLen64; i, shift = i+1, shift+7 {
		c := s[i]
		n |= uint64(c&0x7f) << shift
		if c < 0x80 {
			rest := s[i+1:]
			if n > uint64(len(rest)) {
				return "", "", false
			}
			return rest[:n], rest[n:], true
		}
	}
	return "", "", false
}
