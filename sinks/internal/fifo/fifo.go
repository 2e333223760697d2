// Package fifo is the slice-backed first-in-first-out list shared by the
// Runner's intake and the memory and disk queues' lanes.
package fifo

// FIFO holds elements oldest first. Popped slots are zeroed (so they no
// longer pin memory) and the backing array is reused: reset when the list
// empties, compacted when more than half of it is dead. The zero value is
// an empty list.
type FIFO[T any] struct {
	items []T
	head  int // index of the oldest live element
}

// Len is the number of elements.
func (f *FIFO[T]) Len() int { return len(f.items) - f.head }

// Push appends v.
func (f *FIFO[T]) Push(v T) { f.items = append(f.items, v) }

// Front returns the oldest element, to read or modify in place. f must not
// be empty.
func (f *FIFO[T]) Front() *T { return &f.items[f.head] }

// Items returns the elements oldest first. The slice aliases f: it is valid
// until the next Push or Pop.
func (f *FIFO[T]) Items() []T { return f.items[f.head:] }

// Pop removes and returns the oldest element. f must not be empty.
func (f *FIFO[T]) Pop() T {
	v := f.items[f.head]
	var zero T
	f.items[f.head] = zero
	f.head++
	if f.head == len(f.items) {
		f.items, f.head = f.items[:0], 0
	} else if f.head >= 64 && f.head*2 >= len(f.items) {
		n := copy(f.items, f.items[f.head:])
		clear(f.items[n:])
		f.items, f.head = f.items[:n], 0
	}
	return v
}
