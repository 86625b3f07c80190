package httpgovern

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/problem"
)

// ReplayedHeader marks a response replayed from the idempotency store.
const ReplayedHeader = "Idempotent-Replayed"

// responseType marks records holding an HTTP response (gRPC records hold a
// protobuf message type name).
const responseType = "govern.http.Response"

// Delay bounds of the Retry-After of a request whose key is in flight.
const (
	minRetryDelay = 10 * time.Millisecond
	maxRetryDelay = time.Second
)

// capture is the copy of a response kept for replay.
type capture struct {
	header   http.Header
	body     []byte
	limit    int
	overflow bool
}

func (m *Middleware) reject(w http.ResponseWriter, rt *route, code codes.Code, reason, msg string, retryAfter time.Duration) {
	problem.Write(w, errinfo.Error(code, reason, rt.policy.Name+": "+msg, retryAfter, map[string]string{"operation": rt.policy.Name}), rt.pattern)
}

// idempotent runs next at most once per key: the first request claims
// the key in the store, duplicates are answered from the claim's state.
func (m *Middleware) idempotent(rt *route, w *recorder, r *http.Request, next http.Handler) {
	ip := rt.idem
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, m.maxBody))
	_ = r.Body.Close()
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			problem.WriteProblem(w, problem.Problem{Type: "about:blank", Title: "Request body too large", Status: http.StatusRequestEntityTooLarge, Route: rt.pattern,
				Detail: "the body exceeds " + strconv.FormatInt(m.maxBody, 10) + " bytes"}, 0)
			return
		}
		problem.WriteProblem(w, problem.Problem{Type: "about:blank", Title: "Request body unreadable", Status: http.StatusBadRequest, Route: rt.pattern, Detail: err.Error()}, 0)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	key, err := requestKey(r, body, ip)
	switch {
	case err != nil:
		m.reject(w, rt, codes.InvalidArgument, errinfo.IdempotencyKeyInvalid, err.Error(), 0)
		return
	case key == "" && ip.required:
		msg := "this operation requires an idempotency key; send the " + idempotency.HeaderName + " header"
		if len(ip.fields) > 0 {
			msg += " or set the request fields " + joinFields(ip.fields)
		}
		m.reject(w, rt, codes.InvalidArgument, errinfo.IdempotencyKeyMissing, msg, 0)
		return
	case key == "":
		next.ServeHTTP(w, r)
		return
	}

	ctx := r.Context()
	fp := fingerprint(r, body)
	skey := idempotency.DeriveKey("", rt.policy.FullMethod, key)
	now := time.Now()
	claim := idempotency.Record{Owner: m.newOwner(), Fingerprint: fp, Deadline: now.Add(ip.budget)}
	existing, claimed, err := m.store.Claim(ctx, skey, claim, ip.lease)
	switch {
	case err != nil && ctx.Err() != nil:
		m.release(ctx, skey, claim.Owner)
		return // the caller is gone; serve's deadline check answers 504 if it was ours
	case err != nil && m.failOpen:
		m.logger.WarnContext(ctx, "idempotency store unavailable; running without deduplication (fail-open)", "operation", rt.policy.Name, "error", err)
		next.ServeHTTP(w, r)
		return
	case err != nil:
		m.logger.ErrorContext(ctx, "idempotency store unavailable; rejecting request (fail-closed)", "operation", rt.policy.Name, "error", err)
		m.reject(w, rt, codes.Unavailable, errinfo.IdempotencyStoreUnavailable, "the idempotency store is unavailable, so the request was not run; retry later", maxRetryDelay)
		return
	case !claimed:
		m.duplicate(rt, w, &existing, fp, now)
		return
	}
	m.run(rt, w, r, next, skey, &claim)
}

func (m *Middleware) run(rt *route, w *recorder, r *http.Request, next http.Handler, skey idempotency.Key, claim *idempotency.Record) {
	ctx := r.Context()
	if dl, ok := ctx.Deadline(); !ok || dl.After(claim.Deadline) {
		hctx, cancel := context.WithDeadline(ctx, claim.Deadline)
		defer cancel()
		r = r.WithContext(hctx)
	}
	settled := false
	defer func() {
		// A panic gives the key back, as a crash would after the lease.
		if !settled {
			m.release(ctx, skey, claim.Owner)
		}
	}()
	w.capture = &capture{limit: int(m.maxBody)}
	next.ServeHTTP(w, r)
	settled = true
	c := w.capture
	w.capture = nil
	status := w.status
	if !w.wrote {
		status = http.StatusOK
		c.header = w.Header().Clone()
	}
	if c.overflow || transient(status) || (!w.wrote && r.Context().Err() != nil) {
		m.release(ctx, skey, claim.Owner)
		return
	}
	result := idempotency.Record{Fingerprint: claim.Fingerprint, Code: codes.OK, ResponseType: responseType, Payload: encodeResponse(status, c.header, c.body)}
	// Store the result even if the caller has gone: a retry must see it.
	if err := m.store.Finish(context.WithoutCancel(ctx), skey, claim.Owner, result, rt.idem.ttl); err != nil {
		if errors.Is(err, idempotency.ErrNotOwner) {
			m.logger.WarnContext(ctx, "idempotency: claim expired before the handler finished; result not stored, raise the lease", "operation", rt.policy.Name)
		} else {
			m.logger.ErrorContext(ctx, "idempotency: cannot store result; retries after the lease will run again", "operation", rt.policy.Name, "error", err)
		}
	}
}

