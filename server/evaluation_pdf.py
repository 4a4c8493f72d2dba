"""A service project's evaluation report as PDF (docs/projects.md, "Evaluation report"):
reportlab through ``server/pdf.py`` (every text escaped, Chinese in STSong-Light), as
``year_summary.py`` does.

Sections: the project; 需求评价 needs (what it answers, its indicators against targets);
绩效管理 performance (milestones, spending against the grant from the ledger); 跟踪反馈
feedback (count and mean score only: no beneficiary's words); 监督检查 supervision (the
visits, findings and follow-ups); the scores of the four methods, the conclusion and the
public summary.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from server import reports
from server.pdf import LATIN_BOLD, MUTED, RULE, Styles

SCORE_WORDS = (("needs", "需求评价", "needs assessment"), ("performance", "绩效管理", "performance"),
               ("feedback", "跟踪反馈", "follow-up feedback"),
               ("supervision", "监督检查", "supervision"))


def _yuan(fen: int) -> str:
    return reports.yuan(int(fen))


def render_evaluation(facts: dict[str, Any]) -> bytes:
    """A4 portrait. ``facts``: ``service_projects_public.report_facts``."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Flowable, SimpleDocTemplate, Spacer

    text = Styles(
        title={"fontSize": 20, "leading": 28},
        subtitle={"fontName": LATIN_BOLD, "fontSize": 11, "leading": 15, "textColor": MUTED},
        heading={"fontSize": 13, "leading": 19, "spaceBefore": 8},
        body={},
        cell={"fontSize": 9, "leading": 12},
        cell_right={"fontSize": 9, "leading": 12, "alignment": TA_RIGHT},
        note={"fontSize": 8.5, "leading": 12, "textColor": MUTED},
    )
    para = text.para
    rule = colors.HexColor(RULE)
    page = A4
    width = page[0] - 30 * mm

    def grid(header: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]],
             shares: Sequence[float], numbers_from: int = 1) -> Any:
        """``text.figures`` with the columns as shares of the page's width."""
        return text.figures(header, rows, [width * share for share in shares], numbers_from)

    def heading(zh: str, en: str) -> list[Flowable]:
        return [para(f"{zh}  {en}", "heading"), Spacer(1, 2 * mm)]

    evaluation = facts["evaluation"]
    kind_zh, kind_en = facts["kind_label"]
    cat_zh, cat_en = facts["category_label"]
    status_zh, status_en = facts["status_label"]
    story: list[Flowable] = [
        para(f"服务项目评估报告 · {facts['name']}", "title"),
        para(f"Service project evaluation report · {kind_en}", "subtitle"),
        Spacer(1, 3 * mm),
        grid([("项目", "item"), ("内容", "value")], [
            ["类型 kind", f"{kind_zh} {kind_en}"],
            ["类别 category", f"{cat_zh} {cat_en}"],
            ["基金 fund", facts["fund"]["name"] if facts["fund"] else "—"],
            ["站点 station", f"{facts['station_name']} ({facts['station']})"],
            ["状态 status", f"{status_zh} {status_en}"],
            ["设立 created", reports.public_day(facts["created_at"])],
            ["进度 progress", f"{facts['progress']}%"],
        ], [0.3, 0.6], numbers_from=9),
        Spacer(1, 2 * mm),
        para(facts["summary"] or "—", "body"),
    ]
    story += heading("一、需求评价:指标与目标", "1. Needs: indicators against targets")
    story.append(grid([("指标", "indicator"), ("目标", "target"), ("实际", "actual"),
                       ("达成", "attained")],
                      [[f"{i['name']}({i['unit']})", str(i["target"]),
                        "—" if i["actual"] is None else str(i["actual"]),
                        f"{i['attained_percent']}%" if i["attained_percent"] is not None else "—"]
                       for i in facts["indicators"]] or [["暂无 none", "", "", ""]],
                      [0.46, 0.16, 0.16, 0.12]))
    story += heading("二、绩效管理:里程碑与支出", "2. Performance: milestones and spending")
    story.append(grid([("里程碑", "milestone"), ("权重", "weight"), ("进度", "progress"),
                       ("期限", "due")],
                      [[m["title"], str(m["weight"]), f"{m['progress']}%", m["due"] or "—"]
                       for m in facts["milestones"]] or [["暂无 none", "", "", ""]],
                      [0.46, 0.12, 0.12, 0.2]))
    story.append(Spacer(1, 2 * mm))
    spent = int(facts["spent_fen"])
    grant = int(facts["grant_fen"])
    story.append(grid([("支出", "spending"), ("金额(元)", "yuan")], [
        ["资助协议金额 grant", _yuan(grant)],
        ["已拨付(账本) paid, from the ledger", _yuan(spent)],
        ["执行率 spent of the grant", f"{round(spent * 100 / grant)}%" if grant else "—"],
    ], [0.6, 0.3]))
    story.append(para("支出取自基金账本中该项目的拨付分录,而非手工填写。 "
                      "Spending is the sum of the project's disbursement entries in the fund's "
                      "ledger, never typed.", "note"))
    story += heading("三、跟踪反馈", "3. Follow-up feedback")
    feedback = facts["feedback"]
    story.append(para(
        f"受益人反馈 {feedback['count']} 份,平均满意度 "
        f"{feedback['average'] if feedback['average'] is not None else '—'} / 5。"
        f" {feedback['count']} answers, mean score "
        f"{feedback['average'] if feedback['average'] is not None else '—'} of 5 "
        "(comments are kept by the station, not printed).", "body"))
    story += heading("四、监督检查", "4. Supervision visits")
    story.append(grid([("日期", "date"), ("评级", "rating"), ("发现", "findings"),
                       ("整改", "follow-up")],
                      [[v["visited_at"][:10], f"{v['rating_label'][0]}",
                        v["findings"] or "—",
                        (f"{v['follow_up']}(期限 {v['follow_up_due'] or '—'},"
                         f"{'已完成 done' if v['follow_up_done'] else '未完成 open'})"
                         if v["follow_up"] else "—")]
                       for v in facts["visits"]] or [["暂无 none", "", "", ""]],
                      [0.14, 0.12, 0.37, 0.37], numbers_from=9))
    story += heading("五、评估结论", "5. Evaluation")
    if evaluation is None:
        story.append(para("尚未评估。 Not evaluated yet.", "body"))
    else:
        rows = [[f"{zh} {en}", str(evaluation["scores"].get(key, "—"))]
                for key, zh, en in SCORE_WORDS]
        rows.append(["综合 overall", str(evaluation["overall"])])
        story.append(grid([("方法", "method"), ("得分(0–100)", "score")], rows, [0.6, 0.3]))
        story.append(Spacer(1, 2 * mm))
        story.append(para(f"结论 conclusion:{facts['conclusion'] or '—'}", "body"))
        story.append(para(f"公开摘要 public summary:{evaluation['public_summary'] or '—'}",
                          "body"))
        story.append(para(f"评估人 evaluators:{', '.join(facts['evaluators'])} · "
                          f"评估日期 evaluated {evaluation['evaluated_on']}", "note"))

    def footer(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setStrokeColor(rule)
        canvas.line(15 * mm, 12 * mm, page[0] - 15 * mm, 12 * mm)
        line = para(f"{facts['name']} · 评估报告 evaluation · 第 {doc.page} 页 page {doc.page}",
                    "note")
        line.wrapOn(canvas, width, 10 * mm)
        line.drawOn(canvas, 15 * mm, 7 * mm)
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=page, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=15 * mm, bottomMargin=18 * mm,
                            title=f"Evaluation report: {facts['name']}",
                            author="社区慈善 community charity", subject=facts["name"])
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


__all__ = ["render_evaluation"]
