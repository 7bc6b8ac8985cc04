"""PDF rendering of letters with reportlab: one layout for every letter, zh-CN and English.

A `Letter` is plain data (title, letterhead, blocks of text and tables); `render` lays it out on A4
with the CJK font and returns the bytes. Output is deterministic for the same letter (reportlab's
invariant mode), so a letter's SHA-256 identifies its content. `letter_text` gives the words of a
letter for checks such as CN-L1.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from arrears.documents.fonts import register_cjk_font


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align_right: tuple[int, ...] = ()  # column indexes of figures


Block = Heading | Para | Table


@dataclass(frozen=True)
class Letter:
    language: str  # zh | en
    title: str
    creditor: str
    letterhead: tuple[str, ...]  # lines under the creditor's name (phone, address …)
    reference: str  # shown as "Account / 账号"
    issued_on: date
    blocks: tuple[Block, ...]
    closing: tuple[str, ...] = ()
    subject: str = ""
    meta: dict[str, str] = field(default_factory=dict)


LABELS = {
    "zh": {"reference": "账号", "date": "日期", "page": "第 {page} 页"},
    "en": {"reference": "Account", "date": "Date", "page": "Page {page}"},
}


def format_date(d: date, language: str) -> str:
    if language == "zh":
        return f"{d.year}年{d.month}月{d.day}日"
    return f"{d.day} {d.strftime('%B')} {d.year}"


def letter_text(letter: Letter) -> str:
    """Every word of the letter, in reading order (for content checks)."""
    parts: list[str] = [letter.title, letter.creditor, *letter.letterhead]
    for b in letter.blocks:
        if isinstance(b, Table):
            parts.append(" ".join(b.header))
            parts.extend(" ".join(r) for r in b.rows)
        else:
            parts.append(b.text)
    parts.extend(letter.closing)
    return "\n".join(parts)


def render(letter: Letter) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import HRFlowable, Paragraph, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Table as RLTable

    font = register_cjk_font()
    wrap = "CJK" if letter.language == "zh" else None
    labels = LABELS["zh" if letter.language == "zh" else "en"]

    def style(name: str, size: float, leading: float, **kw: Any) -> ParagraphStyle:
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=leading, wordWrap=wrap, **kw)

    body = style("body", 10.5, 16, spaceAfter=6)
    small = style("small", 8.5, 12, textColor=colors.HexColor("#444444"))
    head = style("head", 11.5, 16, spaceBefore=6, spaceAfter=3, keepWithNext=1)
    title = style("title", 17, 24, alignment=1, spaceBefore=4, spaceAfter=10)
    brand = style("brand", 13, 18)
    cell = style("cell", 9.5, 13)
    cell_r = style("cell_r", 9.5, 13, alignment=TA_RIGHT)

    def p(text: str, st: ParagraphStyle) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), st)

    story: list[Any] = [p(letter.creditor, brand)]
    story += [p(line, small) for line in letter.letterhead]
    story.append(Spacer(1, 3 * mm))
    story.append(HRFlowable(width="100%", thickness=0.6, color=colors.HexColor("#888888")))
    story.append(p(letter.title, title))
    story.append(
        p(
            f"{labels['reference']}: {letter.reference} · {labels['date']}: {format_date(letter.issued_on, letter.language)}",
            small,
        )
    )
    story.append(Spacer(1, 3 * mm))
    width = A4[0] - 40 * mm - 12  # the frame's text width (6 pt padding each side)
    for b in letter.blocks:
        if isinstance(b, Heading):
            story.append(p(b.text, head))
        elif isinstance(b, Para):
            story.append(p(b.text, body))
        else:
            story.append(_table(b, width, cell, cell_r, p, RLTable, TableStyle, colors))
            story.append(Spacer(1, 3 * mm))
    if letter.closing:
        story.append(Spacer(1, 6 * mm))
        story += [p(line, body) for line in letter.closing]

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.drawRightString(A4[0] - 20 * mm, 12 * mm, labels["page"].format(page=doc.page))
        canvas.drawString(20 * mm, 12 * mm, f"{letter.creditor} · {letter.reference}")
        canvas.restoreState()

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=20 * mm,
        title=letter.title,
        author=letter.creditor,
        subject=letter.subject or letter.title,
        creator="Arrears",
        lang="zh-CN" if letter.language == "zh" else "en",
        invariant=True,
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()


def _table(
    t: Table, width: float, cell: Any, cell_r: Any, p: Any, rl_table: Any, table_style: Any, colors: Any
) -> Any:
    def row(values: Sequence[str]) -> list[Any]:
        return [p(v, cell_r if i in t.align_right else cell) for i, v in enumerate(values)]

    data = [row(t.header), *[row(r) for r in t.rows]]
    cols = len(t.header)
    tbl = rl_table(data, colWidths=[width / cols] * cols, repeatRows=1)
    tbl.setStyle(
        table_style(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#888888")),
                ("LINEBELOW", (0, -1), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return tbl
