package fifo

import "testing"

// TestFIFOOrderAndRelease pushes and pops in uneven rounds, so the list is
// both reset and compacted, and checks the order, Len, Front, Items and
// that popped slots no longer hold their values.
func TestFIFOOrderAndRelease(t *testing.T) {
	var f FIFO[*int]
	next, want := 0, 0
	for round := range 50 {
		for range round * 7 % 200 {
			v := next
			f.Push(&v)
			next++
		}
		for range round * 5 % 150 {
			if f.Len() == 0 {
				break
			}
			if got := *f.Front(); *got != want {
				t.Fatalf("Front = %d, want %d", *got, want)
			}
			if got := f.Pop(); *got != want {
				t.Fatalf("Pop = %d, want %d", *got, want)
			}
			want++
		}
		if f.Len() != next-want {
			t.Fatalf("Len = %d, want %d", f.Len(), next-want)
		}
		for i, p := range f.Items() {
			if *p != want+i {
				t.Fatalf("Items()[%d] = %d, want %d", i, *p, want+i)
			}
		}
		for i, p := range f.items[:f.head] {
			if p != nil {
				t.Fatalf("popped slot %d still holds %d", i, *p)
			}
		}
		for i, p := range f.items[len(f.items):cap(f.items)] {
			if p != nil {
				t.Fatalf("spare slot %d still holds %d", i, *p)
			}
		}
	}
	if want == 0 {
		t.Fatal("nothing popped")
	}
}
