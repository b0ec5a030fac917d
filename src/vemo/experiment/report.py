"""The study's report: Tables IV to IX beside the paper's, figures, machine, and a discussion.

Writes report.md, a self-contained report.html (images embedded), results.csv and
results.json. Every table says which corpus, split, training preset, epochs and seeds produced it.
"""

from __future__ import annotations

import base64
import html
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import sklearn
import torch

import vemo.experiment.paper_figures as paper
from vemo import __version__
from vemo.errors import VideoOpenError
from vemo.experiment.constant import against_constant
from vemo.experiment.grid import ExperimentConfig
from vemo.io.files import write_csv_atomic, write_image_atomic, write_json_atomic, write_text_atomic
from vemo.io.media import open_media
from vemo.io.report_style import REPORT_STYLE
from vemo.io.runs import RunFolder
from vemo.io.workspace import corpus_statement, read_faces, source_file

CLASSES = paper.CLASSES
NAMES = {"lenet": "LeNet", "alexnet": "AlexNet", "lgbp": "LGBP + PCA + LDA", "sgd": "SGD", "rmsprop": "RMSprop", "adam": "Adam"}

# the look of every HTML report vemo writes (the experiment report here, `vemo report` of predictions)


def _pm(values: pd.Series, scale: float = 100.0, digits: int = 1) -> str:
    """mean ± std (std over seeds; '±0' is not printed for a single seed)."""
    values = values.dropna() * scale
    if values.empty:
        return "–"
    if len(values) == 1:
        return f"{values.iloc[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


def transfer_table(results: pd.DataFrame) -> pd.DataFrame | None:
    """Fine-tuned pretrained models beside the same architecture from scratch and the best
    LeNet / AlexNet of Table IX, all on the same split; None when no transfer runs were made."""
    runs = results[results["table"] == "transfer"] if "table" in results else results.iloc[:0]
    if runs.empty:
        return None
    rows = []
    for (model, weights), group in runs.groupby(["model", "weights"], sort=False):
        start = "from scratch" if weights == "scratch" else f"fine-tuned from {weights}"
        rows.append(
            {
                "Method": f"{model} {start}",
                "preset": "vemo",
                "epochs": int(group["epochs"].iloc[0]),
                "accuracy %": _pm(group["accuracy"]),
                "balanced %": _pm(group["balanced_accuracy"]),
                "macro F1 %": _pm(group["macro_f1"]),
                "time (s)": _pm(group["train_seconds"], 1, 0),
            }
        )
    paper_runs = results[results["table"].isin(["IV-VI", "VII-VIII"])]
    for model in [m for m in ("lenet", "alexnet") if m in set(paper_runs["model"])]:
        own = paper_runs[paper_runs["model"] == model]
        best = own.groupby(["optimizer", "batch_size"])["val_accuracy"].mean().idxmax()
        chosen = own[(own["optimizer"] == best[0]) & (own["batch_size"] == best[1])]
        rows.append(
            {
                "Method": f"{NAMES[model]} (Table IX: {NAMES[best[0]]}, batch {best[1]})",
                "preset": chosen["preset"].iloc[0],
                "epochs": int(chosen["epochs"].iloc[0]),
                "accuracy %": _pm(chosen["accuracy"]),
                "balanced %": _pm(chosen["balanced_accuracy"]),
                "macro F1 %": _pm(chosen["macro_f1"]),
                "time (s)": _pm(chosen["train_seconds"], 1, 0),
            }
        )
    return pd.DataFrame(rows)


