"""Write an evaluation as files: ``metrics.csv``, ``report.md``, ``metrics.png`` and ``index.html``.

- ``metrics.csv``: one row per image and method, one column per metric; an empty cell
  is a metric that was not computed (``report.md`` says why).
- ``report.md``: the methods and how each reached the scale, the mean of every metric per
  method (best in bold, arrows give the direction), then every image.
- ``metrics.png``: a bar chart of the means, one panel per computed metric.
- ``index.html``: for every image the same crop from the input, every method and the
  reference, side by side at the same nearest-neighbour zoom, with the values under each.
"""

from __future__ import annotations

import csv
import html
import math
import os
from pathlib import Path

import numpy as np

from apisr.images import atomic_output, write_text_atomic

from .runner import METRICS, Evaluation, MetricInfo

NOT_COMPUTED = "not computed"
_DIGITS = {"psnr": 2, "ssim": 4, "gmsd": 4, "niqe": 3, "maniqa": 3, "clipiqa": 3}


def write_report(evaluation: Evaluation, out_dir: Path) -> dict[str, Path]:
    """Write every report file into ``out_dir``; returns them by kind."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "csv": out_dir / "metrics.csv",
        "markdown": out_dir / "report.md",
        "plot": out_dir / "metrics.png",
        "html": out_dir / "index.html",
    }
    write_text_atomic(files["csv"], csv_text(evaluation))
    write_text_atomic(files["markdown"], markdown(evaluation))
    write_plot(evaluation, files["plot"])
    write_text_atomic(files["html"], html_page(evaluation, out_dir))
    return files


def computed_metrics(evaluation: Evaluation) -> list[MetricInfo]:
    """The metrics with at least one value."""
    return [m for m in METRICS if any(row.values.get(m.key) is not None for row in evaluation.rows)]


def method_names(evaluation: Evaluation) -> list[str]:
    return [method.name for method in evaluation.methods]


def means(evaluation: Evaluation) -> dict[str, dict[str, float | None]]:
    """Method -> metric -> mean over the images that have a value (None when none has)."""
    result = {}
    for name in method_names(evaluation):
        rows = [row for row in evaluation.rows if row.method == name]
        result[name] = {}
        for metric in METRICS:
            values = [row.values[metric.key] for row in rows if row.values.get(metric.key) is not None]
            result[name][metric.key] = float(np.mean(values)) if values else None
    return result


def format_value(key: str, value: float | None) -> str:
    if value is None:
        return NOT_COMPUTED
    if math.isinf(value):
        return "inf"
    return f"{value:.{_DIGITS[key]}f}"


def _label(metric: MetricInfo) -> str:
    return f"{metric.label} {'↑' if metric.higher_is_better else '↓'}"


def csv_text(evaluation: Evaluation) -> str:
    from io import StringIO

    buffer = StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["image", "method", *(m.key for m in METRICS)])
    for row in evaluation.rows:
        writer.writerow(
            [row.image, row.method]
            + ["" if row.values.get(m.key) is None else repr(float(row.values[m.key])) for m in METRICS]
        )
    return buffer.getvalue()


def _best(metric: MetricInfo, values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    return max(present) if metric.higher_is_better else min(present)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(evaluation: Evaluation) -> str:
    shown = METRICS  # every column, so what was not computed says so
    averages = means(evaluation)
    parts = [f"# Evaluation at x{evaluation.scale}", ""]
    if evaluation.synthetic:
        parts += [evaluation.synthetic, ""]
    parts += [
        f"{len({row.image for row in evaluation.rows})} images, {len(evaluation.methods)} methods. "
        f"Full-reference metrics on the Y channel (BT.601), all metrics with a crop border of "
        f"{evaluation.scale} pixels. ↑ higher is better, ↓ lower is better; best mean in bold.",
        "",
        "## Methods",
        "",
        _table(["method", "how it reaches the scale"], [[m.name, m.rule] for m in evaluation.methods]),
        "",
        "## Mean over images",
        "",
    ]
    rows = []
    for name in method_names(evaluation):
        cells = [name]
        for metric in shown:
            value = averages[name][metric.key]
            best = _best(metric, [averages[n][metric.key] for n in method_names(evaluation)])
            text = format_value(metric.key, value)
            cells.append(f"**{text}**" if value is not None and value == best and len(averages) > 1 else text)
        rows.append(cells)
    parts += [_table(["method", *map(_label, shown)], rows), "", "## Per image", ""]
    parts += [
        _table(
            ["image", "method", *map(_label, shown)],
            [[row.image, row.method, *(format_value(m.key, row.values.get(m.key)) for m in shown)] for row in evaluation.rows],
        ),
        "",
    ]
    notes = [f"- {key.upper()}: {NOT_COMPUTED}: {reason}" for key, reason in evaluation.metric_notes.items()]
    notes += [
        f"- {row.image} / {row.method}: {key.upper()} {NOT_COMPUTED}: {reason}"
        for row in evaluation.rows
        for key, reason in row.notes.items()
    ]
    if notes:
        parts += ["## Not computed", "", *notes, ""]
    if evaluation.errors:
        parts += ["## Errors", "", *(f"- {line}" for line in evaluation.errors), ""]
    parts += ["Plot: [metrics.png](metrics.png). Side-by-side crops: [index.html](index.html).", ""]
    return "\n".join(parts)


def write_plot(evaluation: Evaluation, path: Path) -> None:
    """Bar charts of the mean of every computed metric per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = computed_metrics(evaluation)
    averages = means(evaluation)
    names = method_names(evaluation)
    fig, axes = plt.subplots(1, max(1, len(shown)), figsize=(2.8 * max(1, len(shown)), 3.2), squeeze=False)
    for axis, metric in zip(axes[0], shown):
        values = [averages[name][metric.key] for name in names]
        finite = [v if v is not None and math.isfinite(v) else 0.0 for v in values]
        axis.bar(range(len(names)), finite, color="#4878a8")
        axis.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        axis.set_title(_label(metric), fontsize=10)
    if not shown:
        axes[0][0].text(0.5, 0.5, "no metric computed", ha="center", va="center")
        axes[0][0].set_axis_off()
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


_STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
td:nth-child(-n+2), th:nth-child(-n+2) { text-align: left; }
.row { display: flex; flex-wrap: wrap; gap: 0.8em; }
figure { margin: 0; }
figure img { image-rendering: pixelated; image-rendering: crisp-edges; display: block; border: 1px solid #999; }
figcaption { font-size: 0.8em; margin-top: 0.3em; line-height: 1.35; }
figcaption b { font-size: 1.1em; }
img.plot { max-width: 100%; }
"""


def html_page(evaluation: Evaluation, out_dir: Path) -> str:
    shown = computed_metrics(evaluation)
    averages = means(evaluation)
    esc = html.escape
    body = [f"<h1>Evaluation at x{evaluation.scale}</h1>"]
    if evaluation.synthetic:
        body.append(f"<p>{esc(evaluation.synthetic)}</p>")
    body.append("<h2>Mean over images</h2><table><tr><th>method</th><th>how</th>")
    body += [f"<th>{esc(_label(m))}</th>" for m in shown]
    body.append("</tr>")
    for method in evaluation.methods:
        cells = "".join(f"<td>{format_value(m.key, averages[method.name][m.key])}</td>" for m in shown)
        body.append(f"<tr><td>{esc(method.name)}</td><td>{esc(method.rule)}</td>{cells}</tr>")
    body.append("</table>")
    missing = [f"{key.upper()}: {reason}" for key, reason in evaluation.metric_notes.items()]
    if missing:
        body.append(f"<p>{NOT_COMPUTED}: " + "; ".join(esc(m) for m in missing) + "</p>")
    values = {(row.image, row.method): row.values for row in evaluation.rows}
    for crops in evaluation.crops:
        x, y, w, h = crops.box
        body.append(
            f"<h2>{esc(crops.image)}</h2><p>crop x={x} y={y} {w}x{h} output pixels, "
            f"shown {evaluation.zoom}x (nearest neighbour)</p><div class='row'>"
        )
        for label, file in crops.files.items():
            caption = [f"<b>{esc(label)}</b>"]
            if (crops.image, label) in values:
                caption += [
                    f"{esc(m.label)} {format_value(m.key, values[(crops.image, label)].get(m.key))}" for m in shown
                ]
            source = Path(os.path.relpath(file, out_dir)).as_posix()
            body.append(
                f"<figure><img src='{esc(source)}' width='{w * evaluation.zoom}' height='{h * evaluation.zoom}' "
                f"alt='{esc(label)}'><figcaption>{'<br>'.join(caption)}</figcaption></figure>"
            )
        body.append("</div>")
    body.append('<h2>Means</h2><p><img class="plot" src="metrics.png" alt="mean of each metric per method"></p>')
    if evaluation.errors:
        body.append("<h2>Errors</h2><ul>" + "".join(f"<li>{esc(e)}</li>" for e in evaluation.errors) + "</ul>")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>apisr evaluation</title>"
        f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )
