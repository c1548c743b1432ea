package load

import (
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/extensions"
)

// HubSpot takes every property value as a string (the v3 objects API's
// properties are a map of strings; a JSON null or number is refused), in a
// form that depends on the property's type: dates as milliseconds since the
// epoch at midnight UTC, datetimes as ISO 8601 (or epoch milliseconds),
// booleans as "true" and "false", the options of a multiple-checkbox
// property joined with ";". The empty string clears a property.

// hsDateTime is how datetimes are written: ISO 8601 in UTC with
// milliseconds, as HubSpot returns them.
const hsDateTime = "2006-01-02T15:04:05.000Z"

const msPerDay = 24 * 3600 * 1000

// hsValue formats row i of arr for property p (nil: not described, typed by
// the Arrow type alone); null reports a NULL.
func hsValue(arr arrow.Array, i int, p *hsProperty) (v string, null bool, err error) {
	if arr.IsNull(i) {
		return "", true, nil
	}
	v, err = hsText(arr, i, p)
	if err != nil {
		return "", false, err
	}
	if p != nil {
		if why := p.check(v); why != "" {
			return "", false, fmt.Errorf("%s", why)
		}
	}
	return v, false, nil
}

func hsText(arr arrow.Array, i int, p *hsProperty) (string, error) {
	typ := ""
	if p != nil {
		typ = p.Type
	}
	switch a := arr.(type) {
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i)), nil
	case *array.Int8, *array.Int16, *array.Int32, *array.Int64, *array.Uint8, *array.Uint16, *array.Uint32, *array.Uint64:
		return a.ValueStr(i), nil
	case *array.Float16:
		return hsFloat(float64(a.Value(i).Float32()))
	case *array.Float32:
		return hsFloat(float64(a.Value(i)))
	case *array.Float64:
		return hsFloat(a.Value(i))
	case *array.Decimal128, *array.Decimal256:
		return a.ValueStr(i), nil
	case *array.String:
		return a.Value(i), nil
	case *array.LargeString:
		return a.Value(i), nil
	case *array.StringView:
		return a.Value(i), nil
	case *array.Binary:
		return base64.StdEncoding.EncodeToString(a.Value(i)), nil
	case *array.LargeBinary:
		return base64.StdEncoding.EncodeToString(a.Value(i)), nil
	case *array.FixedSizeBinary:
		return base64.StdEncoding.EncodeToString(a.Value(i)), nil
	case *array.Date32:
		return hsDate(a.Value(i).ToTime(), typ), nil
	case *array.Date64:
		return hsDate(a.Value(i).ToTime(), typ), nil
	case *array.Timestamp:
		t := a.Value(i).ToTime(a.DataType().(*arrow.TimestampType).Unit).UTC()
		if typ == "date" {
			// a date property holds the day: its UTC midnight
			return hsDate(t, typ), nil
		}
		return t.Format(hsDateTime), nil
	case *extensions.JSONArray:
		return a.ValueStr(i), nil
	case array.ExtensionArray:
		return hsText(a.Storage(), i, p)
	case *array.Dictionary:
		return hsText(a.Dictionary(), a.GetValueIndex(i), p)
	case array.ListLike:
		// the options of a multiple-checkbox property, joined with ";"
		start, end := a.ValueOffsets(i)
		parts := make([]string, 0, end-start)
		for j := int(start); j < int(end); j++ {
			if a.ListValues().IsNull(j) {
				continue
			}
			s, err := hsText(a.ListValues(), j, nil)
			if err != nil {
				return "", err
			}
			if strings.Contains(s, ";") {
				return "", fmt.Errorf("list value %q holds a \";\", which separates a multiple-checkbox property's options", s)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ";"), nil
	case *array.Struct, *array.Map:
		v, err := cellValue(arr, i)
		if err != nil {
			return "", err
		}
		b, err := marshalJSON(v)
		return string(b), err
	}
	return arr.ValueStr(i), nil
}

