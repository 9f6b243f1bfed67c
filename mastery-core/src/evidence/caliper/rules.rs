//! The Caliper 1.2 rules the JSON-LD context does not carry: the type hierarchy, the actions each
//! event type allows, and the entity types each property may hold.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::{Datatype, Kind};

/// `(type, parent)`; every type not listed here descends directly from `Entity`.
const PARENTS: &[(&str, &str)] = &[
    ("Person", "Agent"),
    ("Organization", "Agent"),
    ("SoftwareApplication", "Agent"),
    ("Group", "Organization"),
    ("CourseOffering", "Organization"),
    ("CourseSection", "CourseOffering"),
    ("AssignableDigitalResource", "DigitalResource"),
    ("Assessment", "AssignableDigitalResource"),
    ("AssessmentItem", "AssignableDigitalResource"),
    ("Chapter", "DigitalResource"),
    ("Document", "DigitalResource"),
    ("Frame", "DigitalResource"),
    ("Page", "DigitalResource"),
    ("WebPage", "DigitalResource"),
    ("Message", "DigitalResource"),
    ("LtiLink", "Link"),
    ("MediaObject", "DigitalResource"),
    ("AudioObject", "MediaObject"),
    ("ImageObject", "MediaObject"),
    ("VideoObject", "MediaObject"),
    ("DigitalResourceCollection", "DigitalResource"),
    ("Forum", "DigitalResourceCollection"),
    ("Thread", "DigitalResourceCollection"),
    ("Questionnaire", "DigitalResourceCollection"),
    ("QuestionnaireItem", "DigitalResource"),
    ("BookmarkAnnotation", "Annotation"),
    ("HighlightAnnotation", "Annotation"),
    ("SharedAnnotation", "Annotation"),
    ("TagAnnotation", "Annotation"),
    ("FillinBlankResponse", "Response"),
    ("MultipleChoiceResponse", "Response"),
    ("MultipleResponseResponse", "Response"),
    ("SelectTextResponse", "Response"),
    ("TrueFalseResponse", "Response"),
    ("DateTimeResponse", "Response"),
    ("MultiselectResponse", "Response"),
    ("OpenEndedResponse", "Response"),
    ("RatingScaleResponse", "Response"),
    ("DateTimeQuestion", "Question"),
    ("MultiselectQuestion", "Question"),
    ("OpenEndedQuestion", "Question"),
    ("RatingScaleQuestion", "Question"),
    ("LikertScale", "Scale"),
    ("MultiselectScale", "Scale"),
    ("NumericScale", "Scale"),
    ("LtiSession", "Session"),
    ("TextPositionSelector", "Selector"),
    ("AggregateMeasureCollection", "Collection"),
];

const EVENTS: &[(&str, &[&str])] = &[
    ("AnnotationEvent", &["Bookmarked", "Highlighted", "Shared", "Tagged"]),
    ("AssessmentEvent", &["Started", "Paused", "Resumed", "Restarted", "Reset", "Submitted"]),
    ("AssessmentItemEvent", &["Started", "Skipped", "Completed"]),
    ("AssignableEvent", &["Activated", "Deactivated", "Started", "Completed", "Submitted", "Reviewed"]),
    ("FeedbackEvent", &["Commented", "Ranked"]),
    ("ForumEvent", &["Subscribed", "Unsubscribed"]),
    ("GradeEvent", &["Graded"]),
    (
        "MediaEvent",
        &[
            "Started",
            "Ended",
            "Paused",
            "Resumed",
            "Restarted",
            "ForwardedTo",
            "JumpedTo",
            "ChangedResolution",
            "ChangedSize",
            "ChangedSpeed",
            "ChangedVolume",
            "EnabledCloseCaptioning",
            "DisabledCloseCaptioning",
            "EnabledClosedCaptioning",
            "DisabledClosedCaptioning",
            "EnteredFullScreen",
            "ExitedFullScreen",
            "Muted",
            "Unmuted",
            "OpenedPopout",
            "ClosedPopout",
        ],
    ),
    ("MessageEvent", &["Posted", "MarkedAsRead", "MarkedAsUnread"]),
    ("NavigationEvent", &["NavigatedTo"]),
    ("QuestionnaireEvent", &["Started", "Submitted"]),
    ("QuestionnaireItemEvent", &["Started", "Skipped", "Completed"]),
    (
        "ResourceManagementEvent",
        &[
            "Archived",
            "Copied",
            "Created",
            "Deleted",
            "Described",
            "Downloaded",
            "Modified",
            "Printed",
            "Published",
            "Restored",
            "Retrieved",
            "Saved",
            "Unpublished",
            "Uploaded",
        ],
    ),
    ("SearchEvent", &["Searched"]),
    ("SessionEvent", &["LoggedIn", "LoggedOut", "TimedOut"]),
    ("SurveyEvent", &["OptedIn", "OptedOut"]),
    ("SurveyInvitationEvent", &["Accepted", "Declined", "Sent"]),
    ("ThreadEvent", &["MarkedAsRead", "MarkedAsUnread"]),
    ("ToolLaunchEvent", &["Launched", "Returned"]),
    ("ToolUseEvent", &["Used"]),
    ("ViewEvent", &["Viewed"]),
    ("Event", &[]),
];

