package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/packgen/packgen/serve"
	"github.com/spf13/cobra"
)

func init() { register(newServeCmd) }

func newServeCmd(g *globalOptions) *cobra.Command {
	var addr string
	c := &cobra.Command{
		Use:   "serve DIR",
		Short: "Serve a built registry site over HTTP (for local use and tests)",
		Long: `Serve a built site as a static file server with correct Content-Type,
ETag/If-None-Match, Range requests and Cache-Control (long and immutable
for archives and content-addressed metadata, short for index.json). Any
static host serves a site the same way; this one is for local use.`,
		Example: `  packgen serve site
  packgen serve site --addr 127.0.0.1:9000`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := serve.CheckSite(args[0]); err != nil {
				return usageErr("%v", err)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: serve.Handler(args[0]), ReadHeaderTimeout: 10 * time.Second}
			fmt.Fprintf(g.stdout, "serving %s on http://%s/ (Ctrl-C to stop)\n", args[0], ln.Addr())
			go func() {
				<-cmd.Context().Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(ctx)
			}()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	return c
}
