package hubspottest

import (
	"bytes"
	"fmt"
	stdsync "sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// requestSchemas are the request bodies of the CRM v3 endpoints the fake
// serves, written from HubSpot's published API reference (the
// BatchInputSimplePublicObjectBatchInputUpsert, BatchInputSimplePublicObjectBatchInput,
// BatchInputSimplePublicObjectId, BatchReadInputSimplePublicObjectId and
// BatchInputSimplePublicObjectInputForCreate shapes of the v3 objects
// APIs): every property value is a string, and batch/read requires the
// property lists even when empty. The reference leaves additional fields
// open; the fake refuses them, so a field a client misspells or invents
// fails here rather than being silently dropped by HubSpot. The batch limit
// of 100 inputs is HubSpot's documented one.
const requestSchemas = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$defs": {
    "properties": {"type": "object", "additionalProperties": {"type": "string"}},
    "upsertInput": {
      "type": "object", "required": ["id", "properties"], "additionalProperties": false,
      "properties": {
        "id": {"type": "string"},
        "idProperty": {"type": "string"},
        "objectWriteTraceId": {"type": "string"},
        "properties": {"$ref": "#/$defs/properties"}
      }
    },
    "updateInput": {
      "type": "object", "required": ["id", "properties"], "additionalProperties": false,
      "properties": {
        "id": {"type": "string"},
        "idProperty": {"type": "string"},
        "objectWriteTraceId": {"type": "string"},
        "properties": {"$ref": "#/$defs/properties"}
      }
    },
    "createInput": {
      "type": "object", "required": ["properties"], "additionalProperties": false,
      "properties": {
        "properties": {"$ref": "#/$defs/properties"},
        "objectWriteTraceId": {"type": "string"},
        "associations": {"type": "array"}
      }
    },
    "objectId": {
      "type": "object", "required": ["id"], "additionalProperties": false,
      "properties": {"id": {"type": "string"}}
    },
    "inputs": {"type": "array", "maxItems": 100}
  },
  "batch/upsert": {
    "type": "object", "required": ["inputs"], "additionalProperties": false,
    "properties": {"inputs": {"$ref": "#/$defs/inputs", "items": {"$ref": "#/$defs/upsertInput"}}}
  },
  "batch/update": {
    "type": "object", "required": ["inputs"], "additionalProperties": false,
    "properties": {"inputs": {"$ref": "#/$defs/inputs", "items": {"$ref": "#/$defs/updateInput"}}}
  },
  "batch/create": {
    "type": "object", "required": ["inputs"], "additionalProperties": false,
    "properties": {"inputs": {"$ref": "#/$defs/inputs", "items": {"$ref": "#/$defs/createInput"}}}
  },
  "batch/archive": {
    "type": "object", "required": ["inputs"], "additionalProperties": false,
    "properties": {"inputs": {"$ref": "#/$defs/inputs", "items": {"$ref": "#/$defs/objectId"}}}
  },
  "batch/read": {
    "type": "object", "required": ["inputs", "properties", "propertiesWithHistory"], "additionalProperties": false,
    "properties": {
      "idProperty": {"type": "string"},
      "inputs": {"$ref": "#/$defs/inputs", "items": {"$ref": "#/$defs/objectId"}},
      "properties": {"type": "array", "items": {"type": "string"}},
      "propertiesWithHistory": {"type": "array", "items": {"type": "string"}}
    }
  }
}`

var (
	schemasOnce stdsync.Once
	schemas     map[string]*jsonschema.Schema
	schemasErr  error
)

// compiled returns the compiled request schema of endpoint ("batch/upsert").
func compiled(endpoint string) (*jsonschema.Schema, error) {
	schemasOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(requestSchemas)))
		if err != nil {
			schemasErr = err
			return
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("hubspot.json", doc); err != nil {
			schemasErr = err
			return
		}
		schemas = map[string]*jsonschema.Schema{}
		for _, e := range []string{"batch/upsert", "batch/update", "batch/create", "batch/archive", "batch/read"} {
			s, err := c.Compile("hubspot.json#/" + jsonPointer(e))
			if err != nil {
				schemasErr = fmt.Errorf("compile %s: %w", e, err)
				return
			}
			schemas[e] = s
		}
	})
	if schemasErr != nil {
		return nil, schemasErr
	}
	s, ok := schemas[endpoint]
	if !ok {
		return nil, fmt.Errorf("no request schema for %s", endpoint)
	}
	return s, nil
}

// jsonPointer escapes a key for a JSON pointer ("/" is "~1").
func jsonPointer(key string) string {
	var b bytes.Buffer
	for _, c := range key {
		switch c {
		case '~':
			b.WriteString("~0")
		case '/':
			b.WriteString("~1")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// validateBody checks a request body against its endpoint's schema.
func validateBody(endpoint string, body []byte) error {
	s, err := compiled(endpoint)
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("the body is not JSON: %w", err)
	}
	return s.Validate(v)
}
