package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/storagegate/storagegate/shared/storageurl"
)

// Reasons a listed URL is not a file to delete.
const (
	// fileSkipFileserver: an http(s) URL, served by the ClearML fileserver
	// (storagegate deletes from S3, GCS and Azure only).
	fileSkipFileserver = "fileserver"
	// fileSkipOtherScheme: file://, a local path, or any other scheme.
	fileSkipOtherScheme = "other_scheme"
	// fileSkipInvalid: a storage URL that does not parse or names no object.
	fileSkipInvalid = "invalid_url"
)

// fileSet is what one task owns in the stores.
type fileSet struct {
	opts     storageurl.Options // parse as the cleanup function will
	urls     []string           // objects
	prefixes []string           // folders (an artifact URI ending in /)
	seen     map[string]bool
	skipped  map[string]int
	// publishedModels counts the task's published models: they stay, and
	// so do their files.
	publishedModels int
}

func newFileSet(opts storageurl.Options) *fileSet {
	return &fileSet{opts: opts, seen: map[string]bool{}, skipped: map[string]int{}}
}

// add classifies one URL: only s3://, gs:// and azure:// URLs that the
// cleanup function would accept are files to delete.
func (f *fileSet) add(s *Sweeper, raw string) {
	raw = strings.TrimSpace(raw)
	if raw == "" || f.seen[raw] {
		return
	}
	f.seen[raw] = true
	scheme, _, _ := strings.Cut(raw, "://")
	switch strings.ToLower(scheme) {
	case "s3", "gs", "azure":
	case "http", "https":
		f.skipped[fileSkipFileserver]++
		return
	default:
		f.skipped[fileSkipOtherScheme]++
		return
	}
	u, err := f.opts.Parse(raw)
	switch {
	case err != nil || u.Key == "":
		f.skipped[fileSkipInvalid]++
	case strings.HasSuffix(u.Key, "/"):
		if u.PrefixDepth() == 0 {
			f.skipped[fileSkipInvalid]++
			return
		}
		f.prefixes = append(f.prefixes, raw)
	default:
		f.urls = append(f.urls, raw)
	}
}

func (f *fileSet) count() int { return len(f.urls) + len(f.prefixes) }

func (f *fileSet) skippedCount() int {
	n := 0
	for _, c := range f.skipped {
		n += c
	}
	return n
}

// listFiles lists every file t owns, before anything is deleted: its output
// artifacts, the draft models that tasks.delete will delete with it, and
// every debug image and plot image (tasks.delete returns no event URL, and
// deletes the events).
func (s *Sweeper) listFiles(ctx context.Context, t *task, opts storageurl.Options) (*fileSet, error) {
	f := newFileSet(opts)
	for _, a := range t.Execution.Artifacts {
		if a.Mode == "" || a.Mode == "output" {
			f.add(s, a.URI)
		}
	}
	if err := s.listModels(ctx, t, f); err != nil {
		return nil, err
	}
	for _, typ := range []string{"training_debug_image", "plot"} {
		if err := s.listEvents(ctx, t.ID, typ, f); err != nil {
			return nil, err
		}
	}
	return f, nil
}

type model struct {
	ID    string `json:"id"`
	URI   string `json:"uri"`
	Ready bool   `json:"ready"`
}

// listModels adds the task's draft models that no other task uses as input
// (those are what tasks.delete deletes) and counts its published ones.
func (s *Sweeper) listModels(ctx context.Context, t *task, f *fileSet) error {
	var drafts []model
	for page := 0; ; page++ {
		var out struct {
			Models []model `json:"models"`
		}
		if err := s.api.Call(ctx, "models.get_all", map[string]any{
			"task": []string{t.ID}, "only_fields": []string{"id", "uri", "ready"}, "page": page, "page_size": pageSize,
		}, &out); err != nil {
			return err
		}
		for _, m := range out.Models {
			if m.Ready {
				f.publishedModels++
			} else {
				drafts = append(drafts, m)
			}
		}
		if len(out.Models) < pageSize {
			break
		}
	}
	if len(drafts) == 0 {
		return nil
	}
	ids := make([]string, len(drafts))
	for i, m := range drafts {
		ids[i] = m.ID
	}
	used, err := s.usedAsInput(ctx, t.ID, ids)
	if err != nil {
		return err
	}
	for _, m := range drafts {
		if !used[m.ID] {
			f.add(s, m.URI)
		}
	}
	return nil
}

