"""The files ``twin sweep analyze`` writes: Parquet tables, PNG charts and one self-contained HTML page.

In ``DIR/analysis/`` (or ``--out``): ``summary.parquet`` (per metric: runs, mean, spread, seed share),
``indices.parquet`` (``metric, parameter, method, index, value, conf``; ``conf`` the half-width of the 95 %
interval), ``effects.parquet`` (the tornado's main effects), ``features.parquet`` (extra-trees feature scores:
``metric, parameter, score, conf, oob_r2``), ``discovery.parquet`` and
``discovery_trajectory.parquet`` (PRIM's box and peeling trajectory, when a condition is given), one PNG per
chart and ``index.html`` with all of them inline.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

from twin.atomic import write_bytes_atomic, write_parquet_atomic, write_text_atomic
from twin.errors import RunError, UsageError
from twin.report.page import Section, esc, facts, figure, render, table
from twin.sweep.analysis import Analysis, analyze, check_folder, load_sweep
from twin.sweep.discovery import Discovery

PAGE = "index.html"


def slug(index: int, metric: str) -> str:
    """A file-name stem for a metric: its position and its name with anything but ``[A-Za-z0-9_.-]`` as ``_``."""
    return f"{index + 1:02d}-" + (re.sub(r"[^A-Za-z0-9_.-]+", "_", metric).strip("_") or "metric")


def write_analysis(analysis: Analysis, out: Path) -> Path:
    """Write the tables, charts and page of an analysis into ``out``; return the page's path."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"{out}: cannot create the analysis folder: {exc.strerror or exc}") from None
    write_parquet_atomic(out / "summary.parquet", analysis.summary, index=True)
    write_parquet_atomic(out / "indices.parquet", analysis.indices)
    write_parquet_atomic(out / "effects.parquet", analysis.effects)
    write_parquet_atomic(out / "features.parquet", analysis.features)
    sections = [_overview(analysis)]
    for i, metric in enumerate(analysis.data.metrics):
        sections.append(_metric_section(analysis, i, metric, out))
    if analysis.discovery is not None:
        sections.append(_discovery_section(analysis, out))
    data = analysis.data
    title = f"Sweep analysis: {data.folder.name}"
    subtitle = f"{data.sampler} design, {data.points} points, {len(data.runs)} runs"
    page = render("en", title, subtitle, sections, "twin sweep analyze; tables in the *.parquet files beside this page")
    write_text_atomic(out / PAGE, page)
    return out / PAGE


def _overview(analysis: Analysis) -> Section:
    data = analysis.data
    counts = data.runs["status"].value_counts()
    items = [
        ("Parameters", esc(", ".join(data.names))),
        ("Design", esc(f"{data.sampler}, {data.points} points")),
        ("Runs", esc(", ".join(f"{n} {status}" for status, n in counts.items()))),
    ]
    header = ["metric", "runs with a value", "mean", "sd", "min", "max", "seed share of variance"]
    rows = [
        [esc(m), str(int(r["with_value"])), *(_num(r[k]) for k in ("mean", "sd", "min", "max", "seed_share"))]
        for m, r in analysis.summary.iterrows()
    ]
    notes = "".join(f"<p class=note>{esc(n)}</p>" for n in analysis.notes)
    body = facts(items) + table(header, rows, numeric=range(1, 7)) + notes
    return Section("sec-overview", "Overview", body)


def _metric_section(analysis: Analysis, i: int, metric: str, out: Path) -> Section:
    from twin.sweep.plots import indices_png, scatter_png, tornado_png

    data, stem = analysis.data, slug(i, metric)
    ok = data.ok_runs()
    ok = ok[ok[metric].notna()]
    parts = []
    indices = analysis.indices[analysis.indices["metric"] == metric]
    if len(indices):
        png = indices_png(indices, metric)
        write_bytes_atomic(out / f"{stem}-indices.png", png)
        rows = [[esc(r.parameter), esc(r.index), _num(r.value), _num(r.conf)] for r in indices.itertuples()]
        parts.append(table(["parameter", "index", "value", "± 95 %"], rows, numeric=(2, 3)))
        parts.append(figure(png, f"{indices['method'].iloc[0]} indices of {metric} on the design's point means"))
    parts.append(_features_table(analysis, metric))
    if ok[metric].nunique() == 1:
        parts.append(f"<p class=note>Every run has {esc(metric)} = {_num(ok[metric].iloc[0])}: nothing to chart.</p>")
    elif len(ok):
        effects = analysis.effects[analysis.effects["metric"] == metric]
        mean = float(analysis.summary["mean"].to_dict()[metric])
        tornado = tornado_png(effects, mean, metric)
        scatter = scatter_png(ok[list(data.names)], ok[metric], metric)
        write_bytes_atomic(out / f"{stem}-tornado.png", tornado)
        write_bytes_atomic(out / f"{stem}-scatter.png", scatter)
        parts.append(
            figure(tornado, f"Main effects on {metric}: each bar spans the parameter's lowest and highest mean")
        )
        parts.append(figure(scatter, f"{metric} of every successful run against each parameter"))
    else:
        parts.append(f"<p class=note>{esc(metric)}: no run has a value.</p>")
    return Section(f"sec-metric-{i + 1}", metric, "".join(parts))


