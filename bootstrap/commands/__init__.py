"""One module per `bootstrap` subcommand, each with `register(subparsers)` and `run(args)`; `parsers` holds
the shared argument pieces. Commands may import everything below them (`bootstrap.pipeline`, `evaluation`,
`report`, `pretrain`, `labelers`); nothing in the library imports a command."""
