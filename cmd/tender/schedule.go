package main

import (
	"fmt"
	"strings"
	"time"
)

// durations is a flag of comma-separated durations ("1s,2s,5s").
type durations []time.Duration

func (d *durations) String() string {
	var s []string
	for _, v := range *d {
		s = append(s, v.String())
	}
	return strings.Join(s, ",")
}

func (d *durations) Set(v string) error {
	var out durations
	for _, f := range strings.Split(v, ",") {
		x, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || x <= 0 {
			return fmt.Errorf("want positive durations separated by commas, got %q", f)
		}
		out = append(out, x)
	}
	*d = out
	return nil
}
