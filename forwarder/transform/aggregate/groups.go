package aggregate

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
	"strings"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// A rule's output groups cost more than its input series when groups are
// near-unique (a `without` that leaves every series its own group), so a
// group holds no heap object: it is a 16-byte record in groups, its packed
// identity (appendIDKey: name id and labels) lives in one shared byte
// arena, and it is found by an open-addressing table of slot numbers keyed
// by the identity's hash (as slotIndex finds input series), a hash match
// confirmed by comparing the packed keys, so colliding hashes never merge
// groups. A group used to cost a 32-byte record (with a string header), a
// Go map[string]int32 entry (about 48 bytes) and its key string (rounded to
// a size class, the input name in every key); it now costs the 16-byte
// record, about 6 bytes of index (4-byte entries at load 7/16 to 7/8) and
// its labels' bytes. A group lives while it has input series (sweep).

// group is one output identity: input name and grouping labels.
type group struct {
	total float64
	at    uint32 // 1 + the offset of its key (length-prefixed) in keys; 0: a free slot
	hash  uint32 // keyHash(key), the table's key
}

// nameRef is an entry of the name table.
type nameRef struct {
	name string
	refs int32 // groups with this name; 0: a free id
}

// groupStore is a rule's groups, their key arena, their index and the
// table of their input names.
type groupStore struct {
	groups []group
	free   []int32 // free group slots
	// keys holds the packed keys, each length-prefixed, back to back. Bytes
	// once written are never changed (a compaction copies the live keys into
	// a new array); freed keys are dead bytes until the next compaction.
	keys []byte
	dead int // bytes of freed keys in keys
	// tab is the index: group slot+1 by hash, linear probing; 0: empty.
	// Its length is a power of two, or 0.
	tab   []uint32
	shift uint // 64 - log2(len(tab))
	n     int  // groups in tab
	// names are the live groups' input names by id, counted; nameIdx finds an id.
	names     []nameRef
	nameIdx   map[string]uint32
	freeNames []uint32
	// keyHash hashes a packed key (xxhash; tests substitute a colliding one).
	keyHash func([]byte) uint64
}

// maxKeyBytes bounds the arena so that offsets fit 32 bits (with room for
// the length prefix and a name id longer than the one a check assumed).
const maxKeyBytes = math.MaxUint32 / 2

func (s *groupStore) hashOf(key []byte) uint32 {
	if s.keyHash == nil {
		return uint32(xxhash.Sum64(key))
	}
	return uint32(s.keyHash(key))
}

// home is h's preferred table position (Fibonacci hashing).
func (s *groupStore) home(h uint32) int {
	return int((uint64(h) * 0x9E3779B97F4A7C15) >> s.shift)
}

// key returns group gi's packed key (appendIDKey), a view into the arena:
// do not keep it across a newGroup or a compaction, never write into it.
func (s *groupStore) key(gi int32) []byte {
	b := s.keys[s.groups[gi].at-1:]
	n, w := binary.Uvarint(b) // written by put
	return b[w : w+int(n) : w+int(n)]
}

// live reports whether group slot gi holds a group.
func (s *groupStore) live(gi int32) bool { return s.groups[gi].at != 0 }

// numGroups is the number of live groups.
func (s *groupStore) numGroups() int { return s.n }

// groupName returns the input name and the packed labels of group gi.
func (s *groupStore) groupName(gi int32) (string, []byte) {
	k := s.key(gi)
	id, w := binary.Uvarint(k)
	return s.names[id].name, k[w:]
}

// nameID returns name's id, ok false when no group has that name.
func (s *groupStore) nameID(name string) (uint32, bool) {
	id, ok := s.nameIdx[name]
	return id, ok
}

// addName gives name an id (not referenced until a group with it is put).
func (s *groupStore) addName(name string) uint32 {
	if s.nameIdx == nil {
		s.nameIdx = map[string]uint32{}
	}
	ref := nameRef{name: strings.Clone(name)} // not pinning a scrape buffer
	var id uint32
	if n := len(s.freeNames); n > 0 {
		id, s.freeNames = s.freeNames[n-1], s.freeNames[:n-1]
		s.names[id] = ref
	} else {
		id = uint32(len(s.names))
		s.names = append(s.names, ref)
	}
	s.nameIdx[ref.name] = id
	return id
}

// lookup returns the group whose packed key is key (h = hashOf(key)).
func (s *groupStore) lookup(key []byte, h uint32) (int32, bool) {
	if s.n == 0 {
		return 0, false
	}
	mask := len(s.tab) - 1
	for i := s.home(h); ; i = (i + 1) & mask {
		e := s.tab[i]
		if e == 0 {
			return 0, false
		}
		if gi := int32(e - 1); s.groups[gi].hash == h && bytes.Equal(s.key(gi), key) {
			return gi, true
		}
	}
}

