"""nbgrader's feedback pages with the course's own MathJax: math typeset with no CDN.

``nbgrader generate_feedback`` renders each graded notebook with its ``feedback`` template, whose
head calls nbconvert's ``mathjax()`` macro with no argument: a ``<script>`` loading MathJax 2 from
cdnjs, whatever ``HTMLExporter.mathjax_url`` says. A student offline or behind a firewall that
blocks the CDN sees raw ``$...$``. The course's ``nbgrader_config.py`` (written by
:func:`robviz.course.init_course`) makes nbgrader export with :class:`FeedbackExporter` instead,
which replaces that macro: the page carries the gallery's MathJax 3
(:func:`robviz.course.gallery.mathjax_source`, the same file and configuration) inside itself.

Inlined, not linked: nbgrader's exchange (``release_feedback`` / ``fetch_feedback``) moves only the
HTML file, so a script beside it would not reach the student; inlined it works wherever the page
goes (exchange, e-mail, a course site). The cost is the size of MathJax 3's one-file bundle, about
2.2 MB per page.
"""

from __future__ import annotations

import jinja2
from nbconvert.exporters import HTMLExporter
from traitlets import default

from .gallery import MATHJAX_CONFIG, mathjax_source

__all__ = ["FeedbackExporter", "MATHJAX_MACRO"]

#: Stands in for nbconvert's ``mathjax.html.j2``: same macro name and argument (the URL is ignored),
#: MathJax 3 configured and then inlined. The script text is a Jinja global (see
#: :class:`FeedbackExporter`), not template source, so nothing in MathJax is read as Jinja.
MATHJAX_MACRO = (
    """{%- macro mathjax(url=None) -%}
"""
    + MATHJAX_CONFIG
    + """
<script id="MathJax-script">{{ robviz_mathjax_js }}</script>
{%- endmacro %}
"""
)


class FeedbackExporter(HTMLExporter):
    """nbconvert's ``HTMLExporter`` whose ``mathjax()`` macro inlines the course's MathJax 3.

    See the module.

    Set by the course's configuration as ``c.GenerateFeedback.exporter_class``; nbgrader still picks
    the template (its ``feedback``), which reaches the macro through ``{% from 'mathjax.html.j2'
    import mathjax %}``: the loader added here is asked first.

    Raises
    ------
    FileNotFoundError
        MathJax is not installed (:func:`robviz.course.gallery.mathjax_source`), when a page is
        rendered.
    """

    @default("extra_loaders")
    def _extra_loaders_default(self) -> list:
        return [jinja2.DictLoader({"mathjax.html.j2": MATHJAX_MACRO})]

    def _create_environment(self) -> jinja2.Environment:
        environment = super()._create_environment()
        # "</script" inside the script would end it early (MathJax 3.2.2 has none; a later one
        # might).
        environment.globals["robviz_mathjax_js"] = (
            mathjax_source().read_text(encoding="utf-8").replace("</script", "<\\/script")
        )
        return environment
