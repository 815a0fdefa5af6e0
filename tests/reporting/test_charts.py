"""The charts: data in them, none drawn without data, readable axes and legends, words in the reader's language."""

from __future__ import annotations

import base64
import io

import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox
from PIL import Image
from sqlalchemy import Engine

from esign.i18n import translator
from esign.reporting import RunReport, SigningReport, build_run_report, build_signing_report, charts
from esign.reporting.metrics import THROUGHPUT_KINDS

from .conftest import RUN_ID, SINCE, UNTIL


def _drawn(fig: Figure) -> Figure:
    fig.canvas.draw()
    return fig


def _extents(texts: list) -> list[Bbox]:  # type: ignore[type-arg]
    renderer = texts[0].figure.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in texts if t.get_visible() and t.get_text()]


def _overlapping(boxes: list[Bbox]) -> list[tuple[int, int]]:
    return [(i, j) for i, a in enumerate(boxes) for j, b in enumerate(boxes) if i < j and a.overlaps(b)]


def test_step_chart_has_a_bar_per_timed_step(report_engine: Engine) -> None:
    """The run report's "time per step": every step of the scenario has its duration, none is zero."""
    fig = _drawn(charts.step_chart(build_run_report(report_engine, RUN_ID).steps, translator()))
    ax = fig.axes[0]
    bars = {label.get_text(): patch.get_width() for label, patch in zip(ax.get_yticklabels(), ax.patches,
                                                                        strict=True)}
    assert bars == {"Atualizar o CRM": 60.0, "Enviar os links": 52.0, "Assinatura da empresa": 38.0,
                    "Aguardar a aprovação": 20.0, "Validar e gerar": 70.0}
    assert ax.get_xlabel() == "Duração (s)" and ax.get_xlim()[1] > 70.0
    assert [t.get_text() for t in ax.texts] == ["1,0 min", "52,0 s", "38,0 s", "20,0 s", "1,2 min"]


def test_no_data_draws_no_chart(empty_reports: tuple[SigningReport, RunReport]) -> None:
    report, run = empty_reports
    t = translator()
    assert charts.funnel_chart(report.funnel, t) is None
    assert charts.throughput_chart(report.throughput, t) is None
    assert charts.channel_chart(report.channels, t) is None
    assert charts.bar_chart(report.pending, "bucket", "requests", t, xlabel="x", ylabel="y") is None
    assert charts.step_chart(run.steps, t) is None
    html = charts.figure_html(None, caption="Tempo por etapa", empty="Nenhuma etapa.", figure_id="steps-chart")
    assert html == '<p class="empty chart-empty" id="steps-chart">Nenhuma etapa.</p>'


def test_a_chart_is_an_image_with_its_caption_as_alternative_text(report_engine: Engine) -> None:
    report = build_signing_report(report_engine, SINCE, UNTIL)
    html = charts.figure_html(charts.funnel_chart(report.funnel, translator()), caption="Documentos",
                              empty="-", figure_id="funnel-chart")
    data = base64.b64decode(html.split("base64,", 1)[1].split('"', 1)[0])
    image = Image.open(io.BytesIO(data))
    css_width = int(html.split('width="', 1)[1].split('"', 1)[0])
    assert image.format == "PNG" and css_width == round(image.width * 96 / charts.DPI)
    assert 'alt="Documentos"' in html and "<figcaption>Documentos</figcaption>" in html


def test_thirty_days_of_dates_do_not_overlap() -> None:
    """A 30-day period gets a few day labels in the reader's format, apart from each other and from the legend."""
    days = pd.date_range("2026-03-02", "2026-03-31", freq="D").date
    daily = pd.DataFrame({"day": days, **{kind: [n % 4 for n in range(len(days))] for kind in THROUGHPUT_KINDS}})
    for lang, march_6 in (("pt_BR", "06/03"), ("en", "3/6")):
        fig = _drawn(charts.throughput_chart(daily, translator(lang)))
        ax = fig.axes[0]
        labels = [t for t in ax.get_xticklabels() if t.get_text()]
        assert 3 <= len(labels) <= 9 and march_6 in [t.get_text() for t in labels], [t.get_text() for t in labels]
        assert _overlapping(_extents(labels)) == []
        assert _overlapping([*_extents(labels), ax.get_legend().get_window_extent()]) == []
        assert [line.get_ydata().sum() for line in ax.get_lines()] == [daily[k].sum() for k in THROUGHPUT_KINDS]


@pytest.mark.parametrize("lang", ["pt_BR", "es"])
def test_legends_sit_beside_the_bars_in_the_readers_language(report_engine: Engine, lang: str) -> None:
    report = build_signing_report(report_engine, SINCE, UNTIL)
    fig = _drawn(charts.channel_chart(report.channels, translator(lang)))
    ax = fig.axes[0]
    legend = ax.get_legend()
    renderer = fig.canvas.get_renderer()
    bars = [patch.get_window_extent(renderer) for patch in ax.patches if patch.get_height() > 0]
    assert bars and not any(legend.get_window_extent(renderer).overlaps(bar) for bar in bars)
    assert not legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))
    words = {"pt_BR": (["Assinaturas", "Recusas", "Expirações", "Em aberto", "Cancelamentos"], ["E-mail", "SMS"]),
             "es": (["Firmas", "Rechazos", "Vencimientos", "En curso", "Cancelaciones"],
                    ["Correo electrónico", "SMS"])}[lang]
    assert [t.get_text() for t in legend.get_texts()] == words[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == words[1]
    # the stacked heights are the table's counts
    heights = {}
    for patch in ax.patches:
        heights[round(patch.get_x(), 3)] = heights.get(round(patch.get_x(), 3), 0) + patch.get_height()
    assert sorted(heights.values()) == sorted(report.channels["requests"].tolist())


def test_funnel_and_histogram_plot_the_tables_numbers(report_engine: Engine) -> None:
    report = build_signing_report(report_engine, SINCE, UNTIL)
    t = translator()
    funnel = _drawn(charts.funnel_chart(report.funnel, t)).axes[0]
    assert [p.get_width() for p in funnel.patches][::-1] == report.funnel["documents"].tolist()
    assert funnel.get_yticklabels()[-1].get_text() == "Criados" and funnel.get_xlabel() == "Documentos"
    assert _overlapping(_extents(funnel.get_yticklabels())) == []
    histogram = _drawn(charts.bar_chart(report.sign_histogram, "duration", "documents", t, xlabel="Tempo",
                                        ylabel="Documentos")).axes[0]
    assert [p.get_height() for p in histogram.patches] == [0, 1, 1, 0, 1, 0]
    assert [x.get_text() for x in histogram.get_xticklabels()] == ["< 1 h", "1-4 h", "4-24 h", "1-3 dias",
                                                                    "3-7 dias", "> 7 dias"]
    assert _overlapping(_extents(histogram.get_xticklabels())) == []