// newGroup stores a new group (key not present, its name id given by
// addName or nameID, h = hashOf(key)) in a free slot or a new one.
func (s *groupStore) newGroup(key []byte, h uint32) int32 {
	var gi int32
	if n := len(s.free); n > 0 {
		gi, s.free = s.free[n-1], s.free[:n-1]
	} else {
		gi = int32(len(s.groups))
		s.groups = append(s.groups, group{})
	}
	s.put(gi, key, h)
	return gi
}

// put stores a new group in the unused slot gi and indexes it.
func (s *groupStore) put(gi int32, key []byte, h uint32) {
	s.groups[gi] = group{at: uint32(len(s.keys)) + 1, hash: h}
	s.keys = append(binary.AppendUvarint(s.keys, uint64(len(key))), key...)
	id, _ := binary.Uvarint(key)
	s.names[id].refs++
	if (s.n+1)*8 > len(s.tab)*7 { // load above 7/8: double
		s.resize(max(16, 2*len(s.tab)))
	}
	s.place(gi)
	s.n++
}

// addFree appends a free group slot (restoring a snapshot).
func (s *groupStore) addFree() {
	s.free = append(s.free, int32(len(s.groups)))
	s.groups = append(s.groups, group{})
}

// place puts gi at the first empty position from its home.
func (s *groupStore) place(gi int32) {
	mask := len(s.tab) - 1
	i := s.home(s.groups[gi].hash)
	for s.tab[i] != 0 {
		i = (i + 1) & mask
	}
	s.tab[i] = uint32(gi) + 1
}

func (s *groupStore) resize(size int) {
	old := s.tab
	s.tab = make([]uint32, size)
	s.shift = uint(64 - bits.TrailingZeros(uint(size)))
	for _, e := range old {
		if e != 0 {
			s.place(int32(e - 1))
		}
	}
}

// release forgets group gi: out of the index (backward-shift deletion, no
// tombstones), its key bytes dead, its slot free, its name's count down.
func (s *groupStore) release(gi int32) {
	mask := len(s.tab) - 1
	i := s.home(s.groups[gi].hash)
	for s.tab[i] != uint32(gi)+1 {
		i = (i + 1) & mask // gi is in the table: this ends
	}
	s.n--
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		e := s.tab[j]
		if e == 0 {
			break
		}
		if k := s.home(s.groups[e-1].hash); movable(i, j, k) {
			s.tab[i] = e
			i = j
		}
	}
	s.tab[i] = 0
	k := s.key(gi)
	s.dead += storedLen(len(k))
	id, _ := binary.Uvarint(k)
	if s.names[id].refs--; s.names[id].refs == 0 {
		delete(s.nameIdx, s.names[id].name)
		s.names[id] = nameRef{}
		s.freeNames = append(s.freeNames, uint32(id))
	}
	s.groups[gi] = group{}
	s.free = append(s.free, gi)
	if s.n == 0 {
		s.tab, s.shift = nil, 0
	} else if len(s.tab) > 16 && s.n*8 < len(s.tab) { // after a churn: give memory back
		s.resize(len(s.tab) / 2)
	}
}

// arenaString returns arena bytes as a string without a copy. That is
// safe because arena bytes are never written again once a key is stored
// (a compaction or growth copies them into a new array and leaves the old
// one as it was, alive while an output label still points into it), and
// it saves a copy of every group's labels at every flush.
func arenaString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// storedLen is the arena bytes of a key of n bytes.
func storedLen(n int) int {
	var b [binary.MaxVarintLen64]byte
	return len(binary.AppendUvarint(b[:0], uint64(n))) + n
}

// movable reports whether the entry at j, whose home is k, may move back
// to the hole at i: unless k lies cyclically in (i, j].
func movable(i, j, k int) bool {
	return (j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)
}

// compact copies the live keys into a new arena when freed keys take at
// least half of it (so the copying is amortized over the frees). The old
// array is left as it was: nothing written is ever changed.
func (s *groupStore) compact() {
	if s.dead < 1024 || s.dead*2 < len(s.keys) {
		return
	}
	live := len(s.keys) - s.dead
	keys := make([]byte, 0, live+live/8)
	for gi := range s.groups {
		g := &s.groups[gi]
		if g.at == 0 {
			continue
		}
		k := s.key(int32(gi))
		g.at = uint32(len(keys)) + 1
		keys = append(binary.AppendUvarint(keys, uint64(len(k))), k...)
	}
	s.keys, s.dead = keys, 0
}
