"""The side-by-side table: one row per figure with custos, Patroni, their ratio and the target."""

import json
import statistics


def summary(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"min": min(vals), "median": statistics.median(vals), "max": max(vals), "n": len(vals)}


class Row:
    """target: (kind, factor): 'le_ratio' custos <= factor * patroni; 'ge_ratio' custos >=
    factor * patroni; 'lt_abs' custos < factor; 'le_abs' custos <= factor; 'eq_abs' custos == factor
    (every value); None: figure only."""

    def __init__(self, section, metric, unit, target=None, note=""):
        self.section, self.metric, self.unit, self.target, self.note = section, metric, unit, target, note
        self.values = {}

    def add(self, agent, value):
        self.values.setdefault(agent, []).append(value)

    def stats(self, agent):
        return summary(self.values.get(agent, []))

    def verdict(self):
        if not self.target:
            return None
        kind, factor = self.target
        c = self.stats("custos")
        if c is None:
            return None
        cv = c["median"]
        if kind == "lt_abs":
            return cv < factor
        if kind == "le_abs":
            return cv <= factor
        if kind == "eq_abs":
            return c["max"] == factor
        p = self.stats("patroni")
        if p is None or p["median"] is None:
            return None
        pv = p["median"]
        if kind == "le_ratio":
            return cv <= factor * pv
        if kind == "ge_ratio":
            return cv >= factor * pv
        return None

    def target_text(self):
        if not self.target:
            return ""
        kind, f = self.target
        return {"le_ratio": f"<= {f:g} x Patroni", "ge_ratio": f">= {f:g} x Patroni",
                "lt_abs": f"< {f:g}", "le_abs": f"<= {f:g}", "eq_abs": f"= {f:g}"}[kind]

    def miss_text(self):
        """By how much a ratio target is missed: "NO, 2.40x" (custos is 2.4 times the allowed value;
        for >= targets, the allowed value is 2.4 times custos's figure); plain "NO" otherwise."""
        if self.verdict() is not False:
            return ""
        kind, f = self.target
        c, p = self.stats("custos"), self.stats("patroni")
        try:
            if kind == "le_ratio":
                return f"NO, {c['median'] / (f * p['median']):.2f}x"
            if kind == "ge_ratio":
                return f"NO, {(f * p['median']) / c['median']:.2f}x"
        except (TypeError, ZeroDivisionError):
            pass
        return "NO"

    def to_json(self):
        c, p = self.stats("custos"), self.stats("patroni")
        return {"section": self.section, "metric": self.metric, "unit": self.unit,
                "custos": c, "patroni": p,
                "ratio": (c["median"] / p["median"]) if (c and p and p["median"]) else None,
                "target": self.target_text() or None, "met": self.verdict(), "missed_by": self.miss_text() or None,
                "note": self.note or None,
                "values": self.values}


def _fmt(s):
    if s is None:
        return "-"
    med = s["median"]
    text = f"{med:.3g}" if abs(med) < 1000 else f"{med:.0f}"
    if s["n"] > 1:
        text += f" [{s['min']:.3g}..{s['max']:.3g}]"
    return text


def render(rows, agents):
    header = ["section", "figure", "unit"] + agents + (["ratio"] if len(agents) > 1 else []) + ["target", "met"]
    lines = []
    for r in rows:
        c, p = r.stats("custos"), r.stats("patroni")
        cells = [r.section, r.metric, r.unit] + [_fmt(r.stats(a)) for a in agents]
        if len(agents) > 1:
            cells.append(f"{c['median'] / p['median']:.3g}" if (c and p and p["median"]) else "-")
        v = r.verdict()
        cells += [r.target_text(), "" if v is None else ("yes" if v else r.miss_text())]
        lines.append(cells)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths)),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(x).ljust(w) for x, w in zip(line, widths)) for line in lines]
    return "\n".join(out)


def write_json(path, machine, rows, extra):
    with open(path, "w") as f:
        json.dump({"machine": machine, **extra, "rows": [r.to_json() for r in rows]}, f, indent=2)
