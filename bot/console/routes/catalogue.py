"""Catalogue editing and publishing: the JSON API of the operator console contract and
its pages. Every route needs a console session; unsafe ones its CSRF token.

JSON (``/api/admin``): ``GET procedures[?q=&status=&field=&level=]``, ``GET procedures/{id}``,
``POST procedures``, ``PUT procedures/{id}`` → ``{"id", "revision", "status": "draft"}``
or 422 ``{"error", "message", "problems": [{"field", "problem"}]}``;
``POST procedures/{id}/publish`` (admin) → 202 ``{"job"}``; ``GET jobs/{job}``;
``GET procedures/{id}/revisions``; ``POST procedures/{id}/revert`` ``{"revision"}`` (admin);
``POST import`` (multipart ``file``) → the importer's report; ``GET export.xlsx`` / ``export.csv``.

Pages (``/admin``): ``procedures`` (filters, search, import, export), ``procedures/new``,
``procedures/{id}`` (edit form with errors by field, the citizen's answer preview, history
with diffs, revert and publish for admins), ``jobs/{job}`` (progress, polled with htmx).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Body, File, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from bot.console import audit, catalogue, catalogue_forms, exports, imports, jobs
from bot.console.accounts import Operator
from bot.console.catalogue import CatalogueError, InvalidProcedure
from bot.console.deps import AdminDep, CurrentSession, EditorDep, console_router
from bot.console.pages import page
from bot.console.publish import publisher_of
from bot.deps import StateDep
from knowledge.importers.report import ImportFileError

router = console_router(tags=["console-catalogue"])

IdPath = Annotated[str, Path(min_length=1, max_length=64)]
JobPath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[0-9a-f]+$")]
Text = Annotated[str | None, Query(max_length=200)]
INVALID_MESSAGE = "Thông tin thủ tục chưa hợp lệ. Anh/Chị vui lòng sửa các trường được nêu."
DEFAULT_IMPORT_BYTES = 5 * 1024 * 1024


def _refused(error: CatalogueError) -> HTTPException:
    return HTTPException(status_code=error.status, detail=error.message)


def _invalid(error: InvalidProcedure) -> JSONResponse:
    return JSONResponse(
        {"error": "invalid_request", "message": INVALID_MESSAGE, "problems": error.problems}, status_code=422
    )


def _import_limit(state: Any) -> int:
    return int(getattr(state.settings, "max_import_bytes", DEFAULT_IMPORT_BYTES))


# --- JSON API ------------------------------------------------------------------------------
@router.get("/api/admin/procedures")
async def list_procedures(
    state: StateDep,
    _editor: EditorDep,
    q: Text = None,
    status: Text = None,
    field: Text = None,
    level: Text = None,
) -> list[dict[str, Any]]:
    try:
        return await asyncio.to_thread(catalogue.summaries, state.engine, q, status, field, level)
    except CatalogueError as error:
        raise _refused(error) from None


@router.get("/api/admin/procedures/{procedure_id}")
async def get_procedure(state: StateDep, _editor: EditorDep, procedure_id: IdPath) -> dict[str, Any]:
    try:
        return await asyncio.to_thread(catalogue.get, state.engine, procedure_id)
    except CatalogueError as error:
        raise _refused(error) from None


@router.post("/api/admin/procedures", response_model=None)
async def create_procedure(
    state: StateDep, editor: EditorDep, payload: Annotated[Any, Body()] = None
) -> dict[str, Any] | JSONResponse:
    try:
        saved = await asyncio.to_thread(catalogue.create, state.engine, payload, editor.username)
    except InvalidProcedure as error:
        return _invalid(error)
    except CatalogueError as error:
        raise _refused(error) from None
    return saved.public()


@router.put("/api/admin/procedures/{procedure_id}", response_model=None)
async def replace_procedure(
    state: StateDep, editor: EditorDep, procedure_id: IdPath, payload: Annotated[Any, Body()] = None
) -> dict[str, Any] | JSONResponse:
    try:
        saved = await asyncio.to_thread(
            catalogue.replace, state.engine, procedure_id, payload, editor.username
        )
    except InvalidProcedure as error:
        return _invalid(error)
    except CatalogueError as error:
        raise _refused(error) from None
    return saved.public()


@router.get("/api/admin/procedures/{procedure_id}/revisions")
async def procedure_revisions(
    state: StateDep, _editor: EditorDep, procedure_id: IdPath
) -> list[dict[str, Any]]:
    try:
        return await asyncio.to_thread(catalogue.history, state.engine, procedure_id)
    except CatalogueError as error:
        raise _refused(error) from None


@router.post("/api/admin/procedures/{procedure_id}/revert", response_model=None)
async def revert_procedure(
    state: StateDep, admin: AdminDep, procedure_id: IdPath, payload: Annotated[Any, Body()] = None
) -> dict[str, Any] | JSONResponse:
    number = payload.get("revision") if isinstance(payload, dict) else None
    try:
        saved = await asyncio.to_thread(catalogue.revert, state.engine, procedure_id, number, admin.username)
    except InvalidProcedure as error:
        return _invalid(error)
    except CatalogueError as error:
        raise _refused(error) from None
    return saved.public()


@router.post("/api/admin/procedures/{procedure_id}/publish", status_code=202)
async def publish_procedure(request: Request, admin: AdminDep, procedure_id: IdPath) -> dict[str, str]:
    publisher = publisher_of(request)
    try:
        job = await asyncio.to_thread(publisher.start, procedure_id, admin.username)
    except CatalogueError as error:
        raise _refused(error) from None
    return {"job": job}


@router.get("/api/admin/jobs/{job_id}")
async def publish_job(state: StateDep, _editor: EditorDep, job_id: JobPath) -> dict[str, Any]:
    found = await asyncio.to_thread(jobs.get, state.engine, job_id)
    if found is None:
        raise HTTPException(status_code=404, detail="Không tìm thấy tiến trình công bố này.")
    return found


async def _import(state: Any, editor: Operator, file: UploadFile) -> dict[str, Any]:
    limit = _import_limit(state)
    data = await file.read(limit + 1)
    try:
        report = await asyncio.to_thread(
            imports.import_upload, state.engine, file.filename or "", data, editor.username, limit
        )
    except ImportFileError as error:
        raise HTTPException(
            status_code=413 if len(data) > limit else 422,
            detail=f"Không nhập được: {error}. Danh mục không thay đổi.",
        ) from None
    return imports.report_dict(report)


@router.post("/api/admin/import", response_model=None)
async def import_file(
    request: Request,
    state: StateDep,
    session: CurrentSession,
    editor: EditorDep,
    file: Annotated[UploadFile, File()],
) -> dict[str, Any] | Response:
    """JSON for API clients; the report as an HTML fragment for the page's htmx form."""
    if request.headers.get("HX-Request") != "true":
        return await _import(state, editor, file)
    try:
        report, error = await _import(state, editor, file), None
    except HTTPException as refused:
        report, error = None, str(refused.detail)
    return page(
        request,
        "catalogue/procedure_import.html",
        session,
        {"report": report, "error": error, "filename": file.filename or ""},
    )


