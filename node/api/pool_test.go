package api

import (
	"sync"
	"testing"
)

// TestPoolReusesGoroutines: functions run one after another reuse one
// goroutine, no more than maxIdle wait, and Close ends those that wait.
func TestPoolReusesGoroutines(t *testing.T) {
	p := newPool(4)
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		p.Go(wg.Done)
		wg.Wait()
		waitFor(t, func() bool { return p.idle.Load() == 1 })
	}
	if n := p.started.Load(); n != 1 {
		t.Fatalf("%d goroutines for 100 functions run one at a time, want 1", n)
	}

	// 16 at once: 16 goroutines, of which 4 stay.
	release := make(chan struct{})
	for range 16 {
		wg.Add(1)
		p.Go(func() { <-release; wg.Done() })
	}
	close(release)
	wg.Wait()
	if n := p.started.Load(); n < 16 {
		t.Fatalf("%d goroutines started for 16 functions at once", n)
	}
	waitFor(t, func() bool { return p.idle.Load() == 4 })

	p.Close()
	p.Close() // a second Close does nothing
	waitFor(t, func() bool { return p.idle.Load() == 0 })
	ran := make(chan struct{})
	p.Go(func() { close(ran) }) // still runs after Close
	<-ran
}
