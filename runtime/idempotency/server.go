package idempotency

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/metrics"
	"github.com/govkit/govern/runtime/policy"
)

// Defaults applied when a policy leaves TTL or lease unset (generated tables
// always resolve both; hand-built ones may not).
const (
	DefaultTTL      = 24 * time.Hour
	MinDefaultLease = 10 * time.Second
)

// Result label values of govern_idempotency_total.
const (
	ResultExecuted   = "executed"    // the handler ran for a keyed call
	ResultReplayed   = "replayed"    // a stored result was returned
	ResultInFlight   = "in_flight"   // rejected: the same key is running
	ResultKeyReused  = "key_reused"  // rejected: the key came with another request
	ResultMissing    = "missing"     // rejected: a required key was absent
	ResultInvalid    = "invalid"     // rejected: the key sent is malformed
	ResultStoreError = "store_error" // the store failed (rejected, or run when failing open)
	// ResultLost counts results the store did not accept before the
	// claim's lease ended: the handler ran, but a retry after the lease
	// runs it again. Alert on any increase: exactly once did not hold.
	ResultLost = "result_lost"
)

var results = [...]string{ResultExecuted, ResultReplayed, ResultInFlight, ResultKeyReused, ResultMissing, ResultInvalid, ResultStoreError, ResultLost}

const (
	iExecuted = iota
	iReplayed
	iInFlight
	iKeyReused
	iMissing
	iInvalid
	iStoreError
	iLost
)

// minRetryDelay keeps duplicates of a call whose owner is gone from
// retrying in a tight loop.
const minRetryDelay = 10 * time.Millisecond

// retryPushbackKey is the trailer gRPC's native retry reads as the server's
// requested delay (gRFC A6).
const retryPushbackKey = "grpc-retry-pushback-ms"

// Server deduplicates keyed calls to the methods of a policy table that have
// an Idempotency policy. Build it once with NewServer and install
// UnaryServerInterceptor after the timeout interceptor, so the deadline it
// sees is already the policy's.
type Server struct {
	store         Store
	registerer    prometheus.Registerer
	log           *slog.Logger
	failOpen      bool
	scope         func(context.Context) string
	now           func() time.Time
	resolver      protoregistry.MessageTypeResolver
	transient     [codes.Unauthenticated + 1]bool
	maxRetryDelay time.Duration

	methods map[string]*methodState

	ownerPrefix [8]byte
	ownerSeq    atomic.Uint64
	buffers     sync.Pool // *[]byte for request encodings

	lastStoreLog   atomic.Int64 // Unix nanoseconds of the last store-failure log
	suppressedLogs atomic.Int64
}

type methodState struct {
	name     string
	required bool
	fields   []string
	keyFunc  policy.KeyFunc
	ttl      time.Duration
	lease    time.Duration
	// budget is how long the handler may run: the lease less a margin for
	// the Finish round trip, so a slow handler cannot outlive its claim.
	budget   time.Duration
	counters [len(results)]prometheus.Counter
	respType atomic.Pointer[protoreflect.MessageType]
}

