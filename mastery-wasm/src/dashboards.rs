//! Dashboard view models and their accessible SVG.

#[allow(unused_imports)]
use std::collections::BTreeMap;

use mastery_core as core;
use wasm_bindgen::prelude::*;

#[allow(unused_imports)]
use crate::convert::{
    self, bytes, count, data, flag, from_js, json_arg, number_arg, numbers, opt_strings, opt_text, optional, text,
    to_js,
};
#[allow(unused_imports)]
use crate::error::{invalid, to_js as err};
#[allow(unused_imports)]
use crate::{document, instant, scale, Framework, Standings};

fn report(value: &JsValue) -> Result<core::streak::StreakReport, JsValue> {
    data(value, "report")
}

/// The last `weeks` weeks of a report as a Monday-first calendar; `today` is `YYYY-MM-DD`.
#[wasm_bindgen(js_name = streakTracker, unchecked_return_type = "StreakTracker")]
pub fn streak_tracker(
    #[wasm_bindgen(unchecked_param_type = "StreakReport")] report_value: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] today: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] weeks: JsValue,
) -> Result<JsValue, JsValue> {
    let report = report(&report_value)?;
    let today: core::time::Date =
        text(&today, "today")?.parse().map_err(|_| invalid("today", "not a date (YYYY-MM-DD)"))?;
    let weeks = count(&weeks, "weeks")?;
    to_js(&core::dashboard::streak_tracker(&report, today, weeks).map_err(err)?)
}

/// Activity per date as weeks x weekdays.
#[wasm_bindgen(js_name = activityCalendar, unchecked_return_type = "Heatmap")]
pub fn activity_calendar(
    #[wasm_bindgen(unchecked_param_type = "StreakReport")] report_value: JsValue,
) -> Result<JsValue, JsValue> {
    to_js(&core::dashboard::activity_calendar(&report(&report_value)?, None))
}

/// Concentric rings per competency area (default: the framework's top level).
#[wasm_bindgen(js_name = ringChart, unchecked_return_type = "RingChart")]
pub fn ring_chart(
    framework: &Framework,
    #[wasm_bindgen(unchecked_param_type = "Record<string, Standing>")] standings: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ProficiencyScale")] scale_value: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string[] | null")] areas: Option<JsValue>,
    #[wasm_bindgen(unchecked_param_type = "\"share_mastered\" | \"mean_value\" | null")] metric: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let standings: Standings = data(&standings, "standings")?;
    let areas = opt_strings(areas, "areas")?;
    let metric: core::dashboard::RingMetric = optional(metric, "metric")?;
    let scale = scale(&scale_value)?;
    let chart =
        core::dashboard::ring_chart(&framework.inner, &standings, areas.as_deref(), metric, &scale).map_err(err)?;
    to_js(&chart)
}

/// Learners x competencies: `values[learner][competency]` on 0..1.
#[wasm_bindgen(js_name = classHeatmap, unchecked_return_type = "Heatmap")]
pub fn class_heatmap(
    #[wasm_bindgen(unchecked_param_type = "Record<string, Record<string, number>>")] values: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Label[]")] competencies: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ProficiencyScale")] scale_value: JsValue,
) -> Result<JsValue, JsValue> {
    let values: BTreeMap<String, BTreeMap<String, f64>> = data(&values, "values")?;
    let competencies: Vec<core::dashboard::Label> = data(&competencies, "competencies")?;
    to_js(&core::dashboard::class_heatmap(&values, &competencies, &scale(&scale_value)?))
}

/// Accessible SVG for a view model; `kind`: ring_chart, streak_tracker, heatmap or progress.
/// Each chart's `<title>`/`<desc>` ids are unique to its content, so charts can share a page.
#[wasm_bindgen(js_name = renderSvg, unchecked_return_type = "string")]
pub fn render_svg(
    #[wasm_bindgen(unchecked_param_type = "ChartKind")] kind: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ChartViews[ChartKind]")] view: JsValue,
) -> Result<String, JsValue> {
    use core::dashboard as d;
    Ok(match text(&kind, "kind")?.as_str() {
        "ring_chart" => d::render_ring_chart(&data(&view, "view")?),
        "streak_tracker" => d::render_streak_tracker(&data(&view, "view")?),
        "heatmap" => d::render_heatmap(&data(&view, "view")?),
        "progress" => d::render_progress(&data(&view, "view")?),
        _ => return Err(invalid("kind", "must be ring_chart, streak_tracker, heatmap or progress")),
    })
}

/// Trajectories per competency (or, with `weeks`, competencies x weeks): `states` in the engine's
/// shape (`{competency, history: [{evidence, score, at}]}`).
#[wasm_bindgen(js_name = progressOverTime, unchecked_return_type = "ProgressView | Heatmap")]
pub fn progress_over_time(
    #[wasm_bindgen(
        unchecked_param_type = "{ competency: string; history: { evidence: string; score: number; at?: string }[] }[]"
    )]
    states: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ProficiencyScale")] scale_value: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Record<string, string> | null")] labels: Option<JsValue>,
    #[wasm_bindgen(unchecked_param_type = "{ from?: string; to?: string } | null")] window: Option<JsValue>,
    #[wasm_bindgen(unchecked_param_type = "CalculationMethod | null")] method: Option<JsValue>,
    #[wasm_bindgen(unchecked_param_type = "boolean | null")] weeks: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let states: Vec<core::mastery::CompetencyState> = data(&states, "states")?;
    let labels: BTreeMap<String, String> = optional(labels, "labels")?;
    let window: core::dashboard::TimeWindow = optional(window, "window")?;
    let method: core::mastery::CalculationMethod = optional(method, "method")?;
    let weeks = flag(weeks, "weeks")?;
    let config =
        core::mastery::MasteryConfig { method, scale: scale(&scale_value)?, ..core::mastery::MasteryConfig::default() };
    if weeks {
        to_js(&core::dashboard::competency_weeks_heatmap(&states, &labels, window, &config))
    } else {
        to_js(&core::dashboard::progress_over_time(&states, &labels, window, &config))
    }
}
