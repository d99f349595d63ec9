package wire

import (
	"bytes"
	"math"
	"math/big"
	"strings"
	"testing"
)

// appenderCases are messages of every type that appends itself, with the
// strings, numbers and optional fields that exercise each branch of the
// appenders: escapes, invalid UTF-8, U+2028, floats in 'e' form, fields
// omitted and present.
func appenderCases() []Message {
	text := "q\"b\\s/\b\f\n\r\t\x00\x01\x1f\x7f<>&é\u2028\u2029€😀"
	hard := text + "\xff\xc3(" // invalid UTF-8, where no check refuses it
	req := ChatRequest{Messages: []ChatMessage{{Role: "user", Content: text}, {Role: "system", Content: ""}}}
	var ms []Message
	for _, s := range samples() {
		ms = append(ms, s.msg)
	}
	for _, temp := range []float64{0, math.Copysign(0, -1), 1e-7, 1e-6, 0.000001234, 0.2, 1, 1.5, 2} {
		r := req
		r.Temperature = &temp
		r.MaxTokens = 1 << 63
		r.Stream = temp > 1
		ms = append(ms, &Assign{ID: hard, Model: hard, Request: r, TimeoutMS: uint64(temp * 1000)})
		s := sampleSubmit()
		s.Request = r
		ms = append(ms, s)
	}
	sub := sampleSubmit()
	sub.ID, sub.Model, sub.Offer, sub.Voucher.ChainID, sub.Voucher.Contract = hard, "", amt("7"), 0, nil
	res := sampleResult()
	res.ID, res.Output, res.Replayed = hard, text+strings.Repeat("z", 5000), true
	return append(ms,
		sub, res,
		&Accepted{ID: hard, MaxCost: amt("0"), InputTokens: math.MaxUint64},
		&Chunk{ID: hard, Seq: math.MaxUint64, Delta: text},
		&Error{Code: CodeBadField, Message: hard, Field: hard},
		&Error{ID: hard, Code: CodeInternal, Message: "", Retryable: true, RetryAfterMS: 1},
		&Cancel{ID: hard},
		&Done{ID: hard},
		&Fail{ID: hard, Code: CodeCancelled, Message: hard},
		&Fail{ID: hard, Code: CodeUpstreamError, Message: hard, Retryable: new(false)},
	)
}

// The appenders write exactly what encoding/json writes.
func TestAppendMatchesJSON(t *testing.T) {
	n := 0
	for _, m := range appenderCases() {
		a, ok := m.(appender)
		if !ok {
			continue
		}
		n++
		checkAppendMatchesJSON(t, a)
	}
	if n < 20 {
		t.Fatalf("only %d cases append", n)
	}
	// Every job message appends.
	for _, m := range []Message{&Submit{}, &Accepted{}, &Chunk{}, &Result{}, &Error{}, &Assign{}, &Cancel{}, &Done{}, &Fail{}} {
		if _, ok := m.(appender); !ok {
			t.Errorf("%T does not append itself", m)
		}
	}
}

func checkAppendMatchesJSON(t testing.TB, a appender) {
	t.Helper()
	if e := a.validate(nil); e != nil {
		t.Fatalf("case %#v does not validate: %v", a, e)
	}
	want, err := encodeJSON(a)
	if err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	if got := encodeAppender(a); !bytes.Equal(got, want) {
		t.Fatalf("appender and encoding/json differ:\n got  %s\n want %s", got, want)
	}
}

// BodyHash hashes the bytes encoding/json writes for the job's body,
// whatever the submit holds.
func TestBodyHashMatchesJSON(t *testing.T) {
	tooBig := amt(maxUint256)
	(*big.Int)(tooBig).Add((*big.Int)(tooBig), big.NewInt(1))
	nan, inf := math.NaN(), math.Inf(1)
	var subs []*Submit
	for _, m := range appenderCases() {
		if s, ok := m.(*Submit); ok {
			subs = append(subs, s)
		}
	}
	for _, edit := range []func(*Submit){
		func(s *Submit) { s.Model = "" },
		func(s *Submit) { s.Offer = amt("12") },
		func(s *Submit) { s.Model, s.Offer = "", amt(maxUint256) },
		func(s *Submit) { s.Request.Messages = nil },
		func(s *Submit) { s.Request.Messages = []ChatMessage{} },
		func(s *Submit) { s.Request.Messages[0].Content = "bad \xff UTF-8 \u2028" },
		func(s *Submit) { s.Request.MaxTokens, s.Request.Temperature = 0, nil },
		func(s *Submit) { s.Request.Temperature = f64(1e-9) },
		func(s *Submit) { s.Offer = tooBig },             // hashes encoding/json's error
		func(s *Submit) { s.Request.Temperature = &nan }, // likewise
		func(s *Submit) { s.Request.Temperature = &inf },
	} {
		s := sampleSubmit()
		edit(s)
		subs = append(subs, s)
	}
	for _, s := range subs {
		if got, want := s.BodyHash(), s.bodyHashJSON(); got != want {
			t.Errorf("body hash %s, by encoding/json %s, of %#v", got, want, s)
		}
	}
}

// FuzzAppendMatchesJSON builds each appending message from the fuzzer's
// strings and numbers and holds its bytes equal to encoding/json's.
func FuzzAppendMatchesJSON(f *testing.F) {
	f.Add("job-1", "7, 11", "user", 0.2, uint64(3), true)
	f.Add("\u2028\xff\"", "\x00\\</>", "assistant", 1e-7, uint64(0), false)
	f.Add("é", "", "system", 0.0, uint64(math.MaxUint64), true)
	f.Fuzz(func(t *testing.T, id, text, role string, temp float64, n uint64, flag bool) {
		if id == "" || len(id) > MaxJobIDLen {
			id = "x"
		}
		var tp *float64
		if flag && !math.IsNaN(temp) {
			v := math.Abs(math.Mod(temp, MaxTemperature))
			tp = &v
		}
		switch role {
		case "system", "developer", "user", "assistant":
		default:
			role = "user"
		}
		req := ChatRequest{Messages: []ChatMessage{{Role: role, Content: text}}, MaxTokens: n | 1, Temperature: tp, Stream: flag}
		sub := sampleSubmit()
		sub.ID, sub.Request = id, req
		res := sampleResult()
		res.ID, res.Output, res.Replayed = id, text, flag
		cases := []Message{
			sub,
			&Assign{ID: id, Model: "m", Request: req, TimeoutMS: n},
			&Accepted{ID: id, MaxCost: AmountOf(n), InputTokens: n, MaxTokens: n / 2},
			&Chunk{ID: id, Seq: n | 1, Delta: text},
			res,
			&Error{ID: id, Code: CodeOverloaded, Message: text, Retryable: flag, RetryAfterMS: n, Field: role},
			&Cancel{ID: id},
			&Done{ID: id, Usage: Usage{InputTokens: n, OutputTokens: n >> 1}},
			&Fail{ID: id, Code: CodeUpstreamError, Message: text},
			&Fail{ID: id, Code: CodeUpstreamError, Message: text, Retryable: &flag},
		}
		sub2 := *sub
		sub2.Model, sub2.Offer = role, AmountOf(n)
		for _, s := range []*Submit{sub, &sub2} {
			if got, want := s.BodyHash(), s.bodyHashJSON(); got != want {
				t.Fatalf("body hash %s, by encoding/json %s, of %#v", got, want, s)
			}
		}
		for _, m := range cases {
			if m.validate(nil) != nil {
				continue // invalid UTF-8 in a hashed text, say: Encode refuses it before either encoder
			}
			checkAppendMatchesJSON(t, m.(appender))
		}
	})
}