/// `(owner type, property, allowed types)`; the owner matches itself and its descendants.
const RANGES: &[(&str, &str, &[&str])] = &[
    // Every event.
    ("Event", "actor", &["Agent"]),
    ("Event", "edApp", &["SoftwareApplication"]),
    ("Event", "group", &["Organization"]),
    ("Event", "membership", &["Membership"]),
    ("Event", "session", &["Session"]),
    ("Event", "federatedSession", &["LtiSession"]),
    ("Event", "referrer", &["DigitalResource", "SoftwareApplication", "Link"]),
    // Per event type.
    ("AnnotationEvent", "object", &["DigitalResource"]),
    ("AnnotationEvent", "generated", &["Annotation"]),
    ("AnnotationEvent", "target", &["Frame", "DigitalResource"]),
    ("AssessmentEvent", "object", &["Assessment"]),
    ("AssessmentEvent", "generated", &["Attempt"]),
    ("AssessmentItemEvent", "object", &["AssessmentItem"]),
    ("AssessmentItemEvent", "generated", &["Attempt", "Response"]),
    ("AssessmentItemEvent", "referrer", &["AssessmentItem"]),
    ("AssignableEvent", "object", &["AssignableDigitalResource"]),
    ("AssignableEvent", "generated", &["Attempt"]),
    ("AssignableEvent", "target", &["Frame"]),
    ("FeedbackEvent", "generated", &["Comment", "Rating"]),
    ("FeedbackEvent", "target", &["Frame"]),
    ("ForumEvent", "object", &["Forum"]),
    ("GradeEvent", "object", &["Attempt"]),
    ("GradeEvent", "generated", &["Score"]),
    ("MediaEvent", "object", &["MediaObject"]),
    ("MediaEvent", "target", &["MediaLocation"]),
    ("MessageEvent", "object", &["Message"]),
    ("NavigationEvent", "object", &["DigitalResource", "SoftwareApplication"]),
    ("NavigationEvent", "target", &["DigitalResource"]),
    ("QuestionnaireEvent", "object", &["Questionnaire"]),
    ("QuestionnaireEvent", "generated", &["Attempt"]),
    ("QuestionnaireItemEvent", "object", &["QuestionnaireItem"]),
    ("QuestionnaireItemEvent", "generated", &["Response"]),
    ("ResourceManagementEvent", "object", &["DigitalResource"]),
    ("ResourceManagementEvent", "generated", &["DigitalResource"]),
    ("SearchEvent", "generated", &["SearchResponse"]),
    ("SessionEvent", "object", &["SoftwareApplication", "Session"]),
    ("SessionEvent", "target", &["DigitalResource"]),
    ("SurveyEvent", "object", &["Survey"]),
    ("SurveyInvitationEvent", "object", &["SurveyInvitation"]),
    ("ThreadEvent", "object", &["Thread"]),
    ("ToolLaunchEvent", "object", &["SoftwareApplication"]),
    ("ToolLaunchEvent", "generated", &["Link"]),
    ("ToolLaunchEvent", "target", &["Link"]),
    ("ToolUseEvent", "object", &["SoftwareApplication"]),
    ("ToolUseEvent", "target", &["SoftwareApplication"]),
    ("ToolUseEvent", "generated", &["AggregateMeasureCollection"]),
    ("ViewEvent", "object", &["DigitalResource"]),
    // Entities.
    ("Entity", "isPartOf", &["Entity"]),
    ("Assessment", "items", &["AssessmentItem"]),
    ("Rating", "ratingComment", &["Comment"]),
    ("Session", "client", &["SoftwareApplication"]),
    ("Entity", "otherIdentifiers", &["SystemIdentifier"]),
    ("DigitalResource", "creators", &["Agent"]),
    ("DigitalResource", "learningObjectives", &["LearningObjective"]),
    ("DigitalResourceCollection", "items", &["DigitalResource"]),
    ("AggregateMeasureCollection", "items", &["AggregateMeasure"]),
    ("Collection", "items", &["Entity"]),
    ("Annotation", "annotator", &["Person"]),
    ("Annotation", "annotated", &["DigitalResource"]),
    ("SharedAnnotation", "withAgents", &["Agent"]),
    ("HighlightAnnotation", "selection", &["TextPositionSelector"]),
    ("Attempt", "assignee", &["Person"]),
    ("Attempt", "assignable", &["DigitalResource"]),
    ("Attempt", "isPartOf", &["Attempt"]),
    ("Response", "attempt", &["Attempt"]),
    ("Result", "attempt", &["Attempt"]),
    ("Result", "scoredBy", &["Agent"]),
    ("Score", "attempt", &["Attempt"]),
    ("Score", "scoredBy", &["Agent"]),
    ("Comment", "commenter", &["Person"]),
    ("Comment", "commentedOn", &["Entity"]),
    ("Rating", "rater", &["Person"]),
    ("Rating", "rated", &["Entity"]),
    ("Rating", "question", &["Question"]),
    ("Rating", "selections", &[]),
    ("Membership", "member", &["Person"]),
    ("Membership", "organization", &["Organization"]),
    ("Message", "replyTo", &["Message"]),
    ("Message", "attachments", &["DigitalResource"]),
    ("Organization", "members", &["Agent"]),
    ("Organization", "subOrganizationOf", &["Organization"]),
    ("Session", "user", &["Person"]),
    ("LtiSession", "user", &["Person"]),
    ("QuestionnaireItem", "question", &["Question"]),
    ("Questionnaire", "items", &["QuestionnaireItem"]),
    ("RatingScaleQuestion", "scale", &["Scale"]),
    ("SearchResponse", "searchProvider", &["SoftwareApplication"]),
    ("SearchResponse", "searchTarget", &["Entity"]),
    ("SearchResponse", "query", &["Query"]),
    ("SearchResponse", "searchResults", &["Entity"]),
    ("Query", "creator", &["Person"]),
    ("Query", "searchTarget", &["Entity"]),
    ("Survey", "items", &["Questionnaire"]),
    ("SurveyInvitation", "rater", &["Person"]),
    ("SurveyInvitation", "survey", &["Survey"]),
    ("SystemIdentifier", "source", &["SoftwareApplication", "Organization"]),
];

