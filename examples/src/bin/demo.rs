//! The main job, end to end on real public data shipped in `fixtures/data`:
//! load the Common Core maths framework (CASE), ingest real OULAD assessment results, the xAPI
//! specification's statements and the Caliper 1.2 example events, store them under the access
//! policy, and read them back as an instructor and as a learner.
//!
//! `cargo run -p mastery-examples --bin demo`

use std::collections::BTreeMap;
use std::error::Error;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use mastery_core::{
    parse_caliper, parse_oulad_assessments, parse_xapi, AccessContext, Engine, EvidenceMapping, Framework,
    IngestReport, MemoryStore, Principal, Store,
};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data")
}

fn read(path: &str) -> Result<String, Box<dyn Error>> {
    Ok(fs::read_to_string(data().join(path))?)
}

fn summarize(label: &str, report: &IngestReport) {
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for e in &report.accepted {
        *kinds.entry(format!("{:?}", e.kind).to_lowercase()).or_default() += 1;
    }
    println!("  {label}: {} accepted {kinds:?}, {} rejected", report.accepted.len(), report.rejected.len());
    for r in report.rejected.iter().take(3) {
        println!("    rejected #{}: [{}] {}", r.index, r.code, r.reason);
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    // 1. The framework.
    let framework = Framework::from_case_json(&read("case/opensalt_ccss_math_cfs_sample_2016draft.json")?)?;
    let s = framework.summary();
    println!("Framework: {} — {} competencies, {} associations, depth {}", s.title, s.items, s.associations, s.depth);
    let domains = framework.children(framework.identifier())?;
    println!(
        "  top level: {} entries, e.g. {:?}",
        domains.len(),
        domains.iter().take(3).map(|c| &c.full_statement).collect::<Vec<_>>()
    );
    let cluster = framework.find_by_code("CCSS.Math.Content.1.G.A").ok_or("cluster missing")?;
    println!(
        "  CCSS.Math.Content.1.G.A \"{}\" has {} standards",
        cluster.full_statement,
        framework.children(&cluster.identifier)?.len()
    );

    // 2. Evidence. OULAD assessments of module AAA are mapped to that cluster, as a host would map
    //    its own assessments to its framework.
    let mut assessments = String::new();
    flate2::read::GzDecoder::new(fs::File::open(data().join("oulad/studentAssessment.csv.gz"))?)
        .read_to_string(&mut assessments)?;
    let assessment_table = read("oulad/assessments.csv")?;
    let mut mapping = EvidenceMapping::default();
    for line in assessment_table.lines().skip(1).filter(|l| l.starts_with("\"AAA\"")) {
        let id = line.split(',').nth(2).unwrap_or_default().trim_matches('"');
        mapping.competencies.insert(format!("oulad:assessment:{id}"), vec![cluster.identifier.as_str().into()]);
    }
    println!("Evidence:");
    let (_, oulad) = parse_oulad_assessments(&assessment_table, &assessments, &mapping)?;
    summarize("OULAD studentAssessment", &oulad);

    let mut xapi = IngestReport::default();
    for entry in fs::read_dir(data().join("xapi/spec_examples"))? {
        let path = entry?.path();
        if path.to_string_lossy().ends_with("_statement.json") {
            let report = parse_xapi(&fs::read_to_string(&path)?, &EvidenceMapping::default())?;
            xapi.accepted.extend(report.accepted);
            xapi.rejected.extend(report.rejected);
        }
    }
    summarize("xAPI 1.0.3 specification statements", &xapi);

    let mut caliper = IngestReport::default();
    for entry in fs::read_dir(data().join("caliper/v1p2"))? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if name.starts_with("caliperEvent") || name.starts_with("caliperEnvelope") {
            let report = parse_caliper(&fs::read_to_string(&path)?, &EvidenceMapping::default())?;
            caliper.accepted.extend(report.accepted);
            caliper.rejected.extend(report.rejected);
        }
    }
    summarize("Caliper 1.2 example events", &caliper);

    // 3. Store everything once, under the access policy; a second ingest changes nothing.
    let engine = Engine::new(MemoryStore::new());
    let importer = AccessContext::new(Principal::service("open-university", "importer"));
    let first = engine.ingest(&importer, &oulad.accepted);
    let again = engine.ingest(&importer, &oulad.accepted);
    println!("Store: {} new, then {} duplicates on re-ingest", first.new, again.duplicates);

    let course = "AAA-2013J".into();
    let teacher = AccessContext::new(Principal::instructor("open-university", "tutor-1", vec!["AAA-2013J".into()]));
    let course_evidence = engine.store().course_evidence(&teacher, &course)?;
    let learners: std::collections::BTreeSet<_> = course_evidence.iter().map(|e| e.learner.clone()).collect();
    let mean = course_evidence.iter().filter_map(|e| e.normalized_score()).sum::<f64>()
        / course_evidence.iter().filter(|e| e.normalized_score().is_some()).count().max(1) as f64;
    println!(
        "Instructor of AAA-2013J sees {} results of {} learners, mean score {:.1}%",
        course_evidence.len(),
        learners.len(),
        mean * 100.0
    );
    let other = engine.store().course_evidence(&teacher, &"BBB-2013J".into());
    println!("  ... and another course: {}", other.err().map_or("allowed?!".into(), |e| e.to_string()));
    let learner = learners.iter().next().ok_or("no learners")?;
    let own = AccessContext::new(Principal::learner("open-university", learner.clone()));
    println!("A learner sees their own {} results", engine.store().learner_evidence(&own, learner)?.len());
    Ok(())
}