def build_tables(results: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Tables IV to IX as DataFrames: the paper's figures and vemo's, side by side."""
    tables: dict[str, pd.DataFrame] = {}
    results = results[results["table"] != "transfer"]
    cnn = results[results["model"] != "lgbp"]
    small = cnn[cnn["table"] == "IV-VI"]
    rows = []
    for (model, _), runs in small[small["optimizer"] == "sgd"].groupby(["model", "optimizer"], sort=False):
        printed = paper.PRINTED.get((model, "sgd", 10), (None, None, None))
        rows.append(
            {
                "Architecture": NAMES[model],
                "paper accuracy % (printed)": _fmt(printed[0]),
                "paper overall % (recomputed)": _fmt(paper.paper_overall(model, "sgd", 10)),
                "paper loss": _fmt(printed[1]),
                "paper time (s, T4)": _fmt(printed[2], 0),
                "vemo accuracy %": _pm(runs["accuracy"]),
                "vemo balanced %": _pm(runs["balanced_accuracy"]),
                "vemo loss": _pm(runs["loss"], 1, 3),
                "vemo time (s)": _pm(runs["train_seconds"], 1, 0),
            }
        )
    tables["IV"] = pd.DataFrame(rows)
    rows = []
    for (model, optimizer), runs in small.groupby(["model", "optimizer"], sort=False):
        printed = paper.PRINTED.get((model, optimizer, 10), (None, None, None))
        rows.append(
            {
                "Arch": NAMES[model],
                "Optimizer": NAMES[optimizer],
                "paper accuracy % (printed)": _fmt(printed[0]),
                "paper overall % (recomputed)": _fmt(paper.paper_overall(model, optimizer, 10)),
                "paper loss": _fmt(printed[1]),
                "paper time (s)": _fmt(printed[2], 0),
                "vemo accuracy %": _pm(runs["accuracy"]),
                "vemo balanced %": _pm(runs["balanced_accuracy"]),
                "vemo loss": _pm(runs["loss"], 1, 3),
                "vemo time (s)": _pm(runs["train_seconds"], 1, 0),
            }
        )
    tables["V"] = pd.DataFrame(rows)
    tables["VI"] = _per_class_table(small, batch=False)
    chosen = cnn.loc[cnn["table"] == "VII-VIII", ["model", "optimizer"]].drop_duplicates()
    batches = cnn.merge(chosen, on=["model", "optimizer"])  # each model's chosen optimizer, at both batch sizes
    rows = []
    for (model, optimizer, batch), runs in batches.groupby(["model", "optimizer", "batch_size"], sort=False):
        printed = paper.PRINTED.get((model, paper.PAPER_CHOSEN_OPTIMIZER.get(model, ""), batch), (None, None, None))
        rows.append(
            {
                "Arch": NAMES[model],
                "vemo's optimizer": NAMES[optimizer],
                "Batch": batch,
                "paper's optimizer": NAMES.get(paper.PAPER_CHOSEN_OPTIMIZER.get(model, ""), "–"),
                "paper accuracy % (printed)": _fmt(printed[0]),
                "paper overall % (recomputed)": _fmt(paper.paper_overall(model, paper.PAPER_CHOSEN_OPTIMIZER.get(model, ""), batch)),
                "paper loss": _fmt(printed[1]),
                "paper time (s)": _fmt(printed[2], 0),
                "vemo accuracy %": _pm(runs["accuracy"]),
                "vemo balanced %": _pm(runs["balanced_accuracy"]),
                "vemo loss": _pm(runs["loss"], 1, 3),
                "vemo time (s)": _pm(runs["train_seconds"], 1, 0),
            }
        )
    tables["VII"] = pd.DataFrame(rows)
    tables["VIII"] = _per_class_table(batches, batch=True)
    rows = []
    for model in [m for m in ("lenet", "alexnet", "lgbp") if m in set(results["model"])]:
        runs = results[results["model"] == model]
        best = runs.groupby(["optimizer", "batch_size"])["val_accuracy"].mean().idxmax()
        chosen = runs[(runs["optimizer"] == best[0]) & (runs["batch_size"] == best[1])]
        label = NAMES[model] if model == "lgbp" else f"{NAMES[model]} with {NAMES[best[0]]}, batch {best[1]}"
        paper_note = (
            "quoted from the ISED paper"
            if model == "lgbp"
            else f"printed; recomputed overall {_fmt(paper.paper_overall(model, paper.PAPER_CHOSEN_OPTIMIZER[model], 10))}"
        )
        rows.append(
            {
                "Method": label,
                "paper accuracy %": _fmt(paper.TABLE_IX[model]),
                "paper figure is": paper_note,
                "vemo accuracy %": _pm(chosen["accuracy"]),
                "vemo balanced %": _pm(chosen["balanced_accuracy"]),
            }
        )
    tables["IX"] = pd.DataFrame(rows)
    return tables


def _per_class_table(runs: pd.DataFrame, batch: bool) -> pd.DataFrame:
    rows = []
    keys = ["model", "optimizer", "batch_size"] if batch else ["model", "optimizer"]
    for key, group in runs.groupby(keys, sort=False):
        model, optimizer = key[0], key[1]
        batch_size = key[2] if batch else 10
        paper_row = paper.paper_per_class(model, paper.PAPER_CHOSEN_OPTIMIZER.get(model, optimizer) if batch else optimizer, batch_size)
        row: dict[str, object] = {"Arch": NAMES[model], "Optimizer": NAMES[optimizer]}
        if batch:
            row["Batch"] = batch_size
            row["paper's optimizer"] = NAMES.get(paper.PAPER_CHOSEN_OPTIMIZER.get(model, ""), "–")
        for i, name in enumerate(CLASSES):
            row[f"{name} paper"] = _fmt(paper_row[i]) if paper_row else "–"
            row[f"{name} vemo"] = _pm(group[f"recall_{name}"])
        rows.append(row)
    return pd.DataFrame(rows)


def leakage_table(results: pd.DataFrame) -> pd.DataFrame | None:
    """Test accuracy per setting under both protocols, when both were run."""
    if set(results["protocol"]) != {"subject", "paper"}:
        return None
    if "table" in results:
        results = results[results["table"] != "transfer"]
    rows = []
    for (model, optimizer, batch), runs in results.groupby(["model", "optimizer", "batch_size"], sort=False):
        by = {p: runs[runs["protocol"] == p]["accuracy"] for p in ("paper", "subject")}
        if by["paper"].empty or by["subject"].empty:
            continue
        rows.append(
            {
                "Method": NAMES[model],
                "Optimizer": NAMES.get(optimizer, optimizer),
                "Batch": batch,
                "frame split (paper) accuracy %": _pm(by["paper"]),
                "subject split accuracy %": _pm(by["subject"]),
                "difference (points)": f"{100 * (by['paper'].mean() - by['subject'].mean()):+.1f}",
            }
        )
    return pd.DataFrame(rows)


def machine_table() -> pd.DataFrame:
    """Table III for the machine this ran on, beside the paper's Colab."""
    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").exists():
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
        cpu = names[0] if names else cpu
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 if hasattr(os, "sysconf") else float("nan")
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU only)"
    ours = {"GPU": gpu, "CPU": f"{cpu} ({os.cpu_count()} cores)", "RAM": f"{memory:.0f} GB", "Disk": "–"}
    rows = [{"Hardware": k, "paper (Google Colab)": paper.COLAB[k], "this run": ours[k]} for k in paper.COLAB]
    rows.append(
        {
            "Hardware": "Software",
            "paper (Google Colab)": "Keras / TensorFlow, OpenCV 2.0 (as stated)",
            "this run": f"vemo {__version__}, torch {torch.__version__}, OpenCV {cv2.__version__}, "
            f"scikit-learn {sklearn.__version__}, Python {platform.python_version()}",
        }
    )
    return pd.DataFrame(rows)