/// The tables above, indexed once.
struct Index {
    parents: HashMap<&'static str, &'static str>,
    ranges: HashMap<(&'static str, &'static str), &'static [&'static str]>,
    events: HashMap<&'static str, &'static [&'static str]>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| Index {
        parents: PARENTS.iter().copied().collect(),
        ranges: RANGES.iter().map(|(owner, property, allowed)| ((*owner, *property), *allowed)).collect(),
        events: EVENTS.iter().copied().collect(),
    })
}

pub(super) fn parent(ty: &str) -> Option<&'static str> {
    if ty == "Entity" || ty == "Event" {
        return None;
    }
    if is_event(ty) {
        return Some("Event");
    }
    Some(index().parents.get(ty).copied().unwrap_or("Entity"))
}

/// Whether `ty` is `ancestor` or descends from it.
pub(super) fn is_a(ty: &str, ancestor: &str) -> bool {
    let mut current = Some(ty);
    while let Some(t) = current {
        if t == ancestor {
            return true;
        }
        current = parent(t);
    }
    false
}

/// Types the specification writes without an `id` (value objects).
pub(super) fn has_no_id(ty: &str) -> bool {
    matches!(ty, "SystemIdentifier" | "TextPositionSelector" | "Selector")
}

pub(super) fn is_event(ty: &str) -> bool {
    index().events.contains_key(ty)
}

pub(super) fn allows_action(event_type: &str, action: &str) -> bool {
    if !vocabulary_allows("action", action) {
        return false;
    }
    index().events.get(event_type).is_some_and(|actions| actions.is_empty() || actions.contains(&action))
}

/// The most specific range declared for `property` on `ty` or one of its ancestors.
pub(super) fn range(ty: &str, property: &str) -> Option<&'static [&'static str]> {
    let mut current = Some(ty);
    while let Some(t) = current {
        if let Some(allowed) = index().ranges.get(&(t, property)) {
            return (!allowed.is_empty()).then_some(*allowed);
        }
        current = parent(t);
    }
    None
}