// NewServer returns a Server enforcing the Idempotency policies of table
// with store. Methods without an Idempotency policy, disabled methods and
// streaming methods pass through untouched (protoc-gen-govern rejects
// idempotency on client- and bidi-streaming methods; server-streaming ones
// are not deduplicated).
func NewServer(table policy.Table, store Store, opts ...Option) *Server {
	s := &Server{
		store:         store,
		log:           slog.New(slog.DiscardHandler),
		now:           time.Now,
		resolver:      protoregistry.GlobalTypes,
		maxRetryDelay: 500 * time.Millisecond,
		methods:       make(map[string]*methodState),
	}
	WithTransientCodes(codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted, codes.Canceled)(s)
	for _, o := range opts {
		o(s)
	}
	if _, err := rand.Read(s.ownerPrefix[:]); err != nil {
		panic(fmt.Sprintf("idempotency: crypto/rand failed: %v", err)) // crypto/rand never fails on supported platforms
	}
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "govern_idempotency_total",
		Help: "Keyed calls to idempotent methods, by outcome: executed, replayed, in_flight, key_reused, missing, invalid, store_error.",
	}, []string{"grpc_method", "result"})
	if s.registerer != nil {
		// Several servers may share a registry: count into the one
		// already registered.
		var err error
		if vec, err = metrics.RegisterOrReuse(s.registerer, vec); err != nil {
			s.log.Error("idempotency: govern_idempotency_total is not exported", "error", err)
		}
	}
	for name, m := range table {
		if m == nil || m.Idempotency == nil || m.Disabled || m.Streaming() {
			continue
		}
		ms := &methodState{
			name:     name,
			required: m.Idempotency.Required,
			fields:   m.Idempotency.KeyFields,
			keyFunc:  m.Idempotency.Key,
			ttl:      m.Idempotency.TTL,
			lease:    m.Idempotency.Lease,
		}
		if ms.ttl <= 0 {
			ms.ttl = DefaultTTL
		}
		if ms.lease <= 0 {
			ms.lease = max(2*m.Timeout, MinDefaultLease)
		}
		ms.budget = ms.lease - min(ms.lease/10, 2*time.Second)
		for i, r := range results {
			ms.counters[i] = vec.WithLabelValues(name, r)
		}
		s.methods[name] = ms
	}
	return s
}

// UnaryServerInterceptor returns the interceptor that deduplicates calls.
func (s *Server) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return s.intercept
}

func (s *Server) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ms := s.methods[info.FullMethod]
	if ms == nil {
		return handler(ctx, req)
	}
	key, err := ms.requestKey(ctx, req)
	if err != nil {
		ms.counters[iInvalid].Inc()
		return nil, errinfo.Error(codes.InvalidArgument, errinfo.IdempotencyKeyInvalid,
			fmt.Sprintf("%s: %v", ms.name, err), 0, map[string]string{"grpc_method": ms.name})
	}
	if key == "" {
		if !ms.required {
			return handler(ctx, req)
		}
		ms.counters[iMissing].Inc()
		return nil, errinfo.Error(codes.InvalidArgument, errinfo.IdempotencyKeyMissing, ms.missingMessage(), 0,
			map[string]string{"grpc_method": ms.name})
	}
	msg, ok := req.(proto.Message)
	if !ok {
		return nil, grpcstatus.Errorf(codes.Internal, "idempotency: request of %s is a %T, not a protobuf message", ms.name, req)
	}
	fp, err := s.fingerprint(msg)
	if err != nil {
		return nil, grpcstatus.Errorf(codes.Internal, "idempotency: fingerprint request of %s: %v", ms.name, err)
	}
	scope := ""
	if s.scope != nil {
		scope = s.scope(ctx)
	}
	skey := DeriveKey(scope, ms.name, key)
	now := s.now()
	claim := Record{Owner: s.newOwner(), Fingerprint: fp, Deadline: now.Add(ms.budget)}
	existing, claimed, err := s.store.Claim(ctx, skey, claim, ms.lease)
	switch {
	case err != nil && ctx.Err() != nil:
		// The caller gave up (cancelled, or its deadline passed) while the
		// store was asked: not a store failure. The claim may have landed
		// before the answer was lost; give it back so retries need not
		// wait for the lease.
		s.releaseUnknownClaim(ctx, skey, claim.Owner, now.Add(ms.lease))
		return nil, grpcstatus.FromContextError(ctx.Err()).Err()
	case err != nil:
		// The claim's outcome is unknown: a timeout may have hit after
		// the store wrote it. Release it by owner so the retry runs
		// instead of waiting out the lease for a handler that never ran.
		s.releaseUnknownClaim(ctx, skey, claim.Owner, now.Add(ms.lease))
		ms.counters[iStoreError].Inc()
		if s.failOpen {
			s.logStoreFailure(ctx, slog.LevelWarn, "idempotency store unavailable; running without deduplication (fail-open)", ms, err)
			return handler(ctx, req)
		}
		s.logStoreFailure(ctx, slog.LevelError, "idempotency store unavailable; rejecting call (fail-closed)", ms, err)
		return nil, errinfo.Error(codes.Unavailable, errinfo.IdempotencyStoreUnavailable,
			ms.name+": the idempotency store is unavailable, so the call was not run; retry later", s.maxRetryDelay,
			map[string]string{"grpc_method": ms.name})
	case !claimed:
		return s.answerDuplicate(ctx, ms, &existing, fp, now)
	}
	return s.run(ctx, ms, skey, &claim, req, handler)
}

