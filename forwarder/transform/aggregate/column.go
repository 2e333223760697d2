package aggregate

// column is a growable array kept in fixed chunks of chunkLen elements. A
// flat slice grown by append carries up to a quarter of unused capacity
// (an eighth on average) and holds both arrays while it is copied; a
// column never copies, and its unused capacity is less than one chunk.
// Chunks are fixed-size arrays, so an element is one pointer load away
// and the masked index needs no bounds check.
type column[T any] struct {
	chunks []*[chunkLen]T
	n      int
}

const (
	chunkBits = 10
	chunkLen  = 1 << chunkBits
	chunkMask = chunkLen - 1
)

// at returns element i (i < len).
func (c *column[T]) at(i uint32) *T { return &c.chunks[i>>chunkBits][i&chunkMask] }

func (c *column[T]) len() int { return c.n }

// push appends v.
func (c *column[T]) push(v T) {
	if c.n&chunkMask == 0 {
		c.chunks = append(c.chunks, new([chunkLen]T))
	}
	c.chunks[c.n>>chunkBits][c.n&chunkMask] = v
	c.n++
}

// capacity is the number of elements the chunks hold room for.
func (c *column[T]) capacity() int { return len(c.chunks) * chunkLen }
