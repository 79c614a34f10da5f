package sign

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/packgen/packgen/internal/errmark"
	"golang.org/x/term"
)

// Environment variables holding the key password, in order of preference.
var PasswordEnv = []string{"PACKGEN_PASSWORD", "COSIGN_PASSWORD"}

// EnvOrPrompt returns a PassFunc that reads the password from
// PACKGEN_PASSWORD or COSIGN_PASSWORD (an empty value is an empty
// password), else prompts on the terminal; without a terminal it fails
// with a message saying which variable to set.
func EnvOrPrompt(stdin *os.File, prompt io.Writer) PassFunc {
	return func(confirm bool) ([]byte, error) {
		for _, name := range PasswordEnv {
			if v, ok := os.LookupEnv(name); ok {
				return []byte(v), nil
			}
		}
		if stdin == nil || !term.IsTerminal(int(stdin.Fd())) {
			return nil, errmark.New(ErrKeyPassword, "no key password: set PACKGEN_PASSWORD (or COSIGN_PASSWORD); there is no terminal to ask on")
		}
		fmt.Fprint(prompt, "Enter password for private key: ")
		pw, err := term.ReadPassword(int(stdin.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return nil, err
		}
		if confirm {
			fmt.Fprint(prompt, "Enter password for private key again: ")
			again, err := term.ReadPassword(int(stdin.Fd()))
			fmt.Fprintln(prompt)
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(pw, again) {
				return nil, errors.New("passwords do not match")
			}
		}
		return pw, nil
	}
}
