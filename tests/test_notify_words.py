"""Every mutation and every review code has words in Chinese and English, on the server
(notification texts, server/notify/words.py) and in the app (``mutation.*`` strings), so
a new one cannot reach a manager as a raw code ("hours.check_in (hours_overlap)")."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from server.domain import build_registry
from server.domain.timebank import SHORTFALL_MESSAGES
from server.domain.volunteers import FLAG_MESSAGES
from server.notify.kinds import KINDS
from server.notify.words import CODES, MUTATIONS

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")


def flag_codes() -> set[str]:
    """Every code passed to ``ctx.flag`` / ``.flag(`` in the server and the engine: literal
    ones read from the source; the two built ones (hours, redemptions) from their tables.
    A new built code anywhere else fails here until it is added."""
    codes: set[str] = set()
    built: list[str] = []
    for path in [*sorted((ROOT / "server").rglob("*.py")), *sorted((ROOT / "sync").rglob("*.py"))]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "flag" and node.args):
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                codes.add(first.value)
            else:
                built.append(f"{path.relative_to(ROOT)}:{ast.unparse(first)}")
    assert sorted(built) == ['server/domain/timebank.py:shortfall',
                             "server/domain/volunteers.py:f'hours_{code}'"], built
    codes |= {f"hours_{code}" for code in FLAG_MESSAGES} | set(SHORTFALL_MESSAGES)
    return codes


def test_every_registered_mutation_has_words_in_both_languages() -> None:
    names = {name for name, _ in build_registry().mutations}
    assert sorted(names - set(MUTATIONS)) == []
    for name in names:
        zh, en = MUTATIONS[name]
        assert CJK.search(zh) and en and not CJK.search(en) and "." not in en, name


def test_every_flag_code_has_words_in_both_languages() -> None:
    codes = flag_codes()
    assert {"conflict_recorded", "hours_overlap", "donation_unallocated"} <= codes
    assert sorted(codes - set(CODES)) == []
    for code in codes:
        zh, en = CODES[code]
        assert CJK.search(zh) and en and "_" not in en and not CJK.search(en), code


def test_the_app_names_every_mutation_in_both_languages() -> None:
    """The review list and the sync panel show ``t('mutation.<name>')``."""
    found: dict[str, tuple[str, str]] = {}
    entry = re.compile(r"'mutation\.([a-z_.]+)':\s*\['([^']*)',\s*'([^']*)'\]")
    for path in sorted((ROOT / "pwa" / "src").rglob("*.js")):
        for name, zh, en in entry.findall(path.read_text(encoding="utf-8")):
            found[name] = (zh, en)
    names = {name for name, _ in build_registry().mutations}
    assert sorted(names - set(found)) == []
    for name in names:
        assert CJK.search(found[name][0]) and found[name][1], name


def test_the_review_notification_says_it_in_words_with_the_station_name() -> None:
    content = KINDS["review.flagged"].build({
        "issue_id": "i1", "code": "hours_overlap", "mutation": "hours.check_in", "user_id": "张伟",
        "station": "HZ-001", "station_name": "海珠社工站", "district": "海珠区"})
    zh, en = content.body
    assert zh == "张伟 在海珠社工站的「签到」待复核:与其他服务记录时间重叠"
    assert en == "Check-in by 张伟 at 海珠社工站 held for review: overlaps another hour log"
    assert "HZ-001" not in zh + en and "hours" not in zh + en
