"""Attachments (issue 14, docs/protocol.md "Attachments"): a resumable upload idempotent by
content hash, limits, type sniffed from the bytes, who may fetch a file, ETag, retention,
and the rules areas hang on files (goods photo line, invoice before payment). Every test
runs on SQLite (files in the data directory) and PostgreSQL (chunks in the database)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import replace

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from server.domain.attachments import AttachmentRules, file_chunks, files
from server.files import sweep_files
from server.filestore import DirectoryStore
from tests.conftest import Api
from tests.devices import Device, admin_with_stations, fresh_snapshot, upload_file
from tests.donation_setup import OTHER_STATION, STATION, build_world
from tests.helpers import event_args, file_ref, new_id, photo_bytes

pytestmark = pytest.mark.anyio


async def _stored_copies(api: Api, sha: str, size: int | None = None) -> int:
    """How many copies of the file the store holds (files on disk, or its chunks' bytes
    over its size)."""
    store = api.state.files
    if isinstance(store, DirectoryStore):
        return len(list(store.root.glob(f"*/{sha}")))
    async with api.state.db.read() as conn:
        total = (await conn.execute(select(func.sum(func.length(file_chunks.c.data))).where(
            file_chunks.c.sha256 == sha))).scalar()
    return int(total or 0) // (size or len(photo_bytes(1, side=900)))


async def test_an_upload_cut_at_half_resumes_where_it_stopped(api: Api) -> None:
    token = await api.token("u1", "staff", "TH-001")
    data = photo_bytes(1, side=900)
    assert len(data) > 2 * 262144  # three chunks
    sha = hashlib.sha256(data).hexdigest()
    half = await upload_file(api, token, data, stop_after=2)
    assert half["complete"] is False and half["received"] == 2 * 262144
    # the phone reloads: asking again says where to go on from
    again = await api.http.post("/api/v1/files", headers=api.auth(token), json={
        "sha256": sha, "size": len(data), "media_type": "image/jpeg"})
    assert again.json()["received"] == 2 * 262144 and again.json()["complete"] is False
    # a chunk sent from the wrong offset is refused with what the server holds
    wrong = await api.http.patch(f"/api/v1/files/{sha}", content=data[:1000],
                                 headers={**api.auth(token), "Upload-Offset": "0"})
    assert wrong.status_code == 409
    assert wrong.json()["code"] == "offset_mismatch" and wrong.json()["received"] == 2 * 262144
    done = await upload_file(api, token, data)
    assert done["complete"] is True and done["received"] == len(data)
    got = await api.http.get(f"/api/v1/files/{sha}", headers=api.auth(token))
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"].startswith("image/jpeg")


async def test_the_same_photo_from_two_phones_is_stored_once(api: Api) -> None:
    first = await api.token("u1", "staff", "TH-001")
    second = await api.token("u2", "staff", "TH-001")
    data = photo_bytes(1, side=900)
    sha = hashlib.sha256(data).hexdigest()
    # the first phone is cut off half-way; the second sends the same photo and goes on
    # from what the server holds, then the first comes back and finds it there
    await upload_file(api, first, data, stop_after=1)
    done = await upload_file(api, second, data)
    assert done["complete"] is True
    again = await upload_file(api, first, data)
    assert again == {**done}  # answered as finished: nothing sent
    async with api.state.db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(files))).scalar_one() == 1
    assert await _stored_copies(api, sha) == 1


async def _start(api: Api, token: str, data: bytes, media_type: str = "image/jpeg",
                 size: int | None = None) -> httpx.Response:
    return await api.http.post("/api/v1/files", headers=api.auth(token), json={
        "sha256": hashlib.sha256(data).hexdigest(), "size": size or len(data),
        "media_type": media_type})


async def _send_all(api: Api, token: str, data: bytes) -> httpx.Response:
    sha = hashlib.sha256(data).hexdigest()
    return await api.http.patch(f"/api/v1/files/{sha}", content=data,
                                headers={**api.auth(token), "Upload-Offset": "0"})


async def test_a_wrong_type_is_refused_whatever_it_is_called(api: Api) -> None:
    token = await api.token("u1", "staff", "TH-001")
    page = b"<!doctype html><script>alert(1)</script>" * 10
    declared = await _start(api, token, page, media_type="text/html")
    assert declared.status_code == 415 and declared.json()["code"] == "file_type_not_allowed"
    program = b"MZ\x90\x00" + bytes(range(256)) * 4  # a Windows program, named .jpg
    fake_jpeg = b"\xff\xd8\xff\xe0" + b"not really a picture" * 50  # JPEG's first bytes only
    for data in (page, program, fake_jpeg):
        assert (await _start(api, token, data)).status_code == 200
        refused = await _send_all(api, token, data)
        assert refused.status_code == 415, refused.text
        body = refused.json()
        assert body["code"] == "file_type_not_allowed" and body["message"]["zh"]
        # the upload was discarded: nothing of it is kept or served
        restarted = await _start(api, token, data)
        assert restarted.json()["received"] == 0 and restarted.json()["complete"] is False
    pdf = b"%PDF-1.4\n" + b"0" * 500 + b"\n%%EOF\n"
    assert (await _start(api, token, pdf, media_type="application/pdf")).status_code == 200
    accepted = await _send_all(api, token, pdf)
    assert accepted.status_code == 200 and accepted.json()["media_type"] == "application/pdf"


async def test_a_lying_hash_is_refused_and_the_upload_discarded(api: Api) -> None:
    token = await api.token("u1", "staff", "TH-001")
    data, other = photo_bytes(1, side=200), photo_bytes(2, side=200)
    sha = hashlib.sha256(data).hexdigest()
    await api.http.post("/api/v1/files", headers=api.auth(token), json={
        "sha256": sha, "size": len(other), "media_type": "image/jpeg"})
    refused = await api.http.patch(f"/api/v1/files/{sha}", content=other,
                                   headers={**api.auth(token), "Upload-Offset": "0"})
    assert refused.status_code == 422 and refused.json()["code"] == "file_hash_mismatch"
    # discarded: nothing of it is served, and the device's unfinished uploads went down
    assert (await api.http.get(f"/api/v1/files/{sha}", headers=api.auth(token))
            ).status_code == 404
    async with api.state.db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(files))).scalar_one() == 0


async def test_a_file_over_the_limits_is_refused_with_a_clear_reason(api: Api) -> None:
    token = await api.token("u1", "staff", "TH-001")
    limit = api.state.registry.config(AttachmentRules).max_bytes
    too_big = await api.http.post("/api/v1/files", headers=api.auth(token), json={
        "sha256": "a" * 64, "size": limit + 1, "media_type": "image/jpeg"})
    assert too_big.status_code == 413
    body = too_big.json()
    assert body["code"] == "file_too_large" and body["field"] == "size"
    assert "10.0 MB" in body["message"]["en"] and "文件过大" in body["message"]["zh"]
    # unfinished uploads per device are limited too (here to 2)
    api.state.registry.configs[AttachmentRules] = replace(
        api.state.registry.config(AttachmentRules), max_unfinished=2)
    for seed in (1, 2):
        assert (await upload_file(api, token, photo_bytes(seed, 600), stop_after=0))["received"] == 0
    third = await _start(api, token, photo_bytes(3, 600))
    assert third.status_code == 429 and third.json()["code"] == "too_many_uploads"
    other_phone = await api.token("u2", "staff", "TH-001")
    assert (await _start(api, other_phone, photo_bytes(3, 600))).status_code == 200
    # a chunk larger than chunk_size is refused before it is stored
    big = photo_bytes(1, 600)
    chunk = await api.http.patch(f"/api/v1/files/{hashlib.sha256(big).hexdigest()}",
                                 content=big + b"\0" * 262144,
                                 headers={**api.auth(token), "Upload-Offset": "0"})
    assert chunk.status_code == 413 and chunk.json()["code"] == "chunk_too_large"


async def _event_with_photo(api: Api, staff: Device, data: bytes, **ref: object) -> str:
    event_id = new_id()
    result = await staff.send("event.create", event_args(event_id, "TH-001",
                                                         attachments=[file_ref(data, **ref)]))
    assert result["status"] == "applied", result
    return event_id


async def test_only_who_sees_the_record_fetches_its_file(api: Api) -> None:
    await admin_with_stations(api, ("TH-001", "天河区"), ("YX-001", "越秀区"))
    uploader = await api.token("u1", "staff", "TH-001")
    colleague = await api.token("u2", "staff", "TH-001")
    elsewhere = await api.token("u3", "staff", "YX-001")
    data = photo_bytes(1, 400)
    sha = hashlib.sha256(data).hexdigest()
    url = f"/api/v1/files/{sha}"
    await upload_file(api, uploader, data)
    # unreferenced: the uploading phone only
    assert (await api.http.get(url, headers=api.auth(uploader))).status_code == 200
    assert (await api.http.get(url, headers=api.auth(colleague))).json()["code"] == "not_found"
    await _event_with_photo(api, Device(api, uploader), data)
    assert (await api.http.get(url, headers=api.auth(colleague))).content == data
    hidden = await api.http.get(url, headers=api.auth(elsewhere))
    assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"
    assert (await api.http.get(url + "?size=thumb", headers=api.auth(elsewhere))).status_code == 404
    assert (await api.http.get(url)).status_code == 401
    # not public: the public route knows nothing of it
    assert (await api.http.get(f"/public/files/{sha}")).status_code == 404
    # a record referring to a file not yet uploaded says it is pending, to those who see it
    waiting = photo_bytes(2, 300)
    await _event_with_photo(api, Device(api, colleague), waiting)
    pending = await api.http.get(f"/api/v1/files/{hashlib.sha256(waiting).hexdigest()}",
                                 headers=api.auth(uploader))
    assert pending.status_code == 404 and pending.json()["code"] == "file_pending"
    other = await api.http.get(f"/api/v1/files/{hashlib.sha256(waiting).hexdigest()}",
                               headers=api.auth(elsewhere))
    assert other.json()["code"] == "not_found"


async def test_etag_answers_304_and_thumbnails_are_small_jpegs(api: Api) -> None:
    token = await api.token("u1", "staff", "TH-001")
    data = photo_bytes(1, 900)
    sha = hashlib.sha256(data).hexdigest()
    await upload_file(api, token, data)
    first = await api.http.get(f"/api/v1/files/{sha}", headers=api.auth(token))
    assert first.headers["etag"] == f'"{sha}"'
    assert "immutable" in first.headers["cache-control"] and "private" in first.headers["cache-control"]
    again = await api.http.get(f"/api/v1/files/{sha}",
                               headers={**api.auth(token), "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    thumb = await api.http.get(f"/api/v1/files/{sha}?size=thumb", headers=api.auth(token))
    assert thumb.status_code == 200 and thumb.headers["content-type"].startswith("image/jpeg")
    assert thumb.headers["etag"] != first.headers["etag"]
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert max(image.size) == 320
    pdf = b"%PDF-1.4\n" + b"1" * 300 + b"\n%%EOF\n"
    await upload_file(api, token, pdf, media_type="application/pdf")
    none = await api.http.get(f"/api/v1/files/{hashlib.sha256(pdf).hexdigest()}?size=thumb",
                              headers=api.auth(token))
    assert none.status_code == 404 and none.json()["code"] == "no_thumbnail"


async def test_a_deleted_record_takes_its_files_with_it_after_the_retention_period(
        api: Api) -> None:
    await admin_with_stations(api, ("TH-001", "天河区"))
    staff = Device(api, await api.token("u1", "staff", "TH-001"))
    manager = Device(api, await api.token("m1", "manager", "TH-001"))
    gone, removed, kept = photo_bytes(1, 300), photo_bytes(2, 300), photo_bytes(3, 300)
    for data in (gone, removed, kept):
        await upload_file(api, staff.token, data)
    doomed = await _event_with_photo(api, staff, gone)
    other = await _event_with_photo(api, staff, removed)
    assert (await staff.send("attachment.add", {"record_type": "event", "record_id": other,
                                                "attachments": [file_ref(kept)]}))["status"] == "applied"
    assert (await manager.send("event.delete", {"id": doomed}))["status"] == "applied"
    assert (await staff.send("attachment.remove", {
        "record_type": "event", "record_id": other,
        "sha256": hashlib.sha256(removed).hexdigest()}))["status"] == "applied"
    now = dt.datetime.now(dt.UTC)
    assert await sweep_files(api.state, now=now) == []  # marked now, not yet due
    later = now + dt.timedelta(days=api.state.registry.config(AttachmentRules).retention_days + 1)
    deleted = await sweep_files(api.state, now=later)
    assert sorted(deleted) == sorted(hashlib.sha256(d).hexdigest() for d in (gone, removed))
    for data in (gone, removed):
        assert await _stored_copies(api, hashlib.sha256(data).hexdigest(), len(data)) == 0
        answer = await api.http.get(f"/api/v1/files/{hashlib.sha256(data).hexdigest()}",
                                    headers=api.auth(staff.token))
        assert answer.status_code == 404
    # the file the live event still shows stays
    assert await _stored_copies(api, hashlib.sha256(kept).hexdigest(), len(kept)) == 1
    still = await api.http.get(f"/api/v1/files/{hashlib.sha256(kept).hexdigest()}",
                               headers=api.auth(staff.token))
    assert still.content == kept
    # a file uploaded and never referenced goes the same way
    orphan = photo_bytes(4, 300)
    await upload_file(api, staff.token, orphan)
    await sweep_files(api.state, now=later)
    assert hashlib.sha256(orphan).hexdigest() in await sweep_files(
        api.state, now=later + dt.timedelta(days=31))


async def test_goods_above_the_line_need_a_photo(api: Api) -> None:
    world = await build_world(api)
    line = api.state.registry.config(AttachmentRules).goods_photo_line_fen

    def goods(value_fen: int, refs: list[dict[str, object]]) -> dict[str, object]:
        return {"id": new_id(), "station": STATION, "kind": "goods",
                "donor": {"organisation": "某某超市", "wants_receipt": False},
                "items": [{"name": "大米", "quantity": 10, "unit": "袋",
                           "estimated_value_fen": value_fen}], "attachments": refs}

    refused = await world.staff.send("donation.record", goods(line + 1, []))
    assert refused["status"] == "rejected" and refused["code"] == "photo_required"
    assert "照片" in refused["message"]["zh"] and "photo" in refused["message"]["en"]
    invoice_only = await world.staff.send("donation.record", goods(
        line + 1, [file_ref(b"x", kind="document", media_type="application/pdf")]))
    assert invoice_only["code"] == "photo_required"
    assert (await world.staff.send("donation.record", goods(line, [])))["status"] == "applied"
    photo = photo_bytes(1, 300)
    gift = goods(line + 1, [file_ref(photo)])
    assert (await world.staff.send("donation.record", gift))["status"] == "applied"
    # its only photo cannot be taken away afterwards
    removed = await world.staff.send("attachment.remove", {
        "record_type": "donation", "record_id": gift["id"],
        "sha256": hashlib.sha256(photo).hexdigest()})
    assert removed["code"] == "photo_required"
    # the record carries its attachments on the wire
    snapshot = await fresh_snapshot(api, world.staff.token)
    assert snapshot[("donation", gift["id"])]["attachments"] == [file_ref(photo)]


async def test_a_disbursement_above_the_line_is_paid_only_with_its_invoice(api: Api) -> None:
    line = api.state.registry.config(AttachmentRules).disbursement_invoice_line_fen
    world = await build_world(api, seed_fen=line * 3)
    disbursement_id = new_id()
    assert (await world.staff.send("disbursement.request", {
        "id": disbursement_id, "fund_id": world.fund_id, "project_id": world.project_id,
        "amount_fen": line + 1, "payee": "耆乐安居服务队", "purpose": "上门适老化改造"})
            )["status"] == "applied"
    assert (await world.district.send("disbursement.decide", {
        "id": disbursement_id, "decision": "approve"}))["status"] == "applied"
    pay = {"id": disbursement_id, "reference": "工行转账 0042"}
    refused = await world.admin.send("disbursement.pay", pay)
    assert refused["status"] == "rejected" and refused["code"] == "invoice_required"
    assert "发票" in refused["message"]["zh"] and "invoice" in refused["message"]["en"]
    # referred to but not uploaded yet: still refused
    invoice = photo_bytes(7, 500)
    assert (await world.staff.send("attachment.add", {
        "record_type": "disbursement", "record_id": disbursement_id,
        "attachments": [file_ref(invoice, kind="invoice")]}))["status"] == "applied"
    waiting = await world.admin.send("disbursement.pay", pay)
    assert waiting["code"] == "invoice_required" and "upload" in waiting["message"]["en"]
    # someone of another station may not attach to it
    stranger = Device(api, await api.token("s9", "staff", OTHER_STATION))
    assert (await stranger.send("attachment.add", {
        "record_type": "disbursement", "record_id": disbursement_id,
        "attachments": [file_ref(invoice)]}))["code"] in ("forbidden", "not_found")
    await upload_file(api, world.staff.token, invoice)
    paid = await world.admin.send("disbursement.pay", pay)
    assert paid["status"] == "applied", paid
    # the payer (a federation admin) can open the invoice
    got = await api.http.get(f"/api/v1/files/{hashlib.sha256(invoice).hexdigest()}",
                             headers=api.auth(world.admin.token))
    assert got.content == invoice
    # and once paid it stays
    assert (await world.staff.send("attachment.remove", {
        "record_type": "disbursement", "record_id": disbursement_id,
        "sha256": hashlib.sha256(invoice).hexdigest()}))["code"] == "already_paid"


async def test_a_file_is_public_only_through_a_public_record_that_marks_it(api: Api) -> None:
    world = await build_world(api)
    shown, private = photo_bytes(1, 400), photo_bytes(2, 400)
    for data in (shown, private):
        await upload_file(api, world.manager.token, data)
    project_id = new_id()
    assert (await world.manager.send("project.create", {
        "id": project_id, "fund_id": world.fund_id, "name": "社区食堂",
        "attachments": [file_ref(shown, public=True), file_ref(private)]}))["status"] == "applied"
    # a photo marked public on an event is still not public: events are not public records
    assert (await world.staff.send("event.update", {
        "id": world.event_id, "fields": {},
        "attachments": [file_ref(private, public=True)]}))["status"] == "applied"
    public = await api.http.get(f"/public/files/{hashlib.sha256(shown).hexdigest()}")
    assert public.status_code == 200 and public.content == shown
    assert "public" in public.headers["cache-control"]
    thumb = await api.http.get(f"/public/files/{hashlib.sha256(shown).hexdigest()}?size=thumb")
    assert thumb.status_code == 200
    assert (await api.http.get(f"/public/files/{hashlib.sha256(private).hexdigest()}")
            ).status_code == 404
    # removing the reference ends it at once
    assert (await world.manager.send("attachment.remove", {
        "record_type": "project", "record_id": project_id,
        "sha256": hashlib.sha256(shown).hexdigest()}))["status"] == "applied"
    assert (await api.http.get(f"/public/files/{hashlib.sha256(shown).hexdigest()}")
            ).status_code == 404


async def test_the_phone_learns_the_lines_and_the_file_limit(api: Api) -> None:
    token = await api.token("u1", "staff", "TH-001")
    config = (await api.http.get("/api/v1/client-config", headers=api.auth(token))).json()
    rules = api.state.registry.config(AttachmentRules)
    assert config["goods_photo_line_fen"] == rules.goods_photo_line_fen
    assert config["disbursement_invoice_line_fen"] == rules.disbursement_invoice_line_fen
    assert config["file_max_bytes"] == rules.max_bytes


async def test_a_file_whose_bytes_went_missing_is_taken_again(api: Api) -> None:
    """A data directory restored without its files/ folder: the file is pending again, and
    the next phone that has it uploads it again (database storage cannot lose them so)."""
    store = api.state.files
    if not isinstance(store, DirectoryStore):
        # PostgreSQL keeps files in the database by default; a site may keep them in the
        # data directory instead (attachment_storage = files), and lose that folder
        store = api.state.files = DirectoryStore(api.state.settings.data_dir / "files")
    token = await api.token("u1", "staff", "TH-001")
    data = photo_bytes(5, 300)
    sha = hashlib.sha256(data).hexdigest()
    await upload_file(api, token, data)
    store.path(sha).unlink()
    missing = await api.http.get(f"/api/v1/files/{sha}", headers=api.auth(token))
    assert missing.status_code == 404 and missing.json()["code"] == "file_pending"
    again = await upload_file(api, token, data, stop_after=0)
    assert again["complete"] is False and again["received"] == 0
    assert (await upload_file(api, token, data))["complete"] is True
    assert (await api.http.get(f"/api/v1/files/{sha}", headers=api.auth(token))).content == data


async def test_edits_add_files_and_who_may_not_edit_may_not_attach(api: Api) -> None:
    await admin_with_stations(api, ("TH-001", "天河区"), ("YX-001", "越秀区"))
    staff = Device(api, await api.token("u1", "staff", "TH-001"))
    other = Device(api, await api.token("u2", "staff", "YX-001"))
    one, two = photo_bytes(1, 200), photo_bytes(2, 200)
    item = new_id()
    assert (await staff.send("catalogue.add", {
        "id": item, "station": "TH-001", "title": "理发服务", "kind": "service",
        "cost_cents": 100, "attachments": [file_ref(one)]}))["status"] == "applied"
    # an edit with only files adds them (edits from two phones add up)
    assert (await staff.send("catalogue.update", {
        "id": item, "fields": {}, "attachments": [file_ref(two)]}))["status"] == "applied"
    event_id = await _event_with_photo(api, staff, one)
    assert (await staff.send("event.update", {
        "id": event_id, "fields": {"title": "新标题"},
        "attachments": [file_ref(two)]}))["status"] == "applied"
    snapshot = await fresh_snapshot(api, staff.token)
    assert [a["sha256"] for a in snapshot[("redemption_item", item)]["attachments"]] == [
        hashlib.sha256(d).hexdigest() for d in (one, two)]
    assert snapshot[("event", event_id)]["title"] == "新标题"
    assert len(snapshot[("event", event_id)]["attachments"]) == 2
    # another station's staff may not change them; unknown types and too many are refused
    for record_type, record_id in (("event", event_id), ("redemption_item", item)):
        refused = await other.send("attachment.add", {
            "record_type": record_type, "record_id": record_id,
            "attachments": [file_ref(photo_bytes(3, 100))]})
        assert refused["status"] == "rejected" and refused["code"] == "forbidden", refused
    unknown = await staff.send("attachment.add", {"record_type": "station", "record_id": "TH-001",
                                                  "attachments": [file_ref(one)]})
    assert unknown["code"] == "not_attachable"
    many = [file_ref(f"file {i}".encode()) for i in range(19)]
    too_many = await staff.send("attachment.add", {"record_type": "event", "record_id": event_id,
                                                   "attachments": many})
    assert too_many["code"] == "too_many_attachments"
