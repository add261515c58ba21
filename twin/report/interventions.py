"""The interventions of a run (the report's run section) and their cost against the loss they avoid (compare).

Cost-benefit per variant and service (the avoided-loss form of a benefit-cost analysis, FEMA "Benefit-Cost
Analysis Reference Guide", 2009, section 1; here with the service losses twin measures instead of dollars):

    avoided = PH_baseline - PH_variant          people-hours without the service avoided (mean over seeds)
    cost    = C_variant - C_baseline            the planner's costs of the interventions (entries' ``cost``)
    ratio   = avoided / cost                    people-hours avoided per unit of cost

The interval of ``avoided`` is the Welch interval of the difference of the means across seeds
(:func:`twin.report.stats.difference_interval`); the costs are the planner's figures, not random, so the
ratio's interval is that interval divided by the cost. The ratio is left out (NaN, with the reason) when an
intervention has no cost, when the variants' currencies differ, or when the variant costs no more than the
baseline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from twin.report.page import esc, table
from twin.report.strings import tr, tr_or

COST_COLUMNS = (
    "variant",
    "service",
    "cost",
    "currency",
    "avoided_people_hours",
    "avoided_ci_low",
    "avoided_ci_high",
    "per_unit_cost",
    "per_unit_ci_low",
    "per_unit_ci_high",
    "note",
)
#: What each intervention type's entry shows as its detail, in order.
DETAIL_KEYS = ("street", "crest_m", "breach_at", "breach_width_m", "height_m", "depth_m", "hours")


def measures_of(scenario: dict[str, Any]) -> list[dict[str, Any]]:
    """The typed interventions of a resolved scenario (entries with ``type``; scripted actions have ``kind``)."""
    return [entry for entry in scenario.get("interventions") or [] if isinstance(entry, dict) and "type" in entry]


def variant_cost(scenario: dict[str, Any]) -> tuple[float, str, str]:
    """(total cost, currency, problem) of a scenario's interventions; the problem is "" when the cost is known."""
    measures = measures_of(scenario)
    missing = [str(m.get("label") or m["type"]) for m in measures if m.get("cost") is None]
    if missing:
        return math.nan, "", f"no cost given for {', '.join(missing)}"
    currencies = {str(m.get("currency") or "") for m in measures}
    if len(currencies) > 1:
        return math.nan, "", f"costs in several currencies ({', '.join(sorted(currencies))})"
    return float(sum(float(m["cost"]) for m in measures)), (currencies.pop() if currencies else ""), ""


def _text(value: Any) -> str:
    """A selector value as people write it: lists joined by commas."""
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _detail(entry: dict[str, Any]) -> str:
    target = entry.get("target") or {}
    parts = [", ".join(f"{k}: {_text(v)}" for k, v in target.items() if v is not None)] if target else []
    if entry.get("line"):
        parts.append(f"line of {len(entry['line'])} points")
    parts += [
        f"{key}: {entry[key]:g}" if isinstance(entry[key], float) else f"{key}: {entry[key]}"
        for key in DETAIL_KEYS
        if entry.get(key) is not None
    ]
    return "; ".join(p for p in parts if p)


def interventions_html(scenario: dict[str, Any], lang: str) -> str:
    """The run's interventions as a table (type, what, cost), or "" when it has none."""
    measures = measures_of(scenario)
    if not measures:
        return ""
    rows = []
    for entry in measures:
        cost = entry.get("cost")
        cost_text = "–" if cost is None else f"{float(cost):,.0f} {entry.get('currency') or ''}".strip()
        name = str(entry.get("label") or tr_or(lang, f"iv_{entry['type']}", str(entry["type"])))
        rows.append([esc(name), esc(entry["type"]), esc(_detail(entry)), cost_text])
    total, currency, problem = variant_cost(scenario)
    header = [esc(tr(lang, k)) for k in ("iv_name", "iv_type", "iv_detail", "iv_cost")]
    missing = [str(m.get("label") or m["type"]) for m in measures if m.get("cost") is None]
    if missing:
        note = esc(tr(lang, "iv_no_cost", names=", ".join(missing)))
    else:
        note = esc(problem) if problem else esc(tr(lang, "iv_total", total=f"{total:,.0f} {currency}".strip()))
    return (
        f"<h3>{esc(tr(lang, 'interventions'))}</h3>" + table(header, rows, numeric=(3,)) + f'<p class="note">{note}</p>'
    )


