package clearmltest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func retentionServer(t *testing.T) (*Server, string) {
	s := newServer(t)
	old := time.Now().Add(-60 * 24 * time.Hour)
	for i := 0; i < 7; i++ {
		s.AddTask(Task{ID: fmt.Sprintf("t%d", 6-i), Company: "c1", Status: "completed", SystemTags: []string{"archived"}, StatusChanged: old})
	}
	s.AddTask(Task{ID: "live", Company: "c1", Status: "completed", StatusChanged: time.Now()})
	s.AddTask(Task{ID: "pub", Company: "", Status: "completed", SystemTags: []string{"archived"}, StatusChanged: old})
	return s, basic("AK1", "SK1")
}

func ids(a answer, key string) []string {
	var out []string
	for _, d := range a.Data[key].([]any) {
		out = append(out, d.(map[string]any)["id"].(string))
	}
	return out
}

// TestGetAllExFiltersAndScroll: filters, order_by id, scroll by offset
// (deleting while scrolling skips), expiry restarting silently, unknown
// fields and unparseable dates ignored.
func TestGetAllExFiltersAndScroll(t *testing.T) {
	s, auth := retentionServer(t)
	a := post(t, s.URL+"/tasks.get_all_ex", auth, `{"system_tags": ["archived"], "status_changed": ["<2100-01-01T00:00:00"], "order_by": ["id"], "allow_public": false, "scroll_id": null, "size": 3, "no_such_field": 1}`)
	if got := strings.Join(ids(a, "tasks"), ","); a.status != 200 || got != "t0,t1,t2" || a.Data["scroll_id"] == "" {
		t.Fatalf("first page %d %v", a.status, got)
	}
	sid := a.Data["scroll_id"].(string)
	// Delete the first page, then scroll on: the offset skips t3..t5.
	for _, id := range []string{"t0", "t1", "t2"} {
		post(t, s.URL+"/tasks.delete", auth, `{"task": "`+id+`"}`)
	}
	b := post(t, s.URL+"/tasks.get_all_ex", auth, `{"system_tags": ["archived"], "order_by": ["id"], "allow_public": false, "scroll_id": "`+sid+`", "size": 3}`)
	if got := strings.Join(ids(b, "tasks"), ","); got != "t6" {
		t.Fatalf("second page after deleting: %v", got)
	}
	// An expired scroll restarts from the beginning under a new id.
	s.SetRetentionClock(func() time.Time { return time.Now().Add(time.Hour) })
	c := post(t, s.URL+"/tasks.get_all_ex", auth, `{"order_by": ["id"], "allow_public": false, "scroll_id": "`+sid+`", "size": 2}`)
	if got := strings.Join(ids(c, "tasks"), ","); got != "live,t3" || c.Data["scroll_id"] == sid {
		t.Fatalf("expired scroll: %v %v", got, c.Data["scroll_id"])
	}
	s.SetRetentionClock(time.Now)
	// A date the server cannot parse is ignored: everything matches.
	d := post(t, s.URL+"/tasks.get_all_ex", auth, `{"status_changed": ["<yesterday"], "allow_public": true}`)
	if n := len(ids(d, "tasks")); n != 6 {
		t.Fatalf("unparseable date: %d tasks", n)
	}
	e := post(t, s.URL+"/tasks.get_all_ex", auth, `{"system_tags": ["-archived"], "only_fields": ["id", "status"]}`)
	if got := ids(e, "tasks"); len(got) != 1 || got[0] != "live" || len(e.Data["tasks"].([]any)[0].(map[string]any)) != 2 {
		t.Fatalf("-archived with only_fields: %v", e.Data["tasks"])
	}
}

