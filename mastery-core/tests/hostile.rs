//! Hostile inputs from the security review: each must end in a typed error or a quick answer,
//! never a panic, an abort or a hang. Timings are printed (`--nocapture`), never asserted.

#![allow(clippy::unwrap_used)]

use std::time::Instant;

use mastery_core::Framework;
use serde_json::{json, Value};

/// A CASE package with `items` items; item `i` is a child of the document and, with
/// `two_parents`, of items `i-1` and `i-2` instead (a DAG with many paths of many depths).
pub fn case_package(items: usize, two_parents: bool) -> String {
    let mut cf_items = Vec::with_capacity(items);
    let mut links = Vec::with_capacity(items * 2);
    let link = |n: usize, child: &str, parent: &str| {
        json!({"identifier": format!("a{n}"), "associationType": "isChildOf",
            "originNodeURI": {"identifier": child}, "destinationNodeURI": {"identifier": parent}})
    };
    for i in 0..items {
        let id = format!("i{i}");
        cf_items.push(json!({"identifier": id, "fullStatement": format!("item {i}")}));
        if !two_parents || i < 2 {
            links.push(link(links.len(), &id, "doc"));
        } else {
            links.push(link(links.len(), &id, &format!("i{}", i - 1)));
            links.push(link(links.len(), &id, &format!("i{}", i - 2)));
        }
    }
    json!({"CFDocument": {"identifier": "doc", "title": "hostile"}, "CFItems": cf_items, "CFAssociations": links})
        .to_string()
}

fn timed<T>(label: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    println!("{label}: {:.3} s", start.elapsed().as_secs_f64());
    out
}

#[test]
fn eight_thousand_items_with_two_parents_each_summarise() {
    let text = case_package(8_000, true);
    let f = timed("import 8000 x 2 parents", || Framework::from_case_json(&text).unwrap());
    let s = timed("summary 8000 x 2 parents", || f.summary());
    assert_eq!(s.items, 8_000);
    assert_eq!(s.depth, 7_999);
    let last = timed("ancestors of the deepest item", || f.ancestors("i7999").unwrap().len());
    assert_eq!(last, 7_999);
    let order = timed("topological order", || f.topological_order().len());
    assert_eq!(order, 8_000);
    let below = timed("descendants of the document", || f.descendants("doc").unwrap().len());
    assert_eq!(below, 8_000);
}

#[test]
fn a_hundred_thousand_flat_children_summarise() {
    let text = case_package(100_000, false);
    let f = timed("import 100000 flat", || Framework::from_case_json(&text).unwrap());
    let s = timed("summary 100000 flat", || f.summary());
    assert_eq!((s.items, s.depth), (100_000, 1));
    let children = timed("children of the document", || f.children("doc").unwrap().len());
    assert_eq!(children, 100_000);
}

#[test]
fn a_repeated_child_link_counts_once() {
    let mut package: Value = serde_json::from_str(&case_package(3, false)).unwrap();
    let again = package["CFAssociations"][0].clone();
    package["CFAssociations"].as_array_mut().unwrap().push(again);
    let f = Framework::from_case_json(&package.to_string()).unwrap();
    assert_eq!(f.children("doc").unwrap().len(), 3);
}
