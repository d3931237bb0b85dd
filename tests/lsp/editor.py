"""An editor for the protocol tests: pygls's language client driving a real `netdsl lsp`
process over a pipe, with blocking calls (each runs the client's event loop until the
answer comes)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60  # seconds any one answer may take before the test fails (not a speed check)


class Editor:
    """One server process and the documents opened in it."""

    def __init__(self, options: dict[str, Any] | None = None):
        self.loop = asyncio.new_event_loop()
        self.client = LanguageClient("netdsl-tests", "1")
        self.published: dict[str, types.PublishDiagnosticsParams] = {}
        self.versions: dict[str, int] = {}
        self.publications: dict[str, int] = {}  # how many times each uri's were published
        self.before_edit: dict[str, int] = {}  # the same, when the last edit was sent
        self.arrived = asyncio.Event()

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def publish(params: types.PublishDiagnosticsParams) -> None:
            self.published[params.uri] = params
            self.publications[params.uri] = self.publications.get(params.uri, 0) + 1
            self.arrived.set()

        self.run(self.client.start_io(sys.executable, str(ROOT / "cli.py"), "lsp", cwd=ROOT))
        capabilities = types.ClientCapabilities()
        self.initialized = self.run(self.client.initialize_async(types.InitializeParams(
            capabilities, process_id=None, root_uri=from_fs_path(str(ROOT)),
            initialization_options=options)))
        self.client.initialized(types.InitializedParams())

    def run(self, job: Any) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(job, TIMEOUT))

    def close(self) -> None:
        self.run(self.client.shutdown_async(None))
        self.client.exit(None)
        self.run(self.client.stop())
        self.loop.close()

    # ------------------------------------------------------------ documents

    def open(self, path: Path | str, text: str | None = None) -> list[types.Diagnostic]:
        """Open a document (its text from disk unless given); its diagnostics."""
        uri = uri_of(path)
        text = Path(path).read_text() if text is None else text
        self.versions[uri] = 1
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri, "netdsl", 1, text)))
        return self.diagnostics(uri, 1)

    def edit(self, path: Path | str, text: str) -> list[types.Diagnostic]:
        """Replace the whole text of an open document; its diagnostics for the new version."""
        uri = uri_of(path)
        self.versions[uri] += 1
        version = self.versions[uri]
        self.before_edit = dict(self.publications)
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version, uri),
            [types.TextDocumentContentChangeWholeDocument(text)]))
        return self.diagnostics(uri, version)

    def diagnostics(self, uri: str, version: int | None = None) -> list[types.Diagnostic]:
        """The diagnostics published for `uri` (for `version` when given), waiting for them."""
        async def wait() -> list[types.Diagnostic]:
            while True:
                found = self.published.get(uri)
                if found is not None and (version is None or found.version == version):
                    return list(found.diagnostics)
                self.arrived.clear()
                await self.arrived.wait()
        return self.run(wait())

    def republished(self, path: Path | str,
                    until: Callable[[list[types.Diagnostic]], bool] = lambda _: True,
                    ) -> list[types.Diagnostic]:
        """The diagnostics of another document (an importer of the edited file) published
        since the last edit and satisfying `until`, waiting for them: a publication the
        server sent for an earlier change (the edited file's opening) may still arrive
        after the edit was sent, as the importer carries no version to tell them apart."""
        uri = uri_of(path)

        def fresh() -> bool:
            return self.publications.get(uri, 0) > self.before_edit.get(uri, 0) and \
                until(list(self.published[uri].diagnostics))

        async def wait() -> list[types.Diagnostic]:
            while not fresh():
                self.arrived.clear()
                await self.arrived.wait()
            return list(self.published[uri].diagnostics)
        return self.run(wait())

    # ------------------------------------------------------------ requests

    def hover(self, path: Path | str, line: int, character: int) -> str | None:
        """The hover's markdown at a 0-based position."""
        found = self.run(self.client.text_document_hover_async(types.HoverParams(
            types.TextDocumentIdentifier(uri_of(path)), types.Position(line, character))))
        return found.contents.value if found else None

    def definition(self, path: Path | str, line: int, character: int) -> Any:
        return self.run(self.client.text_document_definition_async(types.DefinitionParams(
            types.TextDocumentIdentifier(uri_of(path)), types.Position(line, character))))

    def completion(self, path: Path | str, line: int, character: int) -> list[str]:
        found = self.run(self.client.text_document_completion_async(types.CompletionParams(
            types.TextDocumentIdentifier(uri_of(path)), types.Position(line, character))))
        items = found.items if isinstance(found, types.CompletionList) else found
        return [item.label for item in items or []]

    def symbols(self, path: Path | str) -> Any:
        return self.run(self.client.text_document_document_symbol_async(
            types.DocumentSymbolParams(types.TextDocumentIdentifier(uri_of(path)))))

    def formatting(self, path: Path | str) -> list[types.TextEdit] | None:
        found = self.run(self.client.text_document_formatting_async(
            types.DocumentFormattingParams(types.TextDocumentIdentifier(uri_of(path)),
                                           types.FormattingOptions(4, True))))
        return None if found is None else list(found)

    def inlay_hints(self, path: Path | str, first: int, last: int) -> dict[int, str]:
        """0-based line -> hint label, for lines `first` to `last`."""
        found = self.run(self.client.text_document_inlay_hint_async(types.InlayHintParams(
            types.TextDocumentIdentifier(uri_of(path)),
            types.Range(types.Position(first, 0), types.Position(last, 0)))))
        return {hint.position.line: hint.label for hint in found or []}


def uri_of(path: Path | str) -> str:
    return from_fs_path(str(Path(path).resolve()))
