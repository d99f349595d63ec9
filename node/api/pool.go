package api

import (
	"sync"
	"sync/atomic"
)

// pool runs functions on goroutines that, once done, wait for the next
// one instead of exiting. A submit's goroutine runs its whole job, and a
// new goroutine starts with a small stack that it grows, copying it, the
// first time the job path calls deep: under paid load that copying was
// about 5% of the node's CPU (runtime.copystack). A goroutine that stays
// keeps the stack it grew, until a garbage collection finds it idle and
// shrinks it. At most maxIdle goroutines wait; the others exit.
type pool struct {
	next    chan func() // unbuffered: a send succeeds only into a waiting goroutine
	stop    chan struct{}
	close   sync.Once
	idle    atomic.Int32
	maxIdle int32
	started atomic.Int64 // goroutines started, for tests
}

func newPool(maxIdle int) *pool {
	return &pool{next: make(chan func()), stop: make(chan struct{}), maxIdle: int32(maxIdle)}
}

// Go runs f on a waiting goroutine, or on a new one when none waits.
func (p *pool) Go(f func()) {
	select {
	case p.next <- f:
	default:
		p.started.Add(1)
		go p.run(f)
	}
}

func (p *pool) run(f func()) {
	for f != nil {
		f()
		f = nil
		if p.idle.Add(1) > p.maxIdle {
			p.idle.Add(-1)
			return
		}
		select {
		case f = <-p.next:
		case <-p.stop:
		}
		p.idle.Add(-1)
	}
}

// Close ends the waiting goroutines; a second Close does nothing. Go
// still works after it, on new goroutines that exit when done.
func (p *pool) Close() { p.close.Do(func() { close(p.stop) }) }
