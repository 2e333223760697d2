package aggregate

// column is a growable array kept in chunks of chunkLen elements. A flat
// slice grown by append carries up to a quarter of unused capacity (an
// eighth on average) and holds both arrays while it is copied; a column
// never copies a full chunk, and its unused capacity is less than one
// chunk. The first chunk grows by doubling up to chunkLen, so a small rule
// stays small.
type column[T any] struct {
	chunks [][]T
	n      int
}

const (
	chunkBits = 12
	chunkLen  = 1 << chunkBits
	chunkMask = chunkLen - 1
)

// at returns element i (i < len).
func (c *column[T]) at(i uint32) *T { return &c.chunks[i>>chunkBits][i&chunkMask] }

func (c *column[T]) len() int { return c.n }

// push appends v.
func (c *column[T]) push(v T) {
	k := c.n >> chunkBits
	if k == len(c.chunks) {
		var fresh []T
		if k > 0 {
			fresh = make([]T, 0, chunkLen)
		}
		c.chunks = append(c.chunks, fresh)
	}
	ch := c.chunks[k]
	if len(ch) == cap(ch) { // the first chunk: double it, up to chunkLen
		ch = append(make([]T, 0, min(max(8, 2*cap(ch)), chunkLen)), ch...)
	}
	c.chunks[k] = append(ch, v)
	c.n++
}

// capacity is the number of elements the chunks hold room for.
func (c *column[T]) capacity() int {
	n := 0
	for _, ch := range c.chunks {
		n += cap(ch)
	}
	return n
}
