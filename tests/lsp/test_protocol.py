"""`netdsl lsp` as an editor drives it: a real server process, pygls's client, JSON-RPC over
a pipe. Open, edit with an error, fix; hover, definition, completion, formatting, symbols,
inlay hints; errors inside imported files shown at the import.

The figures a hover shows are checked against torchvision's modules, not against netdsl."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types

from netdsl.errors import NetdslError
from netdsl.ops import REGISTRY
from netdsl.syntax.formatter import format_source
from netdsl.syntax.parser import parse
from tests.conftest import ROOT, SPECS
from tests.lsp.editor import Editor, uri_of

RESNET50 = SPECS / "resnet50.net"
LIBRARY = SPECS / "lib" / "resnet.net"
UNET = SPECS / "unet.net"


@pytest.fixture(scope="module")
def editor():
    editor = Editor()
    yield editor
    editor.close()


def at(text: str, needle: str, after: int = 0) -> tuple[int, int]:
    """The 0-based (line, character) of `needle` (plus `after` characters) in `text`."""
    offset = text.index(needle) + after
    line = text.count("\n", 0, offset)
    return line, offset - (text.rfind("\n", 0, offset) + 1)


def test_open_edit_with_an_error_and_fix(editor):
    text = RESNET50.read_text()
    assert editor.open(RESNET50) == []
    broken = text.replace("conv(64, 7, s=2", "conv(64, 7, groups=5, s=2")
    (problem,) = editor.edit(RESNET50, broken)
    assert problem.code == "shape" and problem.source == "netdsl"
    assert "groups=5 must divide" in problem.message
    assert "help: its input has shape [3, 224, 224]" in problem.message
    line, character = at(broken, "conv1: conv(64")
    assert (problem.range.start.line, problem.range.start.character) == (line, character)
    assert problem.range.end.line == line
    assert editor.edit(RESNET50, text) == []


def test_syntax_error_is_located_and_cleared(editor):
    text = RESNET50.read_text()
    editor.open(RESNET50)
    broken = text.replace("bn1: bn\n", "bn1: bn(\n", 1)
    problems = editor.edit(RESNET50, broken)
    with pytest.raises(NetdslError) as raised:  # what `netdsl check` says of the same text
        parse(broken, str(RESNET50))
    assert [(p.code, p.message.split("\n")[0]) for p in problems] == \
        [(d.code, d.message) for d in raised.value.diagnostics]
    assert [(p.range.start.line + 1, p.range.start.character + 1) for p in problems] == \
        [(d.span.line, d.span.col) for d in raised.value.diagnostics]
    assert "note: the '(' at" in problems[0].message  # the open bracket, with its place
    assert editor.edit(RESNET50, text) == []


def test_hover_on_a_layer_shows_its_figures(editor):
    import torch
    import torchvision
    text = RESNET50.read_text()
    editor.open(RESNET50)
    shown = editor.hover(RESNET50, *at(text, "conv1:"))
    reference = torchvision.models.resnet50()
    out = reference.conv1(torch.zeros(1, 3, 224, 224))
    params = sum(p.numel() for p in reference.conv1.parameters())
    # MACs of a convolution: one per weight per output position (torchvision's convention)
    macs = params * out.shape[2] * out.shape[3]
    assert "x".join(map(str, out.shape[1:])) in shown  # 64x112x112
    assert f"params: {params:,}" in shown
    assert f"MACs: {macs:,}" in shown
    assert "receptive field: 7 /2" in shown  # a 7x7 kernel at stride 2


def test_hover_on_a_block_call_shows_its_totals(editor):
    import torchvision
    text = RESNET50.read_text()
    editor.open(RESNET50)
    shown = editor.hover(RESNET50, *at(text, "layer2:"))
    layer2 = torchvision.models.resnet50().layer2
    assert "block totals" in shown and "stage(unit=bottleneck, width=128, n=4, s=2)" in shown
    assert f"params: {sum(p.numel() for p in layer2.parameters()):,}" in shown
    assert "output: 512x28x28" in shown


@pytest.mark.slow  # torchvision's resnet152
def test_hover_on_an_unlabeled_inline_call_sums_what_it_made():
    """`resnet(...)` in resnet152.net names no scope: its layers are the network's own, and
    the hover sums them (torchvision's whole model: the call is the network's body)."""
    import torchvision
    spec = SPECS / "resnet152.net"
    text = spec.read_text()
    editor = Editor()  # its own: resnet152 open would add to the library's hovers
    try:
        editor.open(spec)
        shown = editor.hover(spec, *at(text, "resnet(bottleneck", after=2))
    finally:
        editor.close()
    reference = torchvision.models.resnet152()
    assert "block totals" in shown and "resnet(...)" in shown
    assert f"params: {sum(p.numel() for p in reference.parameters()):,}" in shown
    assert f"buffers {sum(b.numel() for b in reference.buffers()):,}" in shown
    assert "output: 1000" in shown


def test_hover_on_an_operator_name_shows_its_signature(editor):
    text = RESNET50.read_text()
    editor.open(RESNET50)
    shown = editor.hover(RESNET50, *at(text, "linear(classes)", after=2))
    linear = REGISTRY["linear"]
    assert f"```netdsl\n{linear.signature()}\n```" in shown
    assert linear.__doc__.split("\n")[0] in shown


def test_hover_in_a_library_shows_every_instantiation(editor):
    """A line of a block body makes a layer per call: with resnet50.net open, its lines in
    lib/resnet.net show the layers resnet50 makes there."""
    editor.open(RESNET50)
    editor.open(LIBRARY)
    library = LIBRARY.read_text()
    line, character = at(library, "          conv2: conv(mid", after=10)
    shown = editor.hover(LIBRARY, line, character)
    assert "16 layers" in shown  # 3 + 4 + 6 + 3 bottlenecks
    assert "`layer1.0.conv2` | conv 3x3, 64 | 64x56x56" in shown
    assert "`layer2.0.conv2` | conv 3x3/2, 128 | 128x28x28" in shown


def test_inlay_hints_give_each_line_its_output_shape(editor):
    text = RESNET50.read_text()
    editor.open(RESNET50)
    hints = editor.inlay_hints(RESNET50, 0, text.count("\n"))
    assert hints[at(text, "conv1:")[0]] == "→ 64x112x112"
    assert hints[at(text, "layer4:")[0]] == "→ 2048x7x7"
    assert hints[at(text, "fc: linear")[0]] == "→ 1000"
    assert at(text, "expect params")[0] not in hints


def test_inlay_hints_can_be_turned_off():
    quiet = Editor({"inlayHints": False})
    try:
        quiet.open(RESNET50)
        assert quiet.inlay_hints(RESNET50, 0, 30) == {}
        assert quiet.hover(RESNET50, *at(RESNET50.read_text(), "conv1:"))  # the rest works
    finally:
        quiet.close()


def test_definition_of_a_block_an_import_and_a_label(editor):
    text = RESNET50.read_text()
    editor.open(RESNET50)
    found = editor.definition(RESNET50, *at(text, "bottleneck, 64", after=3))
    library = LIBRARY.read_text()
    assert found.uri == uri_of(LIBRARY)
    assert (found.range.start.line, found.range.start.character) == \
        at(library, "bottleneck(width")
    found = editor.definition(RESNET50, *at(text, '"lib/resnet.net"', after=3))
    assert found.uri == uri_of(LIBRARY) and found.range.start.line == 0
    unet = UNET.read_text()
    editor.open(UNET)
    found = editor.definition(UNET, *at(unet, "from enc4", after=6))
    assert found.uri == uri_of(UNET)
    assert (found.range.start.line, found.range.start.character) == at(unet, "enc4: double")


def test_hover_on_a_label_reference_shows_the_labeled_layer(editor):
    unet = UNET.read_text()
    editor.open(UNET)
    shown = editor.hover(UNET, *at(unet, "crop(up4)", after=6))
    assert "**up4**" in shown and "output: 512x56x56" in shown


def test_completion(editor):
    unet = UNET.read_text()
    editor.open(UNET)
    line, character = at(unet, "up4: conv_transpose(base * 8, 2, s=2)", after=len(
        "up4: conv_transpose("))
    labels = editor.completion(UNET, line, character)
    assert labels[:3] == ["out=", "kernel=", "k="]  # the operator's arguments come first
    assert {"s=", "stride=", "p="} <= set(labels)
    assert {"enc1", "enc4", "center", "double_conv", "conv", "maxpool"} <= set(labels)
    assert "dec4" not in labels  # labeled further down
    lines = unet.split("\n")
    lines.insert(line + 1, "    from in.")
    editor.edit(UNET, "\n".join(lines))
    assert editor.completion(UNET, line + 1, len("    from in.")) == \
        ["c", "shape", "rank", "h", "w", "d", "l"]
    editor.edit(UNET, unet)


def test_completion_of_a_block_call_offers_its_parameters(editor):
    text = RESNET50.read_text()
    editor.open(RESNET50)
    labels = editor.completion(RESNET50, *at(text, "stage(bottleneck, 64", after=6))
    assert labels[:4] == ["unit=", "width=", "n=", "s="]


def test_formatting_is_netdsl_fmt(editor, tmp_path):
    messy = "network  tiny{\n  input x:[3,8,8]\n      conv(4,3,s=1)->relu\n}\n"
    path = tmp_path / "messy.net"
    path.write_text(messy)
    editor.open(path)
    (edit,) = editor.formatting(path)
    assert edit.new_text == format_source(messy)
    assert (edit.range.start.line, edit.range.start.character) == (0, 0)
    assert edit.range.end.line == messy.count("\n")
    editor.edit(path, edit.new_text)
    assert editor.formatting(path) == []


def test_document_symbols_nest_labels_in_their_definitions(editor):
    editor.open(LIBRARY)
    symbols = {s.name: s for s in editor.symbols(LIBRARY)}
    bottleneck = symbols["bottleneck"]
    assert bottleneck.kind == types.SymbolKind.Class
    assert [c.name for c in bottleneck.children] == ["conv1", "bn1", "conv2", "bn2", "conv3",
                                                     "bn3", "downsample"]
    editor.open(RESNET50)
    (network,) = editor.symbols(RESNET50)
    assert network.name == "resnet50" and network.kind == types.SymbolKind.Module
    assert [c.name for c in network.children][:4] == ["x", "conv1", "bn1", "layer1"]


def test_a_dead_branch_is_a_warning_in_this_file_only(editor, tmp_path):
    """`netdsl check`'s warnings, as warnings; a dead layer inside an imported block is the
    library's business, not shown at the importer."""
    lib = tmp_path / "lib.net"
    lib.write_text("block unit {\n    conv(8, 1)\n    from in -> relu\n}\n")
    main = tmp_path / "main.net"
    text = ('import "lib.net"\n\nnetwork n {\n    input x: [3, 32, 32]\n'
            "    a: conv(4, 1)\n    from x -> unit\n}\n")
    main.write_text(text)
    (problem,) = editor.open(main)
    assert problem.severity == types.DiagnosticSeverity.Warning and problem.code == "unused"
    assert problem.message.startswith("the result of this conv is never used\nhelp: ")
    assert (problem.range.start.line, problem.range.start.character) == at(text, "a: conv")
    fixed = text.replace("    from x -> unit", "    unit")
    assert editor.edit(main, fixed) == []


