package ingest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/journeys/journeys/schemas"
)

// enrich turns a validated call into the event that goes to Kafka: it fills
// in the message id, the batch's sentAt and context, the source, the
// default channel, and corrects the sender's clock skew.
func enrich(ev rawEvent, req *request, source string, receivedAt time.Time) (schemas.Event, error) {
	f := ev.fields
	out := schemas.Event{
		MessageID:   stringField(f, "messageId"),
		Type:        stringField(f, "type"),
		Event:       stringField(f, "event"),
		Name:        stringField(f, "name"),
		AnonymousID: stringField(f, "anonymousId"),
		UserID:      stringField(f, "userId"),
		PreviousID:  stringField(f, "previousId"),
		GroupID:     stringField(f, "groupId"),
		Channel:     stringField(f, "channel"),
		ReceivedAt:  receivedAt,
		Context:     objectField(f, "context"),
		Properties:  objectField(f, "properties"),
		Traits:      objectField(f, "traits"),
		Source:      source,
	}
	if out.MessageID == "" {
		out.MessageID = uuid.NewString()
	}
	if out.Context == nil {
		out.Context = req.context
	}
	if out.Channel == "" {
		out.Channel = schemas.DefaultChannel(out.Type, out.Event)
	}

	original, err := timeField(f, "timestamp")
	if err != nil {
		return out, err
	}
	if original == nil {
		if original, err = timeField(f, "originalTimestamp"); err != nil {
			return out, err
		}
	}
	sentAt, err := timeField(f, "sentAt")
	if err != nil {
		return out, err
	}
	if sentAt == nil {
		sentAt = req.sentAt
	}
	out.OriginalTimestamp, out.SentAt = original, sentAt
	out.Timestamp = correctedTime(original, sentAt, receivedAt)
	return out, nil
}

// correctedTime moves the sender's event time onto ingest's clock: the
// event happened as long before receipt as it happened before the sender
// sent it. Without sentAt the sender's clock is all there is.
func correctedTime(original, sentAt *time.Time, receivedAt time.Time) time.Time {
	switch {
	case original == nil:
		return receivedAt
	case sentAt == nil:
		return original.UTC()
	default:
		return receivedAt.Add(-sentAt.Sub(*original)).UTC()
	}
}

// toMessage encodes an event as a Kafka record keyed by its customer.
func toMessage(ev *schemas.Event) (Message, error) {
	v, err := json.Marshal(ev)
	if err != nil {
		return Message{}, fmt.Errorf("encode event %s: %w", ev.MessageID, err)
	}
	return Message{Key: []byte(ev.CustomerID()), Value: v}, nil
}

// sourceName is how events name the source whose write key sent them; the
// key itself is a secret and stays out of Kafka.
func sourceName(keyIndex int) string {
	return "key-" + strconv.Itoa(keyIndex+1)
}
