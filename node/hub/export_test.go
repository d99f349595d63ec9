package hub

// Queued returns how many jobs of model wait in its queue for a worker
// (Queues counts reserved jobs too): tests use it to know a Run is in line.
func Queued(h *Hub, model string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if q := h.queues[model]; q != nil {
		return len(q.tasks)
	}
	return 0
}
