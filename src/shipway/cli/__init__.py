"""The command-line interface: parse arguments, call one service, format the result."""
