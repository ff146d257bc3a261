"""Sub-commands of the `graphrec` CLI, one module each, each with register(subparsers)."""
