"""The passes over a generated forward that delete tensors after their last use, so that the
compiled module holds what netdsl's peak counts (tests/analysis/test_memory.py measures it)."""

from __future__ import annotations

import ast
import textwrap

from netdsl.backends.pytorch.liveness import (
    drop_unread,
    inline_attributes,
    parameter_views,
    release,
)


def _released(source: str, params: list[str], keep: set[str] = frozenset()) -> str:
    body = ast.parse(textwrap.dedent(source)).body
    return ast.unparse(ast.Module(release(body, params, set(keep)), []))


def test_a_temporary_is_deleted_after_its_last_reader():
    out = _released("""
        out = f(x)
        out_ = g(x)
        out = cat(out, out_)
        out = h(out)
        return out
    """, ["x"])
    assert out.splitlines()[3] == "del out_"


def test_a_branch_deletes_what_it_made_once_read_if_more_is_made_after_it():
    out = _released("""
        if a:
            out = f(x)
            out_ = g(x)
            out = out + out_
        else:
            out = h(x)
        y = k(out)
        return y
    """, ["x"])
    assert "    del out_" in out.splitlines()
    assert out.count("del") == 1  # not `out`, read after the `if`


def test_what_a_loop_or_one_branch_binds_is_not_deleted_after_it():
    """A loop may run no pass, and the other branch binds nothing: `del` would fail."""
    out = _released("""
        last = f(x)
        for t in ts:
            y = g(t)
            last = last + y
        if a:
            z = h(last)
        w = k(x)
        return w
    """, ["x", "ts", "a"])
    assert "del last" in out
    assert "del y" not in out and "del z" not in out


def test_nothing_is_deleted_after_a_return():
    out = _released("""
        if a:
            p = f(x)
            return p
        return x
    """, ["x", "a"])
    assert "del" not in out


def test_a_view_of_a_parameter_is_not_deleted():
    body = ast.parse("p = self.pos_embedding.expand(n, -1, -1)\nq = self.conv(x)").body
    assert parameter_views(body) == {"p"}


def test_a_tensor_is_deleted_before_a_return_that_computes():
    """SK convolution's `return out + out_3`: k5 would be held while the sum is made."""
    out = _released("""
        k5 = f(x)
        out_3 = k5 * g
        return out + out_3
    """, ["x", "out", "g"])
    assert out.splitlines()[2] == "del k5"
    view = _released("""
        y = f(x)
        z = g(y)
        return crop_at(z, s, o)
    """, ["x", "s", "o"])
    assert "del" not in view  # a crop makes no tensor: nothing to free it for


def test_a_parameter_is_deleted_only_where_the_forward_rebinds_it():
    """The caller holds its argument: `del x` frees something only once x was rebound
    (pre-activation's `x = self.bn1(x)` before the shortcut reads it)."""
    rebinds = _released("""
        if p:
            x = f(x)
        out = g(x)
        identity = h(x)
        return out + identity
    """, ["x", "p"])
    assert "del x" in rebinds
    keeps = _released("""
        out = g(x)
        identity = h(x)
        return out + identity
    """, ["x"])
    assert "del" not in keeps


def test_a_loop_pass_deletes_what_it_made_and_the_next_pass_does_not_read():
    """FPN's top-down pass: the upsampled map and the lateral are dropped once added, `last`
    is read by the next pass and kept; a list of tensors is deleted after its last reader."""
    out = _released("""
        inner = [f(t) for t in features]
        last = inner[n - 1]
        merged = [last]
        for i in range(n - 2, -1, -1):
            lateral = inner[i]
            x = up(last, lateral)
            last = x + lateral
            merged = [last] + merged
        blocks = [g(m) for m in merged]
        return tuple(blocks)
    """, ["features", "n"], keep={"i", "n", "f", "g", "up", "t", "m"})
    lines = out.splitlines()
    assert "    del lateral, x" in lines
    assert lines[lines.index("    del lateral, x") - 1] == "    last = x + lateral"
    assert "del inner, last" in lines and "del last" not in "\n".join(lines[3:9])


def _runs(source: str, params: list[str], **values) -> object:
    """Run the released body as a function of `params` (stub layers: f, g, h, k)."""
    body = textwrap.indent(_released(source, params), "    ")
    namespace = {name: (lambda v: v) for name in ("f", "g", "h", "k")}
    exec(f"def forward({', '.join(params)}):\n{body}", namespace)
    return namespace["forward"](*(values[p] for p in params))


