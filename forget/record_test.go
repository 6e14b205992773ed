package forget

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateUserIDNamesWhatIsWrong(t *testing.T) {
	cases := []struct {
		name, id, want string
	}{
		{"an ordinary id", "c-42", ""},
		{"an e-mail address", "ana@example.com", ""},
		{"empty", "", "bad user id: empty"},
		{"too long", strings.Repeat("x", MaxIDBytes+1), "bad user id: 1025 bytes, at most 1024"},
		{"not UTF-8", "c-\xff", "bad user id: not valid UTF-8"},
		{"a NUL", "c-42\x00", "bad user id: holds the control character U+0000"},
		{"a newline", "c-42\nadmin", "bad user id: holds the control character U+000A"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateUserID(tc.id)
			if tc.want == "" {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want || !errors.Is(err, ErrBadUserID) {
				t.Errorf("error %v, want %q wrapping ErrBadUserID", err, tc.want)
			}
		})
	}
}

func TestRecordsWithoutAHashAreRefused(t *testing.T) {
	good := `{"idHash":"` + Hash("c-42") + `","linked":false,"forgottenAt":"2026-11-23T10:00:00Z"}`
	if r, err := parseRecord([]byte(good)); err != nil || r.IDHash != Hash("c-42") {
		t.Fatalf("a record of the writer's shape: %+v, %v", r, err)
	}
	for _, bad := range []string{`{"idHash":"c-42"}`, `{"idHash":"` + strings.Repeat("z", 64) + `"}`, `not json`, `{}`} {
		if _, err := parseRecord([]byte(bad)); err == nil {
			t.Errorf("%s was taken as a forget record", bad)
		}
	}
}
