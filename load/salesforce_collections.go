package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/sync/errgroup"
)

// sObject Collections: up to 200 records a request, allOrNone false, one
// result a record in the request's order (the documented contract), so a
// result is matched to its record by position.

type sfRecordResult struct {
	ID      string `json:"id"`
	Success bool   `json:"success"`
	Errors  []struct {
		StatusCode string   `json:"statusCode"`
		Message    string   `json:"message"`
		Fields     []string `json:"fields"`
	} `json:"errors"`
}

func (w *sfWriter) collections(ctx context.Context, b Batch, p sfPlan, rows []int, ids []string, out *sfOutcome) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for start := 0; start < len(rows); start += sfCollectionsMax {
		chunk := rows[start:min(start+sfCollectionsMax, len(rows))]
		g.Go(func() error {
			if stopRejecting(b, 0) {
				return errSFStop
			}
			return w.collectionsChunk(gctx, b, p, chunk, ids, out)
		})
	}
	return g.Wait()
}

func (w *sfWriter) collectionsChunk(ctx context.Context, b Batch, p sfPlan, rows []int, ids []string, out *sfOutcome) error {
	var req sfRequest
	var sent []int
	if p.op == "delete" {
		list := make([]string, len(rows))
		for k, r := range rows {
			list[k] = ids[r]
		}
		sent = rows
		req = sfRequest{method: http.MethodDelete, path: "/composite/sobjects?allOrNone=false&ids=" + url.QueryEscape(strings.Join(list, ","))}
	} else {
		recs := make([]map[string]any, 0, len(rows))
		for _, r := range rows {
			rec := map[string]any{"attributes": map[string]string{"type": w.object}}
			if p.byID {
				rec["id"] = ids[r]
			}
			bad := ""
			for _, c := range p.cols {
				v, kind, err := w.cell(b, p, r, c)
				if err != nil {
					bad = err.Error()
					break
				}
				name := w.colName(p, c)
				switch kind {
				case sfCellValue:
					rec[name] = sfJSON(v, w.field(name), b.Record.Schema().Field(c).Type)
				case sfCellClear:
					rec[name] = nil
				}
			}
			if bad != "" {
				if out.reject(r, 0, bad) {
					return errSFStop
				}
				continue
			}
			recs = append(recs, rec)
			sent = append(sent, r)
		}
		if len(recs) == 0 {
			return nil
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(map[string]any{"allOrNone": false, "records": recs}); err != nil {
			return fmt.Errorf("encode a collections request: %w", err)
		}
		req = sfRequest{body: buf.Bytes(), contentType: "application/json", path: "/composite/sobjects"}
		switch p.op {
		case "insert":
			req.method = http.MethodPost
		case "update":
			req.method = http.MethodPatch
		default:
			req.method = http.MethodPatch
			req.path = "/composite/sobjects/" + w.object + "/" + w.ext
		}
	}
	var results []sfRecordResult
	if _, err := w.api.json(ctx, req, &results); err != nil {
		return err
	}
	if len(results) != len(sent) {
		return fmt.Errorf("%s %s answered %d results for %d records", req.method, strings.SplitN(req.path, "?", 2)[0], len(results), len(sent))
	}
	for k, res := range results {
		r := sent[k]
		if res.Success {
			out.learn(r, res.ID)
			continue
		}
		code, msg := "UNKNOWN_EXCEPTION", "Salesforce gave no error"
		var fields []string
		if len(res.Errors) > 0 {
			code, msg, fields = res.Errors[0].StatusCode, res.Errors[0].Message, res.Errors[0].Fields
		}
		if w.recordError(p, out, r, code, w.api.scrub.String(msg), fields) {
			return errSFStop
		}
	}
	return nil
}
