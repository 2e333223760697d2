package promtest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func TestLogBufferMarkerAcrossWrites(t *testing.T) {
	b := newLogBuffer(readyLine)
	for _, chunk := range []string{"level=info msg=\"Server is re", "ady to receive web requests.\"\n"} {
		select {
		case <-b.ready:
			t.Fatal("ready before the marker was complete")
		default:
		}
		_, _ = b.Write([]byte(chunk))
	}
	select {
	case <-b.ready:
	default:
		t.Fatal("marker split over two writes not seen")
	}
	_, _ = b.Write([]byte(readyLine)) // a second marker must not close twice
	if !strings.Contains(b.String(), "Server is ready") {
		t.Error("log text lost")
	}
}

// recordTB captures Skipf/Fatalf and ends the goroutine as testing.T does.
type recordTB struct {
	testing.TB
	skipped, fatal string
}

func (r *recordTB) Helper() {}
func (r *recordTB) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recordTB) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestStartWithoutBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		r := &recordTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			Start(r)
		}()
		<-done
		got := r.skipped
		if ci == "true" {
			got = r.fatal
		}
		if !strings.Contains(got, InstallHint) {
			t.Errorf("CI=%q: skipped %q, fatal %q; want the install hint in the %s", ci, r.skipped, r.fatal, map[bool]string{true: "failure", false: "skip"}[ci == "true"])
		}
	}
}