def _features_table(analysis: Analysis, metric: str) -> str:
    """The extra-trees feature scores of a metric, highest first, with the forest's out-of-bag R²."""
    scores = analysis.features[analysis.features["metric"] == metric].sort_values("score", ascending=False)
    if not len(scores):
        return ""
    rows = [[esc(r.parameter), _num(r.score), _num(r.conf)] for r in scores.itertuples()]
    r2 = float(scores["oob_r2"].iloc[0])
    caption = (
        f"<p class=note>Extra-trees feature scores of {esc(metric)} (EMA Workbench's feature scoring: mean "
        f"decrease in squared error, summing to 1, over every run); out-of-bag R² {_num(r2)}"
        + (": the forest explains little of the metric, so the ranking is weak." if r2 < 0.5 else ".")
        + "</p>"
    )
    return table(["parameter", "extra-trees score", "± 95 %"], rows, numeric=(1, 2)) + caption


def _discovery_section(analysis: Analysis, out: Path) -> Section:
    from twin.sweep.plots import box_png, tradeoff_png

    found = analysis.discovery
    if not isinstance(found, Discovery):
        return Section("sec-discovery", "Scenario discovery (PRIM)", f"<p>{esc(found)}</p>")
    write_parquet_atomic(out / "discovery.parquet", found.limits.rename_axis("parameter"), index=True)
    write_parquet_atomic(out / "discovery_trajectory.parquet", found.trajectory)
    items = [
        ("Condition", esc(found.condition)),
        ("Cases", esc(f"{found.cases} of {found.runs} runs")),
        ("Box", esc(f"coverage {found.coverage:.2f}, density {found.density:.2f}, mass {found.mass:.2f}")),
    ]
    rows = [[esc(name), _num(r["min"]), _num(r["max"]), _num(r["qp_value"])] for name, r in found.limits.iterrows()]
    tradeoff = tradeoff_png(found.trajectory, found.chosen)
    write_bytes_atomic(out / "discovery-tradeoff.png", tradeoff)
    body = facts(items) + table(["parameter", "min", "max", "quasi-p"], rows, numeric=(1, 2, 3))
    body += figure(tradeoff, "PRIM's peeling trajectory; the circled box is the one reported")
    box = box_png(found.params, found.is_case, found.limits)
    write_bytes_atomic(out / "discovery-box.png", box)
    body += figure(box, "Runs in the plane of the box's first two parameters; cases of interest in red")
    return Section("sec-discovery", "Scenario discovery (PRIM)", body)


def _num(value: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    return "–" if np.isnan(number) else f"{number:.4g}"


def text_table(analysis: Analysis) -> str:
    """The indices (or, without them, the main effects' swings) as plain text for the terminal."""
    lines = []
    for metric in analysis.data.metrics:
        lines.append(metric)
        part = analysis.indices[analysis.indices["metric"] == metric]
        if len(part):
            for row in part.to_dict("records"):
                conf = "" if np.isnan(row["conf"]) else f" ± {row['conf']:.3g}"
                lines.append(f"  {row['parameter']:<40} {row['index']:<8} {row['value']:>9.3g}{conf}")
        scores = analysis.features[analysis.features["metric"] == metric].sort_values("score", ascending=False)
        for row in scores.to_dict("records"):
            score = f"{row['score']:>9.3g} ± {row['conf']:.2g}  (extra trees, out-of-bag R² {row['oob_r2']:.2f})"
            lines.append(f"  {row['parameter']:<40} {'score':<8} {score}")
        effects = analysis.effects[analysis.effects["metric"] == metric]
        for row in effects.to_dict("records"):
            swing = f"{row['swing']:>9.3g}  (lowest mean at {row['at_low']}, highest at {row['at_high']})"
            lines.append(f"  {row['parameter']:<40} {'swing':<8} {swing}")
    return "\n".join(lines)


def analyze_command(args: argparse.Namespace) -> int:
    """``twin sweep analyze DIR [--discover 'METRIC < LEVEL'] [--min-density D] [--out DIR]``."""
    if not 0.0 < args.min_density <= 1.0:
        raise UsageError(f"--min-density {args.min_density}: must be a fraction in (0, 1], e.g. 0.8")
    check_folder(args.folder)
    analysis = analyze(load_sweep(args.folder), args.discover, args.min_density)
    page = write_analysis(analysis, args.out or args.folder / "analysis")
    print(text_table(analysis))
    for note in analysis.notes:
        print(f"note: {note}", file=sys.stderr)
    found = analysis.discovery
    if isinstance(found, Discovery):
        limits = ", ".join(f"{p} in [{r['min']:.4g}, {r['max']:.4g}]" for p, r in found.limits.iterrows())
        print(f"PRIM, {found.condition}: {limits} (coverage {found.coverage:.2f}, density {found.density:.2f})")
    elif found is not None:
        print(f"PRIM: {found}")
    print(f"wrote {page}", file=sys.stderr)
    return 0
