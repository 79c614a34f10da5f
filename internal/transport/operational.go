package transport

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"syscall"

	"github.com/packgen/packgen/internal/ocireg"
)

// Operational reports whether err is a failure to read or write rather
// than a verdict on what was read: a network, a server's status, a
// timeout, an interruption, a permission, a full or failing disk. The
// build's reading of a previous build and publish's reading of a source
// registry keep such a failure an operational one (exit 3, the limit's
// hint), never "not a registry".
func Operational(err error) bool {
	for _, target := range []error{context.Canceled, context.DeadlineExceeded,
		ErrHTTPStatus, ErrStalled, ErrTimeout, ErrTruncated, ErrRedirects, ErrInsecureRedirect,
		ocireg.ErrUnauthorized, ocireg.ErrForbidden, ocireg.ErrUnreachable,
		fs.ErrPermission, syscall.ENOSPC, syscall.EIO, syscall.EDQUOT, syscall.EROFS} {
		if errors.Is(err, target) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne)
}