def test_a_name_bound_before_a_branch_or_loop_is_deleted_once_after_it():
    """Rebound inside and read last there, it is deleted after the `if` or the loop: deleting
    it inside as well raised NameError on the path that ran the branch or a pass."""
    branch = """
        t = f(x)
        y = t
        if c:
            t = g(t)
            y = h(t)
        z = k(y)
        return z
    """
    assert _released(branch, ["x", "c"]).count("del t") == 1
    assert _runs(branch, ["x", "c"], x=1, c=True) == _runs(branch, ["x", "c"], x=1, c=False)
    loop = """
        t = f(x)
        rows = []
        for s in x:
            t = g(s)
            y = h(t)
            rows.append(y)
        z = k(rows)
        return z
    """
    assert _released(loop, ["x"]).count("del t") == 1
    assert _runs(loop, ["x"], x=[1, 2]) == [1, 2]


def test_a_name_reused_for_a_later_temporary_is_deleted_after_its_first_value_dies():
    """YOLOv3's `x`: the stem's output, dead once stage 1 has read it, then the name of the
    neck's upsampling much later. Each value is a lifetime of its own: the first is deleted
    after its reader, not held until the name is bound again."""
    source = """
        x = f(image)
        s1 = g(x)
        s2 = h(s1)
        n = k(s2)
        x = f(n)
        y = g(x)
        z = h(y)
        return z
    """
    out = _released(source, ["image"]).splitlines()
    assert out[1:3] == ["s1 = g(x)", "del x"]
    assert out[9:11] == ["y = g(x)", "del x"]
    assert _runs(source, ["image"], image=3) == 3


def test_a_value_the_next_statement_replaces_is_deleted_first_when_that_statement_computes():
    """`x = h(e)` makes h(e) while the old `x` is still bound: the forward held both, one more
    tensor than the analysis counts (found by fuzzing the figures against torch: a `conv`
    before `add { conv; conv }`, then `x = out + out_`). A store that computes nothing frees
    the old value itself: no `del` before it."""
    computed = _released("""
        x = f(image)
        e = g(x)
        x = h(e)
        y = k(x)
        return y
    """, ["image"])
    assert "del x\nx = h(e)" in computed
    aliased = _released("""
        x = f(image)
        e = g(x)
        x = e
        y = k(x)
        return y
    """, ["image"])
    assert "del x" not in aliased


def test_a_parameter_read_once_is_read_where_it_is_used():
    """ConvNeXt's layer scale: `out = out * self.layer_scale`, not a local bound to it first;
    one read more and the local stays."""
    once = ast.parse("s = self.layer_scale\nout = f(x)\nout = out * s\nreturn out").body
    assert ast.unparse(ast.Module(inline_attributes(once), [])).splitlines() == [
        "out = f(x)", "out = out * self.layer_scale", "return out"]
    twice = ast.parse("s = self.scale\nout = x * s\nreturn out + s").body
    assert len(inline_attributes(twice)) == 3


def test_a_name_bound_before_a_branch_is_deleted_in_it_when_nothing_follows_the_branch():
    """OctConv's `bn_h`: read last in the branch that makes the low-frequency output and
    concatenates; with nothing made after the `if`, no delete follows it, so the branch deletes
    the name itself (not an argument the caller holds, nor a name read after the `if`)."""
    source = """
        h = f(x)
        out = h
        if a:
            low = g(x)
            out = k(h)
            out = out + low
        return out
    """
    lines = _released(source, ["x", "a"]).splitlines()
    assert lines[lines.index("    out = k(h)") + 1] == "    del h"
    assert "del x" not in lines
    assert (_runs(source, ["x", "a"], x=1, a=True), _runs(source, ["x", "a"], x=1, a=False)) == \
        (2, 1)  # both paths run


def _dropped(source: str) -> str:
    return ast.unparse(ast.Module(drop_unread(ast.parse(textwrap.dedent(source)).body), []))


def test_outputs_of_a_call_nobody_reads_are_not_held():
    """PSPNet's backbone gives four maps and the head reads the last: the others go as the
    call returns, as netdsl's peak frees an output nobody reads (tests/analysis/test_memory.py
    measures the module)."""
    assert _dropped("""
        a, b, c, d = self.backbone(x)
        return self.head(d)
    """).splitlines()[0] == "d = self.backbone(x)[3]"
    assert _dropped("""
        a, b, c = self.t(x)
        y = f(a)
        return cat(y, c)
    """).splitlines()[:2] == ["a, _, c = self.t(x)", "del _"]
    assert _dropped("""
        a, b = self.t(x)
        return a + b
    """).splitlines()[0] == "a, b = self.t(x)"
    assert _dropped("""
        a, b = self.t(x)
        return x
    """).splitlines()[0] == "self.t(x)"
