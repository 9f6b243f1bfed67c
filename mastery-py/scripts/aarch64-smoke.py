"""Smoke test of an installed `mastery` wheel that needs only numpy: fits a small BKT model,
ingests evidence through mastery.Engine, renders an SVG, and prints the answers as JSON.

`test-aarch64-wheel.sh` runs it once with the x86-64 wheel and once with the aarch64 wheel
(under qemu) and compares the two outputs byte for byte: the floats are printed with repr
(shortest round-trip), so equal output means bit-identical results.
"""

import hashlib
import json
import platform
import sys

import numpy as np

import mastery
from mastery import _mastery

SERVICE = {"tenant": "t1", "user": "importer", "roles": [{"role": "service"}]}


def bkt():
    """A deterministic tiny data set: 6 learners, 2 skills, 10 answers each."""
    learner, skill, correct = [], [], []
    for u in range(6):
        for k in range(2):
            for t in range(10):
                learner.append(u)
                skill.append(k)
                correct.append(1 if (u * 7 + k * 3 + t * t) % 10 < 3 + t // 2 + u % 3 else 0)
    columns = [np.array(c, dtype=np.int64) for c in (learner, skill, correct)]
    names = [["add", "sub"], [], []]
    options = {"forgets": False, "multilearn": False, "multigs": False, "multiprior": False,
               "num_fits": 3, "seed": 42}
    model = _mastery.NativeBktModel.fit(*columns, None, None, None, names, options=options)
    p_correct, p_known = model.predict(*columns, None, None, None, names)
    return {
        "model": json.loads(model.to_json()),
        "p_correct": [float(x) for x in p_correct],
        "p_known": [float(x) for x in p_known],
    }


def record(i):
    return {
        "id": f"e{i}",
        "learner": f"l{i % 3}",
        "competencies": [f"k{i % 2}"],
        "kind": "response",
        "score": {"scaled": (i * 37 % 100) / 100},
        "occurred_at": f"2026-03-{1 + i // 10:02d}T10:{i % 60:02d}:00Z",
        "source": "host",
        "course": "c1",
    }


def engine():
    eng = mastery.Engine()
    first = eng.ingest(SERVICE, [record(i) for i in range(30)])
    again = eng.ingest(SERVICE, [record(i) for i in range(25, 35)])
    states = {f"l{u}": eng.learner_states(SERVICE, f"l{u}", "c1") for u in range(3)}
    heatmap = eng.class_heatmap(SERVICE, "c1", [{"id": "k0", "label": "Zero"}, {"id": "k1", "label": "One"}])
    svg = str(mastery.render("heatmap", heatmap))
    assert svg.startswith("<svg") and 'role="img"' in svg, svg[:200]
    return {
        "first": dict(first),
        "again": dict(again),
        "states": states,
        "heatmap": heatmap,
        "svg_bytes": len(svg.encode()),
        "svg_sha256": hashlib.sha256(svg.encode()).hexdigest(),
    }


def main():
    result = {"bkt": bkt(), "engine": engine()}
    print(f"mastery on {platform.machine()}, Python {platform.python_version()}, "
          f"numpy {np.__version__}: extension {_mastery.__file__}", file=sys.stderr)
    print(json.dumps(result, sort_keys=True, default=repr, indent=1))


if __name__ == "__main__":
    main()
