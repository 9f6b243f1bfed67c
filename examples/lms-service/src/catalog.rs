//! What the service knows about its courses: the competency framework, which activities assess
//! which competencies in which course, and the achievements it awards. A host builds its own; this
//! one maps six quizzes onto the ratio standards of the CCSS framework shipped in `fixtures/`.

use mastery_core::credential::{Achievement, AchievementType, AwardRule};
use mastery_core::{CourseId, EvidenceMapping, Framework, MasteryError};

/// The framework, the xAPI mapping and the achievements.
#[derive(Debug)]
pub struct Catalog {
    pub framework: Framework,
    pub mapping: EvidenceMapping,
    pub achievements: Vec<Achievement>,
}

/// The standards quizzes 1..=6 assess.
pub const STANDARDS: [&str; 6] = [
    "CCSS.Math.Content.6.RP.A.1",
    "CCSS.Math.Content.6.RP.A.2",
    "CCSS.Math.Content.6.RP.A.3a",
    "CCSS.Math.Content.6.RP.A.3b",
    "CCSS.Math.Content.7.RP.A.1",
    "CCSS.Math.Content.7.RP.A.2a",
];

/// The courses statements name as a context activity `https://lms.example/courses/{id}`.
pub const COURSES: [&str; 4] = ["maths-101", "maths-102", "c1", "c2"];

impl Catalog {
    /// The built-in catalog: quiz `https://lms.example/quiz/{n}` assesses `STANDARDS[n-1]`.
    pub fn demo() -> Result<Self, MasteryError> {
        let framework = Framework::from_case_json(include_str!(
            "../../../fixtures/data/case/opensalt_what_standards_could_be_20c5134f.json"
        ))?;
        let mut mapping = EvidenceMapping::default();
        let mut achievements = Vec::new();
        for (i, code) in STANDARDS.iter().enumerate() {
            let item = framework.find_by_code(code).ok_or(MasteryError::NotFound { what: "catalog standard" })?;
            mapping
                .competencies
                .insert(format!("https://lms.example/quiz/{}", i + 1), vec![item.identifier.as_str().into()]);
            achievements.push(Achievement {
                id: format!("https://lms.example/achievements/{code}"),
                version: 1,
                name: format!("{code} mastered"),
                description: item.full_statement.clone(),
                criteria: format!("Mastery of {code} on the course's proficiency scale."),
                image: None,
                achievement_type: AchievementType::Competency,
                alignments: vec![(item.uri.clone().unwrap_or_else(|| item.identifier.clone()), (*code).to_owned())],
                valid_days: Some(730),
                rule: AwardRule::Mastery { competency: item.identifier.clone(), min_points: None },
            });
        }
        for course in COURSES {
            mapping.courses.insert(format!("https://lms.example/courses/{course}"), CourseId::new(course));
        }
        Ok(Self { framework, mapping, achievements })
    }
}
