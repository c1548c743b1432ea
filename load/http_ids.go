package load

import (
	"context"
	"net/http"
	"text/template"
	"text/template/parse"

	"github.com/hoist-dev/hoist/internal/httpkit"
)

// Record IDs: an operation that addresses records by the ID the API gave
// them (PATCH /people/{{.ID}}) gets it from the state, where id_path or
// results put it when the record was created. A row whose ID the state
// lacks (created before IDs were kept, or by another tool) is looked up
// with operations.lookup first; without one it is rejected, naming why, and
// never sent to a guessed address.

// usesRecordID reports whether a template reads .ID, .IDs or .Records
// (also as $.ID, or .ID inside a range over .Records).
func usesRecordID(t *template.Template) bool {
	if t == nil || t.Tree == nil {
		return false
	}
	found := false
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		if n == nil || found {
			return
		}
		switch x := n.(type) {
		case *parse.ListNode:
			if x == nil {
				return
			}
			for _, c := range x.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(x.Pipe)
		case *parse.IfNode:
			walk(x.Pipe)
			walk(x.List)
			walk(x.ElseList)
		case *parse.RangeNode:
			walk(x.Pipe)
			walk(x.List)
			walk(x.ElseList)
		case *parse.WithNode:
			walk(x.Pipe)
			walk(x.List)
			walk(x.ElseList)
		case *parse.TemplateNode:
			walk(x.Pipe)
		case *parse.PipeNode:
			if x == nil {
				return
			}
			for _, c := range x.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range x.Args {
				walk(a)
			}
		case *parse.ChainNode:
			walk(x.Node)
		case *parse.FieldNode:
			found = isIDField(x.Ident)
		case *parse.VariableNode:
			found = len(x.Ident) > 1 && isIDField(x.Ident[1:])
		}
	}
	walk(t.Tree.Root)
	return found
}

func isIDField(ident []string) bool {
	if len(ident) == 0 {
		return false
	}
	switch ident[0] {
	case "ID", "IDs", "Records":
		return true
	}
	return false
}

// resolveIDs makes sure every item has its record ID before a request that
// needs it: the state's, else what operations.lookup finds. It returns the
// items ready to send; the others are booked in out: a delete of a record
// the lookup does not find is done (already gone), a routed update of one
// is sent as an insert (the API lost it), an update in mode update is not
// held, anything else is rejected.
func (w *httpWriter) resolveIDs(ctx context.Context, b Batch, op Op, r *opRequest, items []item, out *outcome) ([]item, error) {
	ready := items[:0:0]
	for _, it := range items {
		if it.id != "" {
			ready = append(ready, it)
			continue
		}
		if w.lookup == nil {
			if out.reject(it, 0, "the record ID is unknown: the state keeps none for this key, and there is no operations.lookup to find it", "") {
				return nil, errRejectLimit
			}
			continue
		}
		id, found, err := w.lookUp(ctx, b, it, out)
		if err != nil {
			return nil, err
		}
		if id != "" {
			it.id = id
			out.learn(it, id)
			ready = append(ready, it)
			continue
		}
		if !found {
			continue // the lookup's answer rejected the row
		}
		switch {
		case op == OpDelete:
			// nothing to delete, archive or clear: the record is gone
		case op == OpUpdate && b.Op == OpUpdate && w.split:
			if err := w.sendRows(ctx, b, OpInsert, w.ops[OpInsert], []item{it}, out); err != nil {
				return nil, err
			}
		case op == OpUpdate && b.Op == OpUpdate:
			out.absent(it)
		default:
			if out.reject(it, 0, "the record ID is unknown, and operations.lookup does not find the record", "") {
				return nil, errRejectLimit
			}
		}
	}
	return ready, nil
}

// lookUp asks operations.lookup for it's record ID. id is "" when the API
// does not hold the record; answered is false when the answer rejected the
// row (booked in out).
func (w *httpWriter) lookUp(ctx context.Context, b Batch, it item, out *outcome) (id string, answered bool, err error) {
	req, err := w.buildRequest(w.lookup, []item{it})
	if pv, ok := err.(*pathValueError); ok {
		if out.reject(it, 0, "look up the record ID: "+pv.Error(), "") {
			return "", false, errRejectLimit
		}
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	resp, err := w.client.Do(ctx, req)
	if err != nil {
		return "", false, err
	}
	switch s := resp.Status; {
	case s >= 200 && s < 300:
		doc, err := decodeBody(resp)
		if err != nil {
			return "", false, err
		}
		v, _ := lookupPath(doc, w.lookup.idPath)
		return identText(v), true, nil
	case s == http.StatusNotFound:
		return "", true, nil
	case s == http.StatusBadRequest || s == http.StatusUnprocessableEntity:
		scrub := w.client.Scrubber()
		if out.reject(it, s, "look up the record ID: "+errorMessage(resp.Body, s, scrub), scrub.Body(resp.Body)) {
			return "", false, errRejectLimit
		}
		return "", false, nil
	default:
		return "", false, &httpkit.StatusError{Method: req.Method, URL: httpkit.RedactURL(req.URL.String()), Status: s,
			Body: w.client.Scrubber().Body(resp.Body), Attempts: resp.Attempts}
	}
}
