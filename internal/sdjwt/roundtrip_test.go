package sdjwt

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ssi-project/ssi/internal/errs"
)

func assertCode(t *testing.T, code string, err error) {
	t.Helper()
	if assert.Error(t, err) {
		assert.Equal(t, code, errs.CodeOf(err), "error: %v", err)
	}
}
