package load

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Values as Salesforce takes them, the same text in a Bulk CSV cell and
// (typed) in a collections record: dates as YYYY-MM-DD, datetimes as ISO
// 8601 in UTC with milliseconds, booleans true/false, numbers in plain
// decimal, a multi-select picklist's values joined with ";". Salesforce
// keeps no empty strings: "" and NULL both mean an empty field, which a
// Bulk CSV sets with #N/A (an empty cell leaves the field as it is) and a
// collections record with null.

const sfDateTime = "2006-01-02T15:04:05.000Z"

// sfClear is the Bulk CSV cell that empties a field.
const sfClear = "#N/A"

// sfText formats row i of arr; null reports a NULL or an empty string.
func sfText(arr arrow.Array, i int, f *sfField) (v string, null bool, err error) {
	if arr.IsNull(i) {
		return "", true, nil
	}
	switch a := arr.(type) {
	case *array.Date32:
		v = sfDay(a.Value(i).ToTime(), f)
	case *array.Date64:
		v = sfDay(a.Value(i).ToTime(), f)
	case *array.Timestamp:
		t := a.Value(i).ToTime(a.DataType().(*arrow.TimestampType).Unit).UTC()
		if f != nil && f.Type == "date" {
			v = t.Format(time.DateOnly)
		} else {
			v = t.Format(sfDateTime)
		}
	case array.ExtensionArray:
		return sfText(a.Storage(), i, f)
	case *array.Dictionary:
		return sfText(a.Dictionary(), a.GetValueIndex(i), f)
	case array.ListLike:
		start, end := a.ValueOffsets(i)
		parts := make([]string, 0, end-start)
		for j := int(start); j < int(end); j++ {
			s, null, err := sfText(a.ListValues(), j, nil)
			if err != nil {
				return "", false, err
			}
			if null {
				continue
			}
			if strings.Contains(s, ";") {
				return "", false, fmt.Errorf("list value %q holds a \";\", which separates a multi-select picklist's values", s)
			}
			parts = append(parts, s)
		}
		v = strings.Join(parts, ";")
	default:
		if v, err = hsText(arr, i, nil); err != nil {
			return "", false, err
		}
	}
	if v == "" {
		return "", true, nil
	}
	if f != nil {
		if why := f.check(v); why != "" {
			return "", false, fmt.Errorf("%s", why)
		}
	}
	return v, false, nil
}

// sfDay writes a day: YYYY-MM-DD, or its UTC midnight for a datetime field.
func sfDay(t time.Time, f *sfField) string {
	t = t.UTC()
	if f != nil && f.Type == "datetime" {
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Format(sfDateTime)
	}
	return t.Format(time.DateOnly)
}

// sfJSON is a formatted value as a collections record carries it: a JSON
// boolean or number where the field (or, undescribed, the column) is one.
func sfJSON(v string, f *sfField, t arrow.DataType) any {
	kind := ""
	if f != nil {
		kind = f.Type
	}
	switch {
	case kind == "boolean" || (kind == "" && t.ID() == arrow.BOOL):
		return v == "true"
	case kind == "double" || kind == "currency" || kind == "percent" || kind == "int" ||
		(kind == "" && (arrow.IsInteger(t.ID()) || arrow.IsFloating(t.ID()) || t.ID() == arrow.DECIMAL128)):
		return json.Number(v)
	}
	return v
}

// sfField is what describe says of one field.
type sfField struct {
	Name               string   `json:"name"`
	Type               string   `json:"type"`
	Length             int      `json:"length"`
	Createable         bool     `json:"createable"`
	Updateable         bool     `json:"updateable"`
	Nillable           bool     `json:"nillable"`
	ExternalID         bool     `json:"externalId"`
	IDLookup           bool     `json:"idLookup"`
	RestrictedPicklist bool     `json:"restrictedPicklist"`
	PicklistValues     []sfPick `json:"picklistValues"`
}

// sfPick is one picklist value.
type sfPick struct {
	Value  string `json:"value"`
	Active bool   `json:"active"`
}

// check says why a formatted value does not fit the field ("" when it
// does); such a row is rejected unsent, naming the field.
func (f *sfField) check(v string) string {
	switch f.Type {
	case "boolean":
		if v != "true" && v != "false" {
			return fmt.Sprintf("field %s is a checkbox: %q is neither true nor false", f.Name, v)
		}
	case "double", "currency", "percent":
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return fmt.Sprintf("field %s is a number: %q is not one", f.Name, v)
		}
	case "int":
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Sprintf("field %s is an integer: %q is not one", f.Name, v)
		}
	case "picklist", "multipicklist":
		if !f.RestrictedPicklist || len(f.PicklistValues) == 0 {
			return ""
		}
		parts := []string{v}
		if f.Type == "multipicklist" {
			parts = strings.Split(v, ";")
		}
		for _, p := range parts {
			if !slices.ContainsFunc(f.PicklistValues, func(o sfPick) bool { return o.Value == p && o.Active }) {
				return fmt.Sprintf("field %s is a restricted picklist without the value %q (values: %s)", f.Name, p, f.values())
			}
		}
	}
	if f.Length > 0 && len(v) > f.Length && isSFText(f.Type) && utf8.RuneCountInString(v) > f.Length {
		return fmt.Sprintf("field %s holds at most %d characters, not %d", f.Name, f.Length, utf8.RuneCountInString(v))
	}
	return ""
}

func isSFText(t string) bool {
	switch t {
	case "string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "encryptedstring":
		return true
	}
	return false
}

func (f *sfField) values() string {
	vals := make([]string, 0, len(f.PicklistValues))
	for _, p := range f.PicklistValues {
		if p.Active {
			vals = append(vals, p.Value)
		}
	}
	return optionText(vals)
}

// fits says why an Arrow type cannot fill the field ("" when it can).
func (f *sfField) fits(t arrow.DataType) string {
	id, numeric, textual, temporal := arrowKinds(t)
	switch f.Type {
	case "double", "currency", "percent", "int":
		if !numeric && !textual {
			return fmt.Sprintf("field %s is a number (%s); a %s cannot fill it", f.Name, f.Type, t)
		}
	case "boolean":
		if id != arrow.BOOL && !textual {
			return fmt.Sprintf("field %s is a checkbox; map a bool, not a %s", f.Name, t)
		}
	case "date", "datetime":
		if !temporal && !textual {
			return fmt.Sprintf("field %s is a %s; map a date or timestamp, not a %s", f.Name, f.Type, t)
		}
	case "picklist", "multipicklist", "reference", "id":
		if temporal || id == arrow.STRUCT || id == arrow.MAP {
			return fmt.Sprintf("field %s is a %s; a %s cannot be one", f.Name, f.Type, t)
		}
	}
	return ""
}
