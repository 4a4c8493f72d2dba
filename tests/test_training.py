"""Training (issue 15, docs/training.md), on SQLite and PostgreSQL: the seats and the
waiting list (a withdrawal gives the first waiting person the seat, and tells them); one
sign-up per person; two offline door phones scanning the same person count once; the
training hours on the person's record and their service certificate (read back with a
PDF reader); feedback only from attendees, its comment for staff; the day-before
reminder to everyone holding a seat, once."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from server.domain.training import remind_due, training_feedback, training_signups
from server.notify.outbox import expand_outbox
from server.notify.tables import notifications
from sync.timeutil import iso, utc_now
from tests.conftest import Api
from tests.devices import Device, admin_with_stations, fresh_snapshot
from tests.helpers import new_id

pytestmark = pytest.mark.anyio

TH1, TH2 = "TR-001", "TR-002"
TIANHE = "天河区"


def _in(hours: float) -> str:
    return iso(utc_now().replace(microsecond=0) + dt.timedelta(hours=hours))


def _training(training_id: str, *, capacity: int = 2, starts_in: float = 1.0, hours: float = 2.5,
              **extra: Any) -> dict[str, Any]:
    return {"id": training_id, "station": TH1, "topic": "《慈善法》与社区慈善", "speaker": "陈律师",
            "starts_at": _in(starts_in), "ends_at": _in(starts_in + 2), "place": "天河社工站二楼",
            "capacity": capacity, "hours": hours, "occasion": "charity_day", **extra}


def _refused(result: dict[str, Any], code: str) -> None:
    assert result["status"] == "rejected" and result["code"] == code, result
    assert result["message"]["zh"] and result["message"]["en"], result


async def _people(api: Api) -> dict[str, Device]:
    await admin_with_stations(api, (TH1, TIANHE), (TH2, TIANHE))
    people = {"staff": Device(api, await api.token("tr-staff", "staff", station=TH1)),
              "door2": Device(api, await api.token("tr-staff-2", "staff", station=TH1)),
              "far": Device(api, await api.token("tr-far", "staff", station=TH2))}
    for user in ("ann", "bo", "cai", "dai", "eve"):
        people[user] = Device(api, await api.token(user, "volunteer", station=TH1))
    return people


async def _count(api: Api, table: Any, *where: Any) -> int:
    async with api.state.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar() or 0)


async def _signups(api: Api, training_id: str) -> dict[str, tuple[str, int | None]]:
    async with api.state.db.read() as conn:
        rows = (await conn.execute(select(
            training_signups.c.user_id, training_signups.c.status, training_signups.c.position)
            .where(training_signups.c.training_id == training_id,
                   training_signups.c.status != "cancelled"))).all()
    return {str(u): (str(s), p) for u, s, p in rows}


async def _training_row(api: Api, device: Device, training_id: str) -> dict[str, Any]:
    snapshot = await fresh_snapshot(api, device.token)
    return snapshot[("training", training_id)]


async def _code(api: Api, device: Device) -> str:
    got = await api.http.get("/api/v1/training/code", headers=api.auth(device.token))
    assert got.status_code == 200, got.text
    return str(got.json()["code"])


async def test_seats_then_a_waiting_list_and_a_withdrawal_promotes_the_first_waiting(api: Api) -> None:
    p = await _people(api)
    training = new_id()
    assert (await p["staff"].send("training.create", _training(training)))["status"] == "applied"
    for user in ("ann", "bo", "cai", "dai"):
        got = await p[user].send("training.signup", {"id": new_id(), "training_id": training})
        assert got["status"] == "applied", got
    assert await _signups(api, training) == {
        "ann": ("confirmed", None), "bo": ("confirmed", None),
        "cai": ("waitlisted", 1), "dai": ("waitlisted", 2)}
    row = await _training_row(api, p["ann"], training)
    assert (row["confirmed"], row["waitlisted"], row["capacity"]) == (2, 2, 2)

    # bo withdraws: cai (first waiting) gets the seat, dai moves up, cai is told
    assert (await p["bo"].send("training.withdraw", {"training_id": training}))["status"] == "applied"
    assert await _signups(api, training) == {
        "ann": ("confirmed", None), "cai": ("confirmed", None), "dai": ("waitlisted", 1)}
    row = await _training_row(api, p["ann"], training)
    assert (row["confirmed"], row["waitlisted"]) == (2, 1)
    await expand_outbox(api.state, utc_now())
    async with api.state.db.read() as conn:
        told = (await conn.execute(select(notifications.c.user_id, notifications.c.kind))).all()
    assert [(str(u), str(k)) for u, k in told] == [("cai", "training.seat")]

    # the waiting list's own withdrawal renumbers it; nothing to withdraw twice
    _refused(await p["bo"].send("training.withdraw", {"training_id": training}), "not_signed_up")
    # a larger capacity seats dai; a smaller one than the seats taken is refused
    _refused(await p["staff"].send("training.update", {"id": training, "fields": {"capacity": 1}}),
             "capacity_below_taken")
    assert (await p["staff"].send("training.update", {"id": training, "fields": {"capacity": 3}}))[
        "status"] == "applied"
    assert await _signups(api, training) == {
        "ann": ("confirmed", None), "cai": ("confirmed", None), "dai": ("confirmed", None)}
    # bo signs up again (a new sign-up after a withdrawal): the waiting list
    assert (await p["bo"].send("training.signup", {"id": new_id(), "training_id": training}))[
        "status"] == "applied"
    assert (await _signups(api, training))["bo"] == ("waitlisted", 1)
    # volunteers do not see each other's sign-ups; staff of the station see them all
    theirs = {k for k in await fresh_snapshot(api, p["ann"].token) if k[0] == "training_signup"}
    assert len(theirs) == 1
    staff_sees = [d for (t, _), d in (await fresh_snapshot(api, p["staff"].token)).items()
                  if t == "training_signup"]
    assert {d["user"] for d in staff_sees} == {"ann", "bo", "cai", "dai"}


async def test_one_sign_up_per_person_and_nothing_written_for_a_refusal(api: Api) -> None:
    p = await _people(api)
    training = new_id()
    assert (await p["staff"].send("training.create", _training(training)))["status"] == "applied"
    assert (await p["ann"].send("training.signup", {"id": new_id(), "training_id": training}))[
        "status"] == "applied"
    # the same person from a second phone, offline: refused with the reason
    second_phone = Device(api, await api.token("ann", "volunteer", station=TH1))
    refused = await second_phone.send("training.signup", {"id": new_id(), "training_id": training})
    _refused(refused, "already_signed_up")
    assert "不能重复报名" in refused["message"]["zh"]
    # staff signing ann up for her: refused the same way
    _refused(await p["staff"].send("training.signup", {"id": new_id(), "training_id": training,
                                                        "user": "ann"}), "already_signed_up")
    assert await _count(api, training_signups) == 1
    row = await _training_row(api, p["ann"], training)
    assert (row["confirmed"], row["waitlisted"]) == (1, 0)
    # a volunteer signs up nobody else; staff of another station neither
    _refused(await p["ann"].send("training.signup", {"id": new_id(), "training_id": training,
                                                      "user": "bo"}), "forbidden")
    _refused(await p["far"].send("training.signup", {"id": new_id(), "training_id": training,
                                                      "user": "bo"}), "forbidden")
    # a training that has started, or was cancelled, takes no sign-up
    started = new_id()
    assert (await p["staff"].send("training.create", _training(started, starts_in=-0.5)))[
        "status"] == "applied"
    _refused(await p["bo"].send("training.signup", {"id": new_id(), "training_id": started}),
             "signup_closed")
    cancelled = new_id()
    assert (await p["staff"].send("training.create", _training(cancelled)))["status"] == "applied"
    assert (await p["bo"].send("training.signup", {"id": new_id(), "training_id": cancelled}))[
        "status"] == "applied"
    assert (await p["staff"].send("training.cancel", {"id": cancelled, "reason": "讲师生病"}))[
        "status"] == "applied"
    await expand_outbox(api.state, utc_now())  # bo hears of it, with the reason
    async with api.state.db.read() as conn:
        told = (await conn.execute(select(notifications.c.user_id, notifications.c.kind,
                                          notifications.c.body))).all()
    assert [(str(u), str(k)) for u, k, _ in told] == [("bo", "training.cancelled")]
    assert "讲师生病" in str(told[0][2])
    _refused(await p["ann"].send("training.signup", {"id": new_id(), "training_id": cancelled}),
             "training_cancelled")
    # an audience of staff: a volunteer is refused
    for_staff = new_id()
    assert (await p["staff"].send("training.create", _training(for_staff, audience="staff")))[
        "status"] == "applied"
    _refused(await p["bo"].send("training.signup", {"id": new_id(), "training_id": for_staff}),
             "not_in_audience")
    assert await _count(api, training_signups) == 2  # ann's, and bo's for the cancelled one


async def test_two_door_phones_offline_scanning_the_same_person_count_once(api: Api) -> None:
    p = await _people(api)
    training = new_id()
    assert (await p["staff"].send("training.create", _training(training, starts_in=0.5)))[
        "status"] == "applied"
    for user in ("ann", "bo"):
        assert (await p[user].send("training.signup", {"id": new_id(), "training_id": training}))[
            "status"] == "applied"
    ann_code, eve_code = await _code(api, p["ann"]), await _code(api, p["eve"])
    # both door phones scanned ann while offline; the second phone's clock said earlier
    later, earlier = _in(0.1), _in(0.05)
    first = await p["staff"].send("training.attend", {"id": new_id(), "training_id": training, "code": ann_code,
                                                      "at": later})
    second = await p["door2"].send("training.attend", {"id": new_id(), "training_id": training, "code": ann_code,
                                                       "at": earlier})
    assert first["status"] == second["status"] == "applied", (first, second)
    # eve never signed up: her code records a walk-in; bo picked from the list
    assert (await p["door2"].send("training.attend", {"id": new_id(), "training_id": training, "code": eve_code,
                                                      "at": _in(0.2)}))["status"] == "applied"
    assert (await p["staff"].send("training.attend", {"id": new_id(), "training_id": training, "user": "bo",
                                                      "at": _in(0.2)}))["status"] == "applied"
    async with api.state.db.read() as conn:
        rows = (await conn.execute(select(training_signups).where(
            training_signups.c.training_id == training))).mappings().all()
    attended = {r["user_id"]: r for r in rows if r["status"] == "attended"}
    assert set(attended) == {"ann", "bo", "eve"} and len(rows) == 3
    assert attended["ann"]["attended_at"] == earlier  # the earlier scan's time
    assert attended["eve"]["walk_in"] and attended["ann"]["minutes"] == 150
    row = await _training_row(api, p["ann"], training)
    assert (row["attended"], row["confirmed"]) == (3, 3)
    # refused: a code altered, a scan long after the end, someone not signed up picked by
    # id, a volunteer recording attendance, staff of another station
    _refused(await p["staff"].send("training.attend", {"id": new_id(), "training_id": training,
                                                       "code": ann_code[:-2] + "xx", "at": _in(0.1)}),
             "code_invalid")
    _refused(await p["staff"].send("training.attend", {"id": new_id(), "training_id": training, "code": ann_code,
                                                       "at": _in(12)}), "not_during_training")
    _refused(await p["staff"].send("training.attend", {"id": new_id(), "training_id": training, "user": "cai",
                                                       "at": _in(0.1)}), "not_signed_up")
    _refused(await p["bo"].send("training.attend", {"id": new_id(), "training_id": training, "code": eve_code,
                                                    "at": _in(0.1)}), "forbidden")
    _refused(await p["far"].send("training.attend", {"id": new_id(), "training_id": training, "code": ann_code,
                                                     "at": _in(0.1)}), "forbidden")
    # attended: no withdrawal, no cancelling the training
    _refused(await p["ann"].send("training.withdraw", {"training_id": training}), "already_attended")
    _refused(await p["staff"].send("training.cancel", {"id": training, "reason": "x"}), "training_held")


async def test_training_hours_on_the_record_and_the_service_certificate(api: Api) -> None:
    p = await _people(api)
    assert (await p["staff"].send("volunteer.register", {
        "user_id": "ann", "name": "安娜", "stations": [TH1]}))["status"] == "applied"
    training, other = new_id(), new_id()
    assert (await p["staff"].send("training.create", _training(training, starts_in=0.5, hours=2.5)))[
        "status"] == "applied"
    assert (await p["staff"].send("training.create", _training(
        other, starts_in=0.5, hours=1.5, topic="广州市社会工作服务条例解读", occasion="social_work_week")))[
        "status"] == "applied"
    code = await _code(api, p["ann"])
    for ident in (training, other):
        assert (await p["staff"].send("training.attend", {"id": new_id(), "training_id": ident, "code": code,
                                                          "at": _in(0.1)}))["status"] == "applied"
    # the record: her own sign-ups carry the hours
    mine = [d for (t, _), d in (await fresh_snapshot(api, p["ann"].token)).items()
            if t == "training_signup"]
    assert sorted(d["hours"] for d in mine) == [1.5, 2.5]
    assert all(d["status"] == "attended" for d in mine)
    # the certificate: a "培训" section with both, their total, apart from service hours
    got = await api.http.get("/api/v1/timebank/volunteers/ann/certificate", headers=api.auth(p["ann"].token))
    assert got.status_code == 200 and got.headers["content-type"] == "application/pdf"
    pages = [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(got.content)).pages]
    whole = "".join("".join(pages).split())
    assert "培训时数" in pages[0].replace(" ", "") and "4.00" in pages[0], pages[0]
    for shown in ("培训Training", "《慈善法》与社区慈善", "广州市社会工作服务条例解读", "陈律师",
                  "中华慈善日", "社会工作宣传周", "2.50", "1.50", "4.00"):
        assert shown in whole, (shown, whole)
    # the hours follow a change of the training's hours
    assert (await p["staff"].send("training.update", {"id": training, "fields": {"hours": 3}}))[
        "status"] == "applied"
    got = await api.http.get("/api/v1/timebank/volunteers/ann/certificate", headers=api.auth(p["ann"].token))
    whole = "".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(got.content)).pages).split())
    assert "4.50" in whole and "3.00" in whole


async def test_feedback_only_from_attendees_and_its_comment_for_staff(api: Api) -> None:
    p = await _people(api)
    training = new_id()
    assert (await p["staff"].send("training.create", _training(training, starts_in=0.5)))[
        "status"] == "applied"
    for user in ("ann", "bo"):
        assert (await p[user].send("training.signup", {"id": new_id(), "training_id": training}))[
            "status"] == "applied"
    _refused(await p["ann"].send("training.feedback", {"training_id": training, "score": 5,
                                                        "useful": 4}), "not_attended")
    assert (await p["staff"].send("training.attend", {"id": new_id(), "training_id": training, "user": "ann",
                                                      "at": _in(0.1)}))["status"] == "applied"
    form = {"training_id": training, "score": 4, "useful": 5, "comment": "案例很实用,希望多讲募捐备案"}
    assert (await p["ann"].send("training.feedback", form))["status"] == "applied"
    assert (await p["ann"].send("training.feedback", {**form, "score": 5}))["status"] == "applied"
    assert await _count(api, training_feedback) == 1
    _refused(await p["bo"].send("training.feedback", form), "not_attended")
    staff_sees = await fresh_snapshot(api, p["staff"].token)
    (seen,) = [d for (t, _), d in staff_sees.items() if t == "training_feedback"]
    assert (seen["score"], seen["comment"]) == (5, form["comment"])
    assert not [k for k in await fresh_snapshot(api, p["bo"].token) if k[0] == "training_feedback"]


async def test_erasing_a_person_blanks_their_name_and_comment_and_keeps_the_hours(api: Api) -> None:
    p = await _people(api)
    assert (await p["staff"].send("volunteer.register", {
        "user_id": "ann", "name": "安娜", "stations": [TH1]}))["status"] == "applied"
    training = new_id()
    assert (await p["staff"].send("training.create", _training(training, starts_in=0.5)))[
        "status"] == "applied"
    assert (await p["ann"].send("training.signup", {"id": new_id(), "training_id": training}))[
        "status"] == "applied"
    assert (await p["staff"].send("training.attend", {"id": new_id(), "training_id": training,
                                                      "user": "ann", "at": _in(0.1)}))["status"] == "applied"
    assert (await p["ann"].send("training.feedback", {"training_id": training, "score": 4, "useful": 4,
                                                       "comment": "我是安娜,电话 13800000000"}))["status"] == "applied"
    seen = [d for (t, _), d in (await fresh_snapshot(api, p["staff"].token)).items() if t == "training_signup"]
    assert [d["name"] for d in seen] == ["安娜"]
    admin = await api.token("admin", "admin")
    done = await api.http.post("/api/v1/admin/erasure", headers=api.auth(admin), json={
        "subject": "person", "reason": "subject_request", "user_id": "ann"})
    assert done.status_code == 200, done.text
    changed = done.json()["changed"]
    assert (changed["training_signups"], changed["training_feedback"]) == (1, 1)
    after = await fresh_snapshot(api, p["staff"].token)
    (signup,) = [d for (t, _), d in after.items() if t == "training_signup"]
    (said,) = [d for (t, _), d in after.items() if t == "training_feedback"]
    assert (signup["name"], signup["status"], signup["hours"]) == ("已删除 / erased", "attended", 2.5)
    assert (said["comment"], said["score"]) == ("", 4)


async def test_the_day_before_everyone_holding_a_seat_is_reminded_once(api: Api) -> None:
    p = await _people(api)
    tomorrow, later = new_id(), new_id()
    assert (await p["staff"].send("training.create", _training(tomorrow, capacity=1, starts_in=20)))[
        "status"] == "applied"
    assert (await p["staff"].send("training.create", _training(later, starts_in=24 * 5)))[
        "status"] == "applied"
    for user in ("ann", "bo"):  # ann a seat, bo waiting
        assert (await p[user].send("training.signup", {"id": new_id(), "training_id": tomorrow}))[
            "status"] == "applied"
    assert (await p["cai"].send("training.signup", {"id": new_id(), "training_id": later}))[
        "status"] == "applied"
    state = api.state
    sent = await remind_due(state.db, state.registry, state.pokes, utc_now())
    # 20 hours ahead is tomorrow or later today in Shanghai; five days ahead is not yet
    assert sent == [tomorrow]
    assert await remind_due(state.db, state.registry, state.pokes, utc_now()) == []
    await expand_outbox(state, utc_now())
    async with state.db.read() as conn:
        got = (await conn.execute(select(notifications.c.user_id, notifications.c.kind,
                                         notifications.c.url))).all()
    assert [(str(u), str(k), str(url)) for u, k, url in got] == [
        ("ann", "training.reminder", f"/#/training/{tomorrow}")]