// usedAsInput finds which of the models another task uses as input; the
// server keeps those models, so their files stay.
func (s *Sweeper) usedAsInput(ctx context.Context, self string, ids []string) (map[string]bool, error) {
	used := map[string]bool{}
	q := map[string]any{
		"models.input.model": ids, "only_fields": []string{"id", "models.input"}, "search_hidden": true,
		"scroll_id": nil, "size": pageSize,
	}
	seen := map[string]bool{}
	for {
		var out struct {
			Tasks    []task `json:"tasks"`
			ScrollID string `json:"scroll_id"`
		}
		if err := s.api.Call(ctx, "tasks.get_all_ex", q, &out); err != nil {
			return nil, err
		}
		fresh := 0
		for _, o := range out.Tasks {
			if seen[o.ID] {
				continue
			}
			seen[o.ID] = true
			fresh++
			if o.ID == self {
				continue
			}
			// Checked again here: a server that ignored the filter
			// returns every task.
			for _, in := range o.Models.Input {
				if slices.Contains(ids, in.Model) {
					used[in.Model] = true
				}
			}
		}
		if len(out.Tasks) < pageSize || fresh == 0 || out.ScrollID == "" {
			return used, nil
		}
		q = map[string]any{"models.input.model": ids, "only_fields": []string{"id", "models.input"}, "search_hidden": true,
			"scroll_id": out.ScrollID, "size": pageSize}
	}
}

// listEvents scrolls a task's events of one type. The server's position is
// the last iteration returned and it reads iteration 0 as "no position", so
// a page ending at iteration 0 starts the scroll over, for ever: the
// listing stops when the events seen reach total, or on a page without a
// new event. An ascending pass misses events only when its first page ends
// at iteration 0; a descending pass then reaches them (its pages end at
// iteration 0 only once everything below is in). A listing that still
// falls short of total fails, and the task stays.
func (s *Sweeper) listEvents(ctx context.Context, taskID, typ string, f *fileSet) error {
	seen := map[string]bool{}
	total := -1
	for _, order := range []string{"asc", "desc"} {
		req := map[string]any{"task": taskID, "event_type": typ, "order": order, "batch_size": pageSize}
		for {
			var out struct {
				Events   []json.RawMessage `json:"events"`
				Returned int               `json:"returned"`
				Total    int               `json:"total"`
				ScrollID string            `json:"scroll_id"`
			}
			if err := s.api.Call(ctx, "events.get_task_events", req, &out); err != nil {
				return err
			}
			total = out.Total
			fresh := 0
			for _, raw := range out.Events {
				key := eventKey(raw)
				if seen[key] {
					continue
				}
				seen[key] = true
				fresh++
				var ev struct {
					URL        string   `json:"url"`
					SourceURLs []string `json:"source_urls"`
				}
				if json.Unmarshal(raw, &ev) != nil {
					continue
				}
				f.add(s, ev.URL)
				for _, u := range ev.SourceURLs {
					f.add(s, u)
				}
			}
			if len(out.Events) == 0 || len(seen) >= out.Total || fresh == 0 || out.ScrollID == "" {
				break
			}
			req = map[string]any{"task": taskID, "scroll_id": out.ScrollID}
		}
		if len(seen) >= total {
			return nil
		}
	}
	return fmt.Errorf("events.get_task_events: listed %d of the task's %d %s events", len(seen), total, typ)
}

// eventKey identifies an event: its id when the server sends one, else its
// whole document (two events differ in iteration, metric, variant or
// timestamp).
func eventKey(raw json.RawMessage) string {
	var id struct {
		ID  string `json:"id"`
		UID string `json:"_id"`
	}
	if json.Unmarshal(raw, &id) == nil {
		if id.ID != "" {
			return "id:" + id.ID
		}
		if id.UID != "" {
			return "id:" + id.UID
		}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return buf.String()
	}
	return string(raw)
}