def cost_benefit_table(labels: Sequence[str], scenarios: Sequence[dict[str, Any]], frame: pd.DataFrame) -> pd.DataFrame:
    """Per non-baseline variant and service: cost over the baseline, people-hours avoided, and their ratio.

    Parameters
    ----------
    labels, scenarios
        Each variant's label and the resolved scenario of its first run; the first is the baseline.
    frame
        The comparison table (:func:`twin.report.compare.comparison_table`).
    """
    base_cost, base_currency, base_problem = variant_cost(scenarios[0])
    rows = []
    hours = frame[frame["metric"] == "people_hours_without_service"]
    for label, scenario in zip(labels[1:], scenarios[1:], strict=True):
        cost, currency, problem = variant_cost(scenario)
        extra = cost - base_cost
        note = base_problem or problem
        if not note and currency and base_currency and currency != base_currency:
            note = f"the baseline's costs are in {base_currency}, this variant's in {currency}"
        if not note and not extra > 0:
            note = "costs no more than the baseline: every avoided hour is free"
        for row in hours[hours["variant"] == label].to_dict("records"):
            avoided = (0.0 - row["delta"], 0.0 - row["delta_ci_high"], 0.0 - row["delta_ci_low"])  # no -0.0
            ratio = tuple(v / extra if not note else math.nan for v in avoided)
            rows.append(
                {
                    "variant": label,
                    "service": row["service"],
                    "cost": extra,
                    "currency": currency or base_currency,
                    "avoided_people_hours": avoided[0],
                    "avoided_ci_low": avoided[1],
                    "avoided_ci_high": avoided[2],
                    "per_unit_cost": ratio[0],
                    "per_unit_ci_low": ratio[1],
                    "per_unit_ci_high": ratio[2],
                    "note": note,
                }
            )
    return pd.DataFrame(rows, columns=list(COST_COLUMNS))


def _interval(estimate: float, low: float, high: float, digits: int) -> str:
    if not math.isfinite(estimate):
        return "–"
    text = f"{estimate:,.{digits}f}"
    if math.isfinite(low) and math.isfinite(high):
        text += f" [{low:,.{digits}f}, {high:,.{digits}f}]"
    return text


def cost_benefit_html(costs: pd.DataFrame, lang: str) -> str:
    """The cost-benefit table of the comparison page (or a sentence when no variant has interventions)."""
    if costs.empty:
        return f"<p>{esc(tr(lang, 'cb_none'))}</p>"
    header = [esc(tr(lang, k)) for k in ("cmp_variant", "cmp_metric", "iv_cost", "cb_avoided", "cb_per_cost")]
    rows = []
    for row in costs.to_dict("records"):
        cost = "–" if not math.isfinite(row["cost"]) else f"{row['cost']:,.0f} {row['currency']}".strip()
        ratio = _interval(row["per_unit_cost"], row["per_unit_ci_low"], row["per_unit_ci_high"], 4)
        if row["note"]:
            ratio = f"– ({esc(row['note'])})"
        rows.append(
            [
                esc(row["variant"]),
                esc(tr_or(lang, f"service_{row['service']}", str(row["service"]))),
                esc(cost),
                _interval(row["avoided_people_hours"], row["avoided_ci_low"], row["avoided_ci_high"], 0),
                ratio,
            ]
        )
    return table(header, rows, numeric=(2, 3, 4)) + f'<p class="note">{esc(tr(lang, "cb_note"))}</p>'
