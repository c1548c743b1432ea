package shard

import (
	"strconv"
	"strings"
)

// The predicates below keep the rows of shard s in a query, computing the
// same hash as Of over the same key text. cols are the key's columns,
// already quoted for the dialect. Each is checked against Of on real rows
// (postgres and mysql in extract's tests) and by golden text.

// Postgres is the predicate for PostgreSQL: md5 over the key text, its
// first eight hex digits read as a 32-bit unsigned integer (bit(32) to
// bigint does not sign-extend).
func Postgres(cols []string, s Spec) string {
	text := keyText(cols, func(c string) string { return "coalesce(" + c + "::text, '')" }, "concat_ws(chr(31), ")
	return "(('x' || substr(md5(" + text + "), 1, 8))::bit(32)::bigint % " + strconv.Itoa(s.Count) + ") = " + strconv.Itoa(s.Index)
}

// MySQL is the predicate for MySQL and MariaDB. CONV gives the unsigned
// value as a string, cast back to a number before the modulo.
func MySQL(cols []string, s Spec) string {
	text := keyText(cols, func(c string) string { return "COALESCE(CAST(" + c + " AS CHAR), '')" }, "CONCAT_WS(CHAR(31 USING utf8mb4), ")
	return "(CAST(CONV(SUBSTRING(MD5(" + text + "), 1, 8), 16, 10) AS UNSIGNED) % " + strconv.Itoa(s.Count) + ") = " + strconv.Itoa(s.Index)
}

// Snowflake is the predicate for Snowflake. Its HASH() would be cheaper,
// but nothing outside Snowflake computes it, so rows read elsewhere (the
// fake, a reshard) could not agree with it.
func Snowflake(cols []string, s Spec) string {
	text := keyText(cols, func(c string) string { return "COALESCE(TO_VARCHAR(" + c + "), '')" }, "CONCAT_WS(CHR(31), ")
	return "MOD(TO_NUMBER(SUBSTR(MD5(" + text + "), 1, 8), 'XXXXXXXX'), " + strconv.Itoa(s.Count) + ") = " + strconv.Itoa(s.Index)
}

// keyText is the SQL of the key text: one column's text, or the texts
// joined by the separator.
func keyText(cols []string, text func(string) string, join string) string {
	if len(cols) == 1 {
		return text(cols[0])
	}
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = text(c)
	}
	return join + strings.Join(parts, ", ") + ")"
}
