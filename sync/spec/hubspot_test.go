package spec_test

import (
	"strings"
	"testing"

	. "github.com/hoist-dev/hoist/sync/spec"
)

// TestHubSpotConfig: every mistake in a hubspot connection or destination
// is refused at validate, naming the file, the line and the key; the token
// never appears in a message.
func TestHubSpotConfig(t *testing.T) {
	const token = "pat-na1-secret-4242"
	for _, tc := range []struct {
		name, conn, dest string
		err              string // "" = valid
	}{
		{name: "valid", conn: `token: ${HS_TOKEN}`, dest: `object: contacts, mode: mirror, primary_key: [email]`},
		{name: "custom object by type ID", conn: `token: ${HS_TOKEN}`, dest: `object: 2-123456, mode: upsert, primary_key: [car_id]`},
		{name: "no token", conn: `tier: starter`, dest: `object: contacts, mode: upsert, primary_key: [email]`,
			err: "s.yaml:5: connections.hs.token: token is required"},
		{name: "unknown tier", conn: `{token: "${HS_TOKEN}", tier: gold}`, dest: `object: contacts, mode: upsert, primary_key: [email]`,
			err: `s.yaml:4: connections.hs.tier: unknown tier "gold"`},
		{name: "bad base_url", conn: `{token: "${HS_TOKEN}", base_url: "api.hubapi.com"}`, dest: `object: contacts, mode: upsert, primary_key: [email]`,
			err: "s.yaml:4: connections.hs.base_url: base_url must start with http:// or https://"},
		{name: "misspelt key", conn: `{token: "${HS_TOKEN}", teir: free}`, dest: `object: contacts, mode: upsert, primary_key: [email]`,
			err: `s.yaml:4: connections.hs.teir: unknown key (did you mean "tier"?)`},
		{name: "negative requests_per_10s", conn: `{token: "${HS_TOKEN}", requests_per_10s: -1}`, dest: `object: contacts, mode: upsert, primary_key: [email]`,
			err: "s.yaml:4: connections.hs.requests_per_10s: must not be negative"},
		{name: "daily_budget with the header alone", conn: `{token: "${HS_TOKEN}", daily_budget: {timezone: America/New_York}}`, dest: `object: contacts, mode: upsert, primary_key: [email]`},
		{name: "negative daily_budget", conn: `{token: "${HS_TOKEN}", daily_budget: {requests: -5}}`, dest: `object: contacts, mode: upsert, primary_key: [email]`,
			err: "s.yaml:4: connections.hs.daily_budget.requests: must not be negative"},
		{name: "daily_budget in an unknown zone", conn: `{token: "${HS_TOKEN}", daily_budget: {requests: 1000, timezone: Mars/Olympus}}`, dest: `object: contacts, mode: upsert, primary_key: [email]`,
			err: "connections.hs.daily_budget.timezone"},
		{name: "mode replace", conn: `token: ${HS_TOKEN}`, dest: `object: contacts, mode: replace`,
			err: "s.yaml:10: syncs[0].destination.mode: mode replace cannot be done atomically in HubSpot; use mirror"},
		{name: "two key columns", conn: `token: ${HS_TOKEN}`, dest: `object: contacts, mode: upsert, primary_key: [email, id]`,
			err: "s.yaml:10: syncs[0].destination.primary_key: a hubspot destination is keyed by one unique property (id_property), not 2 columns"},
		{name: "id_property not the key", conn: `token: ${HS_TOKEN}`, dest: `object: contacts, mode: upsert, primary_key: [email], id_property: ext_id`,
			err: `s.yaml:10: syncs[0].destination.id_property: id_property "ext_id" must be the primary key's field "email"`},
		{name: "not an object type", conn: `token: ${HS_TOKEN}`, dest: `object: "Contacts!", mode: upsert, primary_key: [email]`,
			err: `s.yaml:10: syncs[0].destination.object: "Contacts!" is not a HubSpot object type`},
		{name: "nulls send", conn: `token: ${HS_TOKEN}`, dest: `object: contacts, mode: upsert, primary_key: [email], nulls: send`,
			err: "s.yaml:10: syncs[0].destination.nulls: HubSpot takes property values as strings and refuses a JSON null"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			text := `version: 1
connections:
  src: {type: files, path: ., format: csv}
  hs:
    type: hubspot
    ` + tc.conn + `
syncs:
  - name: contacts
    source: {connection: src, path: c.csv}
    destination: {connection: hs, ` + tc.dest + `}
`
			text = strings.Replace(text, "  hs:\n    type: hubspot\n    {", "  hs: {type: hubspot, ", 1)
			_, err := Parse("s.yaml", []byte(text), env(map[string]string{"HS_TOKEN": token}))
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v\nwant %q\nspec:\n%s", err, tc.err, text)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("the token is in the message: %v", err)
			}
		})
	}
}
