package wire_test

import (
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/node/wire"
)

// The handshake: the node sends a challenge, the agent signs it, the node
// checks the hello.
func ExampleChallenge_Answer() {
	agentKey, _ := crypto.HexToECDSA("5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a")

	// node
	challenge := &wire.Challenge{
		Nonce:    common.HexToHash("0x0101010101010101010101010101010101010101010101010101010101010101"),
		Provider: common.HexToAddress("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
		ChainID:  1337,
		Contract: common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3"),
		Limits: wire.Limits{MaxFrameBytes: 1 << 20, MaxMessages: 1024, MaxJobsInFlight: 16,
			MaxConnectionsPerSigner: 4, AuthTimeoutMS: 10000, JobTimeoutMS: 300000},
	}
	frame, _ := wire.Encode(challenge)

	// agent: check provider, chain and contract against the offer, then sign.
	m, _ := wire.Decode(wire.NodeToAgent, frame)
	hello, _ := m.(*wire.Challenge).Answer(agentKey)
	frame, _ = wire.Encode(hello)
	fmt.Println(string(frame))

	// node
	m, _ = wire.Decode(wire.AgentToNode, frame)
	fmt.Println(challenge.Verify(m.(*wire.Hello)))
	// Output:
	// {"type":"hello","signer":"0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc","signature":"0x095bf1811680ec0143da8de63b307617d177842752775866021894dd65bf826b66c76466c49535d0b659ed1e3f5ee61f41094640adc31abb9a195e2becd7605c1c"}
	// <nil>
}

// A refused frame decodes to an *Error the node sends back as it is.
func ExampleDecoder_Decode() {
	d := wire.Decoder{Direction: wire.AgentToNode}
	_, err := d.Decode([]byte(`{"type":"submit","id":"job-7","model":"paynode-test-1",
		"channel_id":"0x8f3c7c2a4b1e9d0f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f",
		"request":{"messages":[{"role":"user","content":"hi"}]},
		"voucher":{"amount":1000.5,"signature":"0x00"}}`))
	reply, _ := wire.Encode(err.(*wire.Error))
	fmt.Println(string(reply))
	// Output:
	// {"type":"error","id":"job-7","code":"bad_field","message":"voucher.amount: a JSON number; amounts are decimal strings such as \"1000\", never numbers","retryable":false,"field":"voucher.amount"}
}
