package chainwatch

import "sync"

// subscriber queues changes for one Subscribe channel, so a slow reader
// never holds the watcher up and never misses a change.
type subscriber struct {
	mu    sync.Mutex
	queue []Change // guarded by mu

	wake chan struct{} // cap 1: the queue has something
	out  chan Change
	done chan struct{} // closed by cancel
	exit chan struct{} // closed when pump returns
}

// Subscribe returns a channel that receives every change of a channel, in
// the order the watcher made them, once each is stored and visible to the
// readers: a new channel, a top-up, a claim, a withdrawal request or close,
// and the results of reorganisations. Changes queue in memory while the
// reader is busy, so the watcher never waits for it. cancel stops the
// subscription and closes the channel; call it when done.
func (w *Watcher) Subscribe() (changes <-chan Change, cancel func()) {
	s := &subscriber{
		wake: make(chan struct{}, 1),
		out:  make(chan Change),
		done: make(chan struct{}),
		exit: make(chan struct{}),
	}
	w.subMu.Lock()
	w.subs[s] = struct{}{}
	w.subMu.Unlock()
	go s.pump()
	var once sync.Once
	return s.out, func() {
		once.Do(func() {
			w.subMu.Lock()
			delete(w.subs, s)
			w.subMu.Unlock()
			close(s.done)
			<-s.exit
		})
	}
}

func (s *subscriber) pump() {
	defer close(s.exit)
	defer close(s.out)
	for {
		select {
		case <-s.done:
			return
		case <-s.wake:
		}
		s.mu.Lock()
		batch := s.queue
		s.queue = nil
		s.mu.Unlock()
		for _, c := range batch {
			select {
			case s.out <- c:
			case <-s.done:
				return
			}
		}
	}
}

// notify queues changes for every subscriber. It is called with writeMu
// held, so the order is the order of the commits.
func (w *Watcher) notify(changes []Change) {
	if len(changes) == 0 {
		return
	}
	w.subMu.Lock()
	defer w.subMu.Unlock()
	for s := range w.subs {
		s.mu.Lock()
		s.queue = append(s.queue, changes...)
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}
