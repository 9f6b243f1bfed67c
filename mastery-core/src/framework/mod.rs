//! Competency frameworks: a typed graph of competencies and every CASE association between them.
//!
//! `isChildOf` builds the hierarchy, `precedes` the prerequisite graph (A precedes B: A is a
//! prerequisite of B); every other association type is kept and queryable. Both the hierarchy and
//! the prerequisites are checked for cycles on import.

mod case;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{MasteryError, Result};

/// One competency (a CASE `CFItem`): the fields the library reads, plus the whole original record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Competency {
    pub identifier: String,
    pub full_statement: String,
    pub human_coding_scheme: Option<String>,
    pub item_type: Option<String>,
    pub uri: Option<String>,
    #[serde(skip)]
    record: Map<String, Value>,
}

impl Competency {
    /// The item exactly as it was imported, unknown fields included.
    pub fn record(&self) -> &Map<String, Value> {
        &self.record
    }
}

/// The CASE association types, with the ones this library does not know kept by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AssociationType {
    IsChildOf,
    Precedes,
    IsPartOf,
    ExactMatchOf,
    ReplacedBy,
    Exemplar,
    HasSkillLevel,
    IsPeerOf,
    IsRelatedTo,
    IsTranslationOf,
    #[serde(untagged)]
    Other(String),
}

impl AssociationType {
    fn parse(name: &str) -> Self {
        serde_json::from_value(Value::String(name.to_owned())).unwrap_or_else(|_| Self::Other(name.to_owned()))
    }

    /// The name as CASE writes it (`isChildOf`).
    pub fn as_str(&self) -> &str {
        match self {
            Self::IsChildOf => "isChildOf",
            Self::Precedes => "precedes",
            Self::IsPartOf => "isPartOf",
            Self::ExactMatchOf => "exactMatchOf",
            Self::ReplacedBy => "replacedBy",
            Self::Exemplar => "exemplar",
            Self::HasSkillLevel => "hasSkillLevel",
            Self::IsPeerOf => "isPeerOf",
            Self::IsRelatedTo => "isRelatedTo",
            Self::IsTranslationOf => "isTranslationOf",
            Self::Other(name) => name,
        }
    }
}

/// A typed, directed link between two nodes (items, the document, or nodes in other frameworks).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Association {
    pub identifier: String,
    pub association_type: AssociationType,
    pub origin: String,
    pub destination: String,
    pub sequence_number: Option<i64>,
    #[serde(skip)]
    record: Map<String, Value>,
}

impl Association {
    /// The association exactly as it was imported.
    pub fn record(&self) -> &Map<String, Value> {
        &self.record
    }
}

/// Counts that describe a framework at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkSummary {
    pub identifier: String,
    pub title: String,
    pub items: usize,
    pub associations: usize,
    /// Association count per type name.
    pub association_types: std::collections::BTreeMap<String, usize>,
    /// Longest `isChildOf` path from the document (the document's children are at depth 1).
    pub depth: usize,
}

/// A competency framework: the document, its items and their associations.
#[derive(Debug, Clone)]
pub struct Framework {
    document: Map<String, Value>,
    items: Vec<Competency>,
    associations: Vec<Association>,
    /// Top-level package members other than the three above (CFDefinitions, CFRubrics, ...).
    rest: Map<String, Value>,
    index: HashMap<String, usize>,
    children: HashMap<String, Vec<usize>>,
    parents: HashMap<String, Vec<String>>,
    prerequisites: HashMap<String, Vec<String>>,
}

impl Framework {
    /// Imports a CASE 1.0 or 1.1 `CFPackage`, or the pre-1.0 draft format (leniently).
    pub fn from_case_json(text: &str) -> Result<Self> {
        case::import(text)
    }

    /// Exports a CASE 1.1 `CFPackage`. Fields CASE 1.1 does not define move into the
    /// entity's `extensions` object, so nothing is lost and the result validates against the schema.
    pub fn to_case_json(&self) -> String {
        case::export(self).to_string()
    }

    /// The exported package as a JSON value.
    pub fn to_case_value(&self) -> Value {
        case::export(self)
    }

