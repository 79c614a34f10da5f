package main

import (
	"fmt"
	"os"
	"time"

	"github.com/packgen/packgen/internal/synth"
)

func main() {
	t := time.Now()
	spec := synth.Full(1000, 5, 20<<10, 100, true)
	res, err := synth.Generate(os.Args[1], spec)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Releases, res.Commits, time.Since(t))
}
