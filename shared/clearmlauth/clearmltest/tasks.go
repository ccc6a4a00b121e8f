package clearmltest

// The retention calls (docs/sweep.md#clearml-calls): tasks.get_all_ex,
// tasks.delete, tasks.delete_many, events.get_task_events, models.get_all
// and projects.get_all_ex, with the server's shapes and its traps: filters
// it does not know and dates it cannot parse are ignored silently, paging
// and scrolling are by offset (deleting while paging skips tasks), an
// expired scroll id restarts from the beginning, the events scroll restarts
// after a page that ends at iteration 0, and tasks.delete returns no event
// URLs. Knobs: FailEndpoint injects failures per endpoint; Calls counts
// every request.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Task is a ClearML task, reduced to the fields the retention calls read.
// Times left zero are absent from the document (and match no date filter).
type Task struct {
	ID, Name, Project string
	// Company is the owner; empty makes the task public (an example task
	// every company sees and none may delete).
	Company, User string
	// Status: created, queued, in_progress, stopped, completed, published,
	// failed, closed.
	Status                                                  string
	SystemTags                                              []string // "archived", "hidden", ...
	Tags                                                    []string
	Parent                                                  string
	Created, Started, StatusChanged, LastChange, LastUpdate time.Time
	Artifacts                                               []Artifact
	InputModels                                             []string // ids of the models the task uses as input
}

// Artifact is one entry of a task's execution.artifacts.
type Artifact struct {
	Key, Type, URI string
	Mode           string // output (the default) or input
}

// Model is a ClearML model; Ready means published.
type Model struct {
	ID, Name, Company, Task, URI string
	Ready                        bool
}

// Event is a debug image (Type training_debug_image, URL) or a plot (Type
// plot, SourceURLs) of a task.
type Event struct {
	Task, Type, Metric, Variant string
	Iter                        int
	Timestamp                   int64
	URL                         string
	SourceURLs                  []string
}

// Project is a ClearML project; Name is the full path ("Team/Sub").
type Project struct {
	ID, Name, Company string
}

// Event types.
const (
	DebugImage = "training_debug_image"
	Plot       = "plot"
)

// scrollTTL is how long the server keeps a scroll's state.
const scrollTTL = 600 * time.Second

// maxPage is the server's page size cap.
const maxPage = 500

type retention struct {
	mu       sync.Mutex
	tasks    []*Task // in insertion order: the default order is not by id
	models   []*Model
	events   []Event
	projects []Project
	scrolls  map[string]*scroll
	evScroll map[string]*eventScroll
	failures map[string]*injected
	external []string // URLs the server's own deletion worker was given
	ignored  map[string]bool
	now      func() time.Time
}

type scroll struct {
	offset  int
	expires time.Time
}

type eventScroll struct {
	task, typ, order string
	batch            int
	lastIter         int // 0: no position
}

type injected struct {
	status int // 0: drop the connection
	times  int // <0: until cleared
}

func (s *Server) ret() *retention {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retention == nil {
		s.retention = &retention{scrolls: map[string]*scroll{}, evScroll: map[string]*eventScroll{}, failures: map[string]*injected{}, now: time.Now}
	}
	return s.retention
}

// AddTask adds (or replaces) a task.
func (s *Server) AddTask(t Task) {
	r := s.ret()
	r.mu.Lock()
	defer r.mu.Unlock()
	c := t
	for i, old := range r.tasks {
		if old.ID == t.ID {
			r.tasks[i] = &c
			return
		}
	}
	r.tasks = append(r.tasks, &c)
}

// AddModel adds (or replaces) a model.
func (s *Server) AddModel(m Model) {
	r := s.ret()
	r.mu.Lock()
	defer r.mu.Unlock()
	c := m
	for i, old := range r.models {
		if old.ID == m.ID {
			r.models[i] = &c
			return
		}
	}
	r.models = append(r.models, &c)
}

// AddEvents adds events.
func (s *Server) AddEvents(ev ...Event) {
	r := s.ret()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev...)
}

// AddProject adds a project.
func (s *Server) AddProject(p Project) {
	r := s.ret()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.projects = append(r.projects, p)
}

// HasTask reports whether a task exists.
func (s *Server) HasTask(id string) bool {
	r := s.ret()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.task(id) != nil
}

// TaskIDs lists the tasks that exist, sorted.
func (s *Server) TaskIDs() []string {
	r := s.ret()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, t := range r.tasks {
		out = append(out, t.ID)
	}
	sort.Strings(out)
	return out
}

