from shipway.cli.main import entry

entry()
