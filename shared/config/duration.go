package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// maxSeconds is the largest whole number of seconds a time.Duration holds.
const maxSeconds = int64(math.MaxInt64 / time.Second)

// Duration accepts a Go duration string ("15m") or whole seconds (900).
type Duration struct {
	d   time.Duration
	set bool
}

// NewDuration returns a set Duration.
func NewDuration(d time.Duration) Duration { return Duration{d: d, set: true} }

// D is the duration.
func (d Duration) D() time.Duration { return d.d }

// UnmarshalJSON takes "15m", "900", or 900.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case float64:
		if x != math.Trunc(x) {
			return fmt.Errorf("%v is not a whole number of seconds", x)
		}
		if x > float64(maxSeconds) || x < -float64(maxSeconds) {
			return fmt.Errorf("%v seconds is out of range", x)
		}
		*d = Duration{d: time.Duration(x) * time.Second, set: true}
	case string:
		if n, err := strconv.ParseInt(x, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
			// Multiplying by time.Second must not wrap around to a small
			// duration that passes validation.
			if err != nil || n > maxSeconds || n < -maxSeconds {
				return fmt.Errorf("%q seconds is out of range", x)
			}
			*d = Duration{d: time.Duration(n) * time.Second, set: true}
			return nil
		}
		p, err := time.ParseDuration(x)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as \"15m\" or a number of seconds", x)
		}
		*d = Duration{d: p, set: true}
	default:
		return fmt.Errorf("want a duration such as \"15m\" or a number of seconds")
	}
	return nil
}

// MarshalJSON writes the Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.d.String()) }
