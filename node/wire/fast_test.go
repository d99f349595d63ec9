package wire

import (
	"strings"
	"testing"
)

// Every job message Encode writes is taken by the hand decoder, to the
// same message.
func TestDecodeFastTakesWhatEncodeWrites(t *testing.T) {
	n := 0
	for _, c := range appenderCases() {
		for _, dir := range directions {
			reg := registry(dir)
			if reg[c.Type()] == nil || fastTypes[c.Type()] == nil {
				continue
			}
			n++
			frame := mustEncode(t, c)
			m, ok := decodeFast(reg, frame)
			if !ok {
				t.Fatalf("%s: the hand decoder gave %s up", dir, frame)
			}
			general, err := (&Decoder{Direction: dir}).decode(frame, false)
			if err != nil && m.validate(nil) == nil {
				t.Fatalf("%s: %s: %v", dir, frame, err)
			}
			if err == nil && !equal(m, general) {
				t.Fatalf("%s: %s decoded by hand to %#v, by encoding/json to %#v", dir, frame, m, general)
			}
		}
	}
	if n < 30 {
		t.Fatalf("only %d frames tried", n)
	}
}

// Frames off the plain shape go the general way, which decides them.
func TestDecodeFastGivesUp(t *testing.T) {
	sub := string(mustEncode(t, sampleSubmit()))
	res := string(mustEncode(t, sampleResult()))
	for name, frame := range map[string]string{
		"leading space":      " " + sub,
		"type not first":     `{"id":"a","type":"cancel"}`,
		"type repeated":      `{"type":"cancel","id":"a","type":"cancel"}`,
		"key repeated":       `{"type":"cancel","id":"a","id":"b"}`,
		"key in other case":  strings.Replace(sub, `"model"`, `"Model"`, 1),
		"escaped key":        strings.Replace(sub, `"model"`, `"mod\u0065l"`, 1),
		"unknown key":        strings.Replace(res, `"output"`, `"extra":1,"output"`, 1),
		"null":               strings.Replace(sub, `"model":"paynode-test-1"`, `"model":null`, 1),
		"number as string":   strings.Replace(sub, `"max_tokens":128`, `"max_tokens":"128"`, 1),
		"fraction":           strings.Replace(sub, `"max_tokens":128`, `"max_tokens":128.0`, 1),
		"exponent":           strings.Replace(sub, `"max_tokens":128`, `"max_tokens":1e2`, 1),
		"negative":           strings.Replace(sub, `"max_tokens":128`, `"max_tokens":-1`, 1),
		"leading zero":       strings.Replace(sub, `"max_tokens":128`, `"max_tokens":0128`, 1),
		"above 2^64-1":       strings.Replace(sub, `"max_tokens":128`, `"max_tokens":18446744073709551616`, 1),
		"amount number":      strings.Replace(sub, `"amount":"1052001000"`, `"amount":1052001000`, 1),
		"amount zero-led":    strings.Replace(sub, `"amount":"1052001000"`, `"amount":"01052001000"`, 1),
		"hash 0X":            strings.Replace(sub, `"channel_id":"0x`, `"channel_id":"0X`, 1),
		"hash short":         strings.Replace(sub, `"channel_id":"0x8f`, `"channel_id":"0x8`, 1),
		"temperature 1e400":  strings.Replace(sub, `"temperature":0.2`, `"temperature":1e400`, 1),
		"bad escape":         strings.Replace(sub, `You are terse.`, `You are \x terse.`, 1),
		"control character":  strings.Replace(sub, `You are terse.`, "You are\x01terse.", 1),
		"trailing bytes":     sub + "x",
		"trailing comma":     strings.Replace(sub, `}}`, `},}`, 1),
		"messages not array": strings.Replace(sub, `"messages":[`, `"messages":{`, 1),
		"true misspelt":      strings.Replace(sub, `"stream":true`, `"stream":tru`, 1),
		"cut short":          sub[:len(sub)-1],
	} {
		if _, ok := decodeFast(registry(AgentToNode), []byte(frame)); ok {
			t.Errorf("%s: the hand decoder took %s", name, frame)
		}
		if _, ok := decodeFast(registry(NodeToAgent), []byte(frame)); ok {
			t.Errorf("%s: the hand decoder took %s", name, frame)
		}
	}
	// It takes what is JSON's own business: white space, escapes.
	for _, frame := range []string{
		`{"type":"cancel" , "id" : "a\n\u00e9\"" }`,
		strings.Replace(sub, `You are terse.`, `You\tare \"terse\" \ud83d\ude00 \ud800.`, 1),
		strings.Replace(sub, `You are terse.`, "invalid \xff UTF-8", 1),
	} {
		m, ok := decodeFast(registry(AgentToNode), []byte(frame))
		general, err := (&Decoder{Direction: AgentToNode}).decode([]byte(frame), false)
		if !ok || err != nil || !equal(m, general) {
			t.Errorf("%s: by hand %#v (%v), by encoding/json %#v (%v)", frame, m, ok, general, err)
		}
	}
}
