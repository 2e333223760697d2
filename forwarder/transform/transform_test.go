package transform

import (
	"errors"
	"slices"
	"testing"

	"github.com/promfwd/promfwd/scrape"
)

var _ Stage = Identity{}

func TestIdentity(t *testing.T) {
	in := []scrape.Sample{{Name: "a", Hash: 1, Value: 1}, {Name: "b", Hash: 2, Value: 2}}
	want := slices.Clone(in)
	var s Stage = Identity{}
	if got := s.Apply(in, 1000); !slices.EqualFunc(got, want, func(a, b scrape.Sample) bool {
		return a.Name == b.Name && a.Hash == b.Hash && a.Value == b.Value
	}) {
		t.Fatalf("Apply = %+v, want %+v", got, want)
	}
	if err := s.Restore(s.Snapshot()); err != nil {
		t.Fatalf("Restore(Snapshot()) = %v", err)
	}
	if err := s.Restore([]byte{1}); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("Restore(garbage) = %v, want ErrBadSnapshot", err)
	}
}