async def _export(state: Any, editor: Operator, kind: str) -> Response:
    if kind == "xlsx":
        body = await asyncio.to_thread(exports.to_xlsx, state.engine)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body = await asyncio.to_thread(exports.to_csv, state.engine)
        media = "text/csv; charset=utf-8"
    await asyncio.to_thread(
        audit.record, state.engine, editor.username, "catalogue.export", None, {"format": kind}
    )
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="danh-muc-thu-tuc.{kind}"'},
    )


@router.get("/api/admin/export.xlsx")
async def export_xlsx(state: StateDep, editor: EditorDep) -> Response:
    return await _export(state, editor, "xlsx")


@router.get("/api/admin/export.csv")
async def export_csv(state: StateDep, editor: EditorDep) -> Response:
    return await _export(state, editor, "csv")


# --- pages ------------------------------------------------------------------------------------
@router.get("/admin/procedures", response_class=HTMLResponse)
async def procedures_page(
    request: Request,
    state: StateDep,
    session: CurrentSession,
    _editor: EditorDep,
    q: Text = None,
    status: Text = None,
    field: Text = None,
    level: Text = None,
) -> Response:
    try:
        rows = await asyncio.to_thread(
            catalogue.summaries, state.engine, q, status or None, field or None, level or None
        )
    except CatalogueError:
        rows, status = [], None
    facets = await asyncio.to_thread(catalogue.facets, state.engine)
    return page(
        request,
        "catalogue/procedures.html",
        session,
        {
            "rows": rows,
            "facets": facets,
            "levels": catalogue_forms.CHOICES["levels"],
            "filters": {"q": q or "", "status": status or "", "field": field or "", "level": level or ""},
        },
        active="procedures",
    )


