package openai_test

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/paynode/paynode/node/executor/openai"
)

// readAll reads every event of r and the error that ended them.
func readAll(r io.Reader, max int) ([]openai.Event, error) {
	s := openai.NewSSEReader(r, max)
	var evs []openai.Event
	for {
		ev, err := s.Next()
		if err != nil {
			if _, again := s.Next(); again != err {
				return evs, errors.New("error not sticky")
			}
			return evs, err
		}
		evs = append(evs, ev)
	}
}

// encode writes events as a server would: each with its type, if any, and
// one data line per line of data.
func encode(evs []openai.Event, crlf bool) []byte {
	nl := "\n"
	if crlf {
		nl = "\r\n"
	}
	var b bytes.Buffer
	for _, ev := range evs {
		if ev.Type != "" {
			b.WriteString("event: " + ev.Type + nl)
		}
		for line := range strings.SplitSeq(ev.Data, "\n") {
			b.WriteString("data: " + line + nl)
		}
		b.WriteString(nl)
	}
	return b.Bytes()
}

func TestSSEReader(t *testing.T) {
	ev := func(data string) openai.Event { return openai.Event{Data: data} }
	for _, tc := range []struct {
		name string
		in   string
		max  int
		want []openai.Event
		err  error
	}{
		{"empty", "", 0, nil, io.EOF},
		{"one", "data: hello\n\n", 0, []openai.Event{ev("hello")}, io.EOF},
		{"two", "data: a\n\ndata: b\n\n", 0, []openai.Event{ev("a"), ev("b")}, io.EOF},
		{"multi-line data", "data: a\ndata: b\ndata:\n\n", 0, []openai.Event{ev("a\nb\n")}, io.EOF},
		{"no space", "data:x\n\n", 0, []openai.Event{ev("x")}, io.EOF},
		{"one space dropped", "data:  x \n\n", 0, []openai.Event{ev(" x ")}, io.EOF},
		{"colon in value", "data: {\"a\":1}\n\n", 0, []openai.Event{ev(`{"a":1}`)}, io.EOF},
		{"field without colon", "data\n\n", 0, []openai.Event{ev("")}, io.EOF},
		{"comments", ": keep-alive\n:\ndata: x\n: more\n\n", 0, []openai.Event{ev("x")}, io.EOF},
		{"crlf", "data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n", 0, []openai.Event{ev("a\nb"), ev("c")}, io.EOF},
		{"cr", "data: a\rdata: b\r\rdata: c\r\r", 0, []openai.Event{ev("a\nb"), ev("c")}, io.EOF},
		{"mixed endings", "data: a\r\n\ndata: b\n\r", 0, []openai.Event{ev("a"), ev("b")}, io.EOF},
		{"bom", "\xef\xbb\xbfdata: x\n\n", 0, []openai.Event{ev("x")}, io.EOF},
		{"bom only once", "\xef\xbb\xbfdata: x\n\n\xef\xbb\xbfdata: y\n\n", 0, []openai.Event{ev("x")}, io.EOF},
		{"event type", "event: error\ndata: x\n\nevent: a\nevent: b\ndata: y\n\n", 0,
			[]openai.Event{{Type: "error", Data: "x"}, {Type: "b", Data: "y"}}, io.EOF},
		{"type resets", "event: a\ndata: x\n\ndata: y\n\n", 0, []openai.Event{{Type: "a", Data: "x"}, ev("y")}, io.EOF},
		{"no data no event", "event: a\nid: 7\nretry: 10\n\ndata: y\n\n", 0, []openai.Event{ev("y")}, io.EOF},
		{"unknown fields", "foo: bar\ndata: x\nDATA: y\n\n", 0, []openai.Event{ev("x")}, io.EOF},
		{"blank lines", "\n\n\ndata: x\n\n\n\n", 0, []openai.Event{ev("x")}, io.EOF},
		{"done", "data: [DONE]\n\n", 0, []openai.Event{ev("[DONE]")}, io.EOF},
		{"cut in event", "data: a\n\ndata: b\n", 0, []openai.Event{ev("a")}, io.ErrUnexpectedEOF},
		{"cut in line", "data: a\n\ndata: {\"x", 0, []openai.Event{ev("a")}, io.ErrUnexpectedEOF},
		{"cut after field", "data: a\n\nevent: x\n", 0, []openai.Event{ev("a")}, io.ErrUnexpectedEOF},
		{"comment at end", "data: a\n\n: bye\n", 0, []openai.Event{ev("a")}, io.EOF},
		{"at the bound", "data: 12345678\n\n", 8, []openai.Event{ev("12345678")}, io.EOF},
		{"line too long", "data: a\n\n: " + strings.Repeat("x", 80) + "\n", 16, []openai.Event{ev("a")}, openai.ErrEventTooLarge},
		{"event too large", "data: 12345\ndata: 12345\n\n", 10, nil, openai.ErrEventTooLarge},
		{"data and type too large", "event: 12345\ndata: 123456\n\n", 10, nil, openai.ErrEventTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []struct {
				name string
				r    io.Reader
			}{
				{"whole", strings.NewReader(tc.in)},
				{"byte by byte", iotest.OneByteReader(strings.NewReader(tc.in))},
				{"halves", iotest.HalfReader(strings.NewReader(tc.in))},
			} {
				got, err := readAll(r.r, tc.max)
				if err != tc.err || !slices.Equal(got, tc.want) {
					t.Errorf("%s: got %q, %v; want %q, %v", r.name, got, err, tc.want, tc.err)
				}
			}
		})
	}
}

