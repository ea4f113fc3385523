#!/usr/bin/env python3
"""Reference item analysis, written apart from the Rust code (standard library only).

Builds fixed data sets (a small linear congruential generator, so the data is the
same on every Python), computes the statistics with plain two-pass formulas and
prints one JSON document: each data set's input and the expected output. The Rust
test `scoring::items::tests::matches_the_python_reference` reads it from
`expected.json`; `scripts/checks/35-item-analysis-reference.sh` re-runs this script
and fails when the committed file differs.

Definitions (Moodle's quiz statistics, on fractions instead of percentages):
- facility: mean fraction of the question's points earned;
- discrimination: Pearson correlation of the question's score (points) with the
  rest of the test (total minus that question), over the students presented it;
  blank when either side has no variance;
- alpha: k/(k-1) * (1 - sum of item variances / variance of totals), variances
  with n-1; blank unless every student was presented every question;
- error ratio sqrt(1 - alpha); standard error sd * error ratio;
- top third: students whose total is at least the ceil(n/3)-th best total.
"""

import json
import math
import sys


class Lcg:
    """Numerical Recipes' 32-bit LCG: reproducible everywhere."""

    def __init__(self, seed):
        self.state = seed

    def next(self):
        self.state = (1664525 * self.state + 1013904223) % 2**32
        return self.state / 2**32


def make_data_set(seed, students, drawn):
    rng = Lcg(seed)
    # (id, options, key, points, difficulty, kind)
    questions = [
        ("1", ["a", "b", "c", "d"], ["a"], 1, 0.0, "single"),
        ("2", ["a", "b", "c", "d"], ["c"], 1, 0.8, "single"),
        ("3", ["a", "b", "c"], ["b"], 2, -0.5, "single"),
        ("4", ["a", "b", "c", "d"], ["a", "c"], 2, 0.3, "multiple"),
        ("5", ["a", "b", "c", "d"], ["d"], 1, -3.0, "single"),  # everybody knows it
        ("6", ["a", "b", "c", "d"], ["a"], 1, 0.2, "miskeyed"),  # the right answer is b
        ("7", ["a", "b", "c", "d"], ["b"], 1, 0.0, "noise"),  # unrelated to ability
    ]
    items = [
        {"questionId": q, "options": o, "key": k, "points": p}
        for (q, o, k, p, _, _) in questions
    ]
    attempts = []
    for s in range(students):
        ability = rng.next() * 4 - 2
        responses = []
        for qi, (q, options, key, points, difficulty, kind) in enumerate(questions):
            # In the "drawn" set some students were not presented question 7.
            if drawn and qi == 6 and s % 4 == 0:
                responses.append(None)
                continue
            p_right = 1 / (1 + math.exp(-(ability - difficulty) * 1.7))
            if kind == "noise":
                p_right = 0.5
            right = rng.next() < p_right
            skipped = rng.next() < 0.06
            wrong = [o for o in options if o not in key]
            if kind == "multiple":
                # Partial credit in quarters: one right answer of the two gives half,
                # a wrong extra takes a quarter.
                if skipped:
                    chosen, earned = [], 0.0
                elif right:
                    chosen, earned = list(key), 1.0
                else:
                    extra = wrong[int(rng.next() * len(wrong))]
                    chosen, earned = sorted([key[0], extra]), 0.25
                responses.append({"earned": earned, "chosen": chosen})
                continue
            if skipped:
                chosen, earned = [], 0.0
            elif kind == "miskeyed":
                others = [o for o in options if o != "b"]
                chosen = ["b"] if right else [others[int(rng.next() * len(others))]]
                earned = 1.0 if chosen == key else 0.0
            elif right:
                chosen, earned = list(key), 1.0
            else:
                chosen, earned = [wrong[int(rng.next() * len(wrong))]], 0.0
            responses.append({"earned": earned, "chosen": chosen})
        attempts.append({"student": "s%02d" % (s + 1), "responses": responses})
    return {"items": items, "attempts": attempts}


