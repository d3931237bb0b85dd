"""The PyTorch backend: `build` lowers a spec to an nn.Module. torch is imported only here, and
only when a function of this package runs.

`build` executes exactly the source that `netdsl compile` writes (registered with linecache, as
torch.fx does, so tracebacks, inspect and TorchScript see it), so the in-memory module and the
generated file are the same code.
"""

from __future__ import annotations

import hashlib
import linecache
from typing import Any

from netdsl.limits import MAX_BYTES


def _network(spec: Any, network: str | None, params: dict[str, Any]) -> Any:
    from netdsl.network import Network, load
    if isinstance(spec, Network):
        if params or network:
            raise TypeError("pass parameters to netdsl.load, not to build, for a loaded Network")
        return spec
    return load(spec, network, **params)


def module_namespace(source: str, label: str) -> dict[str, Any]:
    """Execute generated source under a linecache file name; return its globals."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:12]
    filename = f"<netdsl {label} {digest}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {"__name__": f"netdsl_generated_{digest}"}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace


def build(spec: Any, network: str | None = None, *, max_bytes: int = MAX_BYTES,
          **params: Any) -> Any:
    """Lower a spec (path, source text or loaded `netdsl.Network`) to a torch.nn.Module whose
    submodule names are the layer names of `netdsl stats`. A network whose weights would take
    more than `max_bytes` is refused, located, before torch allocates them."""
    from netdsl.backends.pytorch.bounds import allocating, refuse_oversized
    from netdsl.backends.pytorch.codegen import generate, network_class
    from netdsl.network import positive_argument
    positive_argument("max_bytes", max_bytes)
    net = _network(spec, network, params)
    refuse_oversized(net, max_bytes)
    source = generate(net)
    namespace = module_namespace(source, net.name)
    with allocating("for the weights"):
        return namespace[network_class(source)]()


__all__ = ["build"]