    fn build(
        document: Map<String, Value>,
        items: Vec<Competency>,
        associations: Vec<Association>,
        rest: Map<String, Value>,
    ) -> Result<Self> {
        let mut index = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            if index.insert(item.identifier.clone(), i).is_some() {
                return Err(MasteryError::invalid(
                    "CFItems.identifier",
                    format!("duplicate identifier {}", item.identifier),
                ));
            }
        }
        let mut framework = Self {
            document,
            items,
            associations,
            rest,
            index,
            children: HashMap::new(),
            parents: HashMap::new(),
            prerequisites: HashMap::new(),
        };
        let mut child_links: Vec<(String, usize, Option<i64>, usize)> = Vec::new();
        for (order, a) in framework.associations.iter().enumerate() {
            match a.association_type {
                AssociationType::IsChildOf => {
                    if let Some(&child) = framework.index.get(&a.origin) {
                        child_links.push((a.destination.clone(), child, a.sequence_number, order));
                        framework.parents.entry(a.origin.clone()).or_default().push(a.destination.clone());
                    }
                }
                AssociationType::Precedes => {
                    framework.prerequisites.entry(a.destination.clone()).or_default().push(a.origin.clone());
                }
                _ => {}
            }
        }
        // Children in CASE order: sequenceNumber, then humanCodingScheme, then document order.
        let items = &framework.items;
        child_links.sort_by(|x, y| {
            let code = |i: usize| items[i].human_coding_scheme.as_deref();
            (&x.0, x.2.is_none(), x.2, code(x.1), x.3).cmp(&(&y.0, y.2.is_none(), y.2, code(y.1), y.3))
        });
        // A link repeated in the package counts once (a set, so 100,000 siblings stay linear).
        let mut linked: HashSet<(&str, usize)> = HashSet::with_capacity(child_links.len());
        for (parent, child, _, _) in &child_links {
            if linked.insert((parent.as_str(), *child)) {
                framework.children.entry(parent.clone()).or_default().push(*child);
            }
        }
        framework.check_acyclic(&framework.parents, "isChildOf")?;
        framework.check_acyclic(&framework.prerequisites, "precedes")?;
        Ok(framework)
    }

    /// The document's identifier (the root of the hierarchy).
    pub fn identifier(&self) -> &str {
        self.document.get("identifier").and_then(Value::as_str).unwrap_or_default()
    }

    /// The document's title.
    pub fn title(&self) -> &str {
        self.document.get("title").and_then(Value::as_str).unwrap_or_default()
    }

    /// All competencies in document order.
    pub fn items(&self) -> &[Competency] {
        &self.items
    }

    /// All associations in document order.
    pub fn associations(&self) -> &[Association] {
        &self.associations
    }

    /// One competency by identifier.
    pub fn item(&self, identifier: &str) -> Option<&Competency> {
        self.index.get(identifier).map(|&i| &self.items[i])
    }

    fn require(&self, identifier: &str) -> Result<()> {
        if identifier == self.identifier() || self.index.contains_key(identifier) {
            Ok(())
        } else {
            Err(MasteryError::NotFound { what: "competency" })
        }
    }

    /// The competency with this `humanCodingScheme` (e.g. `CCSS.Math.Content.1.G.A`).
    pub fn find_by_code(&self, code: &str) -> Option<&Competency> {
        self.items.iter().find(|c| c.human_coding_scheme.as_deref() == Some(code))
    }

    /// Direct children, ordered by `sequenceNumber`, then `humanCodingScheme`, then document order.
    /// Pass the document identifier for the top level.
    pub fn children(&self, identifier: &str) -> Result<Vec<&Competency>> {
        self.require(identifier)?;
        Ok(self.children.get(identifier).into_iter().flatten().map(|&i| &self.items[i]).collect())
    }

    /// Whether the competency has no children (an assessable leaf). Unknown ids are leaves.
    pub fn is_leaf(&self, identifier: &str) -> bool {
        self.children.get(identifier).is_none_or(Vec::is_empty)
    }

    /// Parents, grandparents, ... nearest first, each once; the document is not included.
    pub fn ancestors(&self, identifier: &str) -> Result<Vec<&Competency>> {
        self.require(identifier)?;
        Ok(self.walk(identifier, &self.parents))
    }

    /// Every competency that must come before this one (transitively through `precedes`), nearest first.
    pub fn prerequisites(&self, identifier: &str) -> Result<Vec<&Competency>> {
        self.require(identifier)?;
        Ok(self.walk(identifier, &self.prerequisites))
    }

    /// Every competency below this one in the hierarchy, in depth-first CASE order.
    pub fn descendants(&self, identifier: &str) -> Result<Vec<&Competency>> {
        self.require(identifier)?;
        let mut out = Vec::new();
        let mut stack: Vec<usize> = self.children.get(identifier).into_iter().flatten().rev().copied().collect();
        let mut seen = BTreeSet::new();
        while let Some(i) = stack.pop() {
            if seen.insert(i) {
                out.push(&self.items[i]);
                stack.extend(self.children.get(&self.items[i].identifier).into_iter().flatten().rev());
            }
        }
        Ok(out)
    }

    fn walk(&self, start: &str, edges: &HashMap<String, Vec<String>>) -> Vec<&Competency> {
        let mut seen = BTreeSet::new();
        let mut queue: VecDeque<&str> = VecDeque::from([start]);
        let mut out = Vec::new();
        while let Some(node) = queue.pop_front() {
            for next in edges.get(node).into_iter().flatten() {
                if seen.insert(next.as_str()) {
                    if let Some(item) = self.item(next) {
                        out.push(item);
                    }
                    queue.push_back(next);
                }
            }
        }
        out
    }

    /// All competencies ordered so that every prerequisite comes before what it precedes;
    /// ties keep document order.
    pub fn topological_order(&self) -> Vec<&Competency> {
        let mut indegree = vec![0usize; self.items.len()];
        let mut next: Vec<Vec<usize>> = vec![Vec::new(); self.items.len()];
        for (target, sources) in &self.prerequisites {
            let Some(&t) = self.index.get(target) else { continue };
            for s in sources.iter().filter_map(|s| self.index.get(s)) {
                next[*s].push(t);
                indegree[t] += 1;
            }
        }
        let mut ready: BTreeSet<usize> = (0..self.items.len()).filter(|&i| indegree[i] == 0).collect();
        let mut out = Vec::with_capacity(self.items.len());
        while let Some(i) = ready.pop_first() {
            out.push(&self.items[i]);
            for &t in &next[i] {
                indegree[t] -= 1;
                if indegree[t] == 0 {
                    ready.insert(t);
                }
            }
        }
        out
    }

    /// Associations of one type, in document order.
    pub fn associations_of<'a>(&'a self, kind: &'a AssociationType) -> impl Iterator<Item = &'a Association> {
        self.associations.iter().filter(move |a| &a.association_type == kind)
    }

    /// Counts and depth.
    pub fn summary(&self) -> FrameworkSummary {
        let mut association_types = std::collections::BTreeMap::new();
        for a in &self.associations {
            *association_types.entry(a.association_type.as_str().to_owned()).or_insert(0) += 1;
        }
        let depth = self.depth();
        FrameworkSummary {
            identifier: self.identifier().to_owned(),
            title: self.title().to_owned(),
            items: self.items.len(),
            associations: self.associations.len(),
            association_types,
            depth,
        }
    }

    /// The longest `isChildOf` path from the document, in linear time: the hierarchy is acyclic
    /// (checked on import), so a node's depth is final once all its parents reachable from the
    /// document have been visited (Kahn's order over the part reachable from the document).
    fn depth(&self) -> usize {
        let root = self.identifier();
        let kids = |node: &str| self.children.get(node).map(Vec::as_slice).unwrap_or_default();
        // Parent counts among the nodes reachable from the document.
        let mut pending = vec![0usize; self.items.len()];
        let mut reached = vec![false; self.items.len()];
        let mut stack: Vec<usize> = Vec::new();
        for &c in kids(root) {
            pending[c] += 1;
            if !reached[c] {
                reached[c] = true;
                stack.push(c);
            }
        }
        while let Some(i) = stack.pop() {
            for &c in kids(&self.items[i].identifier) {
                pending[c] += 1;
                if !reached[c] {
                    reached[c] = true;
                    stack.push(c);
                }
            }
        }
        let mut depth_of = vec![0usize; self.items.len()];
        let mut ready: Vec<usize> = Vec::new();
        for &c in kids(root) {
            depth_of[c] = 1;
            pending[c] -= 1;
            if pending[c] == 0 {
                ready.push(c);
            }
        }
        let mut depth = 0;
        while let Some(i) = ready.pop() {
            depth = depth.max(depth_of[i]);
            for &c in kids(&self.items[i].identifier) {
                depth_of[c] = depth_of[c].max(depth_of[i] + 1);
                pending[c] -= 1;
                if pending[c] == 0 {
                    ready.push(c);
                }
            }
        }
        depth
    }

    /// Fails with the competencies on a cycle of `edges` (child → parents, or item → prerequisites).
    fn check_acyclic(&self, edges: &HashMap<String, Vec<String>>, relation: &'static str) -> Result<()> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Open,
            Done,
        }
        let mut marks: HashMap<&str, Mark> = HashMap::new();
        let mut starts: Vec<&String> = edges.keys().collect();
        starts.sort();
        for start in starts {
            if marks.contains_key(start.as_str()) {
                continue;
            }
            // Iterative DFS keeping the current path so a cycle can be reported.
            let mut path: Vec<(&str, usize)> = vec![(start.as_str(), 0)];
            marks.insert(start, Mark::Open);
            while let Some(&mut (node, ref mut next)) = path.last_mut() {
                let targets = edges.get(node).map(Vec::as_slice).unwrap_or_default();
                if let Some(target) = targets.get(*next) {
                    *next += 1;
                    match marks.get(target.as_str()) {
                        Some(Mark::Open) => {
                            let from = path.iter().position(|(n, _)| *n == target).unwrap_or(0);
                            let competencies = path[from..].iter().map(|(n, _)| self.label(n)).collect();
                            return Err(MasteryError::Cycle { relation, competencies });
                        }
                        Some(Mark::Done) => {}
                        None => {
                            marks.insert(target, Mark::Open);
                            path.push((target, 0));
                        }
                    }
                } else {
                    marks.insert(node, Mark::Done);
                    path.pop();
                }
            }
        }
        Ok(())
    }

    /// `humanCodingScheme` when there is one, else the identifier.
    fn label(&self, identifier: &str) -> String {
        self.item(identifier).and_then(|c| c.human_coding_scheme.clone()).unwrap_or_else(|| identifier.to_owned())
    }
}
