package api

import (
	"container/list"
	"sync"
)

// outputCache keeps the outputs of recent charged jobs, so that a job
// resubmitted after a lost connection is replayed with its output and not
// only its receipt. It is bounded in bytes and drops the least recently
// used first; a nil *outputCache keeps nothing.
type outputCache struct {
	max int

	mu sync.Mutex
	// guarded by mu:
	size  int
	order *list.List // of *cached, most recent first
	byKey map[jobKey]*list.Element
}

type cached struct {
	key    jobKey
	output string
}

// cacheOverhead is what an entry costs beyond its output's bytes.
const cacheOverhead = 256

func newOutputCache(max int) *outputCache {
	if max <= 0 {
		return nil
	}
	return &outputCache{max: max, order: list.New(), byKey: map[jobKey]*list.Element{}}
}

func (c *outputCache) put(key jobKey, output string) {
	if c == nil {
		return
	}
	cost := c.cost(&cached{key: key, output: output})
	if cost > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.size -= c.cost(e.Value.(*cached))
		c.order.Remove(e)
	}
	c.byKey[key] = c.order.PushFront(&cached{key: key, output: output})
	c.size += cost
	for c.size > c.max {
		e := c.order.Back()
		v := e.Value.(*cached)
		c.order.Remove(e)
		delete(c.byKey, v.key)
		c.size -= c.cost(v)
	}
}

func (c *outputCache) get(key jobKey) (string, bool) {
	if c == nil {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		return "", false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cached).output, true
}

func (*outputCache) cost(v *cached) int { return len(v.output) + len(v.key.id) + cacheOverhead }
