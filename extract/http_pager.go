package extract

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hoist-dev/hoist/internal/cursor"
	"github.com/hoist-dev/hoist/internal/httpkit"
)

// Pagination styles and their defaults.
const (
	pageByNumber = "page"   // ?page=N (from start_at, default 1)
	pageByOffset = "offset" // ?offset=N (from start_at, default 0), advanced by the records received
	pageByCursor = "cursor" // ?cursor=<value at next_path of the previous body>
	pageByLink   = "link"   // follow the Link: <…>; rel="next" header

	defaultNextPath = "next_cursor"
	// defaultMaxPages caps one read's pages when pagination sets no
	// max_pages: far more than a sane API needs, few enough that the pages'
	// fingerprints (two hashes a page) stay a few MB.
	defaultMaxPages = 100_000
)

// pager walks an API's pages. A short or empty page ends page and offset
// pagination (a short page only when the page size is known); a missing or
// empty next cursor ends cursor pagination; a missing Link ends link
// pagination. An API that answers in a cycle (page 3 leads back to page 1)
// or ignores the page parameter (every page the same) would otherwise be
// read forever, each copy spilled: a page whose records, next cursor or next
// URL repeat an earlier page's is an error, and so is a page past max_pages.
type pager struct {
	client      *httpkit.Client
	kind        string
	param       string
	size        int
	nextPath    []string
	recordsPath []string

	u        *url.URL // next request
	n        int      // page number or offset
	done     bool
	fetched  int
	maxPages int
	pages    map[[16]byte]int // records fingerprint → page number
	links    map[[16]byte]int // next cursor or URL fingerprint → page that gave it
}

func fingerprint(b []byte) [16]byte {
	sum := sha256.Sum256(b)
	return [16]byte(sum[:16])
}

func newPager(client *httpkit.Client, src *HTTPSource, after *cursor.Cursor) (*pager, error) {
	endpoint := src.Endpoint
	if endpoint == "" {
		endpoint = src.Path
	}
	u, err := client.Resolve(endpoint)
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	if !client.SameOrigin(u) {
		return nil, fmt.Errorf("endpoint %s is not on base_url's host; headers are only sent there", httpkit.RedactURL(u.String()))
	}
	q := u.Query()
	for k, v := range src.Params {
		q.Set(k, v)
	}
	if after != nil && src.CursorParam != "" {
		q.Set(src.CursorParam, after.Value)
	}
	p := &pager{client: client, u: u, maxPages: defaultMaxPages, pages: map[[16]byte]int{}, links: map[[16]byte]int{}}
	if src.RecordsPath != "" {
		p.recordsPath = strings.Split(src.RecordsPath, ".")
	}
	pg := src.Pagination
	if pg == nil {
		u.RawQuery = q.Encode()
		return p, nil
	}
	p.kind, p.param, p.size = pg.Type, pg.Param, pg.PageSize
	if pg.MaxPages > 0 {
		p.maxPages = pg.MaxPages
	}
	if pg.SizeParam != "" && p.size == 0 {
		p.size = 100
	}
	if pg.SizeParam != "" {
		q.Set(pg.SizeParam, strconv.Itoa(p.size))
	}
	switch p.kind {
	case pageByNumber, pageByOffset:
		if p.param == "" {
			p.param = p.kind
		}
		if p.kind == pageByNumber {
			p.n = 1
		}
		if pg.StartAt != nil {
			p.n = *pg.StartAt
		}
		q.Set(p.param, strconv.Itoa(p.n))
	case pageByCursor:
		if p.param == "" {
			p.param = "cursor"
		}
		next := pg.NextPath
		if next == "" {
			next = defaultNextPath
		}
		p.nextPath = strings.Split(next, ".")
	case pageByLink:
	default:
		return nil, fmt.Errorf("unknown pagination type %q (want page, offset, cursor or link)", p.kind)
	}
	u.RawQuery = q.Encode()
	return p, nil
}

