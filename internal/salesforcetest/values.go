package salesforcetest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cell is one field a request sets: its index and canonical text, or null.
type cell struct {
	f    int
	v    string
	null bool
}

// outcome is one record operation's result.
type outcome struct {
	id      string
	created bool
	code    string // "" on success
	msg     string
	fields  []string
}

func (o outcome) ok() bool { return o.code == "" }

// bulkError is the sf__Error text of a failed record:
// "CODE:message:field,field --".
func (o outcome) bulkError() string {
	return o.code + ":" + o.msg + ":" + strings.Join(o.fields, ",") + " --"
}

var emailRe = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// canon checks text for field f and returns it as Salesforce keeps it.
func canon(f *Field, text string) (string, *outcome) {
	bad := func(code, format string, args ...any) (string, *outcome) {
		return "", &outcome{code: code, msg: fmt.Sprintf(format, args...), fields: []string{f.Name}}
	}
	notType := func() (string, *outcome) {
		return bad("INVALID_TYPE_ON_FIELD_IN_RECORD", "%s: value not of required type: %s", f.Name, text)
	}
	switch f.Type {
	case "boolean":
		switch strings.ToLower(text) {
		case "true", "1":
			return "true", nil
		case "false", "0":
			return "false", nil
		}
		return notType()
	case "int":
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return notType()
		}
		return strconv.FormatInt(n, 10), nil
	case "double", "currency", "percent":
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return notType()
		}
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case "date":
		d, err := time.Parse(time.DateOnly, text)
		if err != nil {
			return notType()
		}
		return d.Format(time.DateOnly), nil
	case "datetime":
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700"} {
			if t, err := time.Parse(layout, text); err == nil {
				return t.UTC().Format("2006-01-02T15:04:05.000Z"), nil
			}
		}
		return notType()
	case "picklist":
		if f.Restricted && !slices.Contains(f.Picklist, text) {
			return bad("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "%s: bad value for restricted picklist field: %s", f.Name, text)
		}
		return text, nil
	case "multipicklist":
		for _, v := range strings.Split(text, ";") {
			if f.Restricted && !slices.Contains(f.Picklist, v) {
				return bad("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "%s: bad value for restricted picklist field: %s", f.Name, v)
			}
		}
		return text, nil
	case "email":
		if !emailRe.MatchString(text) {
			return bad("INVALID_EMAIL_ADDRESS", "%s: invalid email address: %s", f.Name, text)
		}
	}
	if f.Rule != nil && f.Rule.MatchString(text) {
		return bad("FIELD_CUSTOM_VALIDATION_EXCEPTION", "%s: the value %s breaks a validation rule", f.Name, text)
	}
	limit := f.Length
	if limit == 0 {
		limit = 255
	}
	if n := len([]rune(text)); n > limit {
		return bad("STRING_TOO_LONG", "%s: data value too large: %s (max length=%d)", f.Name, text, limit)
	}
	return text, nil
}

// jsonText is a collections record's JSON value as text: strings as they
// are, numbers and booleans printed; other shapes are refused.
func jsonText(raw json.RawMessage) (text string, null bool, ok bool) {
	var v any
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return "", false, false
	}
	switch x := v.(type) {
	case nil:
		return "", true, true
	case string:
		return x, x == "", true
	case json.Number:
		return x.String(), false, true
	case bool:
		return strconv.FormatBool(x), false, true
	}
	return "", false, false
}

// apply runs one record operation: insert, upsert (by ext, a field index),
// update or delete/hardDelete (by id). s.mu held.
func (s *Server) apply(o *objStore, op string, ext int, id string, cells []cell) outcome {
	if s.locks > 0 {
		s.locks--
		return outcome{id: id, code: "UNABLE_TO_LOCK_ROW", msg: "unable to obtain exclusive access to this record or 1 records: " + id}
	}
	switch op {
	case "delete", "hardDelete":
		if _, ok := o.byID[id]; !ok {
			return outcome{id: id, code: "ENTITY_IS_DELETED", msg: "entity is deleted"}
		}
		o.remove(id, op == "hardDelete")
		return outcome{id: id}
	case "upsert":
		var extVal string
		for _, c := range cells {
			if c.f == ext {
				extVal = c.v
			}
		}
		if extVal == "" {
			name := o.def.Fields[ext].Name
			return outcome{code: "MISSING_ARGUMENT", msg: name + " not specified", fields: []string{name}}
		}
		if found, ok := o.byExt[ext][strings.ToLower(extVal)]; ok {
			return s.write(o, found, false, cells)
		}
		return s.write(o, "", true, cells)
	case "update":
		if _, ok := o.byID[id]; !ok {
			if o.bin[id] {
				return outcome{id: id, code: "ENTITY_IS_DELETED", msg: "entity is deleted"}
			}
			return outcome{id: id, code: "INVALID_CROSS_REFERENCE_KEY", msg: "invalid cross reference id"}
		}
		return s.write(o, id, false, cells)
	}
	return s.write(o, "", true, cells)
}

// write creates (id "") or updates a record after checking every field.
func (s *Server) write(o *objStore, id string, create bool, cells []cell) outcome {
	var notWritable []string
	set := map[string]string{}
	for _, c := range cells {
		f := &o.def.Fields[c.f]
		if f.ReadOnly || (!create && f.CreateOnly) {
			notWritable = append(notWritable, f.Name)
			continue
		}
		if c.null {
			if f.Required {
				return outcome{id: id, code: "REQUIRED_FIELD_MISSING", msg: "Required fields are missing: [" + f.Name + "]", fields: []string{f.Name}}
			}
			set[f.Name] = ""
			continue
		}
		set[f.Name] = c.v
	}
	if len(notWritable) > 0 {
		return outcome{id: id, code: "INVALID_FIELD_FOR_INSERT_UPDATE", msg: "Unable to create/update fields: " + strings.Join(notWritable, ", ") +
			". Please check the security settings of this field and verify that it is read/write for your profile or permission set.", fields: notWritable}
	}
	if create {
		var missing []string
		for _, f := range o.def.Fields {
			if f.Required && set[f.Name] == "" {
				missing = append(missing, f.Name)
			}
		}
		if len(missing) > 0 {
			return outcome{code: "REQUIRED_FIELD_MISSING", msg: "Required fields are missing: [" + strings.Join(missing, ", ") + "]", fields: missing}
		}
	}
	for _, i := range o.extKeys {
		f := o.def.Fields[i]
		if v := set[f.Name]; v != "" {
			if other, ok := o.byExt[i][strings.ToLower(v)]; ok && other != id {
				return outcome{id: id, code: "DUPLICATE_VALUE", msg: "duplicate value found: " + f.Name + " duplicates value on record with id: " + other, fields: []string{f.Name}}
			}
		}
	}
	var old []byte
	if create {
		id = s.newID(o)
	} else {
		old = o.byID[id]
	}
	o.store(id, old, set)
	return outcome{id: id, created: create}
}