func hsFloat(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("%v is not a number HubSpot can store", f)
	}
	return strconv.FormatFloat(f, 'f', -1, 64), nil
}

// hsDate writes a day: for a datetime property its UTC midnight in ISO
// 8601, otherwise (a date property, or one not described) its UTC midnight
// in epoch milliseconds.
func hsDate(t time.Time, typ string) string {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if typ == "datetime" {
		return day.Format(hsDateTime)
	}
	return strconv.FormatInt(day.UnixMilli(), 10)
}

// hsMaxString is the most characters HubSpot keeps in a property value.
const hsMaxString = 65_536

// hsProperty is what the properties API says of one property.
type hsProperty struct {
	Name                 string     `json:"name"`
	Type                 string     `json:"type"`
	FieldType            string     `json:"fieldType"`
	Options              []hsOption `json:"options"`
	HasUniqueValue       bool       `json:"hasUniqueValue"`
	Calculated           bool       `json:"calculated"`
	ModificationMetadata struct {
		ReadOnlyValue bool `json:"readOnlyValue"`
	} `json:"modificationMetadata"`
}

type hsOption struct {
	Value string `json:"value"`
}

// readOnly reports whether HubSpot refuses writes to the property.
func (p *hsProperty) readOnly() bool { return p.ModificationMetadata.ReadOnlyValue || p.Calculated }

// check says why a formatted value does not fit the property ("" when it
// does): a number that is not one, a boolean other than true/false, an
// option the property does not have. Such a row is rejected before it is
// sent, naming the property and its options, instead of costing a request
// that HubSpot refuses.
func (p *hsProperty) check(v string) string {
	if v == "" {
		return ""
	}
	switch p.Type {
	case "string":
		if n := utf8.RuneCountInString(v); n > hsMaxString {
			return fmt.Sprintf("property %s holds at most %d characters; this value has %d", p.Name, hsMaxString, n)
		}
	case "number":
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return fmt.Sprintf("property %s is a number: %q is not one", p.Name, v)
		}
	case "bool":
		if v != "true" && v != "false" {
			return fmt.Sprintf("property %s is a boolean: %q is neither true nor false", p.Name, v)
		}
	case "enumeration":
		if len(p.Options) == 0 {
			return ""
		}
		parts := []string{v}
		if p.FieldType == "checkbox" {
			parts = strings.Split(v, ";")
		}
		for _, part := range parts {
			if !slices.ContainsFunc(p.Options, func(o hsOption) bool { return o.Value == part }) {
				return fmt.Sprintf("property %s has no option %q (options: %s)", p.Name, part, p.optionList())
			}
		}
	}
	return ""
}

func (p *hsProperty) optionList() string {
	vals := make([]string, 0, len(p.Options))
	for _, o := range p.Options {
		vals = append(vals, o.Value)
	}
	return optionText(vals)
}

// fits says why an Arrow type cannot fill the property ("" when it can).
func (p *hsProperty) fits(t arrow.DataType) string {
	id, numeric, textual, temporal := arrowKinds(t)
	switch p.Type {
	case "number":
		if !numeric && !textual {
			return fmt.Sprintf("property %s is a number; a %s cannot be one", p.Name, t)
		}
	case "bool":
		if id != arrow.BOOL && !textual {
			return fmt.Sprintf("property %s is a boolean; map a bool (or text true/false), not a %s", p.Name, t)
		}
	case "date", "datetime":
		if !temporal && !textual && !arrow.IsInteger(id) {
			return fmt.Sprintf("property %s is a %s; map a date or timestamp, not a %s", p.Name, p.Type, t)
		}
	case "enumeration":
		if temporal || id == arrow.STRUCT || id == arrow.MAP {
			return fmt.Sprintf("property %s takes options; a %s cannot be one", p.Name, t)
		}
	}
	return ""
}