def _project(tmp_path: Path, width: int) -> tuple[Path, Path]:
    lib = tmp_path / "lib.net"
    lib.write_text(f"block unit(s: int = 1) {{\n    conv({width}, 3, s=s, p=1)\n    relu\n}}\n")
    main = tmp_path / "main.net"
    main.write_text('import "lib.net"\n\nnetwork n {\n    input x: [3, 32, 32]\n'
                    "    body: unit(2)\n    flatten\n}\n")
    return lib, main


def test_an_error_inside_an_imported_file_is_shown_at_the_import(editor, tmp_path):
    lib, main = _project(tmp_path, 8)
    lib.write_text(lib.read_text().replace("relu", "relu ->"))
    (problem,) = editor.open(main)
    assert problem.code == "syntax"
    assert problem.range.start.line == 0  # the import statement
    assert problem.message.startswith("lib.net:")
    (related,) = [r for r in problem.related_information if r.location.uri == uri_of(lib)]
    assert related.location.range.start.line == 3  # the '}' after the dangling '->'


def test_an_error_inside_an_imported_block_is_shown_at_the_call(editor, tmp_path):
    lib, main = _project(tmp_path, 8)
    lib.write_text(lib.read_text().replace("conv(8, 3", "conv(8, 3, groups=2"))
    (problem,) = editor.open(main)
    assert problem.code == "shape" and "groups=2" in problem.message
    assert problem.range.start.line == 4  # body: unit(2)
    assert problem.message.startswith("lib.net:2:5:")


