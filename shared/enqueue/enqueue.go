// Package enqueue is the front door of the cleanup pipeline: it turns a list
// of storage URLs and prefixes into deletion messages
// (docs/cleanup.md#the-message, docs/cleanup.md#producers),
// splits them to fit the queue's message size and the 10,000-item cap, and
// publishes them to SQS, Pub/Sub or an Azure Storage Queue, where the
// cleanup functions pick them up. `storagegate enqueue` is its CLI.
package enqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/storagegate/storagegate/shared/cleanup"
)

// Message size limits of the queues, for the JSON body of one message.
const (
	// SQSMaxBytes is SQS's classic message size limit (256 KiB), which the
	// Lambda event source and every SQS client accept.
	SQSMaxBytes = 256 * 1024
	// PubSubMaxBytes keeps one message's data well inside Pub/Sub's 10 MB:
	// over REST the data travels base64-encoded, and the publish request as
	// a whole is limited to 10 MB, so 7 MiB (about 9.8 MB as base64) is the
	// most that always fits. With ClearML's URLs the 10,000-item cap is
	// reached long before.
	PubSubMaxBytes = 7 << 20
	// AzureMaxBytes is what a 64 KiB Storage Queue message holds once the
	// Functions host's default base64 message encoding has grown it by 4/3.
	AzureMaxBytes = 48 * 1024
)

// ItemTooLargeError is an item that does not fit in a message of the
// queue's size even on its own.
type ItemTooLargeError struct {
	Item     string
	Bytes    int // the smallest message holding it
	MaxBytes int
}

func (e *ItemTooLargeError) Error() string {
	item := e.Item
	if len(item) > 200 {
		item = item[:200] + "..."
	}
	return fmt.Sprintf("enqueue: %s needs a %d-byte message on its own; the queue takes %d", item, e.Bytes, e.MaxBytes)
}

// Split cuts m into messages of at most cleanup.MaxItems URLs and prefixes
// whose JSON encoding (json.Marshal, as Encode writes it) is at most
// maxBytes. Every part keeps m's company, user, task, created and dry_run;
// items keep their order, objects before prefixes. A message that already
// fits comes back as the only part.
func Split(m cleanup.Message, maxBytes int) ([]cleanup.Message, error) {
	if len(m.URLs)+len(m.Prefixes) == 0 {
		return nil, errors.New("enqueue: nothing to delete: give at least one URL or prefix")
	}
	head := m
	head.URLs, head.Prefixes = nil, nil
	b, err := json.Marshal(head)
	if err != nil {
		return nil, err
	}
	base := len(b)
	// Adding the first entry of a list adds its key, brackets and one comma
	// between fields; each further entry adds its own comma.
	const urlsKey, prefixesKey = len(`,"urls":[]`), len(`,"prefixes":[]`)

	var parts []cleanup.Message
	cur, size := head, base
	flush := func() {
		if len(cur.URLs)+len(cur.Prefixes) > 0 {
			parts = append(parts, cur)
		}
		cur, size = head, base
	}
	add := func(item string, prefix bool) error {
		enc, err := json.Marshal(item)
		if err != nil {
			return err
		}
		list, key := &cur.URLs, urlsKey
		if prefix {
			list, key = &cur.Prefixes, prefixesKey
		}
		grow := 1 + len(enc)
		if len(*list) == 0 {
			grow = key + len(enc)
		}
		if size+grow > maxBytes || len(cur.URLs)+len(cur.Prefixes) >= cleanup.MaxItems {
			if len(cur.URLs)+len(cur.Prefixes) == 0 {
				return &ItemTooLargeError{Item: item, Bytes: size + grow, MaxBytes: maxBytes}
			}
			flush()
			list = &cur.URLs
			if prefix {
				list = &cur.Prefixes
			}
			grow = key + len(enc)
			if size+grow > maxBytes {
				return &ItemTooLargeError{Item: item, Bytes: size + grow, MaxBytes: maxBytes}
			}
		}
		*list = append(*list, item)
		size += grow
		return nil
	}
	for _, u := range m.URLs {
		if err := add(u, false); err != nil {
			return nil, err
		}
	}
	for _, p := range m.Prefixes {
		if err := add(p, true); err != nil {
			return nil, err
		}
	}
	flush()
	return parts, nil
}

// Encode is a message's body on every queue: its JSON.
func Encode(m cleanup.Message) ([]byte, error) { return json.Marshal(m) }

// Publisher sends message bodies to one queue.
type Publisher interface {
	// MaxBytes is the largest body the queue takes.
	MaxBytes() int
	// Publish sends one body and returns the queue's id for the message.
	Publish(ctx context.Context, body []byte) (string, error)
	// String names the destination, for messages and logs; never a secret.
	String() string
}

// Options tune Enqueue.
type Options struct {
	// Check validates each part before anything is published; nil is
	// cleanup.ParseMessage. (*cleanup.Pipeline).ParseMessage also knows the
	// configured Azure endpoints.
	Check func(body []byte) (cleanup.Message, error)
}

// Published is one message sent.
type Published struct {
	ID       string
	URLs     int
	Prefixes int
	Bytes    int
}

// Enqueue splits m to fit p, checks every part exactly as the cleanup
// function will parse it, and only then publishes the parts in order: input
// the function would refuse is refused here, before anything is queued. On
// a publishing error it returns the parts already sent with the error (a
// retry may send those again: deletion is idempotent).
func Enqueue(ctx context.Context, p Publisher, m cleanup.Message, o Options) ([]Published, error) {
	check := o.Check
	if check == nil {
		check = cleanup.ParseMessage
	}
	parts, err := Split(m, p.MaxBytes())
	if err != nil {
		return nil, err
	}
	bodies := make([][]byte, len(parts))
	for i, part := range parts {
		if bodies[i], err = Encode(part); err != nil {
			return nil, err
		}
		if _, err := check(bodies[i]); err != nil {
			if len(parts) == 1 {
				return nil, err
			}
			return nil, fmt.Errorf("part %d of %d: %w", i+1, len(parts), err)
		}
	}
	out := make([]Published, 0, len(parts))
	for i, body := range bodies {
		id, err := p.Publish(ctx, body)
		if err != nil {
			return out, &PublishError{Part: i + 1, Parts: len(parts), Destination: p.String(), Err: err}
		}
		out = append(out, Published{ID: id, URLs: len(parts[i].URLs), Prefixes: len(parts[i].Prefixes), Bytes: len(body)})
	}
	return out, nil
}

// PublishError is a part the queue did not take; the parts before it were
// sent.
type PublishError struct {
	Part, Parts int
	Destination string
	Err         error
}

func (e *PublishError) Error() string {
	return fmt.Sprintf("enqueue: publishing part %d of %d to %s: %v", e.Part, e.Parts, e.Destination, e.Err)
}

func (e *PublishError) Unwrap() error { return e.Err }