func TestSSEReaderReadError(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(boom))
	got, err := readAll(r, 0)
	if err != boom || !slices.Equal(got, []openai.Event{{Data: "a"}}) {
		t.Fatalf("got %q, %v", got, err)
	}
}

func FuzzSSE(f *testing.F) {
	for _, s := range []string{
		"",
		"data: hello\n\n",
		"data: a\r\ndata: b\r\n\r\n: comment\rdata: c\r\r",
		"\xef\xbb\xbfevent: error\ndata: {\"error\":{\"message\":\"x\"}}\n\n",
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n",
		"data\n\ndata:\n\ndata:  two spaces\n\n",
		"data: cut",
	} {
		f.Add([]byte(s))
	}
	const max = 256
	f.Fuzz(func(t *testing.T, in []byte) {
		// Arbitrary input: never panics, respects the bound, reads the same
		// however the bytes arrive, and re-encodes to the same events.
		evs, err := readAll(bytes.NewReader(in), max)
		if err != io.EOF && err != io.ErrUnexpectedEOF && err != openai.ErrEventTooLarge {
			t.Fatalf("error %v", err)
		}
		evs1, err1 := readAll(iotest.OneByteReader(bytes.NewReader(in)), max)
		if err1 != err || !slices.Equal(evs1, evs) {
			t.Fatalf("byte by byte: %q, %v; whole: %q, %v", evs1, err1, evs, err)
		}
		for _, ev := range evs {
			if len(ev.Data)+len(ev.Type) > max || strings.ContainsAny(ev.Data, "\r") || strings.ContainsAny(ev.Type, "\r\n") {
				t.Fatalf("event %q", ev)
			}
		}
		for _, crlf := range []bool{false, true} {
			again, err := readAll(bytes.NewReader(encode(evs, crlf)), 1<<20)
			if err != io.EOF || !slices.Equal(again, evs) {
				t.Fatalf("re-encoded (crlf %v): %q, %v; want %q", crlf, again, err, evs)
			}
		}

		// Well-formed events made from the input round-trip exactly.
		var made []openai.Event
		parts := strings.Split(string(in), "\x00")
		for i := 0; i+1 < len(parts); i += 2 {
			typ := strings.Map(func(r rune) rune {
				if r == '\r' || r == '\n' {
					return -1
				}
				return r
			}, parts[i])
			data := strings.ReplaceAll(parts[i+1], "\r", "")
			made = append(made, openai.Event{Type: strings.TrimLeft(typ, " "), Data: data})
		}
		for i := range made {
			// A type with a leading space would lose it, as the standard says.
			if strings.HasPrefix(made[i].Type, " ") {
				made[i].Type = ""
			}
		}
		got, err := readAll(iotest.HalfReader(bytes.NewReader(encode(made, false))), 1<<20)
		if err != io.EOF || !slices.Equal(got, made) {
			t.Fatalf("round trip: %q, %v; want %q", got, err, made)
		}
	})
}
