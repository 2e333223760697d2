package diskqueue

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// On-disk record framing. Every record is
//
//	u32 payload length | u32 CRC-32C of payload | payload
//
// (little-endian) and the payload starts with a type byte:
//
//	recRequest: seq u64 | shard u32 | samples u32 | enqueued unix ns i64 | body
//	recDone:    seq u64 | reason u8
//
// A record is written with one write(2) call, so after a process crash
// (SIGKILL) a segment ends with whole records or one torn tail; a torn or
// flipped record fails its length or CRC check and is skipped.
const (
	headerLen     = 8
	recRequest    = 1
	recDone       = 2
	requestFixed  = 1 + 8 + 4 + 4 + 8
	doneLen       = 1 + 8 + 1
	maxPayloadLen = 256 << 20 // a sanity bound for lengths read back
)

// Done reasons, kept in the record for debugging.
const (
	reasonDelivered = 1
	reasonEvicted   = 2
	reasonDiscarded = 3
	reasonCorrupt   = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var errCorrupt = errors.New("diskqueue: corrupt record")

// appendRequest appends the framed request record to b.
func appendRequest(b []byte, seq uint64, shard uint32, samples int, atNs int64, body []byte) []byte {
	n := requestFixed + len(body)
	start := len(b)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	b = binary.LittleEndian.AppendUint32(b, 0) // CRC, filled below
	b = append(b, recRequest)
	b = binary.LittleEndian.AppendUint64(b, seq)
	b = binary.LittleEndian.AppendUint32(b, shard)
	b = binary.LittleEndian.AppendUint32(b, uint32(samples))
	b = binary.LittleEndian.AppendUint64(b, uint64(atNs))
	b = append(b, body...)
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(b[start+headerLen:], castagnoli))
	return b
}

// appendDone appends the framed done record for seq to b.
func appendDone(b []byte, seq uint64, reason byte) []byte {
	start := len(b)
	b = binary.LittleEndian.AppendUint32(b, doneLen)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = append(b, recDone)
	b = binary.LittleEndian.AppendUint64(b, seq)
	b = append(b, reason)
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(b[start+headerLen:], castagnoli))
	return b
}

// record is one decoded record; body aliases the input.
type record struct {
	typ     byte
	seq     uint64
	shard   uint32
	samples int
	atNs    int64
	body    []byte
}

// parseRecord decodes the record at the start of b and returns it with its
// framed size. errCorrupt means b does not start with a valid record (bad
// length, CRC mismatch, unknown type, or cut short).
func parseRecord(b []byte) (record, int, error) {
	if len(b) < headerLen {
		return record{}, 0, errCorrupt
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n < doneLen || n > maxPayloadLen || n > len(b)-headerLen {
		return record{}, 0, errCorrupt
	}
	p := b[headerLen : headerLen+n]
	if p[0] != recRequest && p[0] != recDone {
		return record{}, 0, errCorrupt
	}
	if (p[0] == recDone && n != doneLen) || (p[0] == recRequest && n < requestFixed) {
		return record{}, 0, errCorrupt
	}
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return record{}, 0, errCorrupt
	}
	r := record{typ: p[0], seq: binary.LittleEndian.Uint64(p[1:])}
	if r.typ == recRequest {
		r.shard = binary.LittleEndian.Uint32(p[9:])
		r.samples = int(binary.LittleEndian.Uint32(p[13:]))
		r.atNs = int64(binary.LittleEndian.Uint64(p[17:]))
		r.body = p[requestFixed:]
	}
	return r, headerLen + n, nil
}

// maxSalvagedSamples bounds a sample count read from a damaged record.
const maxSalvagedSamples = 1 << 24

// salvageSamples reads, from a record that failed its checks, the sequence
// number and sample count its header claims, when the header looks like a
// request's: the CRC covers the whole payload, so a torn or flipped body
// usually leaves them right. ok is false when they cannot be trusted at all.
func salvageSamples(b []byte) (seq uint64, samples int, ok bool) {
	if len(b) < headerLen+1+8+4+4 { // through the samples field
		return 0, 0, false
	}
	n := int(binary.LittleEndian.Uint32(b))
	p := b[headerLen:]
	if p[0] != recRequest || n < requestFixed || n > maxPayloadLen {
		return 0, 0, false
	}
	seq = binary.LittleEndian.Uint64(p[1:])
	samples = int(binary.LittleEndian.Uint32(p[13:]))
	if seq == 0 || samples > maxSalvagedSamples {
		return 0, 0, false
	}
	return seq, samples, true
}

// resync returns the offset of the next valid record in b after a corrupt
// one at offset 0, or len(b) when there is none.
func resync(b []byte) int {
	for i := 1; i+headerLen <= len(b); i++ {
		if _, _, err := parseRecord(b[i:]); err == nil {
			return i
		}
	}
	return len(b)
}
