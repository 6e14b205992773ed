package modernch

import (
	"bytes"
	"encoding/json"
	"fmt"

	chdb "github.com/chdb-io/chdb-go/chdb-purego"
)

// LibraryEnv names the variable that gives libchdb.so's path. chdb-go reads
// it when the test binary starts: without it the binary panics before any
// test runs, which `go test` reports as a failure, never a skip.
const LibraryEnv = "CHDB_LIB_PATH"

// Session is a chDB session: ClickHouse inside this process, its data in a
// folder. chDB allows one session per process.
type Session struct {
	conn chdb.ChdbConn
}

// Open starts a session whose data lives in dir.
func Open(dir string) (*Session, error) {
	conn, err := chdb.NewConnectionFromConnString(dir)
	if err != nil {
		return nil, fmt.Errorf("open chDB session in %s: %w", dir, err)
	}
	s := &Session{conn: conn}
	// NaN and infinities as "nan", "inf" rather than null, so that a
	// division by zero is not mistaken for a NULL.
	if err := s.Exec("SET output_format_json_quote_denormals = 1"); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close ends the session.
func (s *Session) Close() { s.conn.Close() }

// Exec runs a statement that returns no rows.
func (s *Session) Exec(sql string) error {
	_, err := s.run(sql, "TabSeparated")
	return err
}

// Query runs a SELECT and returns its rows as Table cells.
func (s *Session) Query(sql string) (Table, error) {
	out, err := s.run(sql, "JSONCompact")
	if err != nil {
		return Table{}, err
	}
	var doc struct {
		Meta []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"meta"`
		Data [][]any `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return Table{}, fmt.Errorf("decode chDB result of %q: %w", sql, err)
	}
	t := Table{}
	for _, m := range doc.Meta {
		t.Columns = append(t.Columns, m.Name)
	}
	for _, row := range doc.Data {
		if len(row) != len(doc.Meta) {
			return Table{}, fmt.Errorf("chDB row %v has %d values for %d columns", row, len(row), len(doc.Meta))
		}
		cells := make([]any, len(row))
		for i, v := range row {
			c, err := jsonCell(v, doc.Meta[i].Type)
			if err != nil {
				return Table{}, fmt.Errorf("column %s: %w", doc.Meta[i].Name, err)
			}
			cells[i] = c
		}
		t.Rows = append(t.Rows, cells)
	}
	return t, nil
}

func (s *Session) run(sql, format string) ([]byte, error) {
	res, err := s.conn.Query(sql, format)
	if err != nil {
		return nil, fmt.Errorf("chDB: %w", err)
	}
	if res == nil {
		return nil, nil
	}
	defer res.Free()
	if err := res.Error(); err != nil {
		return nil, fmt.Errorf("chDB: %w", err)
	}
	return bytes.Clone(res.Buf()), nil
}