// run executes the handler under a claim and records its result.
func (s *Server) run(ctx context.Context, ms *methodState, skey Key, claim *Record, req any, handler grpc.UnaryHandler) (resp any, err error) {
	hctx := ctx
	if dl, ok := ctx.Deadline(); !ok || dl.After(claim.Deadline) {
		var cancel context.CancelFunc
		hctx, cancel = context.WithDeadline(ctx, claim.Deadline)
		defer cancel()
	}
	settled := false
	defer func() {
		// The handler panicked: give the key back, as a crash would after
		// the lease, and let the panic reach the recovery interceptor.
		if !settled {
			s.release(ctx, ms, skey, claim.Owner)
		}
	}()
	resp, err = handler(hctx, req)
	ms.counters[iExecuted].Inc()

	st, ok := grpcstatus.FromError(err)
	if !ok {
		st = grpcstatus.FromContextError(err)
	}
	code := st.Code()
	if int(code) < len(s.transient) && s.transient[code] {
		settled = true
		s.release(ctx, ms, skey, claim.Owner)
		return resp, err
	}
	result := Record{Fingerprint: claim.Fingerprint, Code: code}
	if code == codes.OK {
		msg, isProto := resp.(proto.Message)
		if !isProto || msg == nil {
			settled = true
			s.release(ctx, ms, skey, claim.Owner)
			return resp, err
		}
		result.ResponseType = string(msg.ProtoReflect().Descriptor().FullName())
		result.Payload, err = proto.MarshalOptions{Deterministic: true}.Marshal(msg)
		if err != nil {
			s.log.ErrorContext(ctx, "idempotency: cannot encode response; result not stored", "grpc_method", ms.name, "error", err)
			settled = true
			s.release(ctx, ms, skey, claim.Owner)
			return resp, nil
		}
	} else {
		result.Payload, _ = proto.Marshal(st.Proto()) // a status built by grpc always encodes
	}
	settled = true
	// Store the result even if the caller has gone: a retry must see it.
	base := context.WithoutCancel(ctx)
	if ferr := s.store.Finish(base, skey, claim.Owner, result, ms.ttl); ferr != nil {
		if errors.Is(ferr, ErrNotOwner) {
			// The lease ended before the result was stored and another
			// call has taken the key: it runs (or ran) the handler too.
			ms.counters[iLost].Inc()
			s.log.ErrorContext(ctx, "idempotency: result not stored before the lease ended and another call took the key; it runs the handler again: raise the lease, or lower the timeout", "grpc_method", ms.name)
		} else {
			// The store failed (a Redis failover, a network blip) while
			// the claim still holds the key: duplicates wait behind it,
			// so keep trying to store the result until the lease ends
			// rather than let a retry after the lease run the handler
			// again. The caller gets its response now.
			s.logStoreFailure(ctx, slog.LevelError, "idempotency: cannot store result yet; retrying until the lease ends", ms, ferr)
			var last error
			s.retryUntil(claim.Deadline.Add(ms.lease-ms.budget), unknownReleaseFirst, func() bool {
				fctx, cancel := context.WithTimeout(base, unknownReleaseMax)
				defer cancel()
				last = s.store.Finish(fctx, skey, claim.Owner, result, ms.ttl)
				return last == nil || errors.Is(last, ErrNotOwner)
			}, func() {
				// Not rate-limited like other store failures: each one
				// is a call a retry may run again.
				ms.counters[iLost].Inc()
				if last == nil {
					last = ferr
				}
				s.log.ErrorContext(ctx, "idempotency: result not stored before the lease ended; a retry of this key will run the handler again", "grpc_method", ms.name, "error", last)
			})
		}
	}
	return resp, err
}

func (s *Server) release(ctx context.Context, ms *methodState, skey Key, owner Owner) {
	if err := s.store.Release(context.WithoutCancel(ctx), skey, owner); err != nil && !errors.Is(err, ErrNotOwner) {
		s.logStoreFailure(ctx, slog.LevelError, "idempotency: cannot release claim; retries wait for the lease to end", ms, err)
	}
}

