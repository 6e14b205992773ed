package schemas

import "time"

// Journey statuses.
const (
	JourneyOpen      = "open"
	JourneyConverted = "converted"
	JourneyAbandoned = "abandoned"
)

// Friction severities.
const (
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Touchpoint is one row of the touchpoints table: one event of one customer
// on one channel, with the journey it was assigned to.
type Touchpoint struct {
	MessageID   string
	CustomerID  string
	AnonymousID string
	UserID      string
	Type        string
	Event       string // EventName(): the track event, or the call type
	Channel     string
	Timestamp   time.Time
	ReceivedAt  time.Time
	JourneyID   string
	SessionID   string // web and app touchpoints only
	// Late marks a touchpoint that came later than the allowed lateness:
	// stored, but in no journey (JourneyID is empty).
	Late       bool
	Properties string // JSON text
	Context    string // JSON text
	Source     string
	// KafkaPartition and KafkaOffset locate the record the touchpoint came
	// from. They are written with the row, atomically, so a processor that
	// takes over a partition knows which records were written already.
	KafkaPartition int32
	KafkaOffset    int64
	// Version orders rewrites of the same message (a later journey
	// assignment wins in ReplacingMergeTree).
	Version uint64
}

// Journey is one row of the journeys table: the latest known state of a
// customer's journey. Rows with a higher Version replace lower ones.
type Journey struct {
	JourneyID   string
	CustomerID  string
	StartedAt   time.Time
	EndedAt     time.Time // last touchpoint so far while open
	Status      string
	Touchpoints uint32
	Channels    []string // distinct, in order of first use
	Path        []string // event names in event-time order
	// ChannelSequence is the channels of the touchpoints in Path's order,
	// a repeat of the previous one left out: a switch of channel between
	// consecutive touchpoints is a pair of neighbours. "" stands for a
	// touchpoint without a channel.
	ChannelSequence []string
	FrictionCount   uint32
	Revenue         float64
	// Retracted marks a journey that no longer exists: a late touchpoint
	// or an identity merge moved its touchpoints to other journeys.
	Retracted bool
	Version   uint64
}

// FrictionFlag is one row of the friction_flags table: a rule's finding that
// a journey hurt, with the message ids that prove it.
type FrictionFlag struct {
	FlagID     string
	Rule       string
	CustomerID string
	JourneyID  string
	OccurredAt time.Time // event time of the touchpoint that completed the pattern
	DetectedAt time.Time // wall-clock time the processor found it
	Severity   string
	Evidence   []string
	Details    string // JSON text
	// Retracted marks a flag that no longer holds (a late touchpoint
	// undid the pattern, or an identity merge moved its journey).
	Retracted bool
	Version   uint64
}

// Identity is one row of the identities table: a linked id (the anonymous
// id of an identify, or the previous id of an alias) that belongs to a user.
type Identity struct {
	LinkedID  string
	UserID    string
	Kind      string    // TypeIdentify or TypeAlias
	LinkedAt  time.Time // event time of the identify or alias
	MessageID string    // the identify or alias that made the link
	// KafkaPartition is the touchpoints partition of the linked id's
	// records, -1 until Merged.
	KafkaPartition int32
	// Merged says the linked id's processor forwarded its touchpoints to
	// the user and retracted its journeys: its records now go to the user.
	Merged  bool
	Version uint64
}

// Session is one row of the sessions table: a burst of web or app activity
// of one customer, ended by inactivity or midnight.
type Session struct {
	SessionID   string
	CustomerID  string
	Channel     string
	StartedAt   time.Time
	EndedAt     time.Time
	Touchpoints uint32
	PageViews   uint32
	EntryPage   string
	ExitPage    string
	Version     uint64
}

// Engagement tiers of a customer, highest first (see processor/profile for
// the rules).
const (
	TierEngaged   = "engaged"
	TierLoyal     = "loyal"
	TierSatisfied = "satisfied"
	TierBuyer     = "buyer"
	TierProspect  = "prospect"
)

// Tiers lists the engagement tiers, highest first.
var Tiers = []string{TierEngaged, TierLoyal, TierSatisfied, TierBuyer, TierProspect}

// Customer is one row of the customers table: the profile of one customer
// derived from all their stored touchpoints.
type Customer struct {
	CustomerID  string
	FirstSeen   time.Time // event time of the first touchpoint
	LastSeen    time.Time // event time of the latest touchpoint
	Touchpoints uint32
	Purchases   uint32
	Revenue     float64
	// Surveys counts survey answers of every kind; PositiveSurveys those
	// in the top box (NPS 9–10, CSAT and CES at 80 % of the scale or more).
	Surveys         uint32
	PositiveSurveys uint32
	// LastNPS is the score of the latest NPS answer, -1 if none.
	LastNPS int16
	// LastSurveyPositive says the latest survey answer was positive.
	LastSurveyPositive bool
	Reviews            uint32
	Referrals          uint32
	Ideas              uint32
	CommunityAnswers   uint32
	Tier               string
	// TierSince is the event time from which the customer has been in Tier
	// without interruption.
	TierSince time.Time
	// Retracted marks a customer id merged into a user: its touchpoints
	// count in the user's row.
	Retracted bool
	Version   uint64
}