// Models lists the models that exist, sorted by id.
func (s *Server) Models() []Model {
	r := s.ret()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Model
	for _, m := range r.models {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// EventCount is how many events a task still has.
func (s *Server) EventCount(task string) int {
	r := s.ret()
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Task == task {
			n++
		}
	}
	return n
}

// ExternalDeletions are the URLs tasks.delete handed to the server's own
// deletion worker (delete_external_artifacts: true).
func (s *Server) ExternalDeletions() []string {
	r := s.ret()
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.external)
}

// FailEndpoint makes the next `times` calls of endpoint (every call when
// times < 0) fail with status in the envelope (500 with a server error
// subcode, 400 with 123, ...) or, with status 0, drop the connection as a
// crashed server does. FailEndpoint(endpoint, 0, 0) clears it.
func (s *Server) FailEndpoint(endpoint string, status, times int) {
	r := s.ret()
	r.mu.Lock()
	defer r.mu.Unlock()
	if times == 0 {
		delete(r.failures, endpoint)
		return
	}
	r.failures[endpoint] = &injected{status: status, times: times}
}

// IgnoreFilter makes tasks.get_all_ex ignore a filter field, as the server
// silently does with a field it does not know or a date it cannot parse.
func (s *Server) IgnoreFilter(field string) {
	r := s.ret()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ignored == nil {
		r.ignored = map[string]bool{}
	}
	r.ignored[field] = true
}

// SetRetentionClock replaces the clock of scroll expiry (tests move it).
func (s *Server) SetRetentionClock(now func() time.Time) {
	r := s.ret()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = now
}

// serveRetention answers the retention endpoints and applies the injected
// failures of any endpoint; false leaves the call to the main switch.
func (s *Server) serveRetention(c *call, r *http.Request) bool {
	rt := s.ret()
	rt.mu.Lock()
	f := rt.failures[c.name]
	var fail *injected
	if f != nil {
		fail = &injected{status: f.status}
		if f.times > 0 {
			if f.times--; f.times == 0 {
				delete(rt.failures, c.name)
			}
		}
	}
	rt.mu.Unlock()
	if fail != nil {
		if fail.status == 0 {
			if hj, ok := c.w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return true
				}
			}
			panic(http.ErrAbortHandler)
		}
		sub := 0
		if fail.status == 400 {
			sub = 123
		}
		c.fail(fail.status, sub, "injected failure", nil)
		return true
	}
	var h func(*call, identity, map[string]any)
	switch c.name {
	case "tasks.get_all_ex":
		h = rt.getAllTasks
	case "tasks.delete":
		h = rt.deleteTask
	case "tasks.delete_many":
		h = rt.deleteMany
	case "events.get_task_events":
		h = rt.getTaskEvents
	case "models.get_all":
		h = rt.getAllModels
	case "projects.get_all_ex":
		h = rt.getAllProjects
	default:
		return false
	}
	id, e := s.authenticate(r)
	if e != nil {
		c.failWith(e)
		return true
	}
	body := map[string]any{}
	if !c.decode(r, &body) {
		return true
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	h(c, id, body)
	return true
}

