"""The editor's view of a spec: a Language Server Protocol server (`netdsl lsp`) over pygls.

`session` keeps the open documents and their analyses (`analysis`); `sources` gives the
loader the editor's unsaved buffers and a parse cache by content; the features (`hover`,
`definition`, `symbols`, `completion`, `hints`) read an analysis and answer in LSP types;
`server` wires them to pygls. Nothing here imports torch.
"""
