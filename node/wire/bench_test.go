package wire

import "testing"

// BenchmarkDecodeSubmit decodes a typical submit: four chat messages, a
// voucher, on the node's strict path.
func BenchmarkDecodeSubmit(b *testing.B) {
	frame := mustEncode(b, sampleSubmit())
	d := Decoder{Direction: AgentToNode}
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Decode(frame); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeResult encodes a typical result: a 440-byte output and
// its signed receipt.
func BenchmarkEncodeResult(b *testing.B) {
	r := sampleResult()
	b.ReportAllocs()
	for b.Loop() {
		frame, err := Encode(r)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(frame)))
	}
}

// BenchmarkDecodeResult is the agent's side of a result.
func BenchmarkDecodeResult(b *testing.B) {
	frame := mustEncode(b, sampleResult())
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(NodeToAgent, frame); err != nil {
			b.Fatal(err)
		}
	}
}
