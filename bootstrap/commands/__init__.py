"""One module per `bootstrap` subcommand."""
