package tender

import (
	"strconv"
	"time"
)

// WebhookEndpoint is a URL of the merchant's to which Tender posts events
// about payments (merchant webhooks). Deliveries to it are queued in the
// same transaction as the event they carry (see Store).
type WebhookEndpoint struct {
	ID          string
	Merchant    string // only this merchant's events are delivered to it
	URL         string
	Description string
	// Events are the event types delivered to the endpoint. The list is
	// always explicit: the store matches each new event against it.
	Events []string
	// Secret signs every delivery. It is set only on an endpoint just
	// created (to be shown once) or just opened by the dispatcher; stores
	// keep Sealed instead and never the plain secret.
	Secret    string `json:"-"`
	Sealed    []byte `json:"-"`
	CreatedAt time.Time
}

// Delivery statuses of a WebhookDelivery.
const (
	DeliveryPending   = "pending"   // queued or waiting for its next attempt
	DeliverySucceeded = "succeeded" // the endpoint answered 2xx
	DeliveryFailed    = "failed"    // retried until the deadline; given up
	DeliveryCanceled  = "canceled"  // the endpoint was deleted first
)

// WebhookDelivery is one event to be delivered to one endpoint: the outbox
// row. It is inserted together with its event and then changed only by the
// dispatcher that has claimed it.
type WebhookDelivery struct {
	ID         int64
	EndpointID string
	EventID    int64
	EventType  string
	PaymentID  string
	Status     string
	// Attempts counts the attempts begun, including the one in flight
	// after a claim. It also fences a claim: see RecordWebhookAttempt.
	Attempts       int
	NextAttemptAt  time.Time // zero once the delivery is no longer pending
	LastAttemptAt  time.Time
	LastStatusCode int       // HTTP status of the last answer, 0 if none
	LastError      string    // why the last attempt failed, "" if it did not
	CreatedAt      time.Time // the event's time
}

// WebhookAttempt is one HTTP request made for a delivery.
type WebhookAttempt struct {
	DeliveryID int64
	Attempt    int // 1 for the first
	At         time.Time
	StatusCode int // 0 when no answer came
	Error      string
	Duration   time.Duration
}

// DeliveryFilter pages through an endpoint's deliveries, newest first.
type DeliveryFilter struct {
	EndpointID    string
	Limit         int
	StartingAfter int64 // a delivery id: return deliveries older than it
}

// EventID is an event's public id, "evt_<n>": in the API's event lists,
// webhook payloads and the webhook-id header.
func EventID(id int64) string { return "evt_" + strconv.FormatInt(id, 10) }
