package openai

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Event is one Server-Sent Event.
type Event struct {
	// Type is the event's `event` field, "" when it has none (which the
	// SSE standard reads as "message").
	Type string
	// Data is the event's `data` lines joined with "\n".
	Data string
}

// DefaultMaxEventSize bounds an SSE event unless an SSEReader is given
// another bound.
const DefaultMaxEventSize = 1 << 20

// maxFieldName is what a line may have beyond the event bound: room for a
// field name before a value as large as the bound.
const maxFieldName = 64

// ErrEventTooLarge is returned by SSEReader.Next for an event or line
// above the reader's bound.
var ErrEventTooLarge = errors.New("sse: event too large")

// SSEReader reads Server-Sent Events (text/event-stream) as the HTML
// standard defines them: lines end with "\n", "\r\n" or "\r"; a line
// starting with ':' is a comment; "field: value" sets a field (one space
// after the colon is dropped; a line with no colon is a field with an
// empty value); `data` lines accumulate, joined with "\n"; a blank line
// ends the event, which is dispatched if it had a data line. A leading
// byte-order mark is skipped. The `id` and `retry` fields, which only
// matter for reconnecting, and unknown fields are ignored.
//
// Unlike a browser, it reports how the stream ended: io.EOF after the last
// complete event, io.ErrUnexpectedEOF when the stream ends inside an event
// (a server that died mid-answer).
type SSEReader struct {
	r       *bufio.Reader
	max     int
	line    []byte // the line being read, reused
	data    []byte // the event's data so far
	typ     []byte // the event's type so far
	hasData bool
	pending bool // a field of the current event has been read
	skipLF  bool // the last line ended with "\r": a "\n" right after it is part of that ending
	started bool // the byte-order mark check is done
	err     error
}

// NewSSEReader returns a reader of the events in r, each at most
// maxEventSize bytes of data and type, with no line (comments included)
// more than 64 bytes longer than that; maxEventSize ≤ 0 means
// DefaultMaxEventSize.
func NewSSEReader(r io.Reader, maxEventSize int) *SSEReader {
	if maxEventSize <= 0 {
		maxEventSize = DefaultMaxEventSize
	}
	return &SSEReader{r: bufio.NewReaderSize(r, 16<<10), max: maxEventSize}
}

// Next returns the next event. At the end of the stream it returns io.EOF,
// or io.ErrUnexpectedEOF if the stream ended inside an event; an event or
// a line above the bound is ErrEventTooLarge; a read error is returned as
// it is. Once Next has returned an error it returns the same error.
func (s *SSEReader) Next() (Event, error) {
	if s.err != nil {
		return Event{}, s.err
	}
	ev, err := s.next()
	if err != nil {
		s.err = err
	}
	return ev, err
}

func (s *SSEReader) next() (Event, error) {
	for {
		line, err := s.readLine()
		if err != nil {
			if err == io.EOF && (s.pending || len(s.line) > 0) {
				err = io.ErrUnexpectedEOF
			}
			return Event{}, err
		}
		if len(line) == 0 {
			if !s.hasData {
				s.resetEvent()
				continue
			}
			ev := Event{Type: string(s.typ), Data: string(s.data)}
			s.resetEvent()
			return ev, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		s.pending = true
		switch string(field) {
		case "data":
			if s.hasData {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, value...)
			s.hasData = true
		case "event":
			s.typ = append(s.typ[:0], value...)
		}
		if len(s.data)+len(s.typ) > s.max {
			return Event{}, ErrEventTooLarge
		}
	}
}

func (s *SSEReader) resetEvent() {
	s.data, s.typ = s.data[:0], s.typ[:0]
	s.hasData, s.pending = false, false
}

// readLine returns the next line without its ending, valid until the next
// call. A last line with no ending is not a line: it stays in s.line and
// readLine returns io.EOF.
func (s *SSEReader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		if _, err := s.r.Peek(1); err != nil {
			return nil, err
		}
		buf, _ := s.r.Peek(s.r.Buffered())
		if !s.started {
			s.started = true
			if bytes.HasPrefix(buf, []byte("\xef\xbb\xbf")) {
				s.r.Discard(3)
				continue
			}
			if len(buf) < 3 && bytes.HasPrefix([]byte("\xef\xbb\xbf"), buf) {
				// Too little to tell yet: wait for more or the end.
				if more, err := s.r.Peek(3); err == nil && string(more) == "\xef\xbb\xbf" {
					s.r.Discard(3)
					continue
				}
				buf, _ = s.r.Peek(s.r.Buffered())
			}
		}
		if s.skipLF {
			s.skipLF = false
			if buf[0] == '\n' {
				s.r.Discard(1)
				continue
			}
		}
		i := bytes.IndexByte(buf, '\n')
		end := i
		if end < 0 {
			end = len(buf)
		}
		if j := bytes.IndexByte(buf[:end], '\r'); j >= 0 {
			i = j
		}
		if i < 0 {
			if len(s.line)+len(buf) > s.max+maxFieldName {
				return nil, ErrEventTooLarge
			}
			s.line = append(s.line, buf...)
			s.r.Discard(len(buf))
			continue
		}
		if len(s.line)+i > s.max+maxFieldName {
			return nil, ErrEventTooLarge
		}
		s.line = append(s.line, buf[:i]...)
		s.skipLF = buf[i] == '\r'
		s.r.Discard(i + 1)
		return s.line, nil
	}
}
