// Starts `netdsl lsp` for .net files; everything else (diagnostics, hover, definition,
// symbols, completion, formatting, inlay hints) is the server's.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function options() {
  const config = vscode.workspace.getConfiguration("netdsl");
  return {
    command: config.get("server.command", "netdsl"),
    args: config.get("server.args", ["lsp"]),
    initializationOptions: {
      inlayHints: config.get("inlayHints", true),
      maxNodes: config.get("maxNodes", 25000),
    },
  };
}

async function activate(context) {
  const { command, args, initializationOptions } = options();
  client = new LanguageClient(
    "netdsl",
    "netdsl",
    { command, args },
    {
      documentSelector: [{ language: "netdsl" }],
      initializationOptions,
      synchronize: { configurationSection: "netdsl" },
    },
  );
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("netdsl.server")) {
        await client.restart();
      }
    }),
  );
  await client.start();
}

async function deactivate() {
  if (client) {
    await client.stop();
  }
}

module.exports = { activate, deactivate };