// Releasing a claim whose outcome is unknown: one attempt while the call
// fails, then retries spaced by a doubling delay until the store answers or
// the lease would have ended the claim anyway.
const (
	unknownReleaseTimeout = 250 * time.Millisecond
	unknownReleaseFirst   = 100 * time.Millisecond
	unknownReleaseMax     = 2 * time.Second
)

// releaseUnknownClaim gives back owner's claim on skey after a Claim that
// returned an error: the store may or may not hold it. Release is
// owner-checked, so it can only delete this call's own claim, never one
// another call took since. The first attempt runs now, on whatever
// connection the store picks (a stalled connection is usually dropped after
// its timeout, so a fresh one answers); if the store is still unreachable,
// the release is retried from a timer (no goroutine waits) until it
// succeeds or leaseEnd passes, so a store that recovers within the lease
// frees the key at once.
func (s *Server) releaseUnknownClaim(ctx context.Context, skey Key, owner Owner, leaseEnd time.Time) {
	base := context.WithoutCancel(ctx)
	attempt := func() bool {
		rctx, cancel := context.WithTimeout(base, unknownReleaseTimeout)
		defer cancel()
		err := s.store.Release(rctx, skey, owner)
		return err == nil || errors.Is(err, ErrNotOwner)
	}
	if !attempt() {
		// Giving up is harmless: the lease ends the claim anyway.
		s.retryUntil(leaseEnd, unknownReleaseFirst, attempt, func() {})
	}
}

// retryUntil calls attempt from a timer (no goroutine waits in between),
// first after delay and then with the delay doubling up to
// unknownReleaseMax, until it returns true or the next try would come after
// end; then it calls giveUp.
func (s *Server) retryUntil(end time.Time, delay time.Duration, attempt func() bool, giveUp func()) {
	if s.now().Add(delay).After(end) {
		giveUp()
		return
	}
	time.AfterFunc(delay, func() {
		if !attempt() {
			s.retryUntil(end, min(2*delay, unknownReleaseMax), attempt, giveUp)
		}
	})
}

// answerDuplicate answers a call whose key is already held.
func (s *Server) answerDuplicate(ctx context.Context, ms *methodState, rec *Record, fp Fingerprint, now time.Time) (any, error) {
	if rec.Fingerprint != fp {
		ms.counters[iKeyReused].Inc()
		return nil, errinfo.Error(codes.FailedPrecondition, errinfo.IdempotencyKeyReused,
			ms.name+": the idempotency key was already used with a different request; send a new key for a new request", 0,
			map[string]string{"grpc_method": ms.name})
	}
	if rec.State == StateInFlight {
		ms.counters[iInFlight].Inc()
		// Come back when the running call must have finished; past its
		// deadline, when its lease ends (its owner is gone).
		delay := rec.Deadline.Sub(now)
		if delay <= 0 {
			delay += ms.lease - ms.budget
		}
		delay = min(max(delay, minRetryDelay), s.maxRetryDelay)
		// gRPC's native retry honours the pushback when ABORTED is retryable.
		_ = grpc.SetTrailer(ctx, metadata.Pairs(retryPushbackKey, strconv.FormatInt(delay.Milliseconds(), 10)))
		return nil, errinfo.Error(codes.Aborted, errinfo.IdempotencyInFlight,
			ms.name+": a call with the same idempotency key is still running; retry after the delay to get its result", delay,
			map[string]string{"grpc_method": ms.name})
	}
	resp, err := s.replay(ms, rec)
	if err != nil {
		s.log.ErrorContext(ctx, "idempotency: cannot replay stored result", "grpc_method", ms.name, "error", err)
		return nil, grpcstatus.Errorf(codes.Internal, "idempotency: cannot replay the stored result of %s: %v", ms.name, err)
	}
	if resp == nil {
		var sp spb.Status
		if err := proto.Unmarshal(rec.Payload, &sp); err != nil || sp.GetCode() == int32(codes.OK) {
			return nil, grpcstatus.Errorf(codes.Internal, "idempotency: the stored status of %s is corrupt (%v); delete the key or wait for its TTL", ms.name, err)
		}
		ms.counters[iReplayed].Inc()
		return nil, grpcstatus.ErrorProto(&sp)
	}
	ms.counters[iReplayed].Inc()
	return resp, nil
}