def test_editing_an_open_import_updates_the_importer(editor, tmp_path):
    """An unsaved edit of an imported file counts at once: the importer's diagnostics and
    hovers follow the buffer, and the disk again once the buffer is closed."""
    lib, main = _project(tmp_path, 8)
    main_text = main.read_text()
    editor.open(main)
    assert "output: 8x16x16" in editor.hover(main, *at(main_text, "body:"))
    editor.open(lib)
    editor.edit(lib, lib.read_text().replace("conv(8, 3", "conv(8, 3, groups=2"))
    (problem,) = editor.republished(main, until=lambda found: len(found) == 1)
    assert "groups=2" in problem.message
    editor.edit(lib, lib.read_text().replace("conv(8", "conv(24"))
    assert editor.republished(main, until=lambda found: not found) == []
    assert "output: 24x16x16" in editor.hover(main, *at(main_text, "body:"))
    editor.client.text_document_did_close(types.DidCloseTextDocumentParams(
        types.TextDocumentIdentifier(uri_of(lib))))
    assert "output: 8x16x16" in editor.hover(main, *at(main_text, "body:"))


def test_a_changed_import_on_disk_is_never_answered_from_the_cache(editor, tmp_path):
    """The analysis of main.net is kept between requests; the import it read is re-read at
    each use, and a change makes a new analysis."""
    lib, main = _project(tmp_path, 8)
    main_text = main.read_text()
    editor.open(main)
    where = at(main_text, "body:")
    for width in (8, 16, 8, 40):  # back and forth: each content answered as it is now
        lib.write_text(lib.read_text().replace("conv(8,", f"conv({width},")
                       .replace("conv(16,", f"conv({width},").replace("conv(40,", f"conv({width},"))
        assert f"output: {width}x16x16" in editor.hover(main, *where)


