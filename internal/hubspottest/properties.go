package hubspottest

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Property is one property of an object type, as the CRM v3 properties API
// describes it (GET /crm/v3/properties/{objectType}).
type Property struct {
	Name      string   `json:"name"`
	Label     string   `json:"label"`
	Type      string   `json:"type"`      // string, number, date, datetime, enumeration, bool
	FieldType string   `json:"fieldType"` // text, textarea, number, date, select, radio, checkbox, booleancheckbox, …
	Options   []Option `json:"options"`
	// Unique: hasUniqueValue; only such a property can be an idProperty.
	Unique bool `json:"hasUniqueValue"`
	// ReadOnly: the API refuses to write it (modificationMetadata.readOnlyValue).
	ReadOnly bool   `json:"-"`
	Group    string `json:"-"`
	// Pattern is a property validation rule of type REGEX (HubSpot's
	// property validations API, kept apart from the property's
	// description, so a client cannot see it): a value it does not match
	// is refused, per record.
	Pattern *regexp.Regexp `json:"-"`
}

// MaxStringLength is the most characters HubSpot stores in a string
// property's value.
const MaxStringLength = 65_536

// Option is one value an enumeration property takes.
type Option struct {
	Label  string `json:"label"`
	Value  string `json:"value"`
	Hidden bool   `json:"hidden"`
}

// StringProperty, NumberProperty, … make catalog entries.
func StringProperty(name string) Property {
	return Property{Name: name, Type: "string", FieldType: "text"}
}
func NumberProperty(name string) Property {
	return Property{Name: name, Type: "number", FieldType: "number"}
}
func DateProperty(name string) Property {
	return Property{Name: name, Type: "date", FieldType: "date"}
}
func DateTimeProperty(name string) Property {
	return Property{Name: name, Type: "datetime", FieldType: "date"}
}
func BoolProperty(name string) Property {
	return Property{Name: name, Type: "bool", FieldType: "booleancheckbox",
		Options: []Option{{Label: "Yes", Value: "true"}, {Label: "No", Value: "false"}}}
}

// EnumProperty is a single-choice (select) property, or with multi a
// multiple-checkbox one (values joined with ";").
func EnumProperty(name string, multi bool, values ...string) Property {
	p := Property{Name: name, Type: "enumeration", FieldType: "select"}
	if multi {
		p.FieldType = "checkbox"
	}
	for _, v := range values {
		p.Options = append(p.Options, Option{Label: v, Value: v})
	}
	return p
}

// UniqueProperty is a string property with unique values (an external id).
func UniqueProperty(name string) Property {
	p := StringProperty(name)
	p.Unique = true
	return p
}

// readOnly marks p read-only.
func readOnly(p Property) Property {
	p.ReadOnly = true
	return p
}

// defaultProperties are a few of each standard object's properties, with
// the read-only ones HubSpot maintains itself.
func defaultProperties(objectType string) []Property {
	common := []Property{
		readOnly(NumberProperty("hs_object_id")),
		readOnly(DateTimeProperty("createdate")),
		readOnly(DateTimeProperty("hs_lastmodifieddate")),
	}
	switch objectType {
	case "contacts":
		email := StringProperty("email")
		email.Unique = true
		return append(common, email, StringProperty("firstname"), StringProperty("lastname"), StringProperty("phone"),
			StringProperty("company"), StringProperty("website"), readOnly(DateTimeProperty("lastmodifieddate")),
			EnumProperty("lifecyclestage", false, "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer", "evangelist", "other"))
	case "companies":
		return append(common, StringProperty("name"), StringProperty("domain"), StringProperty("industry"), NumberProperty("numberofemployees"))
	case "deals":
		return append(common, StringProperty("dealname"), NumberProperty("amount"), DateTimeProperty("closedate"),
			StringProperty("pipeline"), StringProperty("dealstage"))
	case "tickets":
		return append(common, StringProperty("subject"), StringProperty("content"), StringProperty("hs_pipeline"),
			StringProperty("hs_pipeline_stage"), EnumProperty("hs_ticket_priority", false, "LOW", "MEDIUM", "HIGH", "URGENT"))
	}
	return common
}

var emailRe = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// checkValue says why value cannot be written to p ("" when it can). An
// empty string clears any property.
func checkValue(p *Property, value string) string {
	if p.ReadOnly {
		return fmt.Sprintf("%s is a read-only property; its value cannot be set", p.Name)
	}
	if value == "" {
		return ""
	}
	switch p.Type {
	case "number":
		if _, err := strconv.ParseFloat(value, 64); err != nil {
			return fmt.Sprintf("%q is not a valid number", value)
		}
	case "bool":
		if value != "true" && value != "false" {
			return fmt.Sprintf("%q is not a valid boolean (want true or false)", value)
		}
	case "date":
		ms, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			if _, err := time.Parse(time.DateOnly, value); err != nil {
				return fmt.Sprintf("%q is not a valid date: use milliseconds since the epoch at midnight UTC", value)
			}
			return ""
		}
		if ms%(24*3600*1000) != 0 {
			return fmt.Sprintf("%s is not midnight UTC: a date property takes a UTC midnight in epoch milliseconds", value)
		}
	case "datetime":
		if _, err := strconv.ParseInt(value, 10, 64); err == nil {
			return ""
		}
		if _, err := time.Parse(time.RFC3339Nano, value); err != nil {
			return fmt.Sprintf("%q is not a valid datetime (epoch milliseconds or ISO 8601)", value)
		}
	case "enumeration":
		parts := []string{value}
		if p.FieldType == "checkbox" {
			parts = strings.Split(value, ";")
		}
		for _, v := range parts {
			if !slices.ContainsFunc(p.Options, func(o Option) bool { return o.Value == v }) {
				return fmt.Sprintf("%q was not one of the allowed options: %s", v, optionList(p))
			}
		}
	}
	if p.Name == "email" && !emailRe.MatchString(value) {
		return fmt.Sprintf("Email address %s is invalid", value)
	}
	if p.Type == "string" && utf8.RuneCountInString(value) > MaxStringLength {
		return fmt.Sprintf("the value of %s is %d characters long, more than the %d a property holds", p.Name, utf8.RuneCountInString(value), MaxStringLength)
	}
	if p.Pattern != nil && !p.Pattern.MatchString(value) {
		return fmt.Sprintf("%q does not pass the validation rule of %s (REGEX %s)", value, p.Name, p.Pattern)
	}
	return ""
}

func optionList(p *Property) string {
	vals := make([]string, len(p.Options))
	for i, o := range p.Options {
		vals[i] = o.Value
	}
	return "[" + strings.Join(vals, ", ") + "]"
}

// normalize is how HubSpot stores a valid value: email addresses in lower
// case, dates and datetimes in epoch milliseconds (ISO datetimes read back
// as they were written, as the v3 API returns them).
func normalize(p *Property, value string) string {
	if p.Name == "email" {
		return strings.ToLower(value)
	}
	if p.Type == "date" && value != "" {
		if t, err := time.Parse(time.DateOnly, value); err == nil {
			return strconv.FormatInt(t.UnixMilli(), 10)
		}
	}
	return value
}
