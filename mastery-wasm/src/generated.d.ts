// Generated from the Rust types by mastery-core/tests/typescript.rs: do not edit.
export type IngestOutcome = { 
/**
 * Records stored for the first time.
 */
new: number, 
/**
 * Records whose idempotency key was already stored (they change nothing).
 */
duplicates: number, 
/**
 * Records refused (by the policy or the store), by their index in the batch.
 */
rejected: Array<Rejection>, 
/**
 * Mastery changes the new records caused.
 */
changes: number, 
/**
 * Achievements the new records earned (engines with awards).
 */
awarded: number, };
export type Rejection = { index: number, code: string, field?: string | null, reason: string, };
export type MasteryView = { competency: string, 
/**
 * On the scale's points.
 */
score: number | null, 
/**
 * The rating's description on the scale.
 */
rating: string | null, mastered: boolean, 
/**
 * BKT's P(known), when the competency has a fitted skill.
 */
p_known: number | null, last_evidence: string | null, evidence_count: number, };
export type DayState = "met" | "frozen" | "repaired" | "rest" | "missed" | "pending_today" | "not_lived";
export type Period = { "period": "daily" } | { "period": "weekly", week_start: string, };
export type StreakStatus = { current: number, longest: number, freezes_left: number, freezes_used: number, freezes_earned: number, 
/**
 * Today's (or this week's) state: `met`, or `pending_today` while the goal is not reached.
 */
today: DayState, 
/**
 * The local date of the latest activity.
 */
last_active: string | null, 
/**
 * Activities counted.
 */
events: number, period: Period, };
export type Label = { id: string, label: string, };
export type RingMetric = "share_mastered" | "mean_value";
export type Ring = { competency: string, label: string, 
/**
 * 0..1.
 */
value: number, mastered: number, total: number, 
/**
 * From the proficiency scale, for the value.
 */
color: string, rating: string, 
/**
 * The competency's CASE URI, when it has one.
 */
link: string | null, };
export type RingChart = { title: string, metric: RingMetric, rings: Array<Ring>, };
export type HeatmapCell = { value: number | null, color: string, 
/**
 * The value in words (`90%`, `no evidence`); renderers prefix the row and column labels.
 */
text: string, 
/**
 * The evidence behind the value (the last that moved it), when known.
 */
evidence?: string | null, };
export type LegendEntry = { color: string, label: string, };
export type Heatmap = { title: string, rows: Array<Label>, columns: Array<Label>, 
/**
 * `cells[row][column]`.
 */
cells: Array<Array<HeatmapCell>>, 
/**
 * The colour key, lowest first.
 */
legend: Array<LegendEntry>, 
/**
 * Row or column id → its full text (a competency's statement), shown in tooltips.
 */
full_labels?: { [key in string]: string }, };
export type ProgressPoint = { at: string, 
/**
 * 0..1 (the calculation method's score over the scale's top points).
 */
value: number, evidence: string, };
export type ProgressSeries = { competency: string, label: string, points: Array<ProgressPoint>, };
export type ProgressView = { series: Array<ProgressSeries>, };
export type Recommendation = { competency: string, human_coding_scheme: string | null, 
/**
 * How many competencies (transitively through `precedes`) wait on this one.
 */
unblocks: number, current_value: number, reason: string, };
export type BadgeStatus = "earned" | "in_progress" | "expired" | "revoked";
export type GalleryItem = { achievement: string, version: number, name: string, image: string | null, status: BadgeStatus, 
/**
 * 0..=1; 1 for earned, expired and revoked badges.
 */
progress: number, credential_id: string | null, awarded_at: string | null, valid_until: string | null, revocation_reason: string | null, };
export type LevelCount = { description: string, color: string, count: number, };
export type CompetencySummary = { competency: string, learners: number, mean: number, median: number, mastered_share: number, 
/**
 * Learners per rating, in the scale's order (highest first).
 */
levels: Array<LevelCount>, };
export type Reason = { feature: string, value: number, 
/**
 * Its push on the log-odds (SHAP value, or coefficient × standardised value).
 */
contribution: number, text: string, };
export type Alert = { learner: string, band: string, score: number, reasons: Array<Reason>, };
export type LearnerDashboard = { 
/**
 * Every competency with a record, by competency.
 */
records: Array<MasteryView>, 
/**
 * One ring per area of the framework (mean value).
 */
rings: RingChart | null, 
/**
 * Competencies assessed and not mastered, weakest first.
 */
gaps: Array<MasteryView>, 
/**
 * What to work on next: unmastered competencies whose prerequisites are mastered.
 */
next: Array<Recommendation>, streak: StreakStatus | null, badges: Array<GalleryItem>, 
/**
 * Each competency's value over time (from the learner's evidence).
 */
progress: ProgressView, };
export type ClassDashboardOptions = { 
/**
 * The heatmap's columns, in order (default: the framework's assessable competencies, or
 * every competency with a record in the course).
 */
competencies?: Array<Label>, 
/**
 * How many least proficient competencies to list.
 */
least_proficient: number, 
/**
 * Reasons per alert.
 */
reasons: number, };
export type ClassDashboard = { learners: number, 
/**
 * Learners × competencies, values 0..1.
 */
heatmap: Heatmap, 
/**
 * Per competency: mean, median, distribution over the scale, share mastered.
 */
summaries: Array<CompetencySummary>, least_proficient: Array<CompetencySummary>, at_risk: Array<Alert> | null, };
