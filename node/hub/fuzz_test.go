package hub_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/paynode/paynode/node/hub"
	"github.com/paynode/paynode/node/hub/hubtest"
	"github.com/paynode/paynode/node/wire"
)

// FuzzWorkerFrames sends a registered worker's frames, whatever they are,
// while it holds a job ($ID in the input stands for the job's id): the
// connection stays usable (a ping still gets its pong), and the job ends
// with the worker's answer or, once the worker is gone, worker_failed,
// never by hanging; nothing is left counted in the hub.
func FuzzWorkerFrames(f *testing.F) {
	for _, s := range []string{
		`{"type":"chunk","id":"$ID","seq":1,"delta":"a"}` + "\n" + `{"type":"done","id":"$ID","usage":{"input_tokens":1,"output_tokens":1}}`,
		`{"type":"chunk","id":"$ID","seq":2,"delta":"a"}`,
		`{"type":"chunk","id":"$ID","seq":1,"delta":"` + strings.Repeat("x", 300) + `"}`,
		`{"type":"fail","id":"$ID","code":"upstream_error","message":"503"}` + "\n" + `{"type":"done","id":"$ID","usage":{}}`,
		`{"type":"models","capacity":0}` + "\n" + `{"type":"done","id":"$ID","usage":{}}`,
		`{"type":"models","capacity":3,"models":["other"]}`,
		`{"type":"register","name":"again","capacity":1,"models":["m1"]}`,
		`{"type":"done","id":"n-0","usage":{}}` + "\n" + `{"type":"ping","nonce":"x"}`,
		`{"type":"chunk","id":"$ID","seq":1,"delta":"\ud800"}`,
		`{"type":"chunk"` + "\n" + `[]` + "\n" + `{"type":"assign"}` + "\n" + `{"type":1}`,
	} {
		f.Add(s)
	}
	h := hub.New(hub.Options{Token: testToken, MaxFrameBytes: 256, MaxOutputBytes: 512})
	url := hubtest.Serve(f, h)
	f.Fuzz(func(t *testing.T, input string) {
		frames := strings.Split(input, "\n")
		if len(frames) > 16 {
			frames = frames[:16]
		}
		for _, fr := range frames {
			if len(fr) > 256*8 { // beyond what the hub discards, it closes: tested elsewhere
				t.Skip()
			}
		}
		w := register(t, url, "fuzz", 1, model)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res := runAsync(t, ctx, h, model, nil)
		a := w.readAssign()
		for _, fr := range frames {
			w.sendRaw(websocket.TextMessage, strings.ReplaceAll(fr, "$ID", a.ID))
		}
		// Everything sent was handled and the connection still works:
		// errors and a cancel may come before the pong, nothing else.
		w.send(&wire.Ping{Nonce: "sync"})
		for {
			m := w.read()
			if p, ok := m.(*wire.Pong); ok && p.Nonce == "sync" {
				break
			}
			switch m := m.(type) {
			case *wire.Error, *wire.Pong:
			case *wire.Cancel:
				if m.ID != a.ID {
					t.Fatalf("cancel of %s, the job is %s", m.ID, a.ID)
				}
			default:
				t.Fatalf("unexpected %#v", m)
			}
		}
		w.ws.Close()
		r := wait(t, res)
		if r.err != nil && wire.CodeOf(r.err) == wire.CodeJobTimeout {
			t.Fatalf("the job hung: %v", r.err)
		}
		hubtest.WaitFor(t, "worker gone", hubtest.Workers(h, 0))
		for _, q := range h.Queues() {
			if q.Waiting != 0 || q.Running != 0 {
				t.Fatalf("left counted: %+v", q)
			}
		}
	})
}
