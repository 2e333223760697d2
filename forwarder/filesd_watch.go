package forwarder

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"github.com/cespare/xxhash/v2"

	"github.com/promfwd/promfwd/forwarder/config"
)

// sdFile is the last good content of one file_sd file.
type sdFile struct {
	hash   uint64
	groups []config.TargetGroup
}

// fileSD tracks one file_sd source's files. Its methods are called by one
// goroutine at a time: New or Reload before its loop starts, then the loop.
type fileSD struct {
	src      config.SourceConfig
	files    map[string]*sdFile
	problems string // last problems logged, so a bad file is logged once per change
}

func newFileSD(src config.SourceConfig) *fileSD {
	return &fileSD{src: src, files: map[string]*sdFile{}}
}

// refresh re-reads the files. It reports whether the set of targets may
// have changed, and the problems met (a file that cannot be read or parsed
// keeps its last good groups).
func (d *fileSD) refresh() (changed bool, problems []error) {
	var paths []string
	for _, c := range d.src.FileSDConfigs {
		for _, p := range c.Files {
			m, err := filepath.Glob(p)
			if err != nil { // validated at load; keep the pattern out of the way
				continue
			}
			paths = append(paths, m...)
		}
	}
	slices.Sort(paths)
	paths = slices.Compact(paths)
	next := make(map[string]*sdFile, len(paths))
	for _, p := range paths {
		old := d.files[p]
		data, err := config.ReadSDFile(p)
		if err != nil {
			if old != nil {
				next[p] = old
			}
			problems = append(problems, err)
			continue
		}
		h := xxhash.Sum64(data)
		if old != nil && old.hash == h {
			next[p] = old
			continue
		}
		groups, err := config.ParseTargetGroups(p, data)
		if err != nil {
			problems = append(problems, fmt.Errorf("file_sd %s: %w", p, err))
			if old != nil {
				next[p] = old
			}
			continue
		}
		next[p] = &sdFile{hash: h, groups: groups}
		changed = true
	}
	for p := range d.files { // a file that went (new ones set changed above)
		if _, ok := next[p]; !ok {
			changed = true
		}
	}
	d.files = next
	return changed, problems
}

// groups are the current groups of every file, in path order.
func (d *fileSD) groups() []config.TargetGroup {
	var groups []config.TargetGroup
	for _, p := range slices.Sorted(maps.Keys(d.files)) {
		groups = append(groups, d.files[p].groups...)
	}
	return groups
}
