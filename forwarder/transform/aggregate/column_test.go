package aggregate

import "testing"

// TestColumn: elements keep their values and addresses across chunk
// boundaries (no copy on growth), and the unused room stays within a chunk.
func TestColumn(t *testing.T) {
	var c column[counterState]
	first := (*counterState)(nil)
	const n = 3*chunkLen + 17
	for i := range n {
		c.push(counterState{lastTs: int64(i)})
		if i == chunkLen { // the first element of the second chunk
			first = c.at(uint32(i))
		}
	}
	if c.len() != n {
		t.Fatalf("len %d, want %d", c.len(), n)
	}
	for i := range uint32(n) {
		if got := c.at(i).lastTs; got != int64(i) {
			t.Fatalf("at(%d) = %d", i, got)
		}
	}
	if first != c.at(chunkLen) {
		t.Fatal("an element moved when the column grew")
	}
	if room := c.capacity() - n; room >= chunkLen {
		t.Fatalf("%d elements of unused room, want less than a chunk (%d)", room, chunkLen)
	}
}
