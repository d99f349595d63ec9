package offers_test

import (
	"fmt"

	"github.com/paynode/paynode/node/offers"
)

// Offers publish the websocket URL agents reach: api.public_url when the
// config sets one, else the listen address, with an unspecified host
// turned into the loopback address.
func ExampleEndpoint() {
	fmt.Println(offers.Endpoint("wss://gpu.example.com/v1/agent", "0.0.0.0:7070"))
	fmt.Println(offers.Endpoint("", "0.0.0.0:7070"))
	fmt.Println(offers.Endpoint("", "10.0.0.5:7070"))
	// Output:
	// wss://gpu.example.com/v1/agent
	// ws://127.0.0.1:7070/v1/agent
	// ws://10.0.0.5:7070/v1/agent
}
