package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
)

// Key identifies one deduplicated operation in a Store: the SHA-256 of the
// scope, the full method name and the caller's key (see DeriveKey). Stores
// never see the raw key, so a key that carries personal data (an e-mail, an
// order number) is not written to Redis.
type Key [sha256.Size]byte

// DeriveKey returns the store key of key sent to fullMethod in scope. Each
// part is length-prefixed so that no two distinct triples hash alike.
func DeriveKey(scope, fullMethod, key string) Key {
	var buf [256]byte // most keys fit: no allocation
	b := buf[:0]
	for _, part := range [...]string{scope, fullMethod, key} {
		b = binary.AppendUvarint(b, uint64(len(part)))
		b = append(b, part...)
	}
	return sha256.Sum256(b)
}

// String returns the key in hex, the form the Redis store uses.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// Owner identifies one claim: the server that runs the handler. Finish and
// Release succeed only for the claim's owner, so a slow owner whose lease
// expired cannot overwrite the result of the call that took over.
type Owner [16]byte

// Fingerprint is the SHA-256 of the deterministic protobuf encoding of a
// request. A key sent again with a different fingerprint is a reused key.
type Fingerprint [sha256.Size]byte

// State says whether a Record is a claim or a result.
type State uint8

const (
	// StateInFlight records a claim: a handler is running for the key.
	StateInFlight State = 'I'
	// StateFinished records a result that is replayed until its TTL ends.
	StateFinished State = 'F'
)

// Record is what a Store keeps under a Key.
type Record struct {
	State State
	// Owner is the claim's owner (for a finished record, the owner that
	// finished it).
	Owner Owner
	// Fingerprint is the request's fingerprint.
	Fingerprint Fingerprint
	// Deadline (in flight) is when the owner's handler is cancelled; it
	// sets the retry delay returned to duplicates.
	Deadline time.Time

	// Code (finished) is the status code of the handler's result.
	Code codes.Code
	// ResponseType (finished, Code OK) is the full protobuf name of the
	// response message, so a replay decodes Payload into the right type.
	ResponseType string
	// Payload (finished) is the deterministic encoding of the response
	// when Code is OK, else the encoding of its google.rpc.Status (code,
	// message and details). Stores treat it as immutable.
	Payload []byte
}

// Store keeps claims and results of idempotent calls. Implementations must
// be safe for concurrent use. MemoryStore suits one replica, RedisStore a
// fleet.
//
// Every error other than ErrNotOwner means the store could not answer; the
// server then fails closed (UNAVAILABLE, handler not run) unless
// WithFailOpen is set.
type Store interface {
	// Claim atomically stores claim (StateInFlight) under key for lease,
	// unless key already holds a live record. It returns claimed == true
	// when the claim was stored, else the record that holds the key (a
	// claim in flight or a finished result), in one round trip.
	//
	// A key that already holds claim.Owner's own claim counts as claimed:
	// a client library resends a command whose reply it lost (go-redis
	// retries timeouts and dropped connections), and the resent claim must
	// not mistake the first one for another call's, which would leave the
	// key held by nobody until the lease ends.
	Claim(ctx context.Context, key Key, claim Record, lease time.Duration) (existing Record, claimed bool, err error)
	// Finish replaces owner's claim on key with result (StateFinished),
	// kept for ttl. A key the claim has left free (its lease ended and
	// nobody claimed it since) takes the result too: the handler ran, and
	// a retry must replay it rather than run it again. It returns
	// ErrNotOwner when another call holds the key (claimed it after the
	// lease, or finished it). Finishing again with the same owner and
	// result returns nil, for the same reason a repeated claim succeeds.
	Finish(ctx context.Context, key Key, owner Owner, result Record, ttl time.Duration) error
	// Release deletes owner's claim on key so that the next call runs. It
	// returns ErrNotOwner when key does not hold owner's claim.
	Release(ctx context.Context, key Key, owner Owner) error
}

// ErrNotOwner reports that a claim was lost: its lease ended before Finish
// or Release (from Finish: and another call holds the key, since a late
// result on a free key is stored). Raise the method's lease or lower its
// timeout; a result refused this way counts as result_lost.
var ErrNotOwner = errors.New("idempotency claim is no longer held by this owner: its lease ended")

// ErrStoreFull is returned by MemoryStore.Claim when every entry holds a
// live claim and none can be evicted. Raise WithMaxEntries.
var ErrStoreFull = errors.New("idempotency memory store is full of in-flight claims; raise WithMaxEntries")
