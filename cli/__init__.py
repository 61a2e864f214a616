"""The `ecgflow` command line and the Prefect servers it runs on: one subcommand per flow (main.py), the inputs
checked before any server starts (input_checks.py), the local server and its guard, the shared server's shape,
and the commands that need no orchestration (plain_commands.py). It runs flows; no flow imports it."""
