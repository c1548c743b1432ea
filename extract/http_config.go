package extract

import "github.com/hoist-dev/hoist/connector"

// HTTPSource is an http source's keys.
type HTTPSource struct {
	// Endpoint is the path (or URL on base_url's host) to GET; Path is an alias.
	Endpoint    string            `yaml:"endpoint"`
	Path        string            `yaml:"path"`
	RecordsPath string            `yaml:"records_path"`
	Pagination  *HTTPPagination   `yaml:"pagination"`
	CursorParam string            `yaml:"cursor_param"`
	Params      map[string]string `yaml:"params"`
	Columns     []*HTTPColumn     `yaml:"columns"`
}

// HTTPPagination describes how an http source walks pages.
type HTTPPagination struct {
	// Type is page, offset, cursor or link.
	Type string `yaml:"type"`
	// Param is the query parameter carrying the page number, offset or cursor.
	Param string `yaml:"param"`
	// SizeParam and PageSize set the page size sent with each request.
	SizeParam string `yaml:"size_param"`
	PageSize  int    `yaml:"page_size"`
	// NextPath is the dotted path of the next-cursor field in the body (type cursor).
	NextPath string `yaml:"next_path"`
	// StartAt is the first page number or offset (default 1 for page, 0 for offset).
	StartAt *int `yaml:"start_at"`
	// MaxPages caps the pages one read fetches (0: the default, 100000); a
	// source with more fails instead of paging on forever.
	MaxPages int `yaml:"max_pages"`
}

// HTTPColumn declares a source column and its type.
type HTTPColumn struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"`
}

// Validate implements connector.SourceConfig.
func (s *HTTPSource) Validate(_ connector.Config, p connector.Problems) {
	if s.Endpoint == "" && s.Path == "" {
		p.Add("endpoint", "endpoint is required for an http source")
	}
	if pg := s.Pagination; pg != nil && pg.MaxPages < 0 {
		p.Add("pagination.max_pages", "max_pages must be positive (got %d)", pg.MaxPages)
	}
}

// Identity implements connector.SourceConfig.
func (s *HTTPSource) Identity() [][2]string {
	return [][2]string{{"path", s.Path}, {"endpoint", s.Endpoint}}
}
