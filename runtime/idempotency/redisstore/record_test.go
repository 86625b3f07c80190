package redisstore

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
	"github.com/govkit/govern/runtime/idempotency"
)

func testOwner(b byte) idempotency.Owner             { return idempotency.Owner{b, b, b} }
func testFingerprint(b byte) idempotency.Fingerprint { return idempotency.Fingerprint{b, 1, 2, 3} }

func TestRecordEncodingRoundTrips(t *testing.T) {
	for _, r := range []idempotency.Record{
		{State: idempotency.StateInFlight, Owner: testOwner(7), Fingerprint: testFingerprint(7), Deadline: time.UnixMilli(1_700_000_000_999)},
		{State: idempotency.StateFinished, Owner: testOwner(8), Fingerprint: testFingerprint(8), Code: codes.OK, ResponseType: "a.B", Payload: []byte{0, 1, 2}},
		{State: idempotency.StateFinished, Owner: testOwner(9), Fingerprint: testFingerprint(9), Code: codes.NotFound, Payload: []byte("status")},
		{State: idempotency.StateFinished, Owner: testOwner(9), Fingerprint: testFingerprint(9), Code: codes.OK, ResponseType: "a.Empty"},
	} {
		got, err := decodeRecord(appendRecord(nil, &r))
		if err != nil {
			t.Fatalf("decode %+v: %v", r, err)
		}
		if got.State != r.State || got.Owner != r.Owner || got.Fingerprint != r.Fingerprint || !got.Deadline.Equal(r.Deadline) ||
			got.Code != r.Code || got.ResponseType != r.ResponseType || string(got.Payload) != string(r.Payload) {
			t.Errorf("round trip: got %+v, want %+v", got, r)
		}
	}
	for _, bad := range []string{"", "x", string([]byte{2, 'I'}) + string(make([]byte, 56)), string([]byte{1, 'Z'}) + string(make([]byte, 56)),
		string([]byte{1, 'I'}) + string(make([]byte, 49)), string([]byte{1, 'F'}) + string(make([]byte, 48)) + "\x00\x00\x00\x00\x09ab"} {
		if _, err := decodeRecord([]byte(bad)); !errors.Is(err, errCorruptRecord) {
			t.Errorf("decodeRecord(%q) = %v, want errCorruptRecord", bad, err)
		}
	}
}

// FuzzDecodeRecord: whatever Redis holds under our prefix, decoding must
// not panic.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, &idempotency.Record{State: idempotency.StateInFlight}))
	f.Add(appendRecord(nil, &idempotency.Record{State: idempotency.StateFinished, ResponseType: "x.Y", Payload: []byte("p")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err == nil {
			if again, err := decodeRecord(appendRecord(nil, &r)); err != nil || again.ResponseType != r.ResponseType || string(again.Payload) != string(r.Payload) {
				t.Fatalf("re-encoding %q failed: %v", b, err)
			}
		}
	})
}
