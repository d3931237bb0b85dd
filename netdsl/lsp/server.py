"""`netdsl lsp`: the language server, pygls over standard input and output.

pygls reads and writes messages on its event loop; every piece of netdsl's work (analysing,
answering) runs on one analysis thread, in the order the messages came. So a hover sent after
an edit is answered from the edited text, and the event loop stays free to take further edits
while a large spec is analysed. Edits that arrive faster than they can be analysed are
coalesced: a document's analysis is skipped when a newer version of it is already waiting.

Client options (`initializationOptions`, or the `netdsl` section of
`workspace/didChangeConfiguration`): `inlayHints` (default true) and `maxNodes` (layers a spec
may expand to before it is reported rather than analysed).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from netdsl import __version__
from netdsl.errors import Diagnostic, NetdslError
from netdsl.lsp import transport
from netdsl.lsp.answers import Answers
from netdsl.lsp.session import Session
from netdsl.lsp.sources import canonical
from netdsl.lsp.transport import MAX_MESSAGE_BYTES, BoundedInput, SummaryFormatter

T = TypeVar("T")
_STACK_BYTES = 256 * 2 ** 20  # the analysis thread recurses as deep as the main thread may
log = logging.getLogger("netdsl.lsp")


class NetdslServer(LanguageServer):
    """pygls's server, with netdsl's session and its analysis thread."""

    def __init__(self) -> None:
        super().__init__("netdsl", __version__,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.session = Session()
        self.answers = Answers(self.session)
        self.inlay_hints = True
        self.latest: dict[str, int] = {}  # the newest version of each document
        self.worker = _analysis_thread()

    def configure(self, options: Any) -> None:
        if not isinstance(options, dict):
            return
        if "inlayHints" in options:
            self.inlay_hints = bool(options["inlayHints"])
        if isinstance(options.get("maxNodes"), int) and options["maxNodes"] > 0:
            self.session.max_nodes = options["maxNodes"]

    async def work(self, job: Callable[[], T]) -> T | None:
        """Run `job` on the analysis thread; None (logged) if netdsl fails."""
        self.answers.codec = self.workspace.position_codec
        return await asyncio.wrap_future(self.worker.submit(self._guarded, job))

    async def ask(self, uri: str, question: Callable[[str], T]) -> T | None:
        """Answer a request about a document on the analysis thread; None for a document the
        client has not opened (requests are about open documents: there is no text to answer
        from)."""
        path = _path(uri)
        return await self.work(lambda: question(path) if self.session.is_open(path) else None)

    def _guarded(self, job: Callable[[], T]) -> T | None:
        try:
            return job()
        except Exception:  # noqa: BLE001 - a bug must not end the editor's session
            log.error("netdsl: internal error", exc_info=True)
            return None

    async def changed(self, uri: str) -> None:
        """Analyse a document that opened or changed, and publish diagnostics."""
        document = self.workspace.get_text_document(uri)
        version, text = document.version or 0, document.source
        self.latest[uri] = version
        path = _path(uri)

        def analyse() -> list[tuple[str, list[types.Diagnostic]]]:
            if self.latest.get(uri) != version:  # a newer edit is waiting: analyse that one
                return []
            return [(p, self.answers.diagnostics(p)) for p in self.session.update(path, text)]

        for changed_path, diagnostics in await self.work(analyse) or []:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                from_fs_path(changed_path), diagnostics,
                version=version if changed_path == path else None))


def _analysis_thread() -> ThreadPoolExecutor:
    """One thread, started now with a deep stack (nested blocks recurse deeply)."""
    previous = threading.stack_size(_STACK_BYTES)
    try:
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netdsl-analysis")
        worker.submit(lambda: None).result()
    finally:
        threading.stack_size(previous)
    return worker


def _path(uri: str) -> str:
    return canonical(to_fs_path(uri) or uri)


def build() -> NetdslServer:
    """The server with every feature registered."""
    server = NetdslServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: NetdslServer, params: types.InitializeParams) -> None:
        ls.configure(params.initialization_options)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def configuration(ls: NetdslServer, params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings
        ls.configure(settings.get("netdsl") if isinstance(settings, dict) else None)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: NetdslServer, params: types.DidOpenTextDocumentParams) -> None:
        await ls.changed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: NetdslServer, params: types.DidChangeTextDocumentParams) -> None:
        await ls.changed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls: NetdslServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.latest.pop(uri, None)
        await ls.work(lambda: ls.session.close(_path(uri)))
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, []))

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: NetdslServer, params: types.HoverParams) -> types.Hover | None:
        return await ls.ask(params.text_document.uri,
                            lambda path: ls.answers.hover(path, params.position))

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    async def definition(ls: NetdslServer,
                         params: types.DefinitionParams) -> types.Location | None:
        return await ls.ask(params.text_document.uri,
                            lambda path: ls.answers.definition(path, params.position))

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    async def symbols(ls: NetdslServer,
                      params: types.DocumentSymbolParams) -> list[types.DocumentSymbol] | None:
        return await ls.ask(params.text_document.uri, ls.answers.symbols)

    @server.feature(types.TEXT_DOCUMENT_COMPLETION,
                    types.CompletionOptions(trigger_characters=[".", "(", ","]))
    async def completion(ls: NetdslServer,
                         params: types.CompletionParams) -> types.CompletionList | None:
        return await ls.ask(params.text_document.uri,
                            lambda path: ls.answers.completion(path, params.position))

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    async def formatting(ls: NetdslServer, params: types.DocumentFormattingParams
                         ) -> list[types.TextEdit] | None:
        return await ls.ask(params.text_document.uri, ls.answers.formatting)

    @server.feature(types.TEXT_DOCUMENT_INLAY_HINT, types.InlayHintOptions(resolve_provider=False))
    async def inlay_hints(ls: NetdslServer,
                          params: types.InlayHintParams) -> list[types.InlayHint] | None:
        if not ls.inlay_hints:
            return None
        return await ls.ask(params.text_document.uri,
                            lambda path: ls.answers.inlay_hints(path, params.range))

    return server


def serve() -> None:
    """Run the server on standard input and output until the client exits."""
    handler = logging.StreamHandler()
    handler.setFormatter(SummaryFormatter("%(name)s: %(message)s"))
    handler.addFilter(transport.OneLine())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    stdin = BoundedInput(sys.stdin.buffer)
    build().start_io(stdin=stdin, stdout=transport.KeptOutput(sys.stdout.buffer))
    if stdin.refused is not None:
        raise NetdslError(Diagnostic(
            f"the client sent a message of {stdin.refused:,} bytes, more than the "
            f"{MAX_MESSAGE_BYTES:,} a message may have", None, "limit"))
