"""The HTML page both the report and the comparison use: one self-contained file, readable on a phone, printable.

Everything is inline (style, pictures as PNG data URIs, the CJK font subset as a data URI): no script and no
request leaves the machine. Maps pan and zoom with CSS alone (:func:`zoomable_figure`). Text is escaped where it
enters (:func:`esc`); sections carry stable ids (``sec-run``, ...) that the table of contents and the tests use.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from twin.report.fonts import font_face_css
from twin.report.strings import tr

CSS = """
:root{--ink:#1b1f24;--muted:#5b6470;--line:#d5dae0;--accent:#0b5cad;--bg:#fff}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0 auto;max-width:60rem;padding:1rem;color:var(--ink);background:var(--bg);
 font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
body.zh{font-family:"twin-cjk",system-ui,sans-serif}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.2rem;margin:1.6rem 0 .5rem;border-bottom:2px solid var(--accent)}
.subtitle,.note,footer{color:var(--muted);font-size:.9rem}
nav ol{columns:2;margin:.3rem 0;padding-left:1.3rem}
a{color:var(--accent)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.4rem 0}
th,td{border-bottom:1px solid var(--line);padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:#f3f5f7}
td.num,td.nowrap{white-space:nowrap}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .9rem;margin:.4rem 0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
.maps{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:0 1rem}
figure{margin:.6rem 0}figure img{width:100%;height:auto;border:1px solid var(--line)}
figcaption{color:var(--muted);font-size:.85rem}
details summary{cursor:pointer;font-weight:600}
.pz{position:relative}.pz-toggle{position:absolute;opacity:0;width:1px;height:1px}
.pz label{display:inline-block;cursor:zoom-in;color:var(--accent);font-size:.85rem;margin:.1rem 0}
.pz-view{overflow:auto;max-height:85vh;border:1px solid var(--line);-webkit-overflow-scrolling:touch}
.pz-view img{display:block;border:0}
.pz-toggle:checked~.pz-view img{width:300%;max-width:none}.pz-toggle:checked~label{cursor:zoom-out}
.pz-toggle:focus-visible~label{outline:2px solid var(--accent)}
.yes{color:#0a7a32;font-weight:600}.no{color:var(--muted)}
@media (max-width:40rem){body{font-size:14px;padding:.6rem}nav ol{columns:1}dl.facts{grid-template-columns:1fr}}
@page{size:A4;margin:14mm}
@media print{body{max-width:none;padding:0;font-size:10pt}nav{display:none}a{color:inherit;text-decoration:none}
 h2{break-after:avoid}figure,tr{break-inside:avoid}details>*{display:block}.scroll{overflow:visible}
 .pz label{display:none}.pz-view{overflow:visible;max-height:none}.pz-toggle:checked~.pz-view img{width:100%}}
"""


@dataclass(frozen=True)
class Section:
    """One section of a page: its id (``sec-...``), heading and HTML body."""

    id: str
    heading: str
    body: str


def esc(value: object) -> str:
    """Text for HTML: escaped, quotes included."""
    return html.escape(str(value), quote=True)


def png_img(data: bytes, alt: str) -> str:
    """An ``<img>`` holding the PNG as a data URI."""
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img src="data:image/png;base64,{encoded}" alt="{esc(alt)}">'


def figure(data: bytes, caption: str) -> str:
    """A picture with its caption."""
    return f"<figure>{png_img(data, caption)}<figcaption>{esc(caption)}</figcaption></figure>"


def zoomable_figure(data: bytes, caption: str, key: str, zoom_label: str) -> str:
    """A map that pans and zooms without a script: a checkbox (its label reads ``zoom_label``) shows the picture at
    three times the page's width inside a scrolling frame, which pans by dragging, scrolling or swiping; printed,
    it is the plain figure. ``key`` makes the checkbox's id unique on the page; the PNG should carry the pixels
    the zoom shows (drawn at a higher resolution than the other figures)."""
    box = f"pz-{esc(key)}"
    return (
        f'<figure class="pz"><input type="checkbox" class="pz-toggle" id="{box}">'
        f'<label for="{box}">{esc(zoom_label)}</label><div class="pz-view">{png_img(data, caption)}</div>'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def table(
    header: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = (), nowrap: Sequence[int] = ()
) -> str:
    """An HTML table; cells are HTML already (escape text with :func:`esc`); columns in ``numeric`` right-aligned,
    those in ``nowrap`` kept on one line."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(i, c, numeric, nowrap) for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _cell(index: int, content: str, numeric: Sequence[int], nowrap: Sequence[int]) -> str:
    if index in numeric:
        return f'<td class="num">{content}</td>'
    return f'<td class="nowrap">{content}</td>' if index in nowrap else f"<td>{content}</td>"


def facts(items: Iterable[tuple[str, str]]) -> str:
    """A definition list of label / HTML value pairs."""
    return '<dl class="facts">' + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def render(lang: str, title: str, subtitle: str, sections: Sequence[Section], footer: str) -> str:
    """The whole page: head with inline CSS (and the CJK font subset for Chinese), contents, sections, footer."""
    nav = "".join(f'<li><a href="#{s.id}">{esc(s.heading)}</a></li>' for s in sections)
    content = "".join(f'<section id="{s.id}"><h2>{esc(s.heading)}</h2>{s.body}</section>' for s in sections)
    body = (
        f"<header><h1>{esc(title)}</h1><p class=subtitle>{esc(subtitle)}</p></header>"
        f'<nav aria-label="{esc(tr(lang, "contents"))}"><ol>{nav}</ol></nav>'
        f"<main>{content}</main><footer><p>{esc(footer)}</p></footer>"
    )
    style = CSS
    if lang == "zh":
        # The subset holds exactly the characters on the page, so the page needs no system CJK font.
        style = font_face_css(html.unescape(_text_of(body))) + CSS
    return (
        f'<!DOCTYPE html><html lang="{esc(tr(lang, "html_lang"))}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)}</title><style>{style}</style></head>"
        f'<body class="{esc(lang)}">{body}</body></html>\n'
    )


def _text_of(markup: str) -> str:
    """The characters of ``markup`` outside its tags and data URIs (what the font has to draw)."""
    return re.sub(r"<[^>]*>", " ", markup)
