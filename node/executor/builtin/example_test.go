package builtin_test

import (
	"context"
	"fmt"

	"github.com/paynode/paynode/node/executor"
	"github.com/paynode/paynode/node/executor/builtin"
)

func ExampleModel() {
	m := &builtin.Model{}
	var chunks []string
	res, err := m.Run(context.Background(), executor.ChatRequest{
		Model:     builtin.Name,
		Messages:  []executor.Message{{Role: "user", Content: "Hello, world!"}},
		MaxTokens: 12,
		Stream:    true,
	}, func(delta string) error {
		chunks = append(chunks, delta)
		return nil
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", chunks)
	fmt.Println(res.Output)
	fmt.Printf("%+v %s\n", res.Usage, res.FinishReason)
	// Output:
	// ["Event" " input" " now" " event" " answer" "." " Answer" " hash" " model" " node" " key" " charge"]
	// Event input now event answer. Answer hash model node key charge
	// {InputTokens:5 OutputTokens:12 Estimated:false} length
}