// transient statuses release the key so a retry runs again, as the gRPC
// path releases UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED and
// ABORTED.
func transient(status int) bool {
	switch status {
	case http.StatusConflict, http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func (m *Middleware) duplicate(rt *route, w http.ResponseWriter, rec *idempotency.Record, fp idempotency.Fingerprint, now time.Time) {
	if rec.Fingerprint != fp || (rec.State == idempotency.StateFinished && rec.ResponseType != responseType) {
		m.reject(w, rt, codes.FailedPrecondition, errinfo.IdempotencyKeyReused, "the idempotency key was already used with a different request; send a new key for a new request", 0)
		return
	}
	if rec.State == idempotency.StateInFlight {
		delay := rec.Deadline.Sub(now)
		if delay <= 0 {
			delay += rt.idem.lease - rt.idem.budget
		}
		delay = min(max(delay, minRetryDelay), maxRetryDelay)
		m.reject(w, rt, codes.Aborted, errinfo.IdempotencyInFlight, "a request with the same idempotency key is still running; retry after the delay to get its result", delay)
		return
	}
	status, header, body, err := decodeResponse(rec.Payload)
	if err != nil {
		m.logger.Error("idempotency: cannot replay stored response", "operation", rt.policy.Name, "error", err)
		problem.Write(w, err, rt.pattern)
		return
	}
	h := w.Header()
	for k, v := range header {
		h[k] = v
	}
	h.Set(ReplayedHeader, "true")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (m *Middleware) release(ctx context.Context, skey idempotency.Key, owner idempotency.Owner) {
	if err := m.store.Release(context.WithoutCancel(ctx), skey, owner); err != nil && !errors.Is(err, idempotency.ErrNotOwner) {
		m.logger.ErrorContext(ctx, "idempotency: cannot release claim; retries wait for the lease to end", "error", err)
	}
}

func (m *Middleware) newOwner() idempotency.Owner {
	var o idempotency.Owner
	copy(o[:8], m.ownerPrefix[:])
	binary.BigEndian.PutUint64(o[8:], m.ownerSeq.Add(1))
	return o
}

// requestKey returns the request's key: the header when sent, else the
// key derived from the key fields, else "".
func requestKey(r *http.Request, body []byte, ip *idemPolicy) (string, error) {
	switch vals := r.Header.Values(idempotency.HeaderName); len(vals) {
	case 0:
	case 1:
		return idempotency.ParseKey(vals[0])
	default:
		return "", errors.New(strconv.Itoa(len(vals)) + " " + idempotency.HeaderName + " headers sent; send one")
	}
	if ip.key != nil {
		if key, ok := ip.key(&KeyInput{Request: r, Body: body}); ok {
			return key, nil
		}
	}
	return "", nil
}

// fingerprint identifies a request: method, path and query, and the body
// (compacted when it is JSON, so whitespace does not make two requests
// differ).
func fingerprint(r *http.Request, body []byte) idempotency.Fingerprint {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, part := range [][]byte{[]byte(r.Method), []byte(r.URL.RequestURI())} {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(part)))])
		h.Write(part)
	}
	var compact bytes.Buffer
	if json.Compact(&compact, body) == nil {
		body = compact.Bytes()
	}
	h.Write(body)
	var fp idempotency.Fingerprint
	h.Sum(fp[:0])
	return fp
}

// notReplayed are response headers that describe one transmission, not
// the response: they are not stored.
var notReplayed = map[string]bool{"Date": true, "Connection": true, "Keep-Alive": true, "Transfer-Encoding": true, "Trailer": true, "Content-Length": true, ReplayedHeader: true}

func encodeResponse(status int, header http.Header, body []byte) []byte {
	b := binary.AppendUvarint(nil, uint64(status))
	n := 0
	for k := range header {
		if !notReplayed[k] {
			n++
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	for k, vs := range header {
		if notReplayed[k] {
			continue
		}
		b = appendString(b, k)
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = appendString(b, v)
		}
	}
	return append(b, body...)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

var errCorrupt = errors.New("the stored response is corrupt; delete the key or wait for its TTL")

func decodeResponse(p []byte) (int, http.Header, []byte, error) {
	next := func() (uint64, bool) {
		v, w := binary.Uvarint(p)
		if w <= 0 {
			return 0, false
		}
		p = p[w:]
		return v, true
	}
	str := func() (string, bool) {
		n, ok := next()
		if !ok || n > uint64(len(p)) {
			return "", false
		}
		s := string(p[:n])
		p = p[n:]
		return s, true
	}
	status, ok := next()
	if !ok || status < 100 || status > 999 {
		return 0, nil, nil, errCorrupt
	}
	n, ok := next()
	if !ok || n > uint64(len(p)) {
		return 0, nil, nil, errCorrupt
	}
	h := make(http.Header, n)
	for range n {
		k, ok := str()
		if !ok {
			return 0, nil, nil, errCorrupt
		}
		nv, ok := next()
		if !ok || nv > uint64(len(p)) {
			return 0, nil, nil, errCorrupt
		}
		for range nv {
			v, ok := str()
			if !ok {
				return 0, nil, nil, errCorrupt
			}
			h[k] = append(h[k], v)
		}
	}
	return int(status), h, p, nil
}

func joinFields(fields []string) string {
	b, _ := json.Marshal(fields)
	return string(b)
}
