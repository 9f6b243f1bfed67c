/**
 * The pages' data: the reference service's API (examples/lms-service) when the page is given one
 * (`?api=http://host:port&token=…`), otherwise the snapshot bundled with the page, built from the
 * demo's real data by `cargo run -p mastery-examples --bin web_snapshot`.
 */
import type {
  Achievement, Award, CompetencySummary, Heatmap, LearnerFacts, OpenBadgeCredential, ProficiencyScale,
  ProgressView, Recommendation, RingChart, StreakTracker,
} from "../wasm/dashboards/mastery_wasm.js";

export interface CompetencyInfo { id: string; code: string; statement: string; area: string | null; }
export interface AreaInfo { id: string; code: string | null; statement: string; }
export interface History { competency: string; history: { evidence: string; score: number; at?: string }[]; }
export interface AtRisk { learner: string; mean: number; reasons: string[]; below: string[]; }
export interface Snapshot {
  course: { id: string; title: string };
  learner: { id: string; name: string };
  framework: { title: string; areas: AreaInfo[]; competencies: CompetencyInfo[] };
  scale: ProficiencyScale;
  labels: Record<string, string>;
  progress: { histories: History[]; view: ProgressView; weeks: Heatmap };
  rings: RingChart;
  next: Recommendation[];
  streak: { tracker: StreakTracker; calendar: Heatmap; current: number; longest: number };
  class: { learners: number; heatmap: Heatmap; summaries: CompetencySummary[]; at_risk: AtRisk[] };
  achievements: {
    list: Achievement[]; awards: Award[]; facts: LearnerFacts; now: string;
    credential: OpenBadgeCredential; jwt: string; issuer: string; verify_url: string;
  };
}

let cached: Promise<Snapshot> | undefined;
export let source = "the bundled snapshot (OULAD AAA-2013J, CCSS ratio standards)";

async function fromApi(base: string, token: string, snap: Snapshot): Promise<Snapshot> {
  const get = async (path: string): Promise<unknown> => {
    const r = await fetch(base + path, { headers: { authorization: `Bearer ${token}` } });
    if (!r.ok) throw new Error(`${path}: ${r.status}`);
    return r.json();
  };
  const learner = encodeURIComponent(snap.learner.id), course = encodeURIComponent(snap.course.id);
  const dash = (await get(`/api/mastery/learners/${learner}/courses/${course}/dashboard`)) as { rings: RingChart; progress: ProgressView; next: Recommendation[] };
  const klass = (await get(`/api/mastery/courses/${course}/dashboard`)) as { heatmap: Heatmap; summaries: CompetencySummary[] };
  source = `the reference service at ${base}`;
  return { ...snap, rings: dash.rings, next: dash.next, progress: { ...snap.progress, view: dash.progress },
    class: { ...snap.class, heatmap: klass.heatmap, summaries: klass.summaries } };
}

export function load(): Promise<Snapshot> {
  cached ??= import("./snapshot.json").then(async (m) => {
    const snap = m.default as unknown as Snapshot;
    const params = new URLSearchParams(location.search);
    const api = params.get("api");
    if (!api) return snap;
    try {
      return await fromApi(api.replace(/\/$/, ""), params.get("token") ?? "", snap);
    } catch (e) {
      console.warn("reference service unavailable, using the snapshot:", e);
      return snap;
    }
  });
  return cached;
}
