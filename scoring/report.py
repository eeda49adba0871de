"""A self-contained validation report written next to every trained model.

Reviewers (risk, the credit promotion office) read models as files, often offline: so
the report is plain PNGs plus one ``report.html`` with inline CSS and relative image
links — no CDN, no JavaScript, nothing to install — and the directory can be zipped and
mailed as it is.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import matplotlib

# Headless servers and CI have no display; Agg must be chosen before pyplot loads.
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import roc_curve

from scoring import metrics as m

PLOTS: tuple[str, ...] = (
    "roc.png",
    "ks.png",
    "calibration.png",
    "score_distribution.png",
    "feature_importance.png",
)

_DPI = 90
_CSS = """
body{font-family:-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;
margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:right;font-size:.9rem}
th{background:#f3f3f3}td.k,th.k{text-align:left}
.plots{display:flex;flex-wrap:wrap;gap:1rem}
.plots figure{margin:0}.plots img{max-width:520px;width:100%;border:1px solid #eee}
figcaption{font-size:.85rem;color:#555}
pre{background:#f7f7f7;padding:.5rem;font-size:.8rem;overflow:auto}
"""


def _save(fig: plt.Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=_DPI)
    # Figures are global pyplot state: leaking them grows memory in long processes.
    plt.close(fig)


def _plot_roc(y: np.ndarray, p: np.ndarray, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 4.5))
    if y.size and 0 < y.sum() < y.size:
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, color="#1f77b4", label=f"AUC = {m.auc(y, p):.3f}")
        ax.legend(loc="lower right")
    ax.plot([0, 1], [0, 1], color="#999", linestyle="--", linewidth=1)
    ax.set_xlabel("False positive rate (goods flagged)")
    ax.set_ylabel("True positive rate (bads caught)")
    ax.set_title("ROC")
    _save(fig, path)


def _plot_ks(y: np.ndarray, scores: np.ndarray, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 4.5))
    order = np.argsort(scores, kind="stable")
    s, yy = scores[order], y[order]
    n_bad, n_good = yy.sum(), (1 - yy).sum()
    if n_bad and n_good:
        cum_bad = np.cumsum(yy) / n_bad
        cum_good = np.cumsum(1 - yy) / n_good
        gap = np.abs(cum_bad - cum_good)
        i = int(np.argmax(gap))
        ax.plot(s, cum_bad, color="#d62728", label="bads")
        ax.plot(s, cum_good, color="#2ca02c", label="goods")
        ax.vlines(s[i], cum_good[i], cum_bad[i], color="#333", linestyle=":")
        ax.set_title(f"KS = {gap[i]:.3f} at score {s[i]:.0f}")
        ax.legend(loc="lower right")
    ax.set_xlabel("Score")
    ax.set_ylabel("Cumulative share (score ≤ x)")
    _save(fig, path)


def _plot_calibration(y: np.ndarray, p: np.ndarray, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 4.5))
    if y.size:
        order = np.argsort(p, kind="stable")
        chunks = [c for c in np.array_split(order, min(10, y.size)) if c.size]
        mean_p = [p[c].mean() for c in chunks]
        rate = [y[c].mean() for c in chunks]
        top = max(max(mean_p), max(rate), 0.01) * 1.05
        ax.plot([0, top], [0, top], color="#999", linestyle="--", linewidth=1)
        ax.plot(mean_p, rate, marker="o", color="#1f77b4")
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_title(f"Reliability (10 equal-count bins), ECE = {m.ece(y, p):.3f}")
    ax.set_xlabel("Mean predicted PD")
    ax.set_ylabel("Observed default rate")
    _save(fig, path)


def _plot_scores(y: np.ndarray, scores: np.ndarray, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 4.5))
    if scores.size:
        edges = np.histogram_bin_edges(scores, bins=30)
        for mask, label, colour in (
            (y == 0, "goods", "#2ca02c"),
            (y == 1, "bads", "#d62728"),
        ):
            if mask.any():
                ax.hist(
                    scores[mask],
                    bins=edges.tolist(),
                    density=True,
                    alpha=0.5,
                    label=label,
                    color=colour,
                )
        ax.legend()
    ax.set_xlabel("Score")
    ax.set_ylabel("Density")
    ax.set_title("Score distribution")
    _save(fig, path)


def _plot_importance(importance: dict[str, float], path: Path) -> None:
    top = sorted(importance.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    fig, ax = plt.subplots(figsize=(6, max(2.5, 0.3 * len(top) + 1)))
    if top:
        names = [k if len(k) <= 40 else k[:37] + "…" for k, _ in reversed(top)]
        ax.barh(names, [v for _, v in reversed(top)], color="#1f77b4")
    ax.set_xlabel("Importance")
    ax.set_title(f"Feature importance (top {len(top)})")
    _save(fig, path)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if value is None:
        return "—"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _kv_table(data: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th class=k>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
        for k, v in data.items()
    )
    return f"<table>{rows}</table>"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}"


def _grade_table_html(rows: list[dict[str, Any]]) -> str:
    head = (
        "<tr><th class=k>grade</th><th>n</th><th>defaults</th>"
        "<th>default rate</th></tr>"
    )
    body = "".join(
        "<tr>"
        f"<td class=k>{html.escape(str(r['grade']))}</td><td>{r['n']}</td>"
        f"<td>{r['defaults']}</td><td>{_rate(r['default_rate'])}</td>"
        "</tr>"
        for r in rows
    )
    return f"<table>{head}{body}</table>"


def write_report(
    out_dir: Path,
    *,
    title: str,
    y_true: Any,
    pd: Any,
    scores: Any,
    grades: Any,
    feature_importance: dict[str, float],
    metrics: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write the five plots and ``report.html`` into ``out_dir``; return the HTML path.

    ``y_true``/``pd``/``scores``/``grades`` are the validation rows the metrics were
    measured on, so the plots and the tables in the page describe the same data.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    y = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(pd, dtype=float).ravel()
    s = np.asarray(scores, dtype=float).ravel()
    g = np.asarray(grades).astype(str).ravel()

    _plot_roc(y, p, out_dir / "roc.png")
    _plot_ks(y, s, out_dir / "ks.png")
    _plot_calibration(y, p, out_dir / "calibration.png")
    _plot_scores(y, s, out_dir / "score_distribution.png")
    _plot_importance(feature_importance, out_dir / "feature_importance.png")

    order = list(m.GRADES) + sorted(set(g) - set(m.GRADES))
    grade_rows = metrics.get("grade_table") or m.grade_table(y, g, order)
    scalars = {k: v for k, v in metrics.items() if k != "grade_table"}
    captions = {
        "roc.png": "ROC curve",
        "ks.png": "Kolmogorov–Smirnov: cumulative goods and bads by score",
        "calibration.png": "Reliability diagram",
        "score_distribution.png": "Scores of goods and bads",
        "feature_importance.png": "Feature importance",
    }
    figures = "".join(
        f'<figure><img src="{name}" alt="{html.escape(captions[name])}">'
        f"<figcaption>{html.escape(captions[name])}</figcaption></figure>"
        for name in PLOTS
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<h2>Metrics</h2>",
        _kv_table(scalars),
        "<h2>Grades</h2>",
        _grade_table_html(grade_rows),
        "<h2>Plots</h2>",
        f'<div class="plots">{figures}</div>',
    ]
    if extra:
        parts += ["<h2>Details</h2>", _kv_table(extra)]
    parts.append("</body></html>")
    path = out_dir / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
