package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"

	"github.com/tenderpay/tender"
)

// provider plugs one payment provider into the binary. Each provider has a
// file of its own here (computop.go, sepay.go, ...) whose init appends to
// providers; nothing else in cmd/tender names a provider.
type provider struct {
	name string
	// connector builds the provider's Connector.
	connector func(env connectorEnv) tender.Connector
	// sandbox starts the provider's simulator for sandbox mode.
	sandbox func(opts tender.SandboxOptions) (*tender.Sandbox, error)
	// command runs `tender <name> args...`; nil if the provider has no tools.
	command func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// usage is one line per subcommand for `tender help`.
	usage string
}

// connectorEnv is what every connector may use.
type connectorEnv struct {
	HTTPClient *http.Client
	Logger     *slog.Logger
	Clock      tender.Clock
}

var providers []provider

func registerProvider(p provider) { providers = append(providers, p) }