def _edit_context(
    record: dict[str, Any] | None,
    form: dict[str, Any],
    errors: dict[str, list[str]],
    history: list[dict[str, Any]],
    notice: str | None = None,
) -> dict[str, Any]:
    return {
        "record": record,
        "form": form,
        "errors": errors,
        "history": history,
        "notice": notice,
        "text_fields": catalogue_forms.TEXT_FIELDS,
        "list_fields": catalogue_forms.LIST_FIELDS,
        "long_text": catalogue_forms.LONG_TEXT,
        "labels": catalogue_forms.LABELS,
        "channels": catalogue_forms.CHOICES["channels"],
        "levels": catalogue_forms.CHOICES["levels"],
        "preview": catalogue_forms.preview(record or {}),
        "shown": catalogue_forms.shown,
    }


@router.get("/admin/procedures/new", response_class=HTMLResponse)
async def new_procedure_page(request: Request, session: CurrentSession, _editor: EditorDep) -> Response:
    context = _edit_context(None, catalogue_forms.to_form({}), {}, [])
    return page(request, "catalogue/procedure_edit.html", session, context, active="procedures")


NOTICES = {
    "saved": "Đã lưu bản nháp. Người dân vẫn nhận bản đã công bố cho tới khi quản trị viên công bố.",
    "unchanged": "Không có thay đổi nào để lưu.",
    "reverted": "Đã khôi phục phiên bản cũ thành bản nháp mới.",
}


@router.get("/admin/procedures/{procedure_id}", response_class=HTMLResponse)
async def edit_procedure_page(
    request: Request,
    state: StateDep,
    session: CurrentSession,
    _editor: EditorDep,
    procedure_id: IdPath,
    notice: Text = None,
) -> Response:
    try:
        record = await asyncio.to_thread(catalogue.get, state.engine, procedure_id)
        history = await asyncio.to_thread(catalogue.history, state.engine, procedure_id)
    except CatalogueError as error:
        raise _refused(error) from None
    context = _edit_context(record, catalogue_forms.to_form(record), {}, history, NOTICES.get(notice or ""))
    return page(request, "catalogue/procedure_edit.html", session, context, active="procedures")


async def _submitted(request: Request) -> dict[str, Any]:
    form = await request.form()
    channels = [str(c) for c in form.getlist("channels")]
    return catalogue_forms.from_form({k: v for k, v in form.items() if isinstance(v, str)}, channels)


@router.post("/admin/procedures/new", response_class=HTMLResponse)
async def create_from_form(
    request: Request, state: StateDep, session: CurrentSession, editor: EditorDep
) -> Response:
    raw = await _submitted(request)
    try:
        saved = await asyncio.to_thread(catalogue.create, state.engine, raw, editor.username)
    except InvalidProcedure as error:
        context = _edit_context(
            None,
            {**catalogue_forms.to_form(raw), "id": raw["id"]},
            catalogue_forms.errors_by_field(error.problems),
            [],
        )
        return page(
            request, "catalogue/procedure_edit.html", session, context, active="procedures", status_code=422
        )
    except CatalogueError as error:
        context = _edit_context(None, catalogue_forms.to_form(raw), {"id": [error.message]}, [])
        return page(
            request,
            "catalogue/procedure_edit.html",
            session,
            context,
            active="procedures",
            status_code=error.status,
        )
    return RedirectResponse(f"/admin/procedures/{saved.id}?notice=saved", status_code=303)