// TestDeleteRules: force rules, urls with event_urls always empty, public
// tasks, delete_many's succeeded/failed shape, injected failures.
func TestDeleteRules(t *testing.T) {
	s, auth := retentionServer(t)
	s.AddTask(Task{ID: "run", Company: "c1", Status: "stopped", Artifacts: []Artifact{{Key: "a", URI: "s3://b/a"}, {Key: "i", URI: "s3://b/in", Mode: "input"}}})
	s.AddModel(Model{ID: "m1", Company: "c1", Task: "run", URI: "s3://b/m1"})
	s.AddModel(Model{ID: "m2", Company: "c1", Task: "run", URI: "s3://b/m2", Ready: true})
	s.AddEvents(Event{Task: "run", Type: DebugImage, URL: "s3://b/img"})
	if a := post(t, s.URL+"/tasks.delete", auth, `{"task": "run"}`); a.status != 400 || *a.Meta.ResultSubcode != 123 {
		t.Fatalf("unforced delete of a stopped task: %d/%d", a.status, *a.Meta.ResultSubcode)
	}
	a := post(t, s.URL+"/tasks.delete", auth, `{"task": "run", "force": true, "return_file_urls": true, "delete_external_artifacts": false}`)
	urls := a.Data["urls"].(map[string]any)
	if a.status != 200 || fmt.Sprint(urls["model_urls"]) != "[s3://b/m1]" || fmt.Sprint(urls["artifact_urls"]) != "[s3://b/a]" ||
		len(urls["event_urls"].([]any)) != 0 || a.Data["deleted_models"] != 1.0 || a.Data["updated_models"] != 1.0 {
		t.Fatalf("forced delete: %v", a.Data)
	}
	if len(s.ExternalDeletions()) != 0 || s.EventCount("run") != 0 || len(s.Models()) != 1 || s.Models()[0].Task != "__DELETED__run" {
		t.Fatalf("after delete: external %v, models %v", s.ExternalDeletions(), s.Models())
	}
	if a := post(t, s.URL+"/tasks.delete", auth, `{"task": "pub", "force": true}`); a.status != 403 || *a.Meta.ResultSubcode != 21 {
		t.Fatalf("public task: %d", a.status)
	}
	if a := post(t, s.URL+"/tasks.delete", auth, `{"task": "run"}`); a.status != 400 || *a.Meta.ResultSubcode != 101 {
		t.Fatalf("gone task: %d/%d", a.status, *a.Meta.ResultSubcode)
	}
	m := post(t, s.URL+"/tasks.delete_many", auth, `{"ids": ["t0", "live", "nope"]}`)
	failed := m.Data["failed"].([]any)
	if len(m.Data["succeeded"].([]any)) != 1 || len(failed) != 2 || fmt.Sprint(failed[0].(map[string]any)["error"].(map[string]any)["codes"]) != "[400 123]" {
		t.Fatalf("delete_many: %v", m.Data)
	}
	// delete_external_artifacts defaults to true: the server's worker gets the files.
	s.AddTask(Task{ID: "ext", Company: "c1", Status: "created", Artifacts: []Artifact{{Key: "a", URI: "s3://b/x"}}})
	post(t, s.URL+"/tasks.delete", auth, `{"task": "ext"}`)
	if got := s.ExternalDeletions(); len(got) != 1 {
		t.Fatalf("external: %v", got)
	}
	s.FailEndpoint("tasks.delete", 500, 1)
	if a := post(t, s.URL+"/tasks.delete", auth, `{"task": "t1"}`); a.status != 500 || !s.HasTask("t1") {
		t.Fatalf("injected failure: %d", a.status)
	}
	if a := post(t, s.URL+"/tasks.delete", auth, `{"task": "t1"}`); a.status != 200 || s.HasTask("t1") {
		t.Fatalf("after the injected failure: %d", a.status)
	}
	if s.Calls("tasks.delete") != 7 {
		t.Fatalf("calls %d", s.Calls("tasks.delete"))
	}
}

// TestTaskEventsScroll: pages complete their last iteration, and a page
// that ends at iteration 0 makes the next one start over.
func TestTaskEventsScroll(t *testing.T) {
	s, auth := retentionServer(t)
	for it := 0; it < 3; it++ {
		for v := 0; v < 4; v++ {
			s.AddEvents(Event{Task: "t0", Type: DebugImage, Iter: it, Variant: fmt.Sprint(v), URL: fmt.Sprintf("s3://b/%d/%d", it, v)})
		}
	}
	s.AddEvents(Event{Task: "t1", Type: Plot, Iter: 0, SourceURLs: []string{"s3://b/p.png"}})
	a := post(t, s.URL+"/events.get_task_events", auth, `{"task": "t0", "event_type": "training_debug_image", "order": "asc", "batch_size": 5}`)
	if a.Data["returned"] != 8.0 || a.Data["total"] != 12.0 {
		t.Fatalf("first page: %v of %v", a.Data["returned"], a.Data["total"])
	}
	b := post(t, s.URL+"/events.get_task_events", auth, `{"task": "t0", "scroll_id": "`+a.Data["scroll_id"].(string)+`"}`)
	c := post(t, s.URL+"/events.get_task_events", auth, `{"task": "t0", "scroll_id": "`+a.Data["scroll_id"].(string)+`"}`)
	if b.Data["returned"] != 4.0 || c.Data["returned"] != 0.0 {
		t.Fatalf("next pages: %v, %v", b.Data["returned"], c.Data["returned"])
	}
	p := post(t, s.URL+"/events.get_task_events", auth, `{"task": "t1", "event_type": "plot", "order": "asc"}`)
	for i := 0; i < 3; i++ {
		q := post(t, s.URL+"/events.get_task_events", auth, `{"task": "t1", "scroll_id": "`+p.Data["scroll_id"].(string)+`"}`)
		ev := q.Data["events"].([]any)
		if q.Data["returned"] != 1.0 || fmt.Sprint(ev[0].(map[string]any)["source_urls"]) != "[s3://b/p.png]" {
			t.Fatalf("iteration-0 page %d: %v", i, q.Data)
		}
	}
	if a := post(t, s.URL+"/models.get_all", auth, `{"task": ["t0"]}`); a.status != 200 || len(a.Data["models"].([]any)) != 0 {
		t.Fatalf("models.get_all: %v", a.Data)
	}
	if a := post(t, s.URL+"/events.get_task_events", "", `{"task": "t0"}`); a.status != 401 {
		t.Fatalf("no credentials: %d", a.status)
	}
}