def _serve(stdin: bytes) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netdsl", "lsp"], input=stdin,
                          capture_output=True, timeout=60, cwd=ROOT)


def test_a_message_longer_than_the_limit_ends_the_session_with_a_located_error():
    """`Content-Length: 99999999999999`: pygls read that many bytes, a MemoryError (exit 1)."""
    done = _serve(b"Content-Length: 99999999999999\r\n\r\n{}")
    assert done.returncode == 2
    assert done.stderr.decode() == (
        "error: the client sent a message of 99,999,999,999,999 bytes, more than the "
        "67,108,864 a message may have  [limit]\n")


def test_a_message_that_is_no_json_is_logged_in_one_line():
    """pygls logs a message it cannot decode with the traceback; the server's log says what
    went wrong in one line, and the server goes on (and tells the client)."""
    done = _serve(b"Content-Length: 5\r\n\r\n{{{{{")
    assert done.returncode == 0
    assert "Traceback" not in done.stderr.decode()
    assert done.stderr.decode().splitlines()[-1].startswith("JSONDecodeError: Expecting")
    assert b'"method": "window/showMessage"' in done.stdout


def _frames(*messages: dict) -> bytes:
    """Messages as a client writes them, after initialize and initialized."""
    opening = ({"id": 0, "method": "initialize",
                "params": {"capabilities": {}, "processId": None, "rootUri": None}},
               {"method": "initialized", "params": {}})
    out = b""
    for message in (*opening, *messages):
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        out += b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    return out


