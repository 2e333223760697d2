package diskqueue

import (
	"context"
	"fmt"
	"testing"

	"github.com/promfwd/promfwd/sinks"
)

// BenchmarkPushPop measures the write-through path a healthy sink takes:
// Push (one write(2)), Commit, Pop from the memory cache, Done (one small
// write(2)). BenchmarkPushPopFromDisk has no memory cache, so every Pop
// reads the body back and checks its CRC.
func BenchmarkPushPop(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10, 256 << 10} {
		b.Run(fmt.Sprintf("body=%dKiB", size>>10), func(b *testing.B) { benchPushPop(b, size, 0) })
	}
}

func BenchmarkPushPopFromDisk(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10, 256 << 10} {
		b.Run(fmt.Sprintf("body=%dKiB", size>>10), func(b *testing.B) { benchPushPop(b, size, 1) })
	}
}

func benchPushPop(b *testing.B, size int, memory int64) {
	q, err := Open(b.TempDir(), Options{MaxBytes: 1 << 30, MemoryBytes: memory})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Release()
	body := make([]byte, size)
	ctx := context.Background()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q.Push(sinks.Request{Body: body, Samples: 100}, 0)
		q.Commit(q.LastSeq())
		if _, _, err := q.Pop(ctx, 0); err != nil {
			b.Fatal(err)
		}
		q.Done(0)
	}
}

// BenchmarkBacklog pushes a backlog of 16 KiB requests (a sink outage),
// then drains it from disk, as after a restart.
func BenchmarkBacklog(b *testing.B) {
	body := make([]byte, 16<<10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	dir := b.TempDir()
	q, err := Open(dir, Options{MaxBytes: 1 << 40, MemoryBytes: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q.Push(sinks.Request{Body: body, Samples: 100}, 0)
	}
	if err := q.Release(); err != nil {
		b.Fatal(err)
	}
	q, err = Open(dir, Options{MaxBytes: 1 << 40, MemoryBytes: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Release()
	for i := 0; i < b.N; i++ {
		if _, _, err := q.Pop(context.Background(), 0); err != nil {
			b.Fatal(err)
		}
		q.Done(0)
	}
}
