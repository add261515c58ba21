"""The pictures of a sweep's analysis as PNG bytes: scatter plots, tornado charts, indices, PRIM's trade-off.

Drawn with matplotlib's object API (no pyplot state) and written without a time stamp
(:func:`twin.report.figures.png_bytes`), so the same analysis gives the same bytes.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from twin.report.figures import png_bytes

ACCENT = "#0b5cad"
CASE = "#d62728"


def scatter_png(params: pd.DataFrame, y: pd.Series, metric: str) -> bytes:
    """One panel per parameter: the metric of every successful run against the parameter's value."""
    names = list(params.columns)
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    figure = Figure(figsize=(3.6 * cols, 2.9 * rows), layout="constrained")
    for i, name in enumerate(names):
        ax = figure.add_subplot(rows, cols, i + 1)
        x, ticks = _positions(params[name])
        ax.scatter(x, y.to_numpy(float), s=9, alpha=0.5, color=ACCENT, linewidths=0)
        if ticks is not None:
            ax.set_xticks(range(len(ticks)), ticks, rotation=30, fontsize=7)
        ax.set_xlabel(name, fontsize=8)
        ax.set_ylabel(metric if i % cols == 0 else "", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    return png_bytes(figure)


def _positions(values: pd.Series) -> tuple[np.ndarray, list[str] | None]:
    """Numeric values as they are; text levels at 0, 1, ... with their labels."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(float), None
    labels = sorted({str(v) for v in values})
    return np.array([labels.index(str(v)) for v in values], dtype=float), labels


def tornado_png(effects: pd.DataFrame, mean: float, metric: str) -> bytes:
    """Bars from each parameter's lowest to highest main effect, longest on top, around the overall mean."""
    rows = effects.iloc[::-1]  # barh draws bottom-up
    figure = Figure(figsize=(7.0, 0.5 * len(rows) + 1.3), layout="constrained")
    ax = figure.add_subplot()
    y = np.arange(len(rows))
    ax.barh(y, rows["high"] - rows["low"], left=rows["low"], color=ACCENT, alpha=0.8, height=0.6)
    for i, (_, row) in enumerate(rows.iterrows()):
        ax.annotate(f" {row['at_high']}", (row["high"], i), va="center", fontsize=7)
        ax.annotate(f"{row['at_low']} ", (row["low"], i), va="center", ha="right", fontsize=7)
    ax.axvline(mean, color="black", linewidth=0.8)
    ax.set_yticks(y, list(rows["parameter"]), fontsize=8)
    ax.set_xlabel(f"mean of {metric} (bars: lowest to highest mean over each parameter's bins)", fontsize=8)
    lo, hi = float(min(rows["low"].min(), mean)), float(max(rows["high"].max(), mean))
    pad = 0.3 * (hi - lo) or 0.5 * abs(hi) or 1.0  # room for the value labels on both sides
    ax.set_xlim(lo - pad, hi + pad)
    ax.grid(axis="x", alpha=0.3)
    return png_bytes(figure)


def indices_png(indices: pd.DataFrame, metric: str) -> bytes:
    """The metric's indices per parameter as bars with their 95 % intervals (one group per index)."""
    kinds = list(dict.fromkeys(indices["index"]))
    names = list(dict.fromkeys(indices["parameter"]))
    figure = Figure(figsize=(7.0, 0.45 * len(names) * len(kinds) + 1.3), layout="constrained")
    ax = figure.add_subplot()
    height = 0.8 / len(kinds)
    for k, kind in enumerate(kinds):
        part = indices[indices["index"] == kind].set_index("parameter").reindex(names)
        y = np.arange(len(names)) + k * height
        conf = part["conf"].to_numpy(float)
        ax.barh(y, part["value"], height=height, label=kind, xerr=np.where(np.isnan(conf), 0.0, conf), capsize=2)
    ax.set_yticks(np.arange(len(names)) + 0.4 - height / 2, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"{indices['method'].iloc[0]} indices of {metric} (bars: 95 % interval)", fontsize=8)
    ax.legend(fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return png_bytes(figure)


def tradeoff_png(trajectory: pd.DataFrame, chosen: int) -> bytes:
    """PRIM's peeling trajectory: coverage against density, coloured by restricted dimensions."""
    figure = Figure(figsize=(5.5, 4.0), layout="constrained")
    ax = figure.add_subplot()
    points = ax.scatter(trajectory["coverage"], trajectory["density"], c=trajectory["res dim"], cmap="viridis", s=14)
    ax.scatter([trajectory["coverage"][chosen]], [trajectory["density"][chosen]], s=90, facecolors="none", color=CASE)
    figure.colorbar(points, ax=ax, label="restricted parameters")
    ax.set_xlabel("coverage", fontsize=8)
    ax.set_ylabel("density", fontsize=8)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    return png_bytes(figure)


def box_png(params: pd.DataFrame, cases: np.ndarray, limits: pd.DataFrame) -> bytes:
    """The runs in the plane of PRIM's first two restricted parameters (cases of interest in red), and the box."""
    dims = [*limits.index, *[c for c in params.columns if c not in limits.index]][:2]
    figure = Figure(figsize=(5.5, 4.2), layout="constrained")
    ax = figure.add_subplot()
    x = params[dims[0]].to_numpy(float)
    y = params[dims[1]].to_numpy(float) if len(dims) > 1 else np.zeros(len(x))
    ax.scatter(x[~cases], y[~cases], s=10, color="#999999", alpha=0.6, label="other runs", linewidths=0)
    ax.scatter(x[cases], y[cases], s=12, color=CASE, alpha=0.8, label="cases of interest", linewidths=0)
    xs = _span(limits, dims[0], x)
    ys = _span(limits, dims[1], y) if len(dims) > 1 else (0.0, 0.0)
    ax.plot([xs[0], xs[1], xs[1], xs[0], xs[0]], [ys[0], ys[0], ys[1], ys[1], ys[0]], color="black", linewidth=1.2)
    ax.set_xlabel(dims[0], fontsize=8)
    ax.set_ylabel(dims[1] if len(dims) > 1 else "", fontsize=8)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return png_bytes(figure)


def _span(limits: pd.DataFrame, name: str, values: np.ndarray) -> tuple[float, float]:
    """The box's limits on a parameter, or the runs' whole range where PRIM left it free."""
    if name in limits.index:
        low, high = limits.loc[name, ["min", "max"]].to_numpy(float)
        return float(low), float(high)
    return float(values.min()), float(values.max())
