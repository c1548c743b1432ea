package mysqlconn

import "strings"

// Ident quotes a possibly database-qualified name ("db.table") for SQL with
// backticks. Names are split on the first dot only; a name that itself
// contains dots can be given already quoted ("`my.table`").
func Ident(name string) string {
	parts := SplitName(name)
	for i, p := range parts {
		parts[i] = Col(p)
	}
	return strings.Join(parts, ".")
}

// SplitName splits "db.table" or "`db`.`table`" into its parts (one or two).
func SplitName(name string) []string {
	var parts []string
	for len(name) > 0 {
		if name[0] == '`' {
			end := 1
			var b strings.Builder
			for end < len(name) {
				if name[end] == '`' {
					if end+1 < len(name) && name[end+1] == '`' {
						b.WriteByte('`')
						end += 2
						continue
					}
					break
				}
				b.WriteByte(name[end])
				end++
			}
			parts = append(parts, b.String())
			name = strings.TrimPrefix(name[min(end+1, len(name)):], ".")
			if len(parts) == 2 && name != "" {
				parts[1] += "." + name
				break
			}
			continue
		}
		p, rest, found := strings.Cut(name, ".")
		if len(parts) == 1 {
			// the second part takes the rest, dots and all
			parts = append(parts, name)
			break
		}
		parts = append(parts, p)
		if !found {
			break
		}
		name = rest
	}
	return parts
}

// Col quotes a single column name (dots are part of the name).
func Col(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// Table splits a table name into its database ("" when unqualified: the
// connection's) and its name.
func Table(name string) (db, table string) {
	parts := SplitName(name)
	switch len(parts) {
	case 0:
		return "", ""
	case 1:
		return "", parts[0]
	}
	return parts[0], parts[1]
}
