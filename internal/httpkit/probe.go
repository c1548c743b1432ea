package httpkit

import (
	"context"
	"fmt"
	"net/http"
)

// Probe sends one GET to base_url with the connection's headers and timeout,
// without retries. Any HTTP answer, an error status included, shows that
// the server is there; only a failure to get one is an error.
func (c *Client) Probe(ctx context.Context) error {
	where := http.MethodGet + " " + RedactURL(c.base.String())
	_, err := c.attempt(ctx, Request{Method: http.MethodGet, URL: c.base})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", where, ctx.Err())
	case isTimeout(err):
		return fmt.Errorf("%s: no answer within %s (the connection's timeout)", where, c.timeout)
	}
	return c.scrubErr(fmt.Errorf("%s: %w", where, unwrapURLError(err)))
}