func (rt *retention) task(id string) *Task {
	for _, t := range rt.tasks {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// visible: the caller's company's tasks, and public ones when allowed.
func visible(company, owner string, allowPublic bool) bool {
	return owner == company || (owner == "" && allowPublic)
}

// strList reads a list of strings (a single string counts as one).
func strList(v any) ([]string, bool) {
	switch x := v.(type) {
	case string:
		return []string{x}, true
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

func boolField(b map[string]any, k string, def bool) bool {
	if v, ok := b[k].(bool); ok {
		return v
	}
	return def
}

func intField(b map[string]any, k string) (int, bool) {
	if v, ok := b[k].(float64); ok {
		return int(v), true
	}
	return 0, false
}

// tagsMatch is ClearML's tags filter: any of the plain entries, none of the
// "-" ones.
func tagsMatch(filter, have []string) bool {
	found, noPlain := false, true
	for _, f := range filter {
		if neg, ok := strings.CutPrefix(f, "-"); ok {
			if slices.Contains(have, neg) {
				return false
			}
			continue
		}
		noPlain = false
		if slices.Contains(have, f) {
			found = true
		}
	}
	return noPlain || found
}

var dateOpRE = regexp.MustCompile(`^(<=|>=|<|>)(.+)$`)

func parseDate(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// dateMatch applies a date filter; ok is false when the server would ignore
// the filter (a date it cannot parse, a shape it does not know).
func dateMatch(v any, have time.Time) (match, ok bool) {
	list, isList := v.([]any)
	if !isList {
		return false, false
	}
	cmp := func(op string, t time.Time) bool {
		if have.IsZero() {
			return false
		}
		switch op {
		case "<":
			return have.Before(t)
		case "<=":
			return !have.After(t)
		case ">":
			return have.After(t)
		}
		return !have.Before(t)
	}
	switch len(list) {
	case 1:
		s, _ := list[0].(string)
		m := dateOpRE.FindStringSubmatch(s)
		if m == nil {
			return false, false
		}
		t, ok := parseDate(m[2])
		if !ok {
			return false, false
		}
		return cmp(m[1], t), true
	case 2:
		match = true
		for i, op := range []string{">=", "<="} {
			if list[i] == nil {
				continue
			}
			s, _ := list[i].(string)
			t, ok := parseDate(s)
			if !ok {
				return false, false
			}
			match = match && cmp(op, t)
		}
		return match, true
	}
	return false, false
}

// subprojects returns ids plus every project below them (by full name).
func (rt *retention) subprojects(ids []string) []string {
	out := slices.Clone(ids)
	for _, id := range ids {
		var name string
		for _, p := range rt.projects {
			if p.ID == id {
				name = p.Name
			}
		}
		if name == "" {
			continue
		}
		for _, p := range rt.projects {
			if strings.HasPrefix(p.Name, name+"/") {
				out = append(out, p.ID)
			}
		}
	}
	return out
}

func (rt *retention) projectName(id string) string {
	for _, p := range rt.projects {
		if p.ID == id {
			return p.Name
		}
	}
	return ""
}

func (rt *retention) taskMatches(t *Task, company string, b map[string]any) bool {
	if !visible(company, t.Company, boolField(b, "allow_public", true)) {
		return false
	}
	if !boolField(b, "search_hidden", false) && slices.Contains(t.SystemTags, "hidden") {
		return false
	}
	if ids, ok := strList(b["id"]); ok && !slices.Contains(ids, t.ID) {
		return false
	}
	if st, ok := strList(b["status"]); ok && len(st) > 0 && !tagsMatch(st, []string{t.Status}) {
		return false
	}
	if tags, ok := strList(b["system_tags"]); ok && len(tags) > 0 && !tagsMatch(tags, t.SystemTags) {
		return false
	}
	if tags, ok := strList(b["tags"]); ok && len(tags) > 0 && !tagsMatch(tags, t.Tags) {
		return false
	}
	if ps, ok := strList(b["project"]); ok && len(ps) > 0 {
		if boolField(b, "include_subprojects", false) {
			ps = rt.subprojects(ps)
		}
		if !slices.Contains(ps, t.Project) {
			return false
		}
	}
	if ps, ok := strList(b["parent"]); ok && !slices.Contains(ps, t.Parent) {
		return false
	}
	if ms, ok := strList(b["models.input.model"]); ok {
		found := false
		for _, m := range ms {
			found = found || slices.Contains(t.InputModels, m)
		}
		if !found {
			return false
		}
	}
	for field, have := range map[string]time.Time{
		"created": t.Created, "started": t.Started, "status_changed": t.StatusChanged,
		"last_change": t.LastChange, "last_update": t.LastUpdate,
	} {
		if v, present := b[field]; present {
			if match, ok := dateMatch(v, have); ok && !match {
				return false
			}
		}
	}
	return true
}

func isoTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000+00:00")
}

func (rt *retention) taskDoc(t *Task) map[string]any {
	arts := []any{}
	for _, a := range t.Artifacts {
		mode := a.Mode
		if mode == "" {
			mode = "output"
		}
		arts = append(arts, map[string]any{"key": a.Key, "type": a.Type, "mode": mode, "uri": a.URI,
			"hash": "", "content_size": 1, "timestamp": 0})
	}
	inputs := []any{}
	for _, m := range t.InputModels {
		inputs = append(inputs, map[string]any{"name": "input", "model": m})
	}
	var project any
	if t.Project != "" {
		project = map[string]any{"id": t.Project, "name": rt.projectName(t.Project)}
	}
	doc := map[string]any{
		"id": t.ID, "name": t.Name, "company": map[string]any{"id": t.Company}, "user": map[string]any{"id": t.User},
		"status": t.Status, "system_tags": nonNil(t.SystemTags), "tags": nonNil(t.Tags), "type": "training",
		"project": project, "parent": nilIfEmpty(t.Parent),
		"created": isoTime(t.Created), "started": isoTime(t.Started), "status_changed": isoTime(t.StatusChanged),
		"last_change": isoTime(t.LastChange), "last_update": isoTime(t.LastUpdate),
		"execution": map[string]any{"artifacts": arts, "queue": nil, "parameters": map[string]any{}},
		"models":    map[string]any{"input": inputs, "output": []any{}},
	}
	return doc
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// project keeps only_fields (dotted paths); "id" is always returned.
func project(doc map[string]any, fields []string) map[string]any {
	if len(fields) == 0 {
		return doc
	}
	out := map[string]any{"id": doc["id"]}
	for _, f := range fields {
		parts := strings.Split(f, ".")
		src, dst := doc, out
		for i, p := range parts {
			v, ok := src[p]
			if !ok {
				break
			}
			if i == len(parts)-1 {
				dst[p] = v
				break
			}
			sub, ok := v.(map[string]any)
			if !ok {
				dst[p] = v
				break
			}
			next, _ := dst[p].(map[string]any)
			if next == nil {
				next = map[string]any{}
				dst[p] = next
			}
			src, dst = sub, next
		}
	}
	return out
}

// page applies ClearML's paging: scroll_id/size, page/page_size, or the
// first 500. The scroll's state is an offset into the current result, so a
// caller that deletes while scrolling skips what moved up.
func (rt *retention) page(b map[string]any, n int) (from, to int, scrollID any) {
	size, hasSize := intField(b, "size")
	if sid, present := b["scroll_id"]; present || (hasSize && b["page"] == nil) {
		if !hasSize || size <= 0 || size > maxPage {
			size = maxPage
		}
		now := rt.now()
		st, _ := sid.(string)
		sc := rt.scrolls[st]
		if sc == nil || now.After(sc.expires) {
			// Unknown or expired: silently from the beginning, under a new id.
			sc = &scroll{}
			st = randomHex(16)
			rt.scrolls[st] = sc
		}
		from = min(sc.offset, n)
		to = min(from+size, n)
		sc.offset = to
		sc.expires = now.Add(scrollTTL)
		return from, to, st
	}
	ps, ok := intField(b, "page_size")
	if !ok || ps <= 0 || ps > maxPage {
		ps = maxPage
	}
	p, _ := intField(b, "page")
	from = min(max(p, 0)*ps, n)
	return from, min(from+ps, n), nil
}

func (rt *retention) getAllTasks(c *call, id identity, b map[string]any) {
	for f := range rt.ignored {
		delete(b, f)
	}
	var match []*Task
	for _, t := range rt.tasks {
		if rt.taskMatches(t, id.Company, b) {
			match = append(match, t)
		}
	}
	if fields, _ := strList(b["order_by"]); len(fields) > 0 {
		for _, f := range fields {
			if strings.TrimLeft(f, "-+") == "id" {
				desc := strings.HasPrefix(f, "-")
				sort.SliceStable(match, func(i, j int) bool {
					if desc {
						return match[i].ID > match[j].ID
					}
					return match[i].ID < match[j].ID
				})
				break
			}
		}
	}
	from, to, sid := rt.page(b, len(match))
	only, _ := strList(b["only_fields"])
	docs := []any{}
	for _, t := range match[from:to] {
		docs = append(docs, project(rt.taskDoc(t), only))
	}
	data := map[string]any{"tasks": docs}
	if sid != nil {
		data["scroll_id"] = sid
	}
	c.ok(data)
}

type apiErr struct {
	code, sub int
	msg       string
}

var (
	errInvalidTask     = &apiErr{400, 101, "Invalid task id"}
	errNoWritePublic   = &apiErr{403, 21, "No write permission for public entities"}
	errValidationError = &apiErr{400, 12, "Validation error"}
)

// deleteOne is clearml-server's task deletion with its force rules.
func (rt *retention) deleteOne(company, taskID string, b map[string]any) (map[string]any, *apiErr) {
	t := rt.task(taskID)
	if t == nil || (t.Company != company && t.Company != "") {
		return nil, &apiErr{errInvalidTask.code, errInvalidTask.sub, fmt.Sprintf("Invalid task id (id=%s)", taskID)}
	}
	if t.Company == "" {
		return nil, errNoWritePublic
	}
	force := boolField(b, "force", false)
	archived := slices.Contains(t.SystemTags, "archived")
	if !force && t.Status != "created" && !archived {
		return nil, &apiErr{400, 123, "Task cannot be deleted (due to status, use force=True)"}
	}
	var published []string
	for _, ch := range rt.tasks {
		if ch.Parent == t.ID && ch.Status == "published" {
			published = append(published, ch.ID)
		}
	}
	if !force && len(published) > 0 {
		return nil, &apiErr{400, 123, "Task cannot be deleted (has published children, use force=True)"}
	}
	for _, m := range rt.models {
		if m.Task == t.ID && m.Ready && !force {
			return nil, &apiErr{400, 123, "Task cannot be deleted (has published models, use force=True)"}
		}
	}
	deleteModels := boolField(b, "delete_output_models", true)
	var modelURLs, artifactURLs []string
	updatedModels, deletedModels := 0, 0
	var keep []*Model
	for _, m := range rt.models {
		if m.Task != t.ID {
			keep = append(keep, m)
			continue
		}
		used := false
		for _, o := range rt.tasks {
			used = used || (o.ID != t.ID && slices.Contains(o.InputModels, m.ID))
		}
		if m.Ready || used || !deleteModels {
			m.Task = "__DELETED__" + t.ID
			updatedModels++
			keep = append(keep, m)
			continue
		}
		deletedModels++
		if m.URI != "" {
			modelURLs = append(modelURLs, m.URI)
		}
	}
	rt.models = keep
	for _, a := range t.Artifacts {
		if a.Mode == "" || a.Mode == "output" {
			artifactURLs = append(artifactURLs, a.URI)
		}
	}
	updatedChildren := 0
	for _, ch := range rt.tasks {
		if ch.Parent == t.ID {
			ch.Parent = ""
			updatedChildren++
		}
	}
	if boolField(b, "delete_external_artifacts", true) {
		// The server queues the task's files (events included) for its
		// own deletion worker.
		rt.external = append(rt.external, modelURLs...)
		rt.external = append(rt.external, artifactURLs...)
		for _, e := range rt.events {
			if e.Task == t.ID {
				if e.URL != "" {
					rt.external = append(rt.external, e.URL)
				}
				rt.external = append(rt.external, e.SourceURLs...)
			}
		}
	}
	var events []Event
	for _, e := range rt.events {
		if e.Task != t.ID {
			events = append(events, e)
		}
	}
	rt.events = events
	rt.tasks = slices.DeleteFunc(rt.tasks, func(x *Task) bool { return x.ID == t.ID })
	out := map[string]any{"deleted": 1, "updated_children": updatedChildren, "updated_models": updatedModels, "deleted_models": deletedModels}
	if boolField(b, "return_file_urls", false) {
		// Since server v1.17 event_urls is always empty.
		out["urls"] = map[string]any{"model_urls": nonNil(modelURLs), "artifact_urls": nonNil(artifactURLs), "event_urls": []string{}}
	}
	return out, nil
}

func (rt *retention) deleteTask(c *call, id identity, b map[string]any) {
	taskID, ok := b["task"].(string)
	if !ok || taskID == "" {
		c.fail(400, 11, "missing required fields (task)", nil)
		return
	}
	out, e := rt.deleteOne(id.Company, taskID, b)
	if e != nil {
		c.fail(e.code, e.sub, e.msg, map[string]any{"task": taskID})
		return
	}
	c.ok(out)
}

func (rt *retention) deleteMany(c *call, id identity, b map[string]any) {
	ids, ok := strList(b["ids"])
	if !ok || len(ids) == 0 {
		c.fail(errValidationError.code, errValidationError.sub, "Validation error (ids: missing or empty)", nil)
		return
	}
	succeeded, failed := []any{}, []any{}
	for _, taskID := range ids {
		out, e := rt.deleteOne(id.Company, taskID, b)
		if e != nil {
			failed = append(failed, map[string]any{"id": taskID, "error": map[string]any{
				"codes": []int{e.code, e.sub}, "msg": e.msg, "data": map[string]any{"task": taskID}}})
			continue
		}
		out["id"] = taskID
		succeeded = append(succeeded, out)
	}
	c.ok(map[string]any{"succeeded": succeeded, "failed": failed})
}

// getTaskEvents scrolls a task's events of one type. The position kept is
// the last iteration returned, and 0 means "no position": a page ending at
// iteration 0 makes the next one start over. A page is completed to the end
// of its last iteration, so it can exceed batch_size.
func (rt *retention) getTaskEvents(c *call, id identity, b map[string]any) {
	var st *eventScroll
	sid, _ := b["scroll_id"].(string)
	if sid != "" {
		st = rt.evScroll[sid]
	}
	if st == nil {
		taskID, _ := b["task"].(string)
		if taskID == "" {
			c.fail(400, 11, "missing required fields (task)", nil)
			return
		}
		typ, _ := b["event_type"].(string)
		order, _ := b["order"].(string)
		if order != "desc" {
			order = "asc"
		}
		batch, ok := intField(b, "batch_size")
		if !ok || batch <= 0 {
			batch = 500
		}
		st = &eventScroll{task: taskID, typ: typ, order: order, batch: batch}
		sid = randomHex(16)
		rt.evScroll[sid] = st
	}
	t := rt.task(st.task)
	if t == nil || !visible(id.Company, t.Company, true) {
		c.fail(400, 101, fmt.Sprintf("Invalid task id (id=%s)", st.task), nil)
		return
	}
	var all []Event
	for _, e := range rt.events {
		if e.Task == st.task && (st.typ == "" || e.Type == st.typ) {
			all = append(all, e)
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Iter != all[j].Iter {
			if st.order == "desc" {
				return all[i].Iter > all[j].Iter
			}
			return all[i].Iter < all[j].Iter
		}
		return all[i].Timestamp < all[j].Timestamp
	})
	var rest []Event
	for _, e := range all {
		switch {
		case st.lastIter == 0:
			rest = append(rest, e)
		case st.order == "asc" && e.Iter > st.lastIter, st.order == "desc" && e.Iter < st.lastIter:
			rest = append(rest, e)
		}
	}
	n := min(st.batch, len(rest))
	for n > 0 && n < len(rest) && rest[n].Iter == rest[n-1].Iter {
		n++
	}
	page := rest[:n]
	if n > 0 {
		st.lastIter = page[n-1].Iter
	}
	docs := []any{}
	for _, e := range page {
		d := map[string]any{"task": e.Task, "type": e.Type, "iter": e.Iter, "metric": e.Metric, "variant": e.Variant,
			"timestamp": e.Timestamp, "worker": "worker-1"}
		if e.Type == DebugImage {
			d["url"] = e.URL
			d["key"] = e.Metric + "/" + e.Variant
		}
		if e.Type == Plot {
			plot, _ := json.Marshal(map[string]any{"data": []any{}, "layout": map[string]any{"images": e.SourceURLs}})
			d["plot_str"] = string(plot)
			d["source_urls"] = nonNil(e.SourceURLs)
		}
		docs = append(docs, d)
	}
	c.ok(map[string]any{"events": docs, "returned": len(docs), "total": len(all), "scroll_id": sid})
}

func (rt *retention) getAllModels(c *call, id identity, b map[string]any) {
	var match []*Model
	for _, m := range rt.models {
		if !visible(id.Company, m.Company, boolField(b, "allow_public", true)) {
			continue
		}
		if ts, ok := strList(b["task"]); ok && !slices.Contains(ts, m.Task) {
			continue
		}
		if ids, ok := strList(b["id"]); ok && !slices.Contains(ids, m.ID) {
			continue
		}
		if r, ok := b["ready"].(bool); ok && r != m.Ready {
			continue
		}
		match = append(match, m)
	}
	from, to, sid := rt.page(b, len(match))
	only, _ := strList(b["only_fields"])
	docs := []any{}
	for _, m := range match[from:to] {
		doc := map[string]any{"id": m.ID, "name": m.Name, "uri": m.URI, "ready": m.Ready, "task": m.Task,
			"company": map[string]any{"id": m.Company}, "framework": "PyTorch", "system_tags": []string{}}
		docs = append(docs, project(doc, only))
	}
	data := map[string]any{"models": docs}
	if sid != nil {
		data["scroll_id"] = sid
	}
	c.ok(data)
}

func (rt *retention) getAllProjects(c *call, id identity, b map[string]any) {
	var match []Project
	for _, p := range rt.projects {
		if visible(id.Company, p.Company, boolField(b, "allow_public", true)) {
			match = append(match, p)
		}
	}
	from, to, sid := rt.page(b, len(match))
	docs := []any{}
	for _, p := range match[from:to] {
		docs = append(docs, map[string]any{"id": p.ID, "name": p.Name, "basename": p.Name[strings.LastIndex(p.Name, "/")+1:]})
	}
	data := map[string]any{"projects": docs}
	if sid != nil {
		data["scroll_id"] = sid
	}
	c.ok(data)
}