def figure_2(workspace: Path, out: Path, sources: int = 3) -> Path | None:
    """Fig. 2 re-made: a frame with its Haar box and eyes, and the aligned crop, for a few sources."""
    faces = read_faces(workspace)
    if faces.empty:
        return None
    panels = []
    for source_id in sorted(faces["source_id"].unique())[:sources]:
        rows = faces[faces["source_id"] == source_id]
        row = rows.iloc[len(rows) // 2]
        try:
            found = open_media(source_file(workspace, str(row["source_path"]))).frame(int(row["frame"]))
        except VideoOpenError:
            continue
        if found is None:
            continue
        frame = found.image.copy()
        x, y, w, h = (int(row[k]) for k in ("x", "y", "w", "h"))
        cv2.rectangle(frame, (x, y), (x + w, y + h), (0, 255, 0), 2)
        if bool(row["aligned"]):
            for eye in ("left", "right"):
                cv2.circle(frame, (int(row[f"{eye}_eye_x"]), int(row[f"{eye}_eye_y"])), 3, (0, 0, 255), -1)
        stored = cv2.imread(str(workspace / row["crop_path"]))
        if stored is None:  # a crop removed by hand: the figure shows the others
            continue
        crop = cv2.resize(stored, (frame.shape[0], frame.shape[0]))
        panels.append(np.hstack([frame, np.full((frame.shape[0], 8, 3), 255, np.uint8), crop]))
    if not panels:
        return None
    width = max(p.shape[1] for p in panels)
    panels = [np.pad(p, ((0, 8), (0, width - p.shape[1]), (0, 0)), constant_values=255) for p in panels]
    path = out / "figures" / "fig2.png"
    write_image_atomic(path, np.vstack(panels))
    return path


def discussion(results: pd.DataFrame, config: ExperimentConfig) -> list[str]:
    """Sentences that only state what the numbers show."""
    lines = against_constant(results, NAMES)
    small = results[results["table"] == "IV-VI"]
    for model, runs in small.groupby("model", sort=False):
        means = runs.groupby("optimizer")["accuracy"].mean().sort_values(ascending=False)
        stds = runs.groupby("optimizer")["accuracy"].std(ddof=1).fillna(0)
        if len(means) < 2:
            continue
        first, second = means.index[0], means.index[1]
        gap = 100 * (means.iloc[0] - means.iloc[1])
        spread = 100 * (stds[first] + stds[second])
        verdict = (
            "one seed, so the seed spread is not measured"
            if config.seeds == 1
            else f"{'more' if gap > spread else 'less'} than the seed spread ({spread:.1f} points, sum of the two std)"
        )
        lines.append(
            f"{NAMES[model]}, batch 10: {NAMES[first]} gave the highest test accuracy "
            f"({100 * means.iloc[0]:.1f}%), {gap:.1f} points above {NAMES[second]}; that is {verdict}."
        )
    large = results[results["table"] == "VII-VIII"]
    for model, runs in large.groupby("model", sort=False):
        optimizer = runs["optimizer"].iloc[0]
        base = small[(small["model"] == model) & (small["optimizer"] == optimizer)]["accuracy"].mean()
        lines.append(
            f"{NAMES[model]} with {NAMES[optimizer]} (chosen on validation accuracy): batch 100 gave "
            f"{100 * runs['accuracy'].mean():.1f}% against {100 * base:.1f}% at batch 10."
        )
    if "lgbp" in set(results["model"]):
        baseline = results[results["model"] == "lgbp"]["accuracy"].mean()
        networks = results[(results["model"] != "lgbp") & (results["table"] != "transfer")]
        best_cnn = networks.groupby(["model", "optimizer", "batch_size"])["accuracy"].mean()
        if len(best_cnn):
            lines.append(
                f"The LGBP + PCA + LDA baseline reached {100 * baseline:.1f}%; the best network setting "
                f"reached {100 * best_cnn.max():.1f}%."
            )
    lines.append(
        "The paper's Tables IV, V and VII print the disgust accuracy as the overall accuracy; the "
        "'recomputed' columns give the overall accuracy implied by its per-class tables and Table II."
    )
    return lines


def _epoch_overrides(config: ExperimentConfig) -> str:
    return "".join(f" ({NAMES.get(m, m)}: {e})" for m, e in config.model_epochs)


def _image_data(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def _add_run_figures(results: pd.DataFrame, out: Path, md: list[str], body: list[str]) -> None:
    """Each run's confusion matrix (Fig. 3) and learning curves, to the markdown and the page."""
    md += ["## Runs: confusion matrices (Fig. 3) and learning curves", ""]
    body.append("<h2>Runs: confusion matrices (Fig. 3) and learning curves</h2>")
    for row in results.itertuples():
        run = RunFolder(row.run)
        images = [p for p in (run.figure_file("confusion-test.png"), run.figure_file("curves.png")) if p.exists()]
        caption = f"{row.model} {row.optimizer} batch {row.batch_size} seed {row.seed}: accuracy {100 * row.accuracy:.1f}%"
        md += [f"### {caption}", ""] + [f"![{p.name}]({os.path.relpath(p, out)})" for p in images] + [""]
        body.append(f"<h3>{html.escape(caption)}</h3>" + "".join(f"<img src='{_image_data(p)}'>" for p in images))


def write_report(results: pd.DataFrame, workspace: Path, out: Path, config: ExperimentConfig, seconds: float, note: str = "") -> Path:
    """Write REPORT/{report.md, report.html, results.csv, results.json, figures/}; returns report.html.
    `note` (what a demo left out of the study, say) opens the provenance line."""
    out.mkdir(parents=True, exist_ok=True)
    write_csv_atomic(out / "results.csv", results)
    write_json_atomic(out / "results.json", results.to_dict("records"))
    leakage = leakage_table(results)
    results = results[results["protocol"] == config.report_protocol]  # the paper's tables come from one protocol
    tables = build_tables(results)
    corpus = corpus_statement(workspace)
    fig2 = figure_2(workspace, out)
    machine = machine_table()
    provenance = _provenance(note, corpus, config, seconds)
    titles = {
        "IV": "Table IV. Accuracy, loss and training time (SGD, batch 10)",
        "V": "Table V. Optimizers (batch 10)",
        "VI": "Table VI. Per-class accuracy (recall, %) by optimizer",
        "VII": "Table VII. Batch sizes (each model's best optimizer)",
        "VIII": "Table VIII. Per-class accuracy (recall, %) by batch size",
        "IX": "Table IX. Comparison with the benchmark (LGBP + PCA + LDA)",
    }
    md = [
        f"# vemo: the paper's study on {workspace}",
        "",
        provenance,
        "",
        f"Generated {datetime.now(timezone.utc).isoformat(timespec='seconds')} by vemo {__version__}.",
        "",
    ]
    body = [f"<h1>vemo: the paper's study</h1><p class='prov'>{html.escape(provenance)}</p>"]
    for key, title in titles.items():
        table = tables[key]
        md += [f"## {title}", "", table.to_markdown(index=False) if len(table) else "(no runs)", ""]
        shown = table.to_html(index=False, border=0, classes="t") if len(table) else "<p>(no runs)</p>"
        body.append(f"<h2>{html.escape(title)}</h2>" + shown)
    transfer = transfer_table(results)
    if transfer is not None:
        title = "Transfer learning: pretrained models fine-tuned, the same architectures from scratch, and the paper's networks"
        note = (
            "Same split for every row. Fine-tuned runs train only the new head for the first epoch(s), then "
            "every layer. The paper's networks use the training preset of the grid above."
        )
        md += [f"## {title}", "", note, "", transfer.to_markdown(index=False), ""]
        body.append(f"<h2>{html.escape(title)}</h2><p>{html.escape(note)}</p>" + transfer.to_html(index=False, border=0, classes="t"))
    if leakage is not None:
        title = "Leakage: the same settings on a frame-level split (the paper's) and a subject split"
        md += [f"## {title}", "", leakage.to_markdown(index=False), ""]
        body.append(f"<h2>{html.escape(title)}</h2>" + leakage.to_html(index=False, border=0, classes="t"))
    md += ["## Discussion", ""] + [f"- {line}" for line in discussion(results, config)] + [""]
    body.append("<h2>Discussion</h2><ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in discussion(results, config)) + "</ul>")
    md += ["## Table III. Machine", "", machine.to_markdown(index=False), ""]
    body.append("<h2>Table III. Machine</h2>" + machine.to_html(index=False, border=0, classes="t"))
    if fig2:
        md += ["## Fig. 2. Frame, Haar box and eyes, aligned crop", "", f"![Fig. 2]({fig2.relative_to(out)})", ""]
        body.append(f"<h2>Fig. 2. Frame, Haar box and eyes, aligned crop</h2><img src='{_image_data(fig2)}'>")
    _add_run_figures(results, out, md, body)
    write_text_atomic(out / "report.md", "\n".join(md))
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>vemo report</title><style>{REPORT_STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>"
    )
    write_text_atomic(out / "report.html", page)
    return out / "report.html"


def _split_words(protocol: str) -> str:
    return "no subject in two splits" if protocol == "subject" else "frame-level, as Table II appears to be: leaks"


def _provenance(note: str, corpus: dict, config: ExperimentConfig, seconds: float) -> str:
    """The line under the report's title: what was left out (`note`), corpus, split, training preset, epochs, time."""
    statement = ("SYNTHETIC — " if corpus["synthetic"] else "") + corpus["statement"]
    return (
        (f"{note} " if note else "") + f"Corpus: {statement} "
        f"Split: {config.report_protocol} ({_split_words(config.report_protocol)}). "
        f"Training preset: {config.preset}. Epochs: {config.epochs}{_epoch_overrides(config)}. Seeds: {config.seeds} "
        f"(figures are mean ± std over seeds). Wall time of this command: {seconds:.0f} s."
    )