def _answers(stdout: bytes) -> dict[int, object]:
    """The results of the server's responses, by request id (but initialize's)."""
    bodies = re.split(rb"Content-Length: \d+\r\n(?:[^\r\n]*\r\n)*?\r\n", stdout)[1:]
    messages = [json.loads(body) for body in bodies]
    return {m["id"]: m.get("result", m.get("error")) for m in messages if m.get("id")}


def _opened(path: Path, text: str) -> dict:
    return {"method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri_of(path), "languageId": "netdsl", "version": 1, "text": text}}}


def test_a_session_that_shuts_down_and_exits_ends_with_status_0():
    """pygls closes standard output at `exit`; the program flushed it afterwards and ended with
    'internal error: ValueError: I/O operation on closed file' (exit 1) after every session."""
    done = _serve(_frames({"id": 1, "method": "shutdown"}, {"method": "exit"}))
    assert (done.returncode, done.stderr.decode()) == (0, "")
    assert _answers(done.stdout)[1] is None


def test_requests_about_a_document_never_opened_are_answered_null(tmp_path):
    """Each request read the document's text by path: a KeyError logged with its traceback."""
    where = {"textDocument": {"uri": uri_of(tmp_path / "nope.net")},
             "position": {"line": 0, "character": 0}}
    document = {"textDocument": where["textDocument"]}
    lines = {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}
    requests = [("hover", where), ("definition", where), ("completion", where),
                ("documentSymbol", document), ("inlayHint", {**document, "range": lines}),
                ("formatting", {**document, "options": {"tabSize": 4, "insertSpaces": True}})]
    done = _serve(_frames(*({"id": n, "method": f"textDocument/{method}", "params": params}
                            for n, (method, params) in enumerate(requests, 1)),
                          {"id": 99, "method": "shutdown"}, {"method": "exit"}))
    assert (done.returncode, done.stderr.decode()) == (0, "")
    assert _answers(done.stdout) == dict.fromkeys([*range(1, len(requests) + 1), 99])


def test_parameters_that_do_not_fit_the_protocol_are_logged_one_line_each(tmp_path):
    """pygls logged cattrs's exception group with its traceback, some sixty lines a message; a
    request still pending when the input ends logged asyncio's CancelledError."""
    path = tmp_path / "x.net"
    uri = uri_of(path)
    hover = {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 3}}
    done = _serve(_frames(
        _opened(path, RESNET50.read_text()),
        {"id": 1, "method": "textDocument/hover",
         "params": {**hover, "position": {"line": -1, "character": 0}}},
        {"method": "textDocument/didChange",
         "params": {"textDocument": {"uri": uri, "version": "x"}, "contentChanges": []}},
        *({"id": n, "method": "textDocument/hover", "params": hover} for n in range(2, 8))))
    log = done.stderr.decode()
    assert done.returncode == 0
    assert "Traceback" not in log and "Cancelled" not in log and "+-" not in log
    assert "ValueError: Position.line should be in range [0:2147483647], but was -1." in log
    assert "ValueError: invalid literal for int() with base 10: 'x'" in log
    assert len(log.splitlines()) == 8  # each problem: pygls's two records, with its summary
