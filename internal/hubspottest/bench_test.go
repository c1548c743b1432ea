package hubspottest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkUpsert100 is the fake's cost of one 100-input batch/upsert of
// new contacts with 19 properties each: the bench-hubspot client must not
// wait on it.
func BenchmarkUpsert100(b *testing.B) {
	srv := NewHandler(Config{TenSecondly: -1, Daily: -1, Properties: map[string][]Property{"contacts": {
		StringProperty("p0"), StringProperty("p1"), StringProperty("p2"), StringProperty("p3"), StringProperty("p4"),
		StringProperty("p5"), StringProperty("p6"), StringProperty("p7"), StringProperty("p8"), StringProperty("p9"),
		StringProperty("p10"), StringProperty("p11"), StringProperty("p12"), StringProperty("p13"), StringProperty("p14"),
		StringProperty("p15"), StringProperty("p16"), StringProperty("p17"), StringProperty("p18")}}})
	n := 0
	body := func() []byte {
		var ins []map[string]any
		for range 100 {
			n++
			props := map[string]string{}
			for j := range 19 {
				props[fmt.Sprintf("p%d", j)] = fmt.Sprintf("value %d", n)
			}
			ins = append(ins, map[string]any{"id": fmt.Sprintf("a%d@x.com", n), "idProperty": "email", "objectWriteTraceId": "1", "properties": props})
		}
		b, _ := json.Marshal(map[string]any{"inputs": ins})
		return b
	}
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = body()
	}
	b.ResetTimer()
	for i := range b.N {
		req := httptest.NewRequest(http.MethodPost, "/crm/v3/objects/contacts/batch/upsert", bytes.NewReader(bodies[i]))
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