/// A property the specification requires for this event and action that is absent.
pub(super) fn event_requirement(event_type: &str, action: &str, event: &Map<String, Value>) -> Option<&'static str> {
    let missing = |key: &str| event.get(key).is_none_or(Value::is_null);
    match (event_type, action) {
        ("ToolLaunchEvent", "Launched") if missing("federatedSession") => Some("federatedSession"),
        _ => None,
    }
}

/// A structural rule of an entity type that is broken, named by its property.
pub(super) fn entity_requirement(ty: &str, entity: &Map<String, Value>) -> Option<&'static str> {
    let missing = |key: &str| entity.get(key).is_none_or(Value::is_null);
    match ty {
        "AggregateMeasure" if missing("metric") => Some("metric"),
        "AggregateMeasure" if missing("metricValue") => Some("metricValue"),
        "SystemIdentifier" if missing("identifier") => Some("identifier"),
        "SystemIdentifier" if missing("identifierType") => Some("identifierType"),
        _ => None,
    }
}

const PROFILES: &[&str] = &[
    "GeneralProfile",
    "AnnotationProfile",
    "AssessmentProfile",
    "AssignableProfile",
    "FeedbackProfile",
    "ForumProfile",
    "GradingProfile",
    "MediaProfile",
    "ReadingProfile",
    "ResourceManagementProfile",
    "SearchProfile",
    "SessionProfile",
    "SurveyProfile",
    "ToolLaunchProfile",
    "ToolUseProfile",
];

const METRICS: &[&str] = &[
    "AssessmentsSubmitted",
    "AssessmentsPassed",
    "MinutesOnTask",
    "SkillsMastered",
    "StandardsMastered",
    "UnitsCompleted",
    "UnitsPassed",
    "WordsRead",
];

const IDENTIFIER_TYPES: &[&str] = &[
    "AccountUserName",
    "CaseItemUri",
    "EmailAddress",
    "LisSourcedId",
    "LtiContextId",
    "LtiDeploymentId",
    "LtiPlatformId",
    "LtiToolId",
    "LtiUserId",
    "OneRosterSourcedId",
    "Other",
    "SisSourcedId",
    "SystemId",
];

const ROLES: &[&str] = &[
    "Learner",
    "Instructor",
    "Administrator",
    "ContentDeveloper",
    "Manager",
    "Member",
    "Mentor",
    "Officer",
    "TeachingAssistant",
];

/// Reference-typed lists whose members the specification writes as plain labels.
pub(super) fn is_label_list(property: &str) -> bool {
    matches!(property, "tags" | "keywords" | "itemLabels" | "itemValues" | "categories" | "selections")
}

/// Datatypes the context leaves open but the specification fixes.
pub(super) fn datatype_override(ty: &str, property: &str) -> Option<Datatype> {
    let string = Datatype { kind: Kind::String, list: false };
    match property {
        "storageName" | "mediaType" | "version" | "body" | "comment" | "value" if ty != "TrueFalseResponse" => {
            Some(string)
        }
        "values" if is_a(ty, "Response") => Some(Datatype { list: true, ..string }),
        // Collection members are entities or IRIs, never free text.
        "items" => Some(Datatype { kind: Kind::Reference, list: true }),
        _ => None,
    }
}

/// Terms of the closed Caliper vocabularies (actions, profiles, metrics); open ones accept any string.
pub(super) fn vocabulary_allows(property: &str, term: &str) -> bool {
    match property {
        "action" => {
            EVENTS.iter().flat_map(|(_, a)| a.iter()).any(|a| *a == term)
                || [
                    "Abandoned",
                    "Added",
                    "Attached",
                    "Classified",
                    "Disliked",
                    "Hid",
                    "Identified",
                    "Liked",
                    "Linked",
                    "Questioned",
                    "Recommended",
                    "Removed",
                    "Rewound",
                    "Showed",
                    "Used",
                    "Viewed",
                ]
                .contains(&term)
        }
        "profile" => PROFILES.contains(&term),
        "status" => ["Active", "Inactive"].contains(&term),
        "messageType" => ["LtiResourceLinkRequest", "LtiDeepLinkingRequest"].contains(&term),
        "identifierType" => IDENTIFIER_TYPES.contains(&term),
        "roles" => {
            let (base, sub) = term.split_once('#').unwrap_or((term, ""));
            ROLES.contains(&base) && sub.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        }
        "metric" => METRICS.contains(&term),
        _ => true,
    }
}