// replay decodes a finished OK record into a new response message; it
// returns nil, nil for an error record.
func (s *Server) replay(ms *methodState, rec *Record) (proto.Message, error) {
	if rec.Code != codes.OK {
		return nil, nil
	}
	mt, err := ms.responseType(s.resolver, rec.ResponseType)
	if err != nil {
		return nil, err
	}
	msg := mt.New().Interface()
	if err := proto.Unmarshal(rec.Payload, msg); err != nil {
		return nil, fmt.Errorf("decode stored %s: %w", rec.ResponseType, err)
	}
	return msg, nil
}

func (ms *methodState) responseType(r protoregistry.MessageTypeResolver, name string) (protoreflect.MessageType, error) {
	if p := ms.respType.Load(); p != nil && string((*p).Descriptor().FullName()) == name {
		return *p, nil
	}
	mt, err := r.FindMessageByName(protoreflect.FullName(name))
	if err != nil {
		return nil, fmt.Errorf("response type %q is not registered; link the package that defines it or pass WithTypeResolver: %w", name, err)
	}
	ms.respType.Store(&mt)
	return mt, nil
}

// requestKey returns the call's key: the metadata key when sent, else the
// key derived from the request's key fields, else "".
func (ms *methodState) requestKey(ctx context.Context, req any) (string, error) {
	switch vals := metadata.ValueFromIncomingContext(ctx, MetadataKey); len(vals) {
	case 0:
	case 1:
		return ParseKey(vals[0])
	default:
		return "", fmt.Errorf("%w: %d %s values sent; send one", ErrInvalidKey, len(vals), MetadataKey)
	}
	if ms.keyFunc != nil {
		if key, ok := ms.keyFunc(req); ok && key != "" {
			return key, nil
		}
	}
	return "", nil
}

func (ms *methodState) missingMessage() string {
	if len(ms.fields) == 0 {
		return fmt.Sprintf("%s requires an idempotency key; send it in the %q metadata (HTTP header %q)", ms.name, MetadataKey, HeaderName)
	}
	return fmt.Sprintf("%s requires an idempotency key; send it in the %q metadata (HTTP header %q) or set the request fields %v", ms.name, MetadataKey, HeaderName, ms.fields)
}

// storeLogInterval spaces out store-failure logs: during an outage every
// call fails the same way, and one line per second says so without
// flooding the log. The metric counts every failure.
const storeLogInterval = time.Second

// logStoreFailure logs a store failure unless one was logged less than
// storeLogInterval ago; the line says how many were left out in between.
func (s *Server) logStoreFailure(ctx context.Context, level slog.Level, msg string, ms *methodState, err error) {
	now := s.now().UnixNano()
	last := s.lastStoreLog.Load()
	if now-last < int64(storeLogInterval) || !s.lastStoreLog.CompareAndSwap(last, now) {
		s.suppressedLogs.Add(1)
		return
	}
	s.log.Log(ctx, level, msg, "grpc_method", ms.name, "error", err, "suppressed_since_last", s.suppressedLogs.Swap(0))
}

func (s *Server) newOwner() Owner {
	var o Owner
	copy(o[:8], s.ownerPrefix[:])
	binary.BigEndian.PutUint64(o[8:], s.ownerSeq.Add(1))
	return o
}

// maxPooledBuffer keeps one huge request from pinning its buffer.
const maxPooledBuffer = 64 << 10

// fingerprint hashes the deterministic encoding of msg.
func (s *Server) fingerprint(msg proto.Message) (Fingerprint, error) {
	bp, _ := s.buffers.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.MarshalAppend((*bp)[:0], msg)
	if err != nil {
		return Fingerprint{}, err
	}
	fp := Fingerprint(sha256.Sum256(b))
	if cap(b) <= maxPooledBuffer {
		*bp = b
		s.buffers.Put(bp)
	}
	return fp, nil
}
