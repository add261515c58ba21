"""``twin compare RUN_A RUN_B ...``: variants side by side, as ``compare.html``, ``compare.parquet`` and ``.csv``, and
the interventions' cost against the loss they avoid as ``cost_benefit.csv`` (:mod:`twin.report.interventions`).

The page (same style as the report) lists the variants and their seeds, the metric table with means, 95 %
intervals and differences to the baseline (:mod:`twin.report.compare`), the Q(t) curves overlaid and the
difference maps (peak depth, roads closed, hours without service per zone) of each variant against the baseline,
drawn from the first run of each variant.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from twin.atomic import write_parquet_atomic, write_text_atomic
from twin.report.compare import (
    Variant,
    comparability_warnings,
    comparison_table,
    group_by_patterns,
    group_by_scenario,
    mean_curves,
)
from twin.report.interventions import cost_benefit_html, cost_benefit_table
from twin.report.page import Section, esc, figure, render, table
from twin.report.runfolder import Raster, RunData, read_run, zone_hours_without_service
from twin.report.strings import tr, tr_or

COMPARE_HTML = "compare.html"
COMPARE_PARQUET = "compare.parquet"
COMPARE_CSV = "compare.csv"
COSTS_CSV = "cost_benefit.csv"
#: String key and decimals of each compared metric.
METRIC_LABELS = {
    "robustness": ("m_robustness", 3),
    "resilience_loss_h": ("m_loss", 2),
    "resilience_index": ("m_index", 3),
    "time_to_recover_h": ("m_recover_h", 2),
    "people_hours_without_service": ("m_people_hours", 0),
}


def compare_runs(folders: Sequence[Path], out: Path, lang: str = "en", groups: Sequence[str] = ()) -> pd.DataFrame:
    """Compare run folders and write ``compare.html``, ``compare.parquet`` and ``compare.csv`` into ``out``.

    Parameters
    ----------
    folders
        Run folders; the variant of the first one is the baseline.
    out
        Folder to write into (created if needed).
    lang
        Language of the page.
    groups
        ``LABEL=PATTERN`` options; empty to group by scenario (name + resolved scenario minus seed).

    Returns
    -------
    pandas.DataFrame
        The comparison table (see :func:`twin.report.compare.comparison_table`).

    Raises
    ------
    RunError
        If a folder is not a readable run folder.
    UsageError
        If ``groups`` are malformed or leave a run out.
    """
    runs = [read_run(Path(f)) for f in folders]
    variants = group_by_patterns(runs, groups) if groups else group_by_scenario(runs)
    frame = comparison_table(variants)
    warnings = comparability_warnings(runs)
    for key, fields in warnings:
        print(f"warning: {tr('en', key, **fields)}", file=sys.stderr)
    costs = cost_benefit_table([v.label for v in variants], [v.runs[0].results.scenario for v in variants], frame)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_parquet_atomic(out / COMPARE_PARQUET, frame)
    write_text_atomic(out / COMPARE_CSV, frame.to_csv(index=False))
    write_text_atomic(out / COSTS_CSV, costs.to_csv(index=False))
    write_text_atomic(out / COMPARE_HTML, build_page(variants, frame, lang, costs, warnings))
    return frame


def build_page(
    variants: Sequence[Variant],
    frame: pd.DataFrame,
    lang: str,
    costs: pd.DataFrame | None = None,
    warnings: Sequence[tuple[str, dict[str, str]]] = (),
) -> str:
    """The comparison as one HTML document (with the cost-benefit table when ``costs`` is given, and the
    :func:`twin.report.compare.comparability_warnings` under the runs)."""
    from twin import __version__

    notes = "".join(f'<p class="note"><strong>{esc(tr(lang, key, **fields))}</strong></p>' for key, fields in warnings)
    sections = [
        Section("cmp-runs", tr(lang, "cmp_sec_runs"), _runs_section(variants, lang) + notes),
        Section("cmp-table", tr(lang, "cmp_sec_table"), _table_section(frame, variants[0].label, lang)),
        *(
            [Section("cmp-costs", tr(lang, "cmp_sec_costs"), cost_benefit_html(costs, lang))]
            if costs is not None
            else []
        ),
        Section("cmp-curves", tr(lang, "cmp_sec_curves"), _curves_section(variants, lang)),
        Section("cmp-maps", tr(lang, "cmp_sec_maps"), _maps_section(variants, lang)),
    ]
    title = tr(lang, "cmp_title", names=" / ".join(v.label for v in variants))
    return render(lang, title, tr(lang, "cmp_subtitle"), sections, tr(lang, "footer", version=__version__))


def _runs_section(variants: Sequence[Variant], lang: str) -> str:
    rows = []
    for index, variant in enumerate(variants):
        label = esc(variant.label) + (f" ({esc(tr(lang, 'cmp_baseline'))})" if index == 0 else "")
        folders = ", ".join(esc(run.folder.name) for run in variant.runs)
        rows.append([label, f"{len(variant.runs)} ({esc(' '.join(str(s) for s in variant.seeds))})", folders])
    header = [esc(tr(lang, "cmp_variant")), esc(tr(lang, "cmp_runs")), esc(tr(lang, "run_folder"))]
    return table(header, rows)


def _interval_text(estimate: float, low: float, high: float, digits: int, signed: bool = False) -> str:
    """``1.23 [0.98, 1.48]``; the interval left out when it cannot be given, an en dash for a missing value."""
    if not math.isfinite(estimate):
        return "–"
    sign = "+" if signed else ""
    text = f"{estimate:{sign},.{digits}f}"
    if math.isfinite(low) and math.isfinite(high):
        text += f" [{low:{sign},.{digits}f}, {high:{sign},.{digits}f}]"
    return text


def _table_section(frame: pd.DataFrame, baseline: str, lang: str) -> str:
    parts = []
    header = [esc(tr(lang, k)) for k in ("cmp_metric", "cmp_variant", "cmp_mean", "cmp_delta", "cmp_rel", "cmp_real")]
    for service, by_service in frame.groupby("service", sort=False):
        # One block per metric, the variants in their order within it (a stable sort keeps that order).
        rows = by_service.sort_values("metric", key=lambda m: m.map(list(METRIC_LABELS).index), kind="stable")
        body = [_table_row({str(k): v for k, v in row.items()}, baseline, lang) for row in rows.to_dict("records")]
        parts.append(f"<h3>{esc(tr_or(lang, f'service_{service}', str(service)))}</h3>")
        parts.append(table(header, body, numeric=(2, 3, 4)))
    return "".join(parts) + f'<p class="note">{esc(tr(lang, "cmp_note"))}</p>'


def _table_row(row: dict[str, Any], baseline: str, lang: str) -> list[str]:
    key, digits = METRIC_LABELS[str(row["metric"])]
    cells = [
        esc(tr(lang, key)),
        esc(row["variant"]),
        _interval_text(row["mean"], row["ci_low"], row["ci_high"], digits),
    ]
    if row["variant"] == baseline:
        return [*cells, "–", "–", "–"]
    delta = _interval_text(row["delta"], row["delta_ci_low"], row["delta_ci_high"], digits, signed=True)
    relative = f"{row['delta_rel']:+.1%}" if math.isfinite(row["delta_rel"]) else "–"
    return [*cells, delta, relative, _real_text(row, lang)]


def _real_text(row: dict[str, Any], lang: str) -> str:
    if not math.isfinite(row["delta_ci_low"]):
        return esc(tr(lang, "cmp_na"))
    if row["real"]:
        return f'<span class="yes">{esc(tr(lang, "cmp_yes"))}</span>'
    return f'<span class="no">{esc(tr(lang, "cmp_no"))}</span>'


def _curves_section(variants: Sequence[Variant], lang: str) -> str:
    from twin.report.figures import overlay_png

    groups = [(v.label, mean_curves(v)) for v in variants]
    if not any(curves for _, curves in groups):
        return f"<p>{esc(tr(lang, 'no_services'))}</p>"
    return figure(overlay_png(groups, lang), tr(lang, "cmp_sec_curves"))


def _maps_section(variants: Sequence[Variant], lang: str) -> str:
    base = variants[0].runs[0]
    parts = [_difference_maps(base, v.runs[0], (variants[0].label, v.label), lang) for v in variants[1:]]
    parts = [p for p in parts if p]
    return "".join(parts) if parts else f"<p>{esc(tr(lang, 'cmp_no_maps'))}</p>"


def _difference_maps(a: RunData, b: RunData, names: tuple[str, str], lang: str) -> str:
    from twin.report.figures import closures_difference_png, depth_difference_png, layers_extent, zone_map_png

    outline = next(iter(a.zone_shapes.values()), None)
    extent = layers_extent([a.closed_links, b.closed_links, a.debris, b.debris, outline], a.peak_depth)
    pictures = []
    if _same_grid(a.peak_depth, b.peak_depth) and a.peak_depth is not None and b.peak_depth is not None:
        title = tr(lang, "cmp_depth_diff", a=names[0], b=names[1])
        pictures.append(figure(depth_difference_png(a.peak_depth, b.peak_depth, outline, extent, title, lang), title))
    if extent is not None and (a.closed_links is not None or b.closed_links is not None):
        png = closures_difference_png(a.closed_links, b.closed_links, names, outline, extent, lang)
        pictures.append(figure(png, tr(lang, "cmp_closed_diff", a=names[0], b=names[1])))
    for service, shapes in a.zone_shapes.items():
        if service not in b.zone_shapes:
            continue
        hours_a = zone_hours_without_service(a.results.zones, service)
        hours_b = zone_hours_without_service(b.results.zones, service)
        diff = hours_b.sub(hours_a, fill_value=0.0)
        name = tr_or(lang, f"service_{service}", service)
        title = tr(lang, "cmp_zone_diff", service=name, a=names[0], b=names[1])
        png = zone_map_png(shapes, diff, title, tr(lang, "map_zone_hours"), lang, diverging=True)
        pictures.append(figure(png, title))
    return '<div class="maps">' + "".join(pictures) + "</div>" if pictures else ""


def _same_grid(a: Raster | None, b: Raster | None) -> bool:
    """Whether two rasters lie on the same grid (same map), so that they can be subtracted cell by cell."""
    return a is not None and b is not None and a.values.shape == b.values.shape and a.extent == b.extent


def compare_command(args: argparse.Namespace) -> int:
    """The ``twin compare`` command."""
    compare_runs(args.runs, args.out, args.lang, args.group)
    print(f"wrote {Path(args.out) / COMPARE_HTML}, {COMPARE_PARQUET}, {COMPARE_CSV} and {COSTS_CSV}", file=sys.stderr)
    return 0
