package secret

import "testing"

func TestMask(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		secrets []string
		want    string
	}{
		{"none", "bad token", nil, "bad token"},
		{"empty secret ignored", "bad token", []string{""}, "bad token"},
		{"every occurrence", "k1 then k1", []string{"k1"}, "<secret> then <secret>"},
		{"longer first", "got abcdef", []string{"abc", "abcdef"}, "got <secret>"},
		{"longer first either order", "got abcdef", []string{"abcdef", "abc"}, "got <secret>"},
		{"several", "u=alice p=s3cret", []string{"s3cret", "alice"}, "u=<secret> p=<secret>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Mask(tt.text, tt.secrets...); got != tt.want {
				t.Fatalf("Mask(%q, %q) = %q, want %q", tt.text, tt.secrets, got, tt.want)
			}
		})
	}
}
