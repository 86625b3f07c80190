package main

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/govkit/govern/examples/httporders/api"
)

// orders implements the API in memory.
type orders struct {
	mu   sync.Mutex
	byID map[string]api.Order
	seq  atomic.Int64
	// created counts CreateOrder runs, so tests can prove a keyed retry
	// never runs it twice.
	created atomic.Int64
	// hold, when set, is waited on by CreateOrder (tests hold the first
	// call in flight).
	hold chan struct{}
}

func newOrders() *orders { return &orders{byID: map[string]api.Order{}} }

func (o *orders) CreateOrder(ctx context.Context, req api.CreateOrderRequestObject) (api.CreateOrderResponseObject, error) {
	o.created.Add(1)
	if o.hold != nil {
		select {
		case <-o.hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	order := req.Body.Order
	id := "o-" + strconv.FormatInt(o.seq.Add(1), 10)
	order.Id = &id
	o.mu.Lock()
	o.byID[id] = order
	o.mu.Unlock()
	return api.CreateOrder201JSONResponse(order), nil
}

func (o *orders) GetOrder(ctx context.Context, req api.GetOrderRequestObject) (api.GetOrderResponseObject, error) {
	o.mu.Lock()
	order, ok := o.byID[req.Id]
	o.mu.Unlock()
	if !ok {
		title, detail, status := "Order not found", "no order "+req.Id, http.StatusNotFound
		return api.GetOrder404ApplicationProblemPlusJSONResponse{ProblemApplicationProblemPlusJSONResponse: api.ProblemApplicationProblemPlusJSONResponse{Title: &title, Detail: &detail, Status: &status}}, nil
	}
	return api.GetOrder200JSONResponse(order), nil
}
