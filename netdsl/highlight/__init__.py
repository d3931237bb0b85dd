"""Syntax highlighting of .net files from one table of rules (`rules`): the Pygments lexer
(`lexer.NetdslLexer`, registered as the `pygments.lexers` entry point `netdsl`) is built from
it when imported, and the TextMate grammar of the VS Code extension
(`editors/vscode/syntaxes/netdsl.tmLanguage.json`) is generated from it by
`python -m netdsl.highlight.textmate`, so the two cannot disagree (a test compares the file
with a fresh generation)."""