// next fetches the next page and prepares the request after it.
func (p *pager) next(ctx context.Context) ([]json.RawMessage, error) {
	if p.done {
		return nil, nil
	}
	resp, err := p.client.Do(ctx, httpkit.Request{Method: http.MethodGet, URL: p.u})
	if err != nil {
		return nil, err
	}
	if resp.Status < 200 || resp.Status > 299 {
		return nil, fmt.Errorf("GET %s: %d %s: %s", httpkit.RedactURL(p.u.String()), resp.Status,
			http.StatusText(resp.Status), p.client.Scrubber().Body(resp.Body))
	}
	recs, err := recordsAt(resp.Body, p.recordsPath)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", httpkit.RedactURL(p.u.String()), err)
	}
	p.fetched++
	if err := p.repeated(recs); err != nil {
		return nil, err
	}
	short := len(recs) == 0 || p.size > 0 && len(recs) < p.size
	q := p.u.Query()
	switch p.kind {
	case "":
		p.done = true
	case pageByNumber:
		p.n++
		q.Set(p.param, strconv.Itoa(p.n))
		p.done = short
	case pageByOffset:
		p.n += len(recs)
		q.Set(p.param, strconv.Itoa(p.n))
		p.done = short
	case pageByCursor:
		cur, err := nextCursor(resp.Body, p.nextPath)
		if err != nil {
			return nil, err
		}
		if cur == "" || len(recs) == 0 {
			p.done = true
			break
		}
		if first, ok := p.seenLink(cur); ok {
			return nil, fmt.Errorf("the next cursor (%s) is the one page %d gave: the API's pages form a cycle", strings.Join(p.nextPath, "."), first)
		}
		q.Set(p.param, cur)
	case pageByLink:
		next := nextLink(resp.Header)
		if next == "" || len(recs) == 0 {
			p.done = true
			break
		}
		u, err := p.u.Parse(next)
		if err != nil {
			return nil, fmt.Errorf("bad Link header: %w", err)
		}
		if !p.client.SameOrigin(u) {
			return nil, fmt.Errorf("Link rel=next leads to another host (%s); headers are only sent to base_url's host", u.Host)
		}
		if u.String() == p.u.String() {
			return nil, fmt.Errorf("the Link rel=next header points at the page just read")
		}
		if first, ok := p.seenLink(u.String()); ok {
			return nil, fmt.Errorf("the Link rel=next URL is the one page %d gave: the API's pages form a cycle", first)
		}
		p.u = u
	}
	if p.kind != pageByLink {
		p.u.RawQuery = q.Encode()
	}
	if !p.done && p.fetched >= p.maxPages {
		return nil, fmt.Errorf("read %d pages and the API still has a next one: more than pagination.max_pages %d; raise max_pages if the source really is that large", p.fetched, p.maxPages)
	}
	return recs, nil
}

// repeated fails a page whose records are exactly an earlier page's: an API
// ignoring the page parameter, or walking a cycle. Empty pages end paging
// and are not compared.
func (p *pager) repeated(recs []json.RawMessage) error {
	if len(recs) == 0 || p.kind == "" {
		return nil
	}
	h := sha256.New()
	for _, r := range recs {
		h.Write(r)
		h.Write([]byte{0})
	}
	fp := [16]byte(h.Sum(nil)[:16])
	if first, ok := p.pages[fp]; ok {
		return fmt.Errorf("the same %d records as page %d: the API ignores the %s parameter or its pages form a cycle", len(recs), first, p.pagingParam())
	}
	p.pages[fp] = p.fetched
	return nil
}

// seenLink records a next cursor or URL, reporting the page that gave it
// before if one did.
func (p *pager) seenLink(next string) (int, bool) {
	fp := fingerprint([]byte(next))
	if first, ok := p.links[fp]; ok {
		return first, true
	}
	p.links[fp] = p.fetched
	return 0, false
}

func (p *pager) pagingParam() string {
	if p.kind == pageByLink {
		return "Link header"
	}
	return p.param
}

// recordsAt returns the array at a dotted path of a JSON body, decoding
// only the objects on the way.
func recordsAt(body []byte, path []string) ([]json.RawMessage, error) {
	cur := json.RawMessage(body)
	for i, k := range path {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(cur, &m); err != nil {
			where := "the body"
			if i > 0 {
				where = strings.Join(path[:i], ".")
			}
			return nil, fmt.Errorf("records_path %s: %s is not an object", strings.Join(path, "."), where)
		}
		v, ok := m[k]
		if !ok {
			return nil, fmt.Errorf("records_path %s: no field %q in the response", strings.Join(path, "."), k)
		}
		cur = v
	}
	if bytes.Equal(bytes.TrimSpace(cur), []byte("null")) {
		return nil, nil
	}
	var recs []json.RawMessage
	if err := json.Unmarshal(cur, &recs); err != nil {
		return nil, fmt.Errorf("records_path %q does not hold an array: %w", strings.Join(path, "."), err)
	}
	return recs, nil
}

// nextCursor reads the next-page cursor; null, "" and a missing field all
// mean the last page.
func nextCursor(body []byte, path []string) (string, error) {
	var doc any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		return "", fmt.Errorf("decode body for next_path: %w", err)
	}
	for _, k := range path {
		m, ok := doc.(map[string]any)
		if !ok {
			return "", nil
		}
		doc = m[k]
	}
	switch v := doc.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	}
	return "", fmt.Errorf("next_path %s holds %T, want a string or number", strings.Join(path, "."), doc)
}

// nextLink returns the rel="next" target of Link headers (RFC 8288), or "".
func nextLink(h http.Header) string {
	for _, line := range h.Values("Link") {
		for _, link := range strings.Split(line, ",") {
			parts := strings.Split(link, ";")
			target := strings.TrimSpace(parts[0])
			if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for _, attr := range parts[1:] {
				k, v, ok := strings.Cut(strings.TrimSpace(attr), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
					if strings.EqualFold(rel, "next") {
						return target[1 : len(target)-1]
					}
				}
			}
		}
	}
	return ""
}
