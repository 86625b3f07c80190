package redisstore

import (
	"encoding/binary"
	"errors"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/govkit/govern/runtime/idempotency"
)

// Record encoding. Fixed offsets let the Lua scripts compare
// the owner without parsing:
//
//	0      version (1)
//	1      state ('I' or 'F')
//	2..17  owner
//	18..49 fingerprint
//	in flight: 50..57 deadline, Unix milliseconds, big endian
//	finished:  50..53 code (big endian), uvarint type-name length,
//	           type name, payload (the rest)
const (
	recordVersion   = 1
	ownerOffset     = 2
	fpOffset        = ownerOffset + len(idempotency.Owner{})
	bodyOffset      = fpOffset + len(idempotency.Fingerprint{})
	inFlightLen     = bodyOffset + 8
	claimPrefixSize = fpOffset
)

// errCorruptRecord is wrapped when a stored value cannot be decoded.
var errCorruptRecord = errors.New("idempotency store holds a value that is not a govern record; check the key prefix is not shared with other data")

func appendRecord(b []byte, r *idempotency.Record) []byte {
	b = append(b, recordVersion, byte(r.State))
	b = append(b, r.Owner[:]...)
	b = append(b, r.Fingerprint[:]...)
	if r.State == idempotency.StateInFlight {
		return binary.BigEndian.AppendUint64(b, uint64(r.Deadline.UnixMilli()))
	}
	b = binary.BigEndian.AppendUint32(b, uint32(r.Code))
	b = binary.AppendUvarint(b, uint64(len(r.ResponseType)))
	b = append(b, r.ResponseType...)
	return append(b, r.Payload...)
}

// claimPrefix is the part of an in-flight record the owner check compares.
func claimPrefix(owner idempotency.Owner) []byte {
	b := make([]byte, 0, claimPrefixSize)
	b = append(b, recordVersion, byte(idempotency.StateInFlight))
	return append(b, owner[:]...)
}

func decodeRecord(v []byte) (idempotency.Record, error) {
	var r idempotency.Record
	if len(v) < bodyOffset || v[0] != recordVersion {
		return r, errCorruptRecord
	}
	r.State = idempotency.State(v[1])
	copy(r.Owner[:], v[ownerOffset:fpOffset])
	copy(r.Fingerprint[:], v[fpOffset:bodyOffset])
	body := v[bodyOffset:]
	switch r.State {
	case idempotency.StateInFlight:
		if len(body) != 8 {
			return r, errCorruptRecord
		}
		r.Deadline = time.UnixMilli(int64(binary.BigEndian.Uint64(body)))
	case idempotency.StateFinished:
		if len(body) < 4 {
			return r, errCorruptRecord
		}
		r.Code = codes.Code(binary.BigEndian.Uint32(body))
		n, w := binary.Uvarint(body[4:])
		if w <= 0 || n > uint64(len(body)-4-w) {
			return r, errCorruptRecord
		}
		rest := body[4+w:]
		r.ResponseType = string(rest[:n])
		r.Payload = rest[n:]
	default:
		return r, errCorruptRecord
	}
	return r, nil
}
