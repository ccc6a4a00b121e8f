package azurefunc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// TimerInfo is a timer trigger's binding value.
type TimerInfo struct {
	Schedule struct {
		AdjustForDST bool `json:"AdjustForDST"`
	} `json:"Schedule"`
	ScheduleStatus *struct {
		Last        string `json:"Last"`
		Next        string `json:"Next"`
		LastUpdated string `json:"LastUpdated"`
	} `json:"ScheduleStatus"`
	// IsPastDue: the host missed the scheduled time (it was down) and runs
	// the function late.
	IsPastDue bool `json:"IsPastDue"`
}

// Timer extracts the timer bound as binding; the host sends it as an object
// or as a JSON string holding one.
func (inv Invocation) Timer(binding string) (TimerInfo, error) {
	raw, ok := inv.Data[binding]
	if !ok || len(raw) == 0 || string(raw) == "null" {
		return TimerInfo{}, fmt.Errorf("azurefunc: the invocation has no Data.%s", binding)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	var ti TimerInfo
	if err := json.Unmarshal(raw, &ti); err != nil {
		return TimerInfo{}, fmt.Errorf("azurefunc: Data.%s is not a timer: %v", binding, err)
	}
	return ti, nil
}

// TimerTrigger answers the host's invocations of a timer-triggered function
// whose binding is named binding: 200 when fn returns nil, 500 (a failed
// invocation in the host's logs; a timer is not retried, the next tick
// comes anyway) otherwise. Requests from outside are refused as for
// QueueTrigger.
func TimerTrigger(binding string, fn func(context.Context, TimerInfo) error) http.Handler {
	return bindingTrigger(1<<20, func(inv Invocation) (TimerInfo, error) { return inv.Timer(binding) }, fn)
}