def mean(xs):
    return sum(xs) / len(xs)


def var(xs):
    if len(xs) < 2:
        return None
    m = mean(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def pearson(xs, ys):
    if len(xs) < 2:
        return None
    mx, my = mean(xs), mean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx / (len(xs) - 1) <= 1e-12 or syy / (len(ys) - 1) <= 1e-12:
        return None
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def analyse(data):
    items, attempts = data["items"], data["attempts"]
    points = [it["points"] for it in items]
    totals = []
    for a in attempts:
        totals.append(sum(r["earned"] * p for r, p in zip(a["responses"], points) if r))
    n = len(totals)
    ranked = sorted(totals, reverse=True)
    cut = ranked[math.ceil(n / 3) - 1] if n else None
    top = [t >= cut for t in totals] if n else []

    out_items = []
    item_vars = []
    for i, it in enumerate(items):
        xs, rests, fractions = [], [], []
        counts = {o: [0, 0] for o in it["options"]}
        order = list(it["options"])
        unanswered = 0
        for a, total, is_top in zip(attempts, totals, top):
            r = a["responses"][i]
            if r is None:
                continue
            x = r["earned"] * it["points"]
            xs.append(x)
            rests.append(total - x)
            fractions.append(r["earned"])
            if not r["chosen"]:
                unanswered += 1
            for c in r["chosen"]:
                if c not in counts:
                    counts[c] = [0, 0]
                    order.append(c)
                counts[c][0] += 1
                if is_top:
                    counts[c][1] += 1
        item_vars.append(var(xs))
        facility = mean(fractions) if fractions else None
        discrimination = pearson(xs, rests)
        flags = []
        if facility is not None and facility < 0.2:
            flags.append("hard")
        elif facility is not None and facility > 0.95:
            flags.append("easy")
        if discrimination is not None and discrimination < 0.1:
            flags.append("low-discrimination")
        if it["key"]:
            keyed = min(counts.get(k, [0, 0])[1] for k in it["key"])
            rivals = [o for o in it["options"] if o not in it["key"]]
            if any(counts[o][1] > keyed for o in rivals):
                flags.append("probable-wrong-key")
        out_items.append(
            {
                "questionId": it["questionId"],
                "n": len(xs),
                "facility": facility,
                "discrimination": discrimination,
                "key": it["key"],
                "options": [
                    {
                        "answerId": o,
                        "count": counts[o][0],
                        "topThird": counts[o][1],
                        "isOption": o in it["options"],
                    }
                    for o in order
                ],
                "unanswered": unanswered,
                "flags": flags,
            }
        )

    complete = all(r is not None for a in attempts for r in a["responses"])
    total_var = var(totals)
    sd = math.sqrt(total_var) if total_var is not None else None
    k = len(items)
    alpha = None
    if complete and k > 1 and total_var is not None and total_var > 1e-12:
        alpha = k / (k - 1) * (1 - sum(item_vars) / total_var)
    error_ratio = math.sqrt(max(0.0, 1 - alpha)) if alpha is not None else None
    standard_error = sd * error_ratio if sd is not None and error_ratio is not None else None
    max_points = max(
        (sum(p for r, p in zip(a["responses"], points) if r) for a in attempts), default=0
    )
    test = {
        "n": n,
        "maxPoints": float(max_points),
        "mean": mean(totals) if totals else None,
        "sd": sd,
        "alpha": alpha,
        "errorRatio": error_ratio,
        "standardError": standard_error,
    }
    return {"test": test, "items": out_items}


def main():
    sets = {
        "full": make_data_set(seed=20261127, students=30, drawn=False),
        "drawn": make_data_set(seed=7, students=13, drawn=True),
    }
    doc = {
        name: {"input": data, "expected": analyse(data)} for name, data in sets.items()
    }
    json.dump(doc, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
