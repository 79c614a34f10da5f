package main

import (
	"github.com/packgen/packgen/pack/schema"
	"github.com/spf13/cobra"
)

func init() { register(newSchemaCmd) }

func newSchemaCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of pack.json",
		Long: `Print the JSON Schema (draft 2020-12) of pack.json. Point your editor at
it for completion and inline checks; packgen validate checks more than the
schema can (files referenced, charts, values.yaml).`,
		Example: `  packgen schema > pack.schema.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := g.stdout.Write(schema.PackJSON)
			return err
		},
	}
}