@router.post("/admin/procedures/{procedure_id}", response_class=HTMLResponse)
async def save_from_form(
    request: Request, state: StateDep, session: CurrentSession, editor: EditorDep, procedure_id: IdPath
) -> Response:
    raw = await _submitted(request)
    raw["id"] = procedure_id
    try:
        saved = await asyncio.to_thread(catalogue.replace, state.engine, procedure_id, raw, editor.username)
    except InvalidProcedure as error:
        record = await asyncio.to_thread(catalogue.get, state.engine, procedure_id)
        history = await asyncio.to_thread(catalogue.history, state.engine, procedure_id)
        context = _edit_context(
            record, catalogue_forms.to_form(raw), catalogue_forms.errors_by_field(error.problems), history
        )
        return page(
            request, "catalogue/procedure_edit.html", session, context, active="procedures", status_code=422
        )
    except CatalogueError as error:
        raise _refused(error) from None
    notice = "unchanged" if saved.outcome == "unchanged" else "saved"
    return RedirectResponse(f"/admin/procedures/{procedure_id}?notice={notice}", status_code=303)


@router.post("/admin/procedures/{procedure_id}/preview", response_class=HTMLResponse)
async def preview_fragment(
    request: Request, session: CurrentSession, _editor: EditorDep, procedure_id: IdPath
) -> Response:
    raw = await _submitted(request)
    return page(
        request, "catalogue/procedure_preview.html", session, {"preview": catalogue_forms.preview(raw)}
    )


@router.post("/admin/procedures/{procedure_id}/publish")
async def publish_from_form(request: Request, admin: AdminDep, procedure_id: IdPath) -> Response:
    publisher = publisher_of(request)
    try:
        job = await asyncio.to_thread(publisher.start, procedure_id, admin.username)
    except CatalogueError as error:
        raise _refused(error) from None
    return RedirectResponse(f"/admin/jobs/{job}", status_code=303)


@router.post("/admin/procedures/{procedure_id}/revert")
async def revert_from_form(
    state: StateDep, admin: AdminDep, procedure_id: IdPath, revision: Annotated[int, Form(ge=1)]
) -> Response:
    try:
        await asyncio.to_thread(catalogue.revert, state.engine, procedure_id, revision, admin.username)
    except (CatalogueError, InvalidProcedure) as error:
        status = error.status if isinstance(error, CatalogueError) else 422
        raise HTTPException(status_code=status, detail=str(getattr(error, "message", error))) from None
    return RedirectResponse(f"/admin/procedures/{procedure_id}?notice=reverted", status_code=303)


@router.get("/admin/jobs/{job_id}", response_class=HTMLResponse)
async def job_page(
    request: Request, state: StateDep, session: CurrentSession, _editor: EditorDep, job_id: JobPath
) -> Response:
    found = await asyncio.to_thread(jobs.get, state.engine, job_id)
    if found is None:
        raise HTTPException(status_code=404, detail="Không tìm thấy tiến trình công bố này.")
    return page(request, "catalogue/procedure_job.html", session, {"job": found}, active="procedures")


@router.get("/admin/jobs/{job_id}/progress", response_class=HTMLResponse)
async def job_progress_fragment(
    request: Request, state: StateDep, session: CurrentSession, _editor: EditorDep, job_id: JobPath
) -> Response:
    found = await asyncio.to_thread(jobs.get, state.engine, job_id)
    if found is None:
        raise HTTPException(status_code=404, detail="Không tìm thấy tiến trình công bố này.")
    return page(request, "catalogue/procedure_job_progress.html", session, {"job": found})
