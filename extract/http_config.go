package extract

import "github.com/hoist-dev/hoist/connector"

// HTTPSource is an http source's keys.
type HTTPSource struct {
	// Endpoint is the path (or URL on base_url's host) to GET; Path is an alias.
	Endpoint    string            `yaml:"endpoint" doc:"path of the GET, relative to base_url"`
	Path        string            `yaml:"path" doc:"alias of endpoint"`
	RecordsPath string            `yaml:"records_path" doc:"dotted path of the records array in the body (default: the body is the array)"`
	Pagination  *HTTPPagination   `yaml:"pagination" doc:"how to walk pages; none: one request"`
	CursorParam string            `yaml:"cursor_param" doc:"query parameter carrying the last committed cursor"`
	Params      map[string]string `yaml:"params" doc:"map of fixed query parameters"`
	Columns     []*HTTPColumn     `yaml:"columns" doc:"list of declared columns; otherwise types are inferred from the first page"`
}

// HTTPPagination describes how an http source walks pages.
type HTTPPagination struct {
	// Type is page, offset, cursor or link.
	Type string `yaml:"type" doc:"page, offset, cursor or link"`
	// Param is the query parameter carrying the page number, offset or cursor.
	Param string `yaml:"param" doc:"query parameter of the page number, offset or cursor (default: the type's name)"`
	// SizeParam and PageSize set the page size sent with each request.
	SizeParam string `yaml:"size_param" doc:"query parameter of the page size"`
	PageSize  int    `yaml:"page_size" doc:"page size sent in size_param (default 100)"`
	// NextPath is the dotted path of the next-cursor field in the body (type cursor).
	NextPath string `yaml:"next_path" doc:"dotted path of the next cursor in the body (type cursor)"`
	// StartAt is the first page number or offset (default 1 for page, 0 for offset).
	StartAt *int `yaml:"start_at" doc:"first page number or offset (default 1 for page, 0 for offset)"`
	// MaxPages caps the pages one read fetches (0: the default, 100000); a
	// source with more fails instead of paging on forever.
	MaxPages int `yaml:"max_pages" doc:"stop after this many pages, failing clearly (default 100000)"`
}

// HTTPColumn declares a source column and its type.
type HTTPColumn struct {
	Name string `yaml:"name" doc:"column name"`
	Type string `yaml:"type" doc:"string, int64, float64, bool, timestamp, date or json"`
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
