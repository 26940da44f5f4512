package meta

import (
	"encoding/json"
	"fmt"
)

func jsonUnmarshal(b []byte, into any) error {
	if err := json.Unmarshal(b, into); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return nil
}
