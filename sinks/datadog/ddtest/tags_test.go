package ddtest

import (
	"strings"
	"testing"
)

// TestTagRules: the receiver enforces Datadog's tag rules (issue 17).
func TestTagRules(t *testing.T) {
	for _, c := range []struct {
		tag   string
		allow []string
		ok    bool
	}{
		{"job:docker", nil, true},
		{"team", nil, true},
		{"path:/var/lib-x.y_z", nil, true},
		{"uni:häß", nil, true},
		{"url:http://h:1", nil, true},
		{"label_host:a", nil, true},
		{"env:prod", []string{"env"}, true},
		{"", nil, false},
		{"Team:core", nil, false},
		{"team:Core", nil, false},
		{"_x:1", nil, false},
		{"1x:1", nil, false},
		{"quote:a\"b", nil, false},
		{"space:a b", nil, false},
		{"trailing:", nil, false},
		{"k:" + strings.Repeat("v", 199), nil, false},
		{"host:a", nil, false},
		{"service:web", []string{"env"}, false},
		{"env:prod", nil, false},
		{"version:1", nil, false},
		{"source:x", nil, false},
		{"device:sda", nil, false},
	} {
		err := validTag(c.tag, c.allow)
		if (err == nil) != c.ok {
			t.Errorf("validTag(%q, %v) = %v, want ok=%v", c.tag, c.allow, err, c.ok)
		}
	}
}
